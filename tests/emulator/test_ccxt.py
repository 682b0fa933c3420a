"""Third-party proof: unmodified ccxt (async REST and ccxt.pro WS) talks to the emulator with
only its URLs pointed at localhost (spec §0.2/§2.6)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tradeloop.emulator.okx.server import OkxEmulator

from .helpers import KEY, PASSPHRASE, SECRET, make_config

ccxt = pytest.importorskip("ccxt.async_support")
ccxtpro = pytest.importorskip("ccxt.pro")


def _point(ex: Any, emu: OkxEmulator) -> Any:
    ex.urls["api"]["rest"] = emu.base_url
    if "ws" in ex.urls["api"]:
        ex.urls["api"]["ws"] = emu.base_url.replace("http://", "ws://") + "/ws/v5"
    return ex


@pytest.fixture
async def rest(emu: OkxEmulator) -> AsyncIterator[Any]:
    ex = _point(ccxt.okx({"apiKey": KEY, "secret": SECRET, "password": PASSPHRASE}), emu)
    try:
        yield ex
    finally:
        await ex.close()


@pytest.fixture
async def pro(emu: OkxEmulator) -> AsyncIterator[Any]:
    ex = _point(ccxtpro.okx({"apiKey": KEY, "secret": SECRET, "password": PASSPHRASE}), emu)
    ex.options["fetchMarkets"] = {"types": ["spot", "swap"]}
    try:
        yield ex
    finally:
        await ex.close()


async def test_ccxt_rest_market_data(rest: Any) -> None:
    markets = await rest.load_markets()  # default: SPOT, FUTURES, SWAP, OPTION + currencies
    assert {"BTC/USDT", "ETH/USDT", "BTC/USDT:USDT"} <= set(markets)
    swap = markets["BTC/USDT:USDT"]
    assert swap["contractSize"] == 0.01 and swap["linear"] and swap["settle"] == "USDT"
    assert markets["BTC/USDT"]["precision"]["price"] == 0.1
    t = await rest.fetch_ticker("BTC/USDT")
    assert t["bid"] < t["ask"] and t["last"] > 0
    ob = await rest.fetch_order_book("BTC/USDT", 20)
    assert len(ob["bids"]) == 20 and ob["bids"][0][0] < ob["asks"][0][0]
    trades = await rest.fetch_trades("BTC/USDT")
    assert trades and trades[0]["symbol"] == "BTC/USDT"
    bars = await rest.fetch_ohlcv("BTC/USDT", "1h", limit=5)
    assert len(bars) == 5 and bars[0][0] < bars[-1][0]
    funding = await rest.fetch_funding_rate("BTC/USDT:USDT")
    assert funding["fundingRate"] == 0.0001


async def test_ccxt_rest_trading(rest: Any) -> None:
    rest.options["fetchMarkets"] = {"types": ["spot", "swap"]}
    await rest.load_markets()
    bal = await rest.fetch_balance()
    assert bal["total"]["USDT"] == 100_000 and bal["total"]["BTC"] == 2
    bid = (await rest.fetch_order_book("BTC/USDT", 5))["bids"][0][0]
    limit = await rest.create_order("BTC/USDT", "limit", "buy", 0.01, round(bid * 0.9, 1))
    got = await rest.fetch_order(limit["id"], "BTC/USDT")
    assert got["status"] == "open" and got["amount"] == 0.01 and got["side"] == "buy"
    assert got["clientOrderId"]  # ccxt's generated 32-char clOrdId was accepted
    assert [o["id"] for o in await rest.fetch_open_orders("BTC/USDT")] == [limit["id"]]
    free = (await rest.fetch_balance())["free"]["USDT"]
    assert free < 100_000
    await rest.cancel_order(limit["id"], "BTC/USDT")
    assert (await rest.fetch_order(limit["id"], "BTC/USDT"))["status"] == "canceled"
    with pytest.raises(ccxt.OrderNotFound):
        await rest.cancel_order(limit["id"], "BTC/USDT")
    mkt = await rest.create_order("BTC/USDT", "market", "sell", 0.5)
    filled = await rest.fetch_order(mkt["id"], "BTC/USDT")
    assert filled["status"] == "closed" and filled["filled"] == 0.5 and filled["average"] > 0
    assert (await rest.fetch_balance())["total"]["BTC"] == pytest.approx(1.5)
    with pytest.raises(ccxt.InsufficientFunds):
        await rest.create_order("BTC/USDT", "market", "sell", 50)
    with pytest.raises(ccxt.InvalidOrder):
        await rest.create_order("BTC/USDT", "limit", "buy", 0.000001, 1000)
    await rest.set_leverage(10, "BTC/USDT:USDT", {"marginMode": "cross"})
    await rest.create_order("BTC/USDT:USDT", "market", "buy", 4)
    (pos,) = await rest.fetch_positions(["BTC/USDT:USDT"])
    assert pos["contracts"] == 4 and pos["side"] == "long" and pos["leverage"] == 10
    assert pos["entryPrice"] > 0


async def _until(cond: Any, what: str) -> None:
    for _ in range(500):
        if cond():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


async def test_ccxt_pro_watchers(emu: OkxEmulator, pro: Any) -> None:
    await pro.load_markets()
    ob = await asyncio.wait_for(pro.watch_order_book("BTC/USDT"), 10)
    nonce = ob["nonce"]
    for _ in range(3):  # incremental updates applied on top of the snapshot
        ob = await asyncio.wait_for(pro.watch_order_book("BTC/USDT"), 10)
    assert ob["nonce"] != nonce and ob["bids"][0][0] < ob["asks"][0][0]
    t = await asyncio.wait_for(pro.watch_ticker("ETH/USDT"), 10)
    assert t["symbol"] == "ETH/USDT" and t["bid"] < t["ask"]
    bars = await asyncio.wait_for(pro.watch_ohlcv("BTC/USDT", "1m"), 10)
    assert bars and len(bars[-1]) == 6

    watch = asyncio.create_task(pro.watch_orders("BTC/USDT"))
    await _until(lambda: any(c.private_subs for c in emu.hub.conns), "orders subscription")
    placed = await pro.create_order("BTC/USDT", "limit", "buy", 0.002, 1000)
    orders = await asyncio.wait_for(watch, 10)
    assert placed["id"] in [o["id"] for o in orders]
    seen = next(o for o in orders if o["id"] == placed["id"])
    assert seen["status"] == "open" and seen["price"] == 1000

    watch = asyncio.create_task(pro.watch_orders("BTC/USDT"))
    await asyncio.sleep(0)
    await pro.cancel_order(placed["id"], "BTC/USDT")
    orders = await asyncio.wait_for(watch, 10)
    assert any(o["id"] == placed["id"] and o["status"] == "canceled" for o in orders)


@pytest.fixture
async def coded_emu() -> AsyncIterator[OkxEmulator]:
    server = OkxEmulator(make_config(inst_id_code=True))
    await server.start("127.0.0.1", 0)
    try:
        yield server
    finally:
        await server.stop()


async def test_ccxt_pro_ws_order_entry_with_inst_id_code(coded_emu: OkxEmulator) -> None:
    """With ``instIdCode`` in instruments ccxt sends it instead of ``instId`` (and its
    cancel_order_ws *only* works that way): place, cancel and fetch through WS order entry."""
    pro = _point(ccxtpro.okx({"apiKey": KEY, "secret": SECRET, "password": PASSPHRASE}), coded_emu)
    pro.options["fetchMarkets"] = {"types": ["spot", "swap"]}
    try:
        await _ws_order_entry(pro)
    finally:
        await pro.close()


async def _ws_order_entry(pro: Any) -> None:
    markets = await pro.load_markets()
    assert markets["BTC/USDT"]["instIdCode"]
    order = await asyncio.wait_for(pro.create_order_ws("BTC/USDT", "limit", "buy", 0.001, 1000), 10)
    assert order["id"]
    await asyncio.wait_for(pro.cancel_order_ws(order["id"], "BTC/USDT"), 10)
    fetched = await pro.fetch_order(order["id"], "BTC/USDT")
    assert fetched["status"] == "canceled"


async def test_ccxt_pro_balance_and_positions(emu: OkxEmulator, pro: Any) -> None:
    await pro.load_markets()

    def subscribed(channel: str) -> bool:
        return any(
            a.get("channel") == channel for c in emu.hub.conns for a in c.private_subs.values()
        )

    balance = asyncio.create_task(pro.watch_balance())
    await _until(lambda: subscribed("account"), "account subscription")
    await pro.create_order("BTC/USDT", "limit", "buy", 0.01, 1000)
    bal = await asyncio.wait_for(balance, 10)
    assert bal["USDT"]["total"] == pytest.approx(100_000)
    assert bal["USDT"]["free"] is not None

    await pro.create_order("BTC/USDT:USDT", "market", "sell", 2)
    positions = await asyncio.wait_for(pro.watch_positions(["BTC/USDT:USDT"]), 10)
    assert positions and positions[0]["contracts"] == 2 and positions[0]["side"] == "short"
