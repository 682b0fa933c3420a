"""FTX REST over real sockets: signing (good, bad, stale, missing, subaccount), the envelope and
FTX's error texts and statuses, every endpoint's shape, and order entry through the simulator:
limit, market with ``"price": null``, clientId, reduceOnly, ioc, postOnly, cancels by id, by
client id and all."""

from __future__ import annotations

from typing import Any

import pytest

from tradeloop.emulator.ftx.server import FtxEmulator

from .helpers import Rest, ms

ORDER_KEYS = {
    "id", "clientId", "market", "future", "type", "side", "price", "size", "status",
    "filledSize", "remainingSize", "avgFillPrice", "reduceOnly", "ioc", "postOnly",
    "liquidation", "createdAt",
}  # fmt: skip
FILL_KEYS = {
    "id", "market", "future", "baseCurrency", "quoteCurrency", "type", "side", "price", "size",
    "orderId", "time", "tradeId", "feeRate", "fee", "feeCurrency", "liquidity",
}  # fmt: skip


def order(market: str = "BTC-PERP", side: str = "buy", **kw: Any) -> dict[str, Any]:
    return {"market": market, "side": side, "type": "limit", "size": 0.01, **kw}


async def best(rest: Rest, market: str) -> tuple[float, float]:
    book = await rest.ok("GET", f"/api/markets/{market}/orderbook?depth=1", auth=False)
    return book["bids"][0][0], book["asks"][0][0]


# -- signing ----------------------------------------------------------------------------------
async def test_signed_request_is_accepted(rest: Rest) -> None:
    balances = await rest.ok("GET", "/api/wallet/balances")
    assert {b["coin"]: b["total"] for b in balances} == {"USD": 100_000.0, "BTC": 2.0}
    status, _ = await rest.call("GET", "/api/wallet/balances", ts=ms() - 20_000)
    assert status == 200  # inside the 30 s window


@pytest.mark.parametrize(
    ("over", "error"),
    [
        ({"FTX-KEY": None}, "Not logged in"),
        ({"FTX-SIGN": None}, "Not logged in"),
        ({"key": "other-key"}, "Not logged in: Invalid API key"),
        ({"secret": "wrong-secret"}, "Not logged in: Invalid signature"),
        ({"ts": -31_000}, "Not logged in: Timestamp too far from current time"),
        ({"ts": +35_000}, "Not logged in: Timestamp too far from current time"),
        ({"ts": "soon"}, "Not logged in: Timestamp too far from current time"),
        ({"FTX-SUBACCOUNT": "nobody"}, "Not logged in: No such subaccount"),
        ({"FTX-KEY": "ключ"}, "Not logged in: Invalid API key"),
    ],
)
async def test_bad_signatures_are_refused(rest: Rest, over: dict[str, Any], error: str) -> None:
    if isinstance(over.get("ts"), int):  # an offset from now (31 s out of the 30 s window)
        over = {"ts": ms() + over["ts"]}
    status, doc = await rest.call("GET", "/api/wallet/balances", **over)
    assert (status, doc) == (401, {"success": False, "error": error})


async def test_signature_covers_query_body_and_subaccount(rest: Rest) -> None:
    assert await rest.ok("GET", "/api/orders?market=BTC-PERP") == []
    status, _ = await rest.call("GET", "/api/positions", **{"FTX-SUBACCOUNT": "sub1"})
    assert status == 200
    # a signature made for another path or body does not carry over
    from .helpers import signed

    headers = signed("GET", "/api/orders?market=ETH-PERP")
    async with rest.session.get(rest.base + "/api/orders?market=BTC-PERP", headers=headers) as r:
        assert r.status == 401
    headers = signed("POST", "/api/orders", '{"market": "BTC-PERP"}')
    async with rest.session.post(rest.base + "/api/orders", data="{}", headers=headers) as r:
        assert (await r.json())["error"] == "Not logged in: Invalid signature"


async def test_faults_and_bounds_answer_in_ftx_words(ftx: FtxEmulator, rest: Rest) -> None:
    ftx.faults.fail_next_429(1)
    assert await rest.call("GET", "/api/markets", auth=False) == (
        429,
        {"success": False, "error": "Too many requests"},
    )
    ftx.faults.fail_next_5xx(1)
    status, doc = await rest.call("GET", "/api/markets", auth=False)
    assert status == 503 and doc["success"] is False
    status, doc = await rest.call("GET", "/api/nothing/here", auth=False)
    assert (status, doc["success"]) == (404, False)
    big = "x" * (2 << 20)
    async with rest.session.post(rest.base + "/api/orders", data=big) as r:
        assert r.status == 413 and (await r.json())["success"] is False
    status, doc = await rest.call("POST", "/api/orders", ["not", "an", "object"])
    assert (status, doc["error"]) == (400, "Invalid JSON")


# -- public endpoints -------------------------------------------------------------------------
async def test_markets_shapes(rest: Rest) -> None:
    rows = {m["name"]: m for m in await rest.ok("GET", "/api/markets", auth=False)}
    assert set(rows) == {"BTC-PERP", "ETH-PERP", "BTC/USD"}
    perp, spot = rows["BTC-PERP"], rows["BTC/USD"]
    assert (perp["type"], perp["underlying"], perp["baseCurrency"]) == ("future", "BTC", None)
    assert (spot["type"], spot["baseCurrency"], spot["quoteCurrency"]) == ("spot", "BTC", "USD")
    for m in rows.values():
        assert m["bid"] < m["ask"] and m["priceIncrement"] > 0 and m["sizeIncrement"] > 0
        assert isinstance(m["last"], float) and m["enabled"] is True
    assert 10_000 < spot["bid"] < 200_000  # BTC/USD starts near BTC, not at a default price
    one = await rest.ok("GET", "/api/markets/BTC/USD", auth=False)
    assert one["name"] == "BTC/USD"
    status, doc = await rest.call("GET", "/api/markets/DOGE-PERP", auth=False)
    assert (status, doc["error"]) == (404, "No such market: DOGE-PERP")


async def test_orderbook_trades_candles(ftx: FtxEmulator, rest: Rest) -> None:
    book = await rest.ok("GET", "/api/markets/BTC-PERP/orderbook?depth=5", auth=False)
    assert len(book["bids"]) == len(book["asks"]) == 5
    assert book["bids"][0][0] < book["asks"][0][0]
    assert [b[0] for b in book["bids"]] == sorted((b[0] for b in book["bids"]), reverse=True)
    status, _ = await rest.call("GET", "/api/markets/BTC-PERP/orderbook?depth=x", auth=False)
    assert status == 400
    trades = await rest.ok("GET", "/api/markets/BTC-PERP/trades?limit=3", auth=False)
    assert 0 < len(trades) <= 3
    assert set(trades[0]) == {"id", "price", "size", "side", "liquidation", "time"}
    assert isinstance(trades[0]["id"], int) and trades[0]["time"].endswith("+00:00")
    now_s = ms() // 1000
    q = f"resolution=60&start_time={now_s - 3600}&end_time={now_s}"
    candles = await rest.ok("GET", f"/api/markets/BTC-PERP/candles?{q}", auth=False)
    assert 55 <= len(candles) <= 62
    c = candles[-1]
    assert set(c) == {"startTime", "time", "open", "high", "low", "close", "volume"}
    assert c["time"] % 60_000 == 0 and c["low"] <= c["close"] <= c["high"]
    days = await rest.ok("GET", "/api/markets/BTC-PERP/candles?resolution=86400", auth=False)
    assert days and days[-1]["time"] % 86_400_000 == 0
    status, doc = await rest.call("GET", "/api/markets/BTC-PERP/candles?resolution=7", auth=False)
    assert (status, doc["error"]) == (400, "Invalid parameter resolution")


# -- orders -----------------------------------------------------------------------------------
async def test_limit_order_lifecycle(ftx: FtxEmulator, rest: Rest) -> None:
    bid, _ = await best(rest, "BTC-PERP")
    placed = await rest.ok("POST", "/api/orders", order(price=bid - 100, clientId="my-1"))
    assert set(placed) == ORDER_KEYS
    assert (placed["status"], placed["filledSize"], placed["clientId"]) == ("new", 0.0, "my-1")
    assert placed["future"] == "BTC-PERP" and placed["createdAt"].endswith("+00:00")
    assert isinstance(placed["id"], int) and placed["price"] == bid - 100
    oid = placed["id"]
    got = await rest.ok("GET", f"/api/orders/{oid}")
    assert (got["status"], got["remainingSize"]) == ("open", 0.01)
    assert await rest.ok("GET", "/api/orders/by_client_id/my-1") == got
    assert [o["id"] for o in await rest.ok("GET", "/api/orders?market=BTC-PERP")] == [oid]
    assert await rest.ok("GET", "/api/orders?market=ETH-PERP") == []
    status, doc = await rest.call("POST", "/api/orders", order(price=bid - 100, clientId="my-1"))
    assert (status, doc["error"]) == (400, "Duplicate client order ID")
    assert await rest.ok("DELETE", f"/api/orders/{oid}") == "Order queued for cancelation"
    closed = await rest.ok("GET", f"/api/orders/{oid}")
    assert (closed["status"], closed["filledSize"], closed["remainingSize"]) == ("closed", 0, 0)
    status, doc = await rest.call("DELETE", f"/api/orders/{oid}")
    assert (status, doc["error"]) == (400, "Order already closed")
    for path in ("/api/orders/999", "/api/orders/abc", "/api/orders/by_client_id/none"):
        status, doc = await rest.call("GET", path)
        assert (status, doc) == (404, {"success": False, "error": "Order not found"})
        status, doc = await rest.call("DELETE", path)
        assert (status, doc["error"]) == (404, "Order not found")
    history = await rest.ok("GET", "/api/orders/history?market=BTC-PERP")
    assert [o["id"] for o in history] == [oid]


async def test_market_order_with_null_price_fills(ftx: FtxEmulator, rest: Rest) -> None:
    _, ask = await best(rest, "BTC-PERP")
    placed = await rest.ok("POST", "/api/orders", order(type="market", price=None, size=0.02))
    assert (placed["type"], placed["price"], placed["status"]) == ("market", None, "new")
    done = await rest.ok("GET", f"/api/orders/{placed['id']}")
    assert (done["status"], done["filledSize"], done["remainingSize"]) == ("closed", 0.02, 0)
    assert done["avgFillPrice"] >= ask
    fills = await rest.ok("GET", "/api/fills?market=BTC-PERP")
    assert fills and all(set(f) == FILL_KEYS for f in fills)
    f = fills[0]
    assert (f["orderId"], f["liquidity"], f["side"], f["type"]) == (
        placed["id"],
        "taker",
        "buy",
        "order",
    )
    assert f["feeCurrency"] == "USD" and f["fee"] == pytest.approx(f["price"] * f["size"] * 0.0007)
    assert sum(x["size"] for x in fills) == pytest.approx(0.02)
    assert await rest.ok("GET", f"/api/fills?orderId={placed['id']}") == fills
    (pos,) = [p for p in await rest.ok("GET", "/api/positions") if p["future"] == "BTC-PERP"]
    assert (pos["side"], pos["size"], pos["netSize"]) == ("buy", 0.02, 0.02)
    assert pos["entryPrice"] == pytest.approx(done["avgFillPrice"])
    # the user's taker fill is on the public tape
    tape = await rest.ok("GET", "/api/markets/BTC-PERP/trades?limit=1", auth=False)
    assert tape[0]["side"] == "buy"


async def test_reduce_only_ioc_post_only(ftx: FtxEmulator, rest: Rest) -> None:
    bid, ask = await best(rest, "BTC-PERP")
    status, doc = await rest.call(
        "POST", "/api/orders", order(side="sell", price=bid, reduceOnly=True)
    )
    assert (status, doc["error"]) == (400, "Invalid reduce-only order")
    status, doc = await rest.call(
        "POST", "/api/orders", order("BTC/USD", price=bid, reduceOnly=True)
    )
    assert (status, doc["error"]) == (400, "Spot orders cannot be reduce-only")
    await rest.ok("POST", "/api/orders", order(type="market", price=None))
    closing = await rest.ok(
        "POST", "/api/orders", order(side="sell", type="market", price=None, reduceOnly=True)
    )
    assert closing["reduceOnly"] is True
    assert (await rest.ok("GET", f"/api/orders/{closing['id']}"))["filledSize"] == 0.01
    # ioc far from the market: nothing fills, the order closes at once
    ioc = await rest.ok("POST", "/api/orders", order(price=bid - 1000, ioc=True))
    got = await rest.ok("GET", f"/api/orders/{ioc['id']}")
    assert (got["ioc"], got["status"], got["filledSize"]) == (True, "closed", 0.0)
    # post-only that would take: FTX accepts it and closes it without a fill
    po = await rest.ok("POST", "/api/orders", order(price=ask + 500, postOnly=True))
    assert po["postOnly"] is True
    got = await rest.ok("GET", f"/api/orders/{po['id']}")
    assert (got["status"], got["filledSize"]) == ("closed", 0.0)
    rest_ok = await rest.ok("POST", "/api/orders", order(price=bid - 5, postOnly=True))
    assert (await rest.ok("GET", f"/api/orders/{rest_ok['id']}"))["status"] == "open"


@pytest.mark.parametrize(
    ("payload", "status", "error"),
    [
        (order(price=None), 400, "Missing parameter price"),
        (order(price=100.5), 400, "Invalid price"),
        (order(price=1e100), 400, "Invalid price"),
        (order(price=100.0, size=0.00001), 400, "Size too small"),
        (order(price=100.0, size="lots"), 400, "Invalid parameter size"),
        (order(price=100.0, size=float("inf")), 400, "Invalid parameter size"),
        (order(price=100.0, side="up"), 400, "Invalid parameter side"),
        (order(price=100.0, type="stop"), 400, "Invalid parameter type"),
        (order(price=100.0, ioc="yes"), 400, "Invalid parameter ioc"),
        (order(price=100.0, ioc=True, postOnly=True), 400, "Invalid parameter postOnly"),
        (order(price=100.0, clientId=7), 400, "Invalid parameter clientId"),
        (order("NOPE-PERP", price=100.0), 404, "No such market: NOPE-PERP"),
        (order("BTC/USD", price=100_000.0, size=100.0), 400, "Not enough balances"),
        (order("BTC/USD", side="sell", price=100_000.0, size=5.0), 400, "Not enough balances"),
    ],
)
async def test_refusals(rest: Rest, payload: dict[str, Any], status: int, error: str) -> None:
    assert await rest.call("POST", "/api/orders", payload) == (
        status,
        {"success": False, "error": error},
    )
    assert await rest.ok("GET", "/api/orders") == []  # a refused order never existed


async def test_cancel_by_client_id_and_all(ftx: FtxEmulator, rest: Rest) -> None:
    bid, _ = await best(rest, "BTC-PERP")
    spot_bid, _ = await best(rest, "BTC/USD")
    await rest.ok("POST", "/api/orders", order(price=bid - 50, clientId="a"))
    await rest.ok("POST", "/api/orders", order(price=bid - 60, clientId="b"))
    await rest.ok("POST", "/api/orders", order("BTC/USD", price=spot_bid - 60, clientId="c"))
    assert await rest.ok("DELETE", "/api/orders/by_client_id/a") == "Order queued for cancelation"
    assert {o["clientId"] for o in await rest.ok("GET", "/api/orders")} == {"b", "c"}
    status, doc = await rest.call("DELETE", "/api/orders", {"market": "NOPE"})
    assert (status, doc["error"]) == (404, "No such market: NOPE")
    assert await rest.ok("DELETE", "/api/orders", {"market": "BTC-PERP"}) == (
        "Orders queued for cancelation"
    )
    assert [o["clientId"] for o in await rest.ok("GET", "/api/orders")] == ["c"]
    await rest.ok("DELETE", "/api/orders")
    assert await rest.ok("GET", "/api/orders") == []
    assert len(await rest.ok("GET", "/api/orders/history")) == 3


async def test_spot_balances_move(ftx: FtxEmulator, rest: Rest) -> None:
    await rest.ok("POST", "/api/orders", order("BTC/USD", type="market", price=None, size=0.5))
    bal = {b["coin"]: b for b in await rest.ok("GET", "/api/wallet/balances")}
    assert bal["BTC"]["total"] > 2.49  # bought 0.5, fee taken in the BTC received
    assert bal["USD"]["total"] < 100_000 - 0.5 * 10_000
    assert set(bal["USD"]) == {
        "coin", "free", "total", "usdValue", "availableWithoutBorrow", "spotBorrow"
    }  # fmt: skip
    assert bal["BTC"]["usdValue"] == pytest.approx(
        bal["BTC"]["total"] * ftx.driver.markets["BTC/USD"].mid()
    )
