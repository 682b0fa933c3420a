"""The Binance gateway against an emulator that pings and ages connections out quickly: it
answers the server's pings (no disconnect while they come every 100 ms), and when every socket
is closed at the age limit it reconnects all four (spot streams, WS API, futures streams,
listenKey), resyncs both books to the venue's and keeps trading on both markets."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.support.gateway_fixtures import until

from tradeloop.emulator.binance.lifetime import WsLifetime, pings_sent
from tradeloop.emulator.binance.server import BinanceEmulator
from tradeloop.model import Order, OrderStatus, OrderType, Side
from tradeloop.venues.binance.gateway import BinanceGateway
from tradeloop.venues.binance.ws import WS_CONFIG
from tradeloop.venues.retry import RetryConfig

from .conftest import PERP, SPOT, Sink, make_emulator, make_gateway

FAST_WS = dataclasses.replace(
    WS_CONFIG, heartbeat_interval=30.0, reconnect=RetryConfig(max_attempts=0, base=0.05, cap=0.2)
)


async def _emu(life: WsLifetime) -> BinanceEmulator:
    emu = make_emulator(seed=6, ws_lifetime=life, futures_ws_lifetime=life)
    await emu.start("127.0.0.1", 0)
    return emu


@pytest.fixture
async def gw_of() -> AsyncIterator[Any]:
    made: list[tuple[BinanceGateway, BinanceEmulator]] = []

    async def build(life: WsLifetime) -> tuple[BinanceGateway, BinanceEmulator, Sink]:
        emu = await _emu(life)
        gw = make_gateway(emu.base_url, ws_config=FAST_WS)
        made.append((gw, emu))
        sink = Sink()
        gw.bind(sink)
        gw.bind_data(sink)
        await gw.start()
        for sym in (SPOT, PERP):
            await gw.subscribe(sym, ("book",))
        return gw, emu, sink

    yield build
    for gw, emu in made:
        await gw.stop()
        await emu.stop()


async def _books_match(gw: BinanceGateway, emu: BinanceEmulator) -> None:
    assert emu.futures is not None
    for sym, hub in ((SPOT, emu.hub), (PERP, emu.futures.hub)):
        want = hub.update_id("BTCUSDT")
        await until(lambda s=sym, w=want: (b := gw.book(s, 20)) is not None and b.sequence == w)  # type: ignore[misc]
        book = gw.book(sym, 20)
        m = hub.markets["BTCUSDT"]
        assert book is not None
        assert book.bids == [(float(m.px(p)), float(q)) for p, q in m.sorted_bids()[:20]]
        assert book.asks == [(float(m.px(p)), float(q)) for p, q in m.sorted_asks()[:20]]


async def test_pings_are_answered(gw_of: Any) -> None:
    gw, emu, sink = await gw_of(WsLifetime(interval_s=0.1, timeout_s=0.5, max_age_s=0))
    await _books_match(gw, emu)
    assert emu.futures is not None
    conns = [*emu.hub.conns, *emu.futures.hub.conns]
    assert len(conns) == 5  # spot streams, WS API, futures streams, listenKey, futures WS API
    # 15 pings answered on each: an unanswered one would close its socket within 0.5 s
    await until(lambda: all(pings_sent(c) >= 15 for c in conns), timeout=60.0)
    assert not sink.statuses("disconnected") and not sink.statuses("reconnected")
    assert [*emu.hub.conns, *emu.futures.hub.conns] == conns and not any(c.closed for c in conns)


async def test_age_limit_reconnects_everything(gw_of: Any) -> None:
    gw, emu, sink = await gw_of(WsLifetime(interval_s=0, timeout_s=0, max_age_s=0.6))
    await _books_match(gw, emu)
    await until(lambda: len(sink.statuses("reconnected")) >= 4)  # every socket came back
    assert emu.futures is not None
    emu.hub.lifetime = emu.futures.hub.lifetime = WsLifetime(0, 0, 0)  # the next ones stay
    await until(lambda: len(sink.statuses("reconnected")) >= 8)  # the second generation
    for _ in range(3):
        emu.step()
    await _books_match(gw, emu)
    await until(lambda: gw.api is not None and gw.api.connected and gw.user is not None
                 and gw.user.connected and gw.fapi is not None
                 and gw.fapi.connected)  # fmt: skip
    for cid, sym in (("life-spot", SPOT), ("life-perp", PERP)):
        gw.submit_order(Order(cid, sym, Side.BUY, 0.01, OrderType.MARKET))
        await until(lambda c=cid: any(r.client_order_id == c and r.status is OrderStatus.FILLED
                                       for r in sink.reports))  # type: ignore[misc]  # fmt: skip
    assert {f.symbol for f in sink.fills} == {SPOT, PERP}
