"""The gateway's USD-M sockets use Binance's routed WebSockets (the legacy ``/ws`` and
``/stream`` were retired 2026-04-23): the book and book-ticker streams on ``/public/ws``, the
trades and klines on ``/market/ws``, the user data on ``/private/ws?listenKey=&events=``.
The emulator says which path each connection came in on and refuses a misrouted stream, so a
wrong route shows as a count here, not as silence."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tests.support.gateway_fixtures import bound, serving, until

from tradeloop.emulator.binance.server import BinanceEmulator
from tradeloop.model import Order, OrderType, PositionUpdate, Side, TradeTick

from .conftest import PERP, Sink, make_emulator, make_gateway


@pytest.fixture
async def emu() -> AsyncIterator[BinanceEmulator]:
    async with serving(make_emulator(seed=6)) as server:
        yield server


async def test_futures_sockets_use_the_routed_paths(emu: BinanceEmulator) -> None:
    side = emu.futures
    assert side is not None
    async with bound(make_gateway(emu.base_url), Sink()) as (gw, sink):
        await gw.subscribe(PERP, ("book", "quotes", "trades", "bars:1m"))
        await until(lambda: gw.book(PERP) is not None)
        want = {"public": ["btcusdt@bookTicker", "btcusdt@depth@100ms"],
                "market": ["btcusdt@aggTrade", "btcusdt@kline_1m"]}  # fmt: skip
        await until(lambda: {side.hub.route(c): sorted(k[1] for k in c.public_keys)
                             for c in side.hub.conns if c.public_keys} == want)  # fmt: skip
        served = {k: n for k, n in emu.served.items() if k.startswith("WS /fapi")}
        assert served == {"WS /fapi/public/ws": 1, "WS /fapi/market/ws": 1,
                          "WS /fapi/private/ws": 1}  # fmt: skip
        assert side.hub.misrouted == []
        # the market route delivers (trades), the private one too (a fill's position)
        gw.submit_order(Order("tl-route-1", PERP, Side.BUY, 0.01, OrderType.MARKET))
        for _ in range(20):
            emu.step()
        await until(lambda: any(isinstance(e, TradeTick) and e.symbol == PERP
                                for e in sink.events))  # fmt: skip
        await until(lambda: any(isinstance(e, PositionUpdate) and e.symbol == PERP
                                for e in sink.events))  # fmt: skip
        await gw.unsubscribe(PERP, ("trades", "quotes"))
        await until(lambda: all("btcusdt@aggTrade" not in {k[1] for k in c.public_keys}
                                for c in side.hub.conns))  # fmt: skip
