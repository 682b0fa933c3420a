"""Warm-up history from OKX, Binance, BitMEX and Bitfinex: each venue's candle endpoint, read
through its own REST client against its emulator over loopback, gives closed bars of the
period, oldest first, contiguous and ending at the requested boundary (paged past the venues'
page sizes)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from tradeloop.live.history import FETCHERS
from tradeloop.venues import registry

MIN = 60 * 10**9


def _binance() -> Any:
    from tradeloop.emulator.binance.server import BinanceConfig, BinanceEmulator

    return BinanceEmulator(BinanceConfig(api_key="K", api_secret="S", symbols=["BTCUSDT"],
                                         tick_interval_ms=50, seed=2))  # fmt: skip


def _bitmex() -> Any:
    from tradeloop.emulator.bitmex.server import BitmexConfig, BitmexEmulator

    return BitmexEmulator(BitmexConfig(api_key="K", api_secret="S", tick_interval_ms=50, seed=5))


def _bitfinex() -> Any:
    from tradeloop.emulator.bitfinex.server import BitfinexConfig, BitfinexEmulator

    return BitfinexEmulator(BitfinexConfig(api_key="K", api_secret="S", tick_interval_ms=50))


def _okx() -> Any:
    from .helpers import emulator

    return emulator("K", "S", "P")


VENUES: list[tuple[str, Callable[[], Any], str]] = [
    ("okx", _okx, "BTC-USDT.OKX"),
    ("binance", _binance, "BTCUSDT.BINANCE"),
    ("bitmex", _bitmex, "XBTUSD.BITMEX"),
    ("bitfinex", _bitfinex, "tBTCUSD.BITFINEX"),
]


@pytest.mark.parametrize(("venue", "make", "symbol"), VENUES, ids=[v[0] for v in VENUES])
async def test_history_candles(venue: str, make: Callable[[], Any], symbol: str) -> None:
    emu = make()
    url = await emu.start("127.0.0.1", 0)
    creds = {"api_key": "K", "secret": "S"} | ({"passphrase": "P"} if venue == "okx" else {})
    gw = registry.get(venue).build(url=url, credentials=creds)
    await gw.start()
    try:
        native = gw.instruments()[symbol].native
        end = time.time_ns() // MIN * MIN
        fetch = FETCHERS[venue.upper()]
        for n in (3, 1_100):  # 1,100 > Binance's and BitMEX's 1,000-row pages
            bars = await fetch(gw, symbol, native, MIN, n, end)
            assert [b.ts for b in bars] == [end - (n - 1 - i) * MIN for i in range(n)]
            assert all(b.ts - b.start == MIN and b.symbol == symbol for b in bars)
            assert all(b.low <= min(b.open, b.close) <= max(b.open, b.close) <= b.high
                       and b.volume >= 0 for b in bars)  # fmt: skip
        # a period the venue has no candles for warms up live: no bars, no error
        assert await fetch(gw, symbol, native, 7 * 10**9, 3, end // 7 * 7) == []
    finally:
        await gw.stop()
        await emu.stop()
