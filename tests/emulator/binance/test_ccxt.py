"""Third-party proof: unmodified ccxt ``binance`` (spot) talks to the emulator with only its
URLs pointed at localhost (exchanges.md §1.8)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tradeloop.emulator.binance.server import BinanceEmulator

from .helpers import KEY, SECRET

ccxt = pytest.importorskip("ccxt.async_support")


@pytest.fixture
async def ex(emu: BinanceEmulator) -> AsyncIterator[Any]:
    e = ccxt.binance({"apiKey": KEY, "secret": SECRET})
    for k, v in list(e.urls["api"].items()):
        if isinstance(v, str) and "/api/v3" in v:
            e.urls["api"][k] = emu.base_url + "/api/v3"
    e.options.update(fetchMarkets={"types": ["spot"]}, fetchMargins=False, fetchCurrencies=False)
    try:
        yield e
    finally:
        await e.close()


async def test_ccxt_spot(ex: Any, emu: BinanceEmulator) -> None:
    markets = await ex.load_markets()
    assert {"BTC/USDT", "ETH/USDT"} <= set(markets)
    t = await ex.fetch_ticker("BTC/USDT")
    assert t["bid"] < t["ask"]
    assert set(await ex.fetch_tickers()) == {"BTC/USDT", "ETH/USDT"}
    ob = await ex.fetch_order_book("BTC/USDT", 10)
    assert len(ob["bids"]) == 10 and ob["nonce"] == emu.hub.update_id("BTCUSDT")
    assert await ex.fetch_trades("BTC/USDT")
    assert len(await ex.fetch_ohlcv("BTC/USDT", "1m", limit=5)) == 5
    bal = await ex.fetch_balance()
    assert bal["total"]["USDT"] == 100_000 and bal["total"]["BTC"] == 2
    px = round(ob["bids"][0][0] * 0.9, 2)
    o = await ex.create_order("BTC/USDT", "limit", "buy", 0.01, px)
    got = await ex.fetch_order(o["id"], "BTC/USDT")
    assert got["status"] == "open" and got["amount"] == 0.01
    assert [x["id"] for x in await ex.fetch_open_orders("BTC/USDT")] == [o["id"]]
    await ex.cancel_order(o["id"], "BTC/USDT")
    assert (await ex.fetch_order(o["id"], "BTC/USDT"))["status"] == "canceled"
    with pytest.raises(ccxt.OrderNotFound):
        await ex.cancel_order(o["id"], "BTC/USDT")
    m = await ex.create_order("BTC/USDT", "market", "buy", 0.01)
    assert m["status"] == "closed" and m["filled"] == 0.01
    assert (await ex.fetch_my_trades("BTC/USDT"))[0]["order"] == m["id"]
    with pytest.raises(ccxt.InsufficientFunds):
        await ex.create_order("BTC/USDT", "limit", "buy", 50, px)
    with pytest.raises(ccxt.BadRequest):  # -1013 Filter failure: NOTIONAL
        await ex.create_order("BTC/USDT", "limit", "buy", 0.01, 1.0)  # NOTIONAL
