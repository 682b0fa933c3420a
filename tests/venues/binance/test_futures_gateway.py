"""The Binance gateway on the USD-M perpetual against the emulator's ``/fapi`` over real
sockets: the instrument (SWAP, venue-qualified id), a book synced by the ``pu`` chain that
equals the venue's REST book, a lost diff -> resync -> equal again, orders with fills and
position events from the listenKey stream, positions, and fills found again by a restarted
gateway (from userTrades/myTrades, not from memory)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from tests.support.gateway_fixtures import serving, until

from tradeloop.emulator.binance.server import BinanceConfig, BinanceEmulator
from tradeloop.model import InstrumentKind, Order, OrderStatus, OrderType, PositionUpdate, Side
from tradeloop.venues.binance.gateway import BinanceGateway

from .conftest import KEY, PERP, SECRET, SPOT, Sink, make_emulator, make_gateway


@pytest.fixture
async def emu() -> AsyncIterator[BinanceEmulator]:
    async with serving(make_emulator(seed=4)) as server:
        yield server


def _gateway(emu: BinanceEmulator, sink: Sink) -> BinanceGateway:
    gw = make_gateway(emu.base_url)
    gw.bind(sink)
    gw.bind_data(sink)
    return gw


async def _rest_book(emu: BinanceEmulator) -> tuple[int, list[tuple[float, float]], Any]:
    async with (
        aiohttp.ClientSession() as s,
        s.get(emu.base_url + "/fapi/v1/depth", params={"symbol": "BTCUSDT", "limit": "20"}) as r,
    ):
        b = await r.json()
    bids = [(float(p), float(q)) for p, q in b["bids"]]
    return b["lastUpdateId"], bids, [(float(p), float(q)) for p, q in b["asks"]]


async def _synced_equal(gw: BinanceGateway, emu: BinanceEmulator) -> None:
    assert emu.futures is not None
    want = emu.futures.hub.update_id("BTCUSDT")
    await until(lambda: (b := gw.book(PERP, 20)) is not None and b.sequence == want)
    uid, bids, asks = await _rest_book(emu)
    book = gw.book(PERP, 20)
    assert book is not None and uid == want
    assert book.bids == bids and book.asks == asks


async def test_perp_book_sync_and_resync(emu: BinanceEmulator) -> None:
    sink = Sink()
    gw = _gateway(emu, sink)
    await gw.start()
    try:
        inst = gw.instruments()[PERP]
        assert inst.kind is InstrumentKind.SWAP and inst.native == "BTCUSDT-PERP"
        assert inst.tick_size == 0.1 and inst.settle == "USDT" and SPOT in gw.instruments()
        await gw.subscribe(PERP, ("book", "trades", "quotes"))
        await until(lambda: gw.book(PERP) is not None)
        for _ in range(6):
            emu.step()
        await _synced_equal(gw, emu)
        assert not [e for e in sink.events if getattr(e, "status", "") == "resync"]
        assert any(getattr(e, "symbol", "") == PERP and type(e).__name__ == "QuoteTick"
                   for e in sink.events)  # fmt: skip
        emu.faults.skip_seqs(1)
        for _ in range(3):
            emu.step()
        await until(lambda: any(getattr(e, "status", "") == "resync" for e in sink.events))
        await _synced_equal(gw, emu)
    finally:
        await gw.stop()


async def test_perp_orders_positions_and_fills_after_restart(emu: BinanceEmulator) -> None:
    sink = Sink()
    gw = _gateway(emu, sink)
    await gw.start()
    try:
        assert await gw.fetch_positions() == []
        buy = Order("tl-perp-1", PERP, Side.BUY, 0.01, OrderType.MARKET)
        gw.submit_order(buy)
        await until(lambda: any(r.status is OrderStatus.FILLED for r in sink.reports))
        await until(lambda: any(isinstance(e, PositionUpdate) for e in sink.events))
        fills = [f for f in sink.fills if f.client_order_id == "tl-perp-1"]
        assert fills and sum(f.qty for f in fills) == pytest.approx(0.01)
        assert all(f.symbol == PERP and f.fee_ccy == "USDT" for f in fills)
        pos = await gw.fetch_positions()
        assert [(p.symbol, p.qty) for p in pos] == [(PERP, 0.01)]
        limit = Order("tl-perp-2", PERP, Side.SELL, 0.01, OrderType.LIMIT, price=10**6 / 7,
                      reduce_only=True)  # fmt: skip
        gw.submit_order(limit)
        await until(lambda: any(r.client_order_id == "tl-perp-2" and r.status is
                                 OrderStatus.ACCEPTED for r in sink.reports))  # fmt: skip
        assert [r.client_order_id for r in await gw.fetch_open_orders()] == ["tl-perp-2"]
        gw.amend_order(limit, price=10**6 / 6)  # modified in place (PUT /fapi/v1/order)
        assert emu.futures is not None
        acct = emu.futures.trading.account
        info = next(i for i in acct.infos.values() if i.client_id == "tl-perp-2")
        await until(lambda: (r := acct.record(info)) is not None and r.price == 166666.7)
        gw.cancel_order(limit)
        await until(lambda: any(r.client_order_id == "tl-perp-2" and r.status is
                                 OrderStatus.CANCELED for r in sink.reports))  # fmt: skip
        spot = Order("tl-spot-1", SPOT, Side.BUY, 0.01, OrderType.MARKET)
        gw.submit_order(spot)
        await until(lambda: any(r.client_order_id == "tl-spot-1" and r.status is
                                 OrderStatus.FILLED for r in sink.reports))  # fmt: skip
        await gw.drain(5)
        before = sorted((f.client_order_id, f.trade_id, f.symbol, f.qty) for f in sink.fills)
    finally:
        await gw.stop()
    # a new process: nothing tracked, yet every fill is found again with our client ids
    again = _gateway(emu, Sink())
    await again.start()
    try:
        got = await again.fetch_fills(0)
        assert sorted((f.client_order_id, f.trade_id, f.symbol, f.qty) for f in got) == before
    finally:
        await again.stop()


async def test_spot_only_server_leaves_the_gateway_spot_only() -> None:
    emu = BinanceEmulator(BinanceConfig(api_key=KEY, api_secret=SECRET, symbols=["BTCUSDT"],
                                        futures_symbols=[], tick_interval_ms=0))  # fmt: skip
    await emu.start("127.0.0.1", 0)
    gw = _gateway(emu, Sink())
    try:
        await gw.start()  # /fapi answers 404: a warning, not a failure
        assert list(gw.instruments()) == [SPOT] and gw.user is None
        assert await gw.fetch_positions() == [] and await gw.fetch_open_orders() == []
    finally:
        await gw.stop()
        await emu.stop()
