"""The Binance connector against the Binance emulator over real sockets: instruments, a synced
book, orders over the WS API (and over REST when the session is off), user-data fills and
balances, cancel, -1021 clock recovery, and the book-sync procedure on the real captures."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tests.support.gateway_fixtures import serving, until

from tradeloop.emulator.binance.server import BinanceEmulator
from tradeloop.model import Order, OrderStatus, OrderType, Side
from tradeloop.venues.binance.auth import Credentials
from tradeloop.venues.binance.booksync import BinanceBookSync, Diff, SyncResult
from tradeloop.venues.binance.capture import snapshots, ws_messages
from tradeloop.venues.binance.gateway import BinanceGateway
from tradeloop.venues.binance.orders import binance_client_id

from .conftest import KEY, SECRET, Sink, make_emulator, make_gateway

CAPTURES = Path(__file__).resolve().parents[4] / "shared" / "data" / "captures"


@pytest.fixture
async def emu() -> AsyncIterator[BinanceEmulator]:
    async with serving(make_emulator(seed=2, tick_interval_ms=50)) as server:
        yield server


@pytest.mark.parametrize("use_ws_api", [True, False])
async def test_gateway_orders_and_book(emu: BinanceEmulator, use_ws_api: bool) -> None:
    gw = make_gateway(emu.base_url, use_ws_api=use_ws_api)
    sink = Sink()
    gw.bind(sink)
    gw.bind_data(sink)
    await gw.start()
    try:
        sym = "BTCUSDT.BINANCE"
        assert sym in gw.instruments()
        await gw.subscribe(sym, ("book", "trades", "quotes"))
        await until(lambda: gw.book(sym) is not None)
        book = gw.book(sym, 5)
        assert book is not None and book.bids[0][0] < book.asks[0][0]
        bid = book.bids[0][0]
        limit = Order("tl-limit-1", sym, Side.BUY, 0.01, OrderType.LIMIT, price=bid * 0.9)
        gw.submit_order(limit)
        await until(lambda: any(r.status is OrderStatus.ACCEPTED for r in sink.reports))
        gw.cancel_order(limit)
        await until(lambda: any(r.status is OrderStatus.CANCELED for r in sink.reports))
        assert all(r.client_order_id == "tl-limit-1" for r in sink.reports)
        mkt = Order("tl-mkt-1", sym, Side.BUY, 0.01, OrderType.MARKET)
        gw.submit_order(mkt)
        await until(lambda: any(r.status is OrderStatus.FILLED for r in sink.reports))
        await gw.drain(5)
        fills = [f for f in sink.fills if f.client_order_id == "tl-mkt-1"]
        assert fills and abs(sum(f.qty for f in fills) - 0.01) < 1e-12
        assert len({f.trade_id for f in fills}) == len(fills)
        bals = {b.asset: b for b in await gw.fetch_balances()}
        assert bals["BTC"].total > 1.0
        assert await gw.fetch_open_orders() == []
        # the book stayed in sync with the moving market (no resync), top levels ordered
        await asyncio.sleep(0.3)
        top = gw.book(sym, 3)
        assert top is not None and top.bids[0][0] < top.asks[0][0]
        assert not [e for e in sink.events if getattr(e, "status", "") == "resync"]
    finally:
        await gw.stop()


async def test_clock_offset_recovers_from_1021(emu: BinanceEmulator) -> None:
    gw = BinanceGateway(emu.base_url, None)
    gw.rest.credentials = Credentials(KEY, SECRET)
    gw.rest.offset_ms = -30_000  # a clock far behind: the first signed request gets -1021
    acct = await gw.rest.call("GET", "/api/v3/account", signed=True)
    assert acct["accountType"] == "SPOT" and abs(gw.rest.offset_ms) < 2_000
    assert gw.rest.gate.used > 0
    await gw.stop()


def test_client_ids() -> None:
    assert binance_client_id("abc-1") == "abc-1"
    long = binance_client_id("x" * 50)
    assert len(long) == 32 and long == binance_client_id("x" * 50)


@pytest.mark.shared
@pytest.mark.parametrize("name,futures", [("BINANCE", False), ("BINANCE_FUTURES", True)])
def test_capture_sync_and_gap(name: str, futures: bool) -> None:
    if not (CAPTURES / f"{name}.ws.1.0").exists():
        pytest.skip(f"../shared/data/captures/{name}.* not beside the checkout")
    snaps = snapshots(CAPTURES / f"{name}.http.0.0")
    books: dict[str, BinanceBookSync] = {}
    applied = 0
    for ts, raw in ws_messages(CAPTURES / f"{name}.ws.1.0"):
        while snaps and snaps[0][0] <= ts:
            _, sym, body = snaps.pop(0)
            b = books.setdefault(sym, BinanceBookSync(sym, futures=futures))
            assert b.on_snapshot(body["lastUpdateId"], body["bids"], body["asks"]) is (
                SyncResult.APPLIED
            )
        d = json.loads(raw)["data"]
        if d.get("e") != "depthUpdate":
            continue
        b = books.setdefault(d["s"], BinanceBookSync(d["s"], futures=futures))
        r = b.on_diff(Diff(d["U"], d["u"], d["b"], d["a"], d.get("pu")))
        assert r is not SyncResult.RESYNC, b.last_error
        applied += r is SyncResult.APPLIED
        last = d
    assert applied > 100 and all(b.synced and not b.book.is_crossed() for b in books.values())
    # a lost diff is noticed: the next one does not continue the chain
    b = books[last["s"]]
    gap = Diff(b.last_id + 5, b.last_id + 6, [], [], b.last_id + 4)
    assert b.on_diff(gap) is SyncResult.RESYNC and not b.synced and b.book.best_bid() is None
