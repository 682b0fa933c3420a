"""Third-party proof over WebSockets: unmodified ccxt.pro ``binance`` (spot) and ``binanceusdm``
(``/fapi``: the routed ``/public``, ``/market`` and ``/private`` futures endpoints) against
the emulator with only URLs changed -- watch_order_book (its book equals the venue's at the same
update id), watch_trades, watch_ticker, watch_orders and watch_balance."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tradeloop.emulator.binance.server import BinanceEmulator
from tradeloop.emulator.binance.streams import BinanceHub

from .helpers import KEY, SECRET

ccxtpro = pytest.importorskip("ccxt.pro")


def _point(e: Any, base: str) -> None:
    ws = base.replace("http", "ws")
    for k, v in list(e.urls["api"].items()):
        if isinstance(v, str) and v.startswith("https://api.binance.com/api/v3"):
            e.urls["api"][k] = base + "/api/v3"
        elif isinstance(v, str) and v.startswith("https://fapi.binance.com"):
            e.urls["api"][k] = v.replace("https://fapi.binance.com", base)
    e.urls["api"]["ws"]["spot"] = ws + "/ws"
    e.urls["api"]["ws"]["linear"] = ws + "/fapi/ws"
    e.urls["api"]["ws"]["ws-api"]["spot"] = ws + "/ws-api/v3"
    e.options.update(fetchMargins=False, fetchCurrencies=False)


@pytest.fixture
async def ex(emu: BinanceEmulator) -> AsyncIterator[Any]:
    e = ccxtpro.binance({"apiKey": KEY, "secret": SECRET, "enableRateLimit": False})
    _point(e, emu.base_url)
    # spot only: ccxt.pro tells a spot stream from a futures one by the host it came from,
    # which on localhost is the same for both
    e.options["fetchMarkets"] = {"types": ["spot"]}
    try:
        yield e
    finally:
        await e.close()


async def _stepping(emu: BinanceEmulator, until: asyncio.Event) -> None:
    while not until.is_set():
        emu.step()
        await asyncio.sleep(0.03)


async def _book_at_venue(ex: Any, emu: BinanceEmulator, symbol: str, hub: BinanceHub,
                         native: str) -> None:  # fmt: skip
    """Step until ccxt has a book, stop the market, then its book must equal the venue's."""
    done = asyncio.Event()
    stepper = asyncio.ensure_future(_stepping(emu, done))
    try:
        await asyncio.wait_for(ex.watch_order_book(symbol), 10)
    finally:
        done.set()
        await stepper
    emu.step()  # one more diff after the market stopped
    want = hub.update_id(native)
    for _ in range(250):  # ccxt's cached book catches up with the last diff
        ob = ex.orderbooks[symbol]
        if ob["nonce"] == want:
            break
        await asyncio.sleep(0.02)
    assert ob["nonce"] == want
    m = hub.markets[native]
    bids = [[float(m.px(p)), float(s)] for p, s in m.sorted_bids()]
    asks = [[float(m.px(p)), float(s)] for p, s in m.sorted_asks()]
    assert ob["bids"] == bids and ob["asks"] == asks


async def _subscribed(hub: BinanceHub, native: str, user: str) -> None:
    """Wait until ccxt's trade and ticker streams of ``native`` and its user data (private
    sub ``user``) are in at the venue: an order sent before would go unseen by watch_orders."""
    low = native.lower() + "@"

    def ready() -> bool:
        names = {k[1] for c in list(hub.conns) for k in c.public_keys if k[1].startswith(low)}
        return (any(user in c.private_subs for c in list(hub.conns))
                and any(n.endswith(("@trade", "@aggTrade")) for n in names)
                and any(n.endswith(("@ticker", "@miniTicker")) for n in names))  # fmt: skip

    for _ in range(500):
        if ready():
            return
        await asyncio.sleep(0.02)
    names = sorted({k[1] for c in hub.conns for k in c.public_keys})
    raise AssertionError(f"subscriptions not in: {names}")


async def test_ccxtpro_spot(ex: Any, emu: BinanceEmulator) -> None:
    await ex.load_markets()
    await _book_at_venue(ex, emu, "BTC/USDT", emu.hub, "BTCUSDT")
    trades = asyncio.ensure_future(ex.watch_trades("BTC/USDT"))
    ticker = asyncio.ensure_future(ex.watch_ticker("BTC/USDT"))
    orders = asyncio.ensure_future(ex.watch_orders("BTC/USDT"))
    balance = asyncio.ensure_future(ex.watch_balance())
    await _subscribed(emu.hub, "BTCUSDT", "user")
    o = await ex.create_order("BTC/USDT", "market", "buy", 0.01)
    done = asyncio.Event()
    stepper = asyncio.ensure_future(_stepping(emu, done))
    try:
        got = await asyncio.wait_for(orders, 10)
        assert got[-1]["id"] == o["id"] and got[-1]["status"] == "closed"
        assert (await asyncio.wait_for(balance, 10))["total"]["BTC"] > 2
        assert await asyncio.wait_for(trades, 10)
        assert (await asyncio.wait_for(ticker, 10))["last"] > 0
    finally:
        done.set()
        await stepper


async def test_ccxtpro_usdm(emu: BinanceEmulator) -> None:
    ex = ccxtpro.binanceusdm({"apiKey": KEY, "secret": SECRET, "enableRateLimit": False})
    _point(ex, emu.base_url)
    try:
        await ex.load_markets()
        s = "BTC/USDT:USDT"
        assert emu.futures is not None
        await _book_at_venue(ex, emu, s, emu.futures.hub, "BTCUSDT")
        trades = asyncio.ensure_future(ex.watch_trades(s))
        ticker = asyncio.ensure_future(ex.watch_ticker(s))
        orders = asyncio.ensure_future(ex.watch_orders(s))
        balance = asyncio.ensure_future(ex.watch_balance())
        await _subscribed(emu.futures.hub, "BTCUSDT", "listen")
        o = await ex.create_order(s, "market", "buy", 0.01)
        done = asyncio.Event()
        stepper = asyncio.ensure_future(_stepping(emu, done))
        try:
            got = await asyncio.wait_for(orders, 10)
            assert got[0]["id"] == o["id"]
            fees = sum(float(f["commission"]) for f in emu.futures.trading.user_trades(
                {"symbol": "BTCUSDT"}))  # fmt: skip
            bal = await asyncio.wait_for(balance, 10)
            assert bal["total"]["USDT"] == pytest.approx(100_000 - fees)
            assert await asyncio.wait_for(trades, 10)
            assert (await asyncio.wait_for(ticker, 10))["last"] > 0
        finally:
            done.set()
            await stepper
    finally:
        await ex.close()
