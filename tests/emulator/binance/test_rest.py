"""Binance spot REST over real sockets: public data, signing (HMAC and Ed25519, query and
body), timing, error codes, filters exactly as exchangeInfo advertises them, orders."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tradeloop.emulator.binance.server import BinanceEmulator

from .helpers import Rest, hmac_hex, ms


def test_spec_vectors() -> None:
    """exchanges.md §0.1: the documented HMAC example."""
    secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
    payload = (
        "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
        "&recvWindow=5000&timestamp=1499827319559"
    )
    assert hmac_hex(payload, secret) == (
        "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
    )


async def test_public(rest: Rest, emu: BinanceEmulator) -> None:
    assert (await rest.call("GET", "/api/v3/ping"))[1] == {}
    st, t, h = await rest.call("GET", "/api/v3/time")
    assert abs(t["serverTime"] - ms()) < 2000 and int(h["X-MBX-USED-WEIGHT-1M"]) >= 2
    _, info, _ = await rest.call("GET", "/api/v3/exchangeInfo", {"symbol": "BTCUSDT"})
    (sym,) = info["symbols"]
    kinds = {f["filterType"]: f for f in sym["filters"]}
    assert kinds["PRICE_FILTER"]["tickSize"] == "0.01000000"
    assert kinds["LOT_SIZE"]["stepSize"] == "0.00001000"
    assert kinds["NOTIONAL"]["minNotional"] == "5.00000000"
    _, d, _ = await rest.call("GET", "/api/v3/depth", {"symbol": "BTCUSDT", "limit": 5})
    assert len(d["bids"]) == 5 and Decimal(d["bids"][0][0]) < Decimal(d["asks"][0][0])
    assert d["lastUpdateId"] == emu.hub.update_id("BTCUSDT")
    _, tr, _ = await rest.call("GET", "/api/v3/trades", {"symbol": "BTCUSDT", "limit": 3})
    assert len(tr) == 3 and {"id", "price", "qty", "isBuyerMaker"} <= set(tr[0])
    _, k, _ = await rest.call("GET", "/api/v3/klines", {"symbol": "BTCUSDT", "interval": "1m",
                                                       "limit": 4})  # fmt: skip
    assert len(k) == 4 and k[0][0] < k[-1][0] and k[0][6] == k[0][0] + 59_999
    _, t24, _ = await rest.call("GET", "/api/v3/ticker/24hr", {"symbol": "BTCUSDT"})
    assert Decimal(t24["bidPrice"]) < Decimal(t24["askPrice"])
    _, prices, _ = await rest.call("GET", "/api/v3/ticker/price")
    assert {p["symbol"] for p in prices} == {"BTCUSDT", "ETHUSDT"}
    _, bt, _ = await rest.call("GET", "/api/v3/ticker/bookTicker", {"symbol": "ETHUSDT"})
    assert bt["symbol"] == "ETHUSDT"
    st, err, _ = await rest.call("GET", "/api/v3/depth", {"symbol": "NOPEUSDT"})
    assert st == 400 and err == {"code": -1121, "msg": "Invalid symbol."}


async def test_signing_failures(rest: Rest) -> None:
    st, ok, _ = await rest.call("GET", "/api/v3/account", signed=True)
    assert st == 200 and ok["accountType"] == "SPOT"
    st, _, _ = await rest.call("GET", "/api/v3/account", signed=True, ed25519=True)
    assert st == 200
    cases: list[tuple[dict[str, Any], int, int]] = [
        ({"key": ""}, 401, -2014),
        ({"key": "other"}, 401, -2015),
        ({"sign": "0" * 64}, 400, -1022),
        ({"sign": "AAAA"}, 400, -1022),
        ({"ts": ms() - 10_000}, 400, -1021),
        ({"ts": ms() + 5_000}, 400, -1021),
    ]
    for kw, status, code in cases:
        st, err, _ = await rest.call("GET", "/api/v3/account", signed=True, **kw)
        assert (st, err["code"]) == (status, code), kw
    st, err, _ = await rest.call("GET", "/api/v3/account", {"recvWindow": 70000}, signed=True)
    assert err["code"] == -1131
    # a wider recvWindow admits an older timestamp
    st, _, _ = await rest.call(
        "GET", "/api/v3/account", {"recvWindow": 20000}, signed=True, ts=ms() - 10_000
    )
    assert st == 200
    # params in the query, signature in the body (the payload is query + body)
    q = f"symbol=BTCUSDT&timestamp={ms()}"
    body = "signature=" + hmac_hex(q)
    async with rest.s.delete(
        rest.base + "/api/v3/openOrders?" + q,
        data=body,
        headers={"X-MBX-APIKEY": "test-key", "Content-Type": "application/x-www-form-urlencoded"},
    ) as r:
        assert (await r.json())["code"] == -2011  # signed fine; nothing to cancel


async def test_filters(rest: Rest) -> None:
    base = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}
    bad = [
        ({"price": "1000.001", "quantity": "0.01"}, "PRICE_FILTER"),
        ({"price": "0.001", "quantity": "0.01"}, "PRICE_FILTER"),
        ({"price": "2000000", "quantity": "0.01"}, "PRICE_FILTER"),
        ({"price": "1000", "quantity": "0.000001"}, "LOT_SIZE"),
        ({"price": "1000", "quantity": "0.010005"}, "LOT_SIZE"),
        ({"price": "1000", "quantity": "9001"}, "LOT_SIZE"),
        ({"price": "100", "quantity": "0.01"}, "NOTIONAL"),
    ]
    for extra, name in bad:
        st, err, _ = await rest.call("POST", "/api/v3/order", {**base, **extra}, signed=True)
        assert (st, err) == (400, {"code": -1013, "msg": f"Filter failure: {name}"}), extra
    st, err, _ = await rest.call(
        "POST", "/api/v3/order",
        {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "101"}, signed=True,
    )  # fmt: skip
    assert err["msg"] == "Filter failure: MARKET_LOT_SIZE"
    for extra, code in [
        ({"price": "1e3", "quantity": "0.01"}, -1100),
        ({"quantity": "0.01"}, -1102),
        ({"price": "1000", "quantity": "0.010000001"}, -1111),
        ({"price": "1000", "quantity": "0.01", "timeInForce": "XXX"}, -1115),
        ({"price": "1000", "quantity": "0.01", "side": "UP"}, -1117),
        ({"price": "1000", "quantity": "0.01", "type": "STOP"}, -1116),
    ]:
        st, err, _ = await rest.call("POST", "/api/v3/order", {**base, **extra}, signed=True)
        assert err["code"] == code, extra
    st, ok, _ = await rest.call(
        "POST", "/api/v3/order/test", {**base, "price": "1000", "quantity": "0.01"}, signed=True
    )
    assert (st, ok) == (200, {})


async def test_order_lifecycle(rest: Rest, emu: BinanceEmulator) -> None:
    _, d, _ = await rest.call("GET", "/api/v3/depth", {"symbol": "BTCUSDT", "limit": 5})
    bid = Decimal(d["bids"][0][0])
    px = str((bid * Decimal("0.9")).quantize(Decimal("0.01")))
    params = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
              "quantity": "0.01", "price": px, "newClientOrderId": "tl-1"}  # fmt: skip
    st, o, h = await rest.call("POST", "/api/v3/order", params, signed=True)
    assert st == 200 and o["status"] == "NEW" and o["clientOrderId"] == "tl-1" and o["fills"] == []
    assert o["price"] == f"{Decimal(px):.8f}" and o["origQty"] == "0.01000000"
    assert h["X-MBX-ORDER-COUNT-10S"] == "1"
    st, dup, _ = await rest.call("POST", "/api/v3/order", params, signed=True)
    assert (st, dup) == (400, {"code": -2010, "msg": "Duplicate order sent."})
    _, got, _ = await rest.call(
        "GET", "/api/v3/order", {"symbol": "BTCUSDT", "origClientOrderId": "tl-1"}, signed=True
    )
    assert got["orderId"] == o["orderId"] and got["status"] == "NEW"
    _, opened, _ = await rest.call("GET", "/api/v3/openOrders", {"symbol": "BTCUSDT"}, signed=True)
    assert [x["orderId"] for x in opened] == [o["orderId"]]
    _, acct, _ = await rest.call("GET", "/api/v3/account", signed=True)
    usdt = next(b for b in acct["balances"] if b["asset"] == "USDT")
    assert Decimal(usdt["locked"]) > 0
    _, c, _ = await rest.call(
        "DELETE", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": o["orderId"]}, signed=True
    )
    assert c["status"] == "CANCELED" and c["origClientOrderId"] == "tl-1"
    st, again, _ = await rest.call(
        "DELETE", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": o["orderId"]}, signed=True
    )
    assert (st, again["code"]) == (400, -2011)
    st, gone, _ = await rest.call(
        "GET", "/api/v3/order", {"symbol": "BTCUSDT", "orderId": 999}, signed=True
    )
    assert gone == {"code": -2013, "msg": "Order does not exist."}
    # market buy by quote amount: FULL answer with fills, commission in the base received
    st, mo, _ = await rest.call(
        "POST", "/api/v3/order",
        {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quoteOrderQty": "1000"},
        signed=True,
    )  # fmt: skip
    assert st == 200 and mo["status"] == "FILLED" and mo["fills"], mo
    assert mo["fills"][0]["commissionAsset"] == "BTC"
    spent = Decimal(mo["cummulativeQuoteQty"])
    assert Decimal("990") < spent <= Decimal("1000")
    _, trades, _ = await rest.call("GET", "/api/v3/myTrades", {"symbol": "BTCUSDT"}, signed=True)
    assert sum(Decimal(t["quoteQty"]) for t in trades) == spent
    _, hist, _ = await rest.call("GET", "/api/v3/allOrders", {"symbol": "BTCUSDT"}, signed=True)
    assert [x["status"] for x in hist] == ["CANCELED", "FILLED"]
    # LIMIT_MAKER that would take, IOC that cannot fill, balance too small
    ask = str((Decimal(d["asks"][0][0]) * Decimal("1.01")).quantize(Decimal("0.01")))
    st, lm, _ = await rest.call(
        "POST", "/api/v3/order",
        {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT_MAKER", "quantity": "0.01",
         "price": ask}, signed=True,
    )  # fmt: skip
    assert lm == {"code": -2010, "msg": "Order would immediately match and take."}
    st, ioc, _ = await rest.call(
        "POST", "/api/v3/order", {**params, "timeInForce": "IOC", "newClientOrderId": "tl-2"},
        signed=True,
    )  # fmt: skip
    assert ioc["status"] == "EXPIRED"
    st, poor, _ = await rest.call(
        "POST", "/api/v3/order", {**params, "quantity": "50", "newClientOrderId": "tl-3"},
        signed=True,
    )  # fmt: skip
    assert poor == {"code": -2010, "msg": "Account has insufficient balance for requested action."}


async def test_weights_429_then_418(session: Any) -> None:
    from tradeloop.emulator.binance.limits import LimitConfig

    from .helpers import config

    emu = BinanceEmulator(config(limits=LimitConfig(weight_per_minute=30, ban_after=2, ban_s=60)))
    await emu.start("127.0.0.1", 0)
    try:
        rest = Rest(session, emu.base_url)
        st, _, h = await rest.call("GET", "/api/v3/exchangeInfo")
        assert (st, h["X-MBX-USED-WEIGHT-1M"]) == (200, "20")
        st, err, h = await rest.call("GET", "/api/v3/exchangeInfo")
        assert st == 429 and err["code"] == -1003 and 1 <= int(h["Retry-After"]) <= 60
        st, _, h = await rest.call("GET", "/api/v3/ping")  # fits: weight 1
        assert st == 200 and h["X-MBX-USED-WEIGHT-1M"] == "21"
        st, _, _ = await rest.call("GET", "/api/v3/exchangeInfo")  # 2nd refusal: still 429
        assert st == 429
        st, err, h = await rest.call("GET", "/api/v3/exchangeInfo")
        assert st == 418 and "banned" in err["msg"] and int(h["Retry-After"]) == 60
        st, _, _ = await rest.call("GET", "/api/v3/ping")
        assert st == 418
    finally:
        await emu.stop()
