"""Third-party proof: unmodified ccxt ``bitfinex`` (async REST and ccxt.pro WS) against the
emulator with only its URLs pointed at localhost (``specs/exchanges.md`` §3.5)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.support.gateway_fixtures import until

from tradeloop.emulator.bitfinex.server import BitfinexEmulator

from .helpers import KEY, SECRET

ccxt = pytest.importorskip("ccxt.async_support")
ccxtpro = pytest.importorskip("ccxt.pro")


def _point(ex: Any, emu: BitfinexEmulator) -> Any:
    for name in ("v1", "public", "private"):
        ex.urls["api"][name] = emu.base_url
    if "ws" in ex.urls["api"]:
        ws = emu.base_url.replace("http://", "ws://") + "/ws/2"
        ex.urls["api"]["ws"] = {"public": ws, "private": ws}
    return ex


@pytest.fixture
async def rest(bfx: BitfinexEmulator) -> AsyncIterator[Any]:
    ex = _point(ccxt.bitfinex({"apiKey": KEY, "secret": SECRET}), bfx)
    try:
        yield ex
    finally:
        await ex.close()


async def test_ccxt_rest(rest: Any) -> None:
    markets = await rest.load_markets()
    assert {"BTC/USD", "ETH/USD"} <= set(markets) and markets["BTC/USD"]["spot"]
    assert (await rest.fetch_ticker("BTC/USD"))["last"] > 0
    assert len(await rest.fetch_tickers(["BTC/USD", "ETH/USD"])) == 2
    ob = await rest.fetch_order_book("BTC/USD", 25)
    assert len(ob["bids"]) == 25 and ob["bids"][0][0] < ob["asks"][0][0]
    assert (await rest.fetch_trades("BTC/USD"))[0]["symbol"] == "BTC/USD"
    bars = await rest.fetch_ohlcv("BTC/USD", "1m", limit=5)
    assert len(bars) == 5 and bars[0][0] < bars[-1][0]
    assert (await rest.fetch_balance())["USD"]["total"] == 100_000
    o = await rest.create_order("BTC/USD", "limit", "buy", 0.01, 30000)
    assert o["status"] == "open" and o["amount"] == 0.01
    assert [x["id"] for x in await rest.fetch_open_orders("BTC/USD")] == [o["id"]]
    assert (await rest.cancel_order(o["id"], "BTC/USD"))["status"] == "canceled"
    await rest.create_order("BTC/USD", "market", "sell", 0.01)
    closed = await rest.fetch_closed_orders("BTC/USD")
    assert {x["status"] for x in closed} == {"canceled", "closed"}
    mine = await rest.fetch_my_trades("BTC/USD")
    assert mine and mine[0]["side"] == "sell" and mine[0]["fee"]["currency"] == "USD"


async def test_ccxt_pro_book_with_checksum(bfx: BitfinexEmulator) -> None:
    ex = _point(ccxtpro.bitfinex({"apiKey": KEY, "secret": SECRET}), bfx)
    try:
        ob = await ex.watch_order_book("BTC/USD")
        for _ in range(10):
            task = asyncio.ensure_future(ex.watch_order_book("BTC/USD"))
            for _ in range(200):
                if task.done():
                    break
                bfx.step()
                await asyncio.sleep(0.01)
            ob = await asyncio.wait_for(task, 5)
        assert ob["bids"][0][0] < ob["asks"][0][0]  # ccxt verified every "cs" (its default)
        t = await asyncio.wait_for(ex.watch_ticker("BTC/USD"), 5)
        assert t["bid"] < t["ask"]
    finally:
        await ex.close()


async def _stepping(bfx: BitfinexEmulator, coro: Any) -> Any:
    """Await a ccxt.pro watch while the frozen market is stepped (at most ~2 s)."""
    task = asyncio.ensure_future(coro)
    for _ in range(200):
        if task.done():
            break
        bfx.step()
        await asyncio.sleep(0.01)
    return await asyncio.wait_for(task, 5)


async def test_ccxt_pro_trades_and_orders(bfx: BitfinexEmulator) -> None:
    """watch_trades on the public stream; watch_orders on ccxt's own authenticated socket
    (its ``auth`` event, signature and nonce), fed by orders ccxt places over REST."""
    ex = _point(ccxtpro.bitfinex({"apiKey": KEY, "secret": SECRET}), bfx)
    try:
        trades = await _stepping(bfx, ex.watch_trades("BTC/USD"))
        assert trades and all(t["symbol"] == "BTC/USD" and t["amount"] > 0 for t in trades)
        assert {t["side"] for t in trades} <= {"buy", "sell"}
        watching = asyncio.ensure_future(ex.watch_orders("BTC/USD"))
        # authenticated before the order: account pushes go to logged-in sockets only
        await until(lambda: any(c.logged_in for c in bfx.hub.state), "ccxt's auth")
        o = await ex.create_order("BTC/USD", "limit", "buy", 0.01, 30000)
        seen = await asyncio.wait_for(watching, 5)
        assert [(x["id"], x["status"], x["amount"]) for x in seen] == [(o["id"], "open", 0.01)]
        await ex.cancel_order(o["id"], "BTC/USD")
        seen = await asyncio.wait_for(ex.watch_orders("BTC/USD"), 5)
        assert seen[-1]["id"] == o["id"] and seen[-1]["status"] == "canceled"
        m = await ex.create_order("BTC/USD", "market", "sell", 0.01)
        for _ in range(5):
            seen = await asyncio.wait_for(ex.watch_orders("BTC/USD"), 5)
            if seen[-1]["id"] == m["id"] and seen[-1]["status"] == "closed":
                break
        assert seen[-1]["id"] == m["id"] and seen[-1]["status"] == "closed"
    finally:
        await ex.close()


async def test_ccxt_trigger_orders(rest: Any, bfx: BitfinexEmulator) -> None:
    """ccxt's own stop / stop-limit / OCO requests (``triggerPrice``, ``price_oco_stop``)."""
    await rest.load_markets()
    mid = bfx.driver.markets["tBTCUSD"].mid()
    stop, limit, take = round(mid * 0.9), round(mid * 0.89), round(mid * 1.1)
    o = await rest.create_order("BTC/USD", "market", "sell", 0.01, None, {"triggerPrice": stop})
    assert (o["status"], o["info"][8], o["triggerPrice"]) == ("open", "EXCHANGE STOP", stop)
    sl = await rest.create_order("BTC/USD", "limit", "sell", 0.01, limit, {"triggerPrice": stop})
    assert (sl["price"], sl["triggerPrice"]) == (limit, stop)
    oco = await rest.create_order("BTC/USD", "limit", "sell", 0.01, take,
                                  {"flags": 16384, "price_oco_stop": str(stop)})  # fmt: skip
    assert oco["price"] == take and oco["info"][12] == 16384
    types = sorted(x["info"][8] for x in await rest.fetch_open_orders("BTC/USD"))
    assert types == ["EXCHANGE LIMIT", "EXCHANGE STOP", "EXCHANGE STOP", "EXCHANGE STOP LIMIT"]
    await rest.cancel_order(oco["id"], "BTC/USD")  # one cancels the other
    assert len(await rest.fetch_open_orders("BTC/USD")) == 2
