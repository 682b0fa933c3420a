"""WS candles close like OKX's: the finished bar is pushed once with ``confirm`` "1" when its
interval ends, then the new bar follows with "0". Checked over real sockets on a frozen market
driven across a minute boundary (deterministic), on the live one-second bars, and through
tradeloop's own OKX connector, which keeps only confirmed rows."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tradeloop.emulator.feed import now_ms
from tradeloop.emulator.okx.server import OkxEmulator
from tradeloop.model import Bar, Event
from tradeloop.model.identity import native_of
from tradeloop.venues.okx.ws import OkxStream

from .helpers import Client, WsClient, is_event, is_push

MIN = 60_000


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def _business(emu: OkxEmulator, session: aiohttp.ClientSession, *channels: str) -> WsClient:
    """A /business socket subscribed to ``channels`` (``"candle1m:BTC-USDT"``), acks read."""
    ws = WsClient(await session.ws_connect(f"{emu.base_url.replace('http', 'ws')}/ws/v5/business"))
    args = []
    for spec in channels:
        channel, inst = spec.split(":")
        args.append({"channel": channel, "instId": inst})
    await ws.send({"op": "subscribe", "args": args})
    for _ in args:
        await ws.wait(is_event("subscribe"))
    return ws


async def _drain(ws: WsClient) -> list[tuple[str, str, list[str]]]:
    """Every candle push queued so far, in order, as (channel, instId, row). A text ``ping`` is
    answered after everything the server queued before it, so its ``pong`` marks the end."""
    out = list(ws.backlog)
    ws.backlog.clear()
    await ws.send("ping")
    while (m := await ws.recv()) != "pong":
        out.append(m)
    rows = []
    for m in out:
        if _is_candle(m):
            (row,) = m["data"]
            rows.append((m["arg"]["channel"], m["arg"]["instId"], row))
    return rows


def _is_candle(m: Any) -> bool:
    return isinstance(m, dict) and str(m.get("arg", {}).get("channel", "")).startswith("candle")


def _rows(pushes: list[tuple[str, str, list[str]]], channel: str, inst: str) -> list[list[str]]:
    return [row for ch, i, row in pushes if (ch, i) == (channel, inst)]


def _check_shape(row: list[str], bar_ms: int) -> None:
    """OKX's candle row: ``[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]``, all strings."""
    assert len(row) == 9 and all(isinstance(x, str) for x in row), row
    ts, o, h, lo, c = int(row[0]), *(float(x) for x in row[1:5])
    assert ts % bar_ms == 0
    assert lo <= min(o, c) and max(o, c) <= h
    assert min(float(x) for x in row[5:8]) >= 0
    assert row[8] in ("0", "1")


async def test_frozen_market_closes_each_bar_once_at_its_boundary(
    frozen_emu: OkxEmulator, frozen_client: Client, session: aiohttp.ClientSession
) -> None:
    emu = frozen_emu
    ws = await _business(
        emu, session, "candle1m:BTC-USDT", "candle1H:BTC-USDT", "candle1m:BTC-USDT-SWAP"
    )
    first = await _drain(ws)
    assert {(ch, i) for ch, i, _ in first} == {
        ("candle1m", "BTC-USDT"),
        ("candle1H", "BTC-USDT"),
        ("candle1m", "BTC-USDT-SWAP"),
    }
    assert all(row[8] == "0" for _, _, row in first)  # on subscribe: the bar in progress only

    boundary = (now_ms() // MIN + 1) * MIN
    for k in range(5):  # move the market inside the minute that is about to end
        emu.step(boundary - 900 + k * 150)
    before = await _drain(ws)
    last_open = _rows(before, "candle1m", "BTC-USDT")[-1]
    assert (int(last_open[0]), last_open[8]) == (boundary - MIN, "0")

    emu.step(boundary + 100)  # the minute is over
    at = await _drain(ws)
    spot = _rows(at, "candle1m", "BTC-USDT")
    assert [(int(r[0]), r[8]) for r in spot] == [(boundary - MIN, "1"), (boundary, "0")]
    closed, opened = spot
    assert closed[:8] == last_open[:8]  # nothing traded in that bar after its last push
    assert float(opened[1]) == float(closed[4])  # the new bar opens at the old close
    swap = _rows(at, "candle1m", "BTC-USDT-SWAP")
    assert [(int(r[0]), r[8]) for r in swap] == [(boundary - MIN, "1"), (boundary, "0")]
    hour = boundary // 3_600_000 * 3_600_000  # the hour holding the new minute
    hourly = [(int(r[0]), r[8]) for r in _rows(at, "candle1H", "BTC-USDT")]
    assert hourly == ([(hour - 3_600_000, "1"), (hour, "0")] if hour == boundary else [(hour, "0")])
    for ch, _, row in at:
        _check_shape(row, MIN if ch == "candle1m" else 3_600_000)

    # The REST candle for that minute is the same bar, field for field.
    _, body = await frozen_client.get("/api/v5/market/candles?instId=BTC-USDT&bar=1m&limit=5")
    (rest_row,) = [r for r in body["data"] if int(r[0]) == boundary - MIN]
    assert rest_row[:8] == closed[:8]

    emu.step(boundary + 200)  # same minute: no second close
    later = await _drain(ws)
    assert [(int(r[0]), r[8]) for r in _rows(later, "candle1m", "BTC-USDT")] == [(boundary, "0")]
    await ws.ws.close()


async def test_volume_fields_follow_okx_units(
    frozen_emu: OkxEmulator, frozen_client: Client, session: aiohttp.ClientSession
) -> None:
    """SPOT: vol base, volCcy quote; SWAP: vol contracts, volCcy base; volCcyQuote quote. On a
    frozen market a taker fill is the only trade in its second, so the volume is known."""
    emu = frozen_emu
    ws = await _business(emu, session, "candle1s:ETH-USDT", "candle1s:BTC-USDT-SWAP")
    await _drain(ws)
    ctval = emu.driver.markets["BTC-USDT-SWAP"].instrument.contract_value
    # Start-up warm-up trades fill the seconds up to now: trade in a later, untouched second.
    await asyncio.sleep(1.01 - now_ms() % 1_000 / 1_000)
    for inst, sz in (("ETH-USDT", "0.5"), ("BTC-USDT-SWAP", "3")):
        order = {"instId": inst, "side": "buy", "ordType": "market", "sz": sz}
        order |= {"tdMode": "cross"} if inst.endswith("SWAP") else {"tdMode": "cash"}
        order |= {} if inst.endswith("SWAP") else {"tgtCcy": "base_ccy"}
        _, body = await frozen_client.post("/api/v5/trade/order", order)
        assert body["code"] == "0", body
    t = now_ms() + 2_000  # a second no step has touched yet: the fills are all it holds
    emu.step(t)
    emu.step(t + 1_000)
    pushes = await _drain(ws)
    for inst, vol in (("ETH-USDT", 0.5), ("BTC-USDT-SWAP", 3.0)):
        # The fills are the only trades in the bar that was open when they happened.
        (row,) = [
            r
            for r in _rows(pushes, "candle1s", inst)
            if r[8] == "1" and float(r[5]) == pytest.approx(vol)
        ]
        _check_shape(row, 1_000)
        lo, hi = float(row[3]), float(row[2])
        vol_ccy, vol_quote = float(row[6]), float(row[7])
        if inst.endswith("SWAP"):  # contracts, base, quote
            assert vol_ccy == pytest.approx(vol * ctval)
            assert lo * (1 - 1e-9) <= vol_quote / vol_ccy <= hi * (1 + 1e-9)
        else:  # base, quote, quote
            assert vol_ccy == pytest.approx(vol_quote)
            assert lo * (1 - 1e-9) <= vol_quote / vol <= hi * (1 + 1e-9)
    await ws.ws.close()


async def test_live_one_second_bars_close_in_order(
    emu: OkxEmulator, session: aiohttp.ClientSession
) -> None:
    ws = await _business(emu, session, "candle1s:BTC-USDT")
    rows: list[list[str]] = []
    deadline = time.monotonic() + 10
    while sum(r[8] == "1" for r in rows) < 2 and time.monotonic() < deadline:
        m = await ws.wait(is_push("candle1s"))
        rows.append(m["data"][0])
    closed = [r for r in rows if r[8] == "1"]
    assert len(closed) >= 2, "no one-second bar closed within 10 s"
    for r in rows:
        _check_shape(r, 1_000)
    finished: set[int] = set()
    for i, r in enumerate(rows):
        ts = int(r[0])
        assert ts not in finished, "a closed bar was pushed again"
        if r[8] != "1":
            continue
        finished.add(ts)
        # final values = the last in-progress push of that bar; the next bar follows it
        earlier = [p for p in rows[:i] if int(p[0]) == ts]
        if earlier:
            assert earlier[-1][:8] == r[:8]
        if i + 1 < len(rows):
            assert int(rows[i + 1][0]) == ts + 1_000
    await ws.ws.close()


async def test_rest_serves_one_second_bars(client: Client) -> None:
    _, body = await client.get("/api/v5/market/candles?instId=BTC-USDT&bar=1s&limit=5")
    assert body["code"] == "0" and 1 <= len(body["data"]) <= 5
    ts = [int(r[0]) for r in body["data"]]
    assert all(t % 1_000 == 0 for t in ts) and ts == sorted(ts, reverse=True)


class _Bars:
    """Just enough of an OkxStreamHandler to collect the connector's Bars."""

    def __init__(self) -> None:
        self.bars: list[Bar] = []

    def on_market_data(self, event: Event) -> None:
        if isinstance(event, Bar):
            self.bars.append(event)

    def on_orders(self, items: list[dict[str, Any]]) -> None: ...

    def on_account(self, channel: str, items: list[dict[str, Any]]) -> None: ...

    def on_status(self, status: str, detail: str) -> None: ...


async def test_tradeloop_connector_receives_bars(emu: OkxEmulator) -> None:
    """The connector drops unconfirmed rows; before the fix it never produced a Bar here."""
    handler = _Bars()
    url = emu.base_url.replace("http", "ws") + "/ws/v5/business"
    stream = OkxStream(url, handler)
    await stream.start()
    try:
        await stream.subscribe({"channel": "candle1s", "instId": "BTC-USDT"})
        async with asyncio.timeout(10):
            while len(handler.bars) < 2:
                await asyncio.sleep(0.02)
    finally:
        await stream.stop()
    a, b = handler.bars[:2]
    # the connector may name bars by the canonical id (BTC-USDT.OKX): the native part is OKX's
    assert native_of(a.symbol) == "BTC-USDT" and a.start % 1_000_000_000 == 0
    assert a.ts == a.start + 1_000_000_000 and b.start == a.ts
    assert a.low <= a.open <= a.high and a.volume >= 0
