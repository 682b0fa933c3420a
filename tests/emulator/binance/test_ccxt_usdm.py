"""Third-party proof for USD-M: unmodified ccxt ``binanceusdm`` talks to the emulator's ``/fapi``
with only its URLs pointed at localhost: markets, ticker, book, trades, candles, funding,
leverage, balance, limit/market orders, lookups, cancel, positions, fills, and refusals with
Binance's futures codes. (ccxt picks its futures-specific error classes by the URL's host --
``https://fapi.binance.com`` -- so on localhost they surface as ExchangeError with the code.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tradeloop.emulator.binance.server import BinanceEmulator

from .helpers import KEY, SECRET

ccxt = pytest.importorskip("ccxt.async_support")
S = "BTC/USDT:USDT"


@pytest.fixture
async def ex(emu: BinanceEmulator) -> AsyncIterator[Any]:
    e = ccxt.binanceusdm({"apiKey": KEY, "secret": SECRET, "enableRateLimit": False})
    for k, v in list(e.urls["api"].items()):
        if isinstance(v, str) and v.startswith("https://fapi.binance.com"):
            e.urls["api"][k] = v.replace("https://fapi.binance.com", emu.base_url)
    e.options.update(fetchCurrencies=False, fetchMargins=False)
    try:
        yield e
    finally:
        await e.close()


async def test_ccxt_usdm(ex: Any, emu: BinanceEmulator) -> None:
    markets = await ex.load_markets()
    assert markets[S]["swap"] and markets[S]["linear"] and markets[S]["precision"]["price"] == 0.1
    t = await ex.fetch_ticker(S)
    assert t["last"] > 0
    assert set(await ex.fetch_tickers()) == {S}
    ob = await ex.fetch_order_book(S, 5)
    assert len(ob["bids"]) == 5 and ob["nonce"] == emu.futures.hub.update_id("BTCUSDT")
    assert await ex.fetch_trades(S)
    assert len(await ex.fetch_ohlcv(S, "1m", limit=5)) == 5
    assert (await ex.fetch_funding_rate(S))["fundingRate"] == 0.0001
    assert (await ex.set_leverage(5, S))["leverage"] == 5
    assert (await ex.fetch_balance())["total"]["USDT"] == 100_000
    px = round(ob["bids"][0][0] * 0.9, 1)
    o = await ex.create_order(S, "limit", "buy", 0.01, px)
    assert (await ex.fetch_order(o["id"], S))["status"] == "open"
    assert [x["id"] for x in await ex.fetch_open_orders(S)] == [o["id"]]
    await ex.cancel_order(o["id"], S)
    assert (await ex.fetch_order(o["id"], S))["status"] == "canceled"
    with pytest.raises(ccxt.OrderNotFound):
        await ex.cancel_order(o["id"], S)
    m = await ex.create_order(S, "market", "sell", 0.01)
    assert m["status"] == "closed" and m["filled"] == 0.01
    pos = await ex.fetch_positions([S])
    assert [(p["contracts"], p["side"], p["leverage"]) for p in pos] == [(0.01, "short", 5)]
    assert {f["order"] for f in await ex.fetch_my_trades(S)} == {m["id"]}
    with pytest.raises(ccxt.ExchangeError, match="-2019"):  # Margin is insufficient.
        await ex.create_order(S, "limit", "buy", 500, px)
    with pytest.raises(ccxt.ExchangeError, match="-4164"):  # below the minimum notional
        await ex.create_order(S, "limit", "buy", 0.001, 1000.0)
