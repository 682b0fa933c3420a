"""Perpetual funding on the Bitfinex emulator over real sockets: a settlement moves the margin
wallet by exactly the ledger entry it writes (``POST /v2/auth/r/ledgers/{Currency}/hist``:
``[ID, CURRENCY, null, MTS, null, AMOUNT, BALANCE, null, DESCRIPTION]``), longs pay a
positive rate and receive a negative one, spot and flat pairs pay nothing, and every
authenticated socket gets the ``wu`` whose description names the funding event."""

from __future__ import annotations

from typing import Any

import aiohttp

from tradeloop.emulator.bitfinex.server import BitfinexEmulator

from .conftest import make_config
from .helpers import Ws, authed, collect, place
from .test_rest import get, signed

PERP = "tBTCF0:USTF0"


def _wallet(bfx: BitfinexEmulator, ccy: str = "USTF0") -> float:
    return bfx.trading.account.sim.balances()[ccy].total


async def _open(bfx: BitfinexEmulator, wsc: Ws, amount: str) -> None:
    await authed(wsc)
    note = await place(wsc, {"type": "MARKET", "symbol": PERP, "amount": amount})
    assert note[6] == "SUCCESS", note
    await collect(wsc, lambda m: m[1] in ("pn", "pu"))


async def test_long_pays_positive_rate_booked_in_ledger_and_wu(
    bfx: BitfinexEmulator, wsc: Ws, session: aiohttp.ClientSession
) -> None:
    await _open(bfx, wsc, "0.5")
    before = _wallet(bfx)
    bfx.config.funding_rate = 0.0002
    mid = bfx.driver.markets[PERP].mid()
    (entry,) = bfx.settle_funding()
    want = round(0.5 * mid * 0.0002, 8)
    assert entry.amount == -want and abs((_wallet(bfx) - before) + want) < 1e-9
    # the socket hears the wallet change, described as the funding event, without an id
    got = await collect(wsc, lambda m: m[1] == "wu")
    wu = got[-1][2]
    assert wu[0:2] == ["margin", "USTF0"] and wu[5] == "Funding Event BTCF0:USTF0 (0.5)"
    assert abs(wu[2] - _wallet(bfx)) < 1e-8
    _, rows = await signed(session, bfx, "/v2/auth/r/ledgers/USTF0/hist", {})
    (row,) = rows
    assert row[0] == entry.entry_id and row[1] == "USTF0" and row[3] == entry.mts
    assert row[5] == -want and abs(row[6] - _wallet(bfx)) < 1e-8
    assert row[8] == "Funding Event BTCF0:USTF0 (0.5) on wallet margin"
    assert (await signed(session, bfx, "/v2/auth/r/ledgers/hist", {}))[1] == rows
    assert (await signed(session, bfx, "/v2/auth/r/ledgers/USD/hist", {}))[1] == []
    later = {"start": entry.mts + 1}
    assert (await signed(session, bfx, "/v2/auth/r/ledgers/USTF0/hist", later))[1] == []
    # the status row announces the rate settled and the next 8-hourly funding time
    _, status = await get(session, bfx, f"/v2/status/deriv?keys={PERP}")
    assert status[0][12] == 0.0002 and status[0][8] % (8 * 3_600_000) == 0


async def test_short_pays_negative_rate_and_long_receives(bfx: BitfinexEmulator, wsc: Ws) -> None:
    await _open(bfx, wsc, "-0.2")
    bfx.config.funding_rate = -0.0001
    (paid,) = bfx.settle_funding()
    assert paid.amount < 0 and "(-0.2)" in paid.description
    await place(wsc, {"type": "MARKET", "symbol": PERP, "amount": "0.4"})  # now long 0.2
    await collect(wsc, lambda m: m[1] in ("pn", "pu"))
    before = _wallet(bfx)
    (received,) = bfx.settle_funding()
    assert received.amount > 0 and abs(_wallet(bfx) - before - received.amount) < 1e-9
    assert received.entry_id == paid.entry_id + 1


async def test_no_position_no_payment(bfx: BitfinexEmulator) -> None:
    before = dict(bfx.trading.account.sim.balances())
    assert bfx.settle_funding() == [] and bfx.funding.ledger == []
    assert bfx.trading.account.sim.balances() == before


async def test_timer_off_when_interval_zero() -> None:
    emu = BitfinexEmulator(make_config(funding_interval_s=0))
    assert emu.funding.interval_ms == 0
    cfg: Any = emu.config
    assert cfg.funding_rate == 0.0001
