"""The funding timer (``BitmexEmulator.housekeeping``), driven with explicit clock values: at the
announced funding time an open position is settled exactly once -- one ``Funding`` execution
-- the next funding time moves one interval on (and the instrument rows say so), and calling
again at the same moment, or just before the next one, settles nothing."""

from __future__ import annotations

from typing import Any

from tradeloop.emulator.bitmex import contracts as ct
from tradeloop.emulator.bitmex.server import BitmexEmulator

from .conftest import Client


async def fundings(client: Client) -> list[dict[str, Any]]:
    status, rows, _ = await client.call("GET", "/api/v1/execution/tradeHistory?count=1000")
    assert status == 200
    return [r for r in rows if r["execType"] == "Funding"]


async def announced(client: Client) -> str:
    _, rows, _ = await client.call("GET", "/api/v1/instrument?symbol=XBTUSD")
    return str(rows[0]["fundingTimestamp"])


async def test_housekeeping_settles_each_funding_time_once(
    client: Client, emu: BitmexEmulator
) -> None:
    status, _, _ = await client.call(
        "POST", "/api/v1/order", {"symbol": "XBTUSD", "orderQty": 1000, "ordType": "Market"}
    )
    assert status == 200
    due = emu._next_funding
    interval = emu.funding_interval_ms
    assert await announced(client) == ct.iso(due)
    _, w0, _ = await client.call("GET", "/api/v1/user/wallet?currency=XBt")

    emu.housekeeping((due - 1) / 1000)  # a millisecond early: nothing
    assert await fundings(client) == [] and emu._next_funding == due

    emu.housekeeping(due / 1000)  # on time: one settlement, the next one 8 h on
    first = await fundings(client)
    assert len(first) == 1 and first[0]["symbol"] == "XBTUSD"
    assert emu._next_funding == due + interval
    assert await announced(client) == ct.iso(due + interval)
    _, w1, _ = await client.call("GET", "/api/v1/user/wallet?currency=XBt")
    assert w1["amount"] < w0["amount"]  # a long pays a positive rate

    emu.housekeeping(due / 1000)  # the same moment again
    emu.housekeeping((due + interval - 1) / 1000)  # just before the next one
    assert await fundings(client) == first and emu._next_funding == due + interval

    emu.housekeeping((due + interval) / 1000 + 5)  # late: settled once, the grid kept
    second = await fundings(client)
    assert len(second) == 2 and emu._next_funding == due + 2 * interval
    _, w2, _ = await client.call("GET", "/api/v1/user/wallet?currency=XBt")
    assert w2["amount"] - w1["amount"] == w1["amount"] - w0["amount"]  # same position, rate
