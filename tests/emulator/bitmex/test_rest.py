"""BitMEX REST over a real socket: signing and every auth failure, the error envelope and
statuses, rate-limit headers, table queries, order entry / amend / cancel, dead-man switch,
and the money in XBt (inverse PnL, fees, funding) against hand-computed values."""

from __future__ import annotations

import json
import math
import time
from urllib.parse import quote

import pytest
from tests.support.gateway_fixtures import until

from tradeloop.emulator.bitmex.server import BitmexEmulator

from .conftest import Client, sign

# BitMEX's published signature examples (https://www.bitmex.com/app/apiKeysUsage)
VECTORS = [
    (
        "GET",
        "/api/v1/instrument",
        1518064236,
        "",
        "c7682d435d0cfe87c16098df34ef2eb5a549d4c5a3c2b1f0f77b8af73423bf00",
    ),
    (
        "GET",
        "/api/v1/instrument?filter=%7B%22symbol%22%3A+%22XBTM15%22%7D",
        1518064237,
        "",
        "e2f422547eecb5b3cb29ade2127e21b858b235b386bfa45e1c1756eb3383919f",
    ),
    (
        "POST",
        "/api/v1/order",
        1518064238,
        '{"symbol":"XBTM15","price":219.0,"clOrdID":"mm_bitmex_1a/oemUeQ4CAJZgP3fjHsA",'
        '"orderQty":98}',
        "1749cd2ccae4aa49048ae09f0b95110cee706e0944e6a14ad0b3a8cb45bd336b",
    ),
]
VECTOR_SECRET = "chNOOS4KvNXR_Xq4k4c9qsfoKWvnDecLATCRlcBwyKDYnWgO"


@pytest.mark.parametrize(("verb", "path", "expires", "data", "expected"), VECTORS)
def test_published_vectors(verb: str, path: str, expires: int, data: str, expected: str) -> None:
    from tradeloop.venues.bitmex.auth import signature

    assert sign(VECTOR_SECRET, verb, path, expires, data) == expected
    assert signature(VECTOR_SECRET, verb, path, expires, data) == expected


async def test_auth_failures(client: Client, emu: BitmexEmulator) -> None:
    now = int(time.time())
    cases = [
        ({"key": "nope"}, "Invalid API Key."),
        ({"secret": "wrong"}, "Signature not valid."),
        ({"expires": now - 5}, "This request has expired"),
        ({"expires": now + 86_400}, "too far in the future"),
    ]
    for kw, text in cases:
        status, body, _ = await client.call("GET", "/api/v1/position", **kw)  # type: ignore[arg-type]
        assert status == 401 and text in body["error"]["message"], (kw, body)
        assert body["error"]["name"] == "HTTPError"
    status, body, _ = await client.call("GET", "/api/v1/position", signed=False)
    assert status == 401
    # the signature covers the query string exactly as sent
    status, _, _ = await client.call("GET", "/api/v1/order?symbol=XBTUSD")
    assert status == 200
    emu.config.key_permissions = ()
    status, body, _ = await client.call(
        "POST", "/api/v1/order", {"symbol": "XBTUSD", "orderQty": 100}
    )
    assert (status, body["error"]["message"]) == (403, "Access Denied")


async def test_statuses_and_rate_limit_headers(client: Client, emu: BitmexEmulator) -> None:
    status, body, h = await client.call("GET", "/api/v1/quote?symbol=XBTUSD", signed=False)
    assert status == 200 and body[0]["symbol"] == "XBTUSD"
    assert int(h["x-ratelimit-limit"]) == 120
    assert int(h["x-ratelimit-remaining"]) < 120 and int(h["x-ratelimit-reset"]) >= time.time()
    status, body, _ = await client.call("GET", "/api/v1/nothing")
    assert status == 404 and body["error"]["message"] == "Not Found"
    status, body, _ = await client.call("GET", "/api/v1/orderBook/L2?symbol=NOPE")
    assert status == 404
    emu.faults.fail_next_5xx(1)
    status, body, _ = await client.call("GET", "/api/v1/instrument/active")
    assert status == 503 and "overloaded" in body["error"]["message"]
    emu.faults.fail_next_429(1)
    status, body, h = await client.call("GET", "/api/v1/instrument/active")
    assert (status, h["Retry-After"]) == (429, "1")
    assert body["error"] == {
        "message": "Rate limit exceeded, retry in 1 seconds.",
        "name": "RateLimitError",
    }


async def test_retry_after_at_the_default_limit(client: Client, emu: BitmexEmulator) -> None:
    """120 a minute refills one token every 0.5 s: an emptied bucket says retry in 1 s."""
    assert emu.limiter.limit == 120
    seen = [await client.call("GET", "/api/v1/position") for _ in range(120)]
    assert {s for s, _, _ in seen} == {200}
    for _ in range(200):  # tokens come back while requests run: ask until refused
        status, body, h = await client.call("GET", "/api/v1/position")
        if status != 200:
            break
    assert (status, h["Retry-After"], h["x-ratelimit-remaining"]) == (429, "1", "0")
    assert body["error"] == {
        "message": "Rate limit exceeded, retry in 1 seconds.",
        "name": "RateLimitError",
    }


@pytest.mark.parametrize("limit", [1, 3])
async def test_retry_after_is_when_a_token_is_back(
    client: Client, emu: BitmexEmulator, limit: int
) -> None:
    """A small limit refills slowly (3 a minute: one token per 20 s): ``Retry-After`` is
    ``ceil((1 - tokens) / rate)`` of the bucket as the refused request left it, the message
    says the same number, and ``x-ratelimit-reset`` is when the bucket is full again."""
    emu.limiter.limit = limit
    emu.limiter._buckets.clear()
    seen = [await client.call("GET", "/api/v1/position") for _ in range(limit + 1)]
    assert [s for s, _, _ in seen] == [200] * limit + [429]
    _, body, h = seen[-1]
    tokens, at = emu.limiter._buckets["K"]
    rate = limit / 60
    wait = max(1, math.ceil((1 - tokens) / rate))
    assert 1 <= wait <= 60 / limit and 0 <= tokens < 1
    assert h["Retry-After"] == str(wait)
    assert body["error"]["message"] == f"Rate limit exceeded, retry in {wait} seconds."
    assert int(h["x-ratelimit-reset"]) == math.ceil(at + (limit - tokens) / rate)
    assert (h["x-ratelimit-limit"], h["x-ratelimit-remaining"]) == (str(limit), "0")


async def test_market_tables(client: Client) -> None:
    status, rows, _ = await client.call("GET", "/api/v1/instrument?symbol=XBTUSD")
    assert status == 200 and rows[0]["isInverse"] is True and rows[0]["settlCurrency"] == "XBt"
    _, book, _ = await client.call("GET", "/api/v1/orderBook/L2?symbol=XBTUSD&depth=5")
    sells = [r for r in book if r["side"] == "Sell"]
    buys = [r for r in book if r["side"] == "Buy"]
    assert len(sells) == len(buys) == 5 and min(r["price"] for r in sells) > buys[0]["price"]
    assert len({r["id"] for r in book}) == 10
    _, bins, _ = await client.call(
        "GET", "/api/v1/trade/bucketed?symbol=XBTUSD&binSize=1m&partial=true&count=3&reverse=true"
    )
    assert len(bins) == 3 and bins[0]["timestamp"] > bins[1]["timestamp"]
    status, _, _ = await client.call("GET", "/api/v1/trade/bucketed?binSize=2m")
    assert status == 400
    _, trades, _ = await client.call("GET", "/api/v1/trade?symbol=XBTUSD&count=2&reverse=true")
    assert len(trades) == 2 and {"price", "size", "side", "trdMatchID"} <= set(trades[0])


async def test_order_lifecycle_and_filters(client: Client, emu: BitmexEmulator) -> None:
    m = emu.driver.markets["XBTUSD"]
    bid = float(m.px(m.best_bid()))
    low = bid - 500
    status, o, _ = await client.call(
        "POST",
        "/api/v1/order",
        {"symbol": "XBTUSD", "side": "Buy", "orderQty": 200, "price": low, "clOrdID": "x1"},
    )
    assert status == 200 and o["ordStatus"] == "New" and o["leavesQty"] == 200
    status, body, _ = await client.call(
        "POST",
        "/api/v1/order",
        {"symbol": "XBTUSD", "orderQty": 200, "price": low, "clOrdID": "x1"},
    )
    assert (status, body["error"]["message"]) == (400, "Duplicate clOrdID")
    for bad, text in ((150, "multiple of lot size"), ("abc", "Invalid orderQty")):
        status, body, _ = await client.call(
            "POST", "/api/v1/order", {"symbol": "XBTUSD", "orderQty": bad, "price": low}
        )
        assert status == 400 and text in body["error"]["message"]
    status, body, _ = await client.call(
        "POST", "/api/v1/order", {"symbol": "XBTUSD", "orderQty": 100, "price": low + 0.3}
    )
    assert status == 400 and "tickSize" in body["error"]["message"]
    flt = quote(json.dumps({"open": True}))
    _, rows, _ = await client.call("GET", f"/api/v1/order?symbol=XBTUSD&filter={flt}")
    assert [r["clOrdID"] for r in rows] == ["x1"]
    status, o, _ = await client.call("PUT", "/api/v1/order", {"origClOrdID": "x1", "orderQty": 300})
    assert status == 200 and o["orderQty"] == 300
    status, rows, _ = await client.call("DELETE", "/api/v1/order", {"clOrdID": "x1"})
    assert status == 200 and rows[0]["ordStatus"] == "Canceled"
    status, rows, _ = await client.call("DELETE", "/api/v1/order", {"clOrdID": "x1"})
    assert rows[0]["error"].startswith("Unable to cancel order due to existing state")
    status, _, _ = await client.call("DELETE", "/api/v1/order", {"orderID": "nope"})
    assert status == 404
    # post-only that would take: accepted and canceled at once, as BitMEX does
    ask = float(m.px(m.best_ask()))
    _, o, _ = await client.call(
        "POST",
        "/api/v1/order",
        {"symbol": "XBTUSD", "orderQty": 100, "price": ask, "execInst": "ParticipateDoNotInitiate"},
    )
    assert o["ordStatus"] == "Canceled" and "ParticipateDoNotInitiate" in o["text"]


async def test_dead_man_switch(client: Client, emu: BitmexEmulator) -> None:
    m = emu.driver.markets["XBTUSD"]
    low = float(m.px(m.best_bid())) - 500
    await client.call("POST", "/api/v1/order", {"symbol": "XBTUSD", "orderQty": 100, "price": low})
    status, body, _ = await client.call("POST", "/api/v1/order/cancelAllAfter", {"timeout": 200})
    assert status == 200 and body["cancelTime"] > body["now"]
    assert list(emu.trading.account.orders(open_only=True))  # still working until it runs out
    emu.config.housekeeping_s = 0.02
    await until(lambda: not list(emu.trading.account.orders(open_only=True)),
                "the dead-man switch to cancel the order", timeout=10)  # fmt: skip
    _, rows, _ = await client.call("GET", "/api/v1/order")
    assert rows[0]["ordStatus"] == "Canceled" and "Cancel-all after" in rows[0]["text"]


async def test_inverse_money_in_xbt(client: Client, emu: BitmexEmulator) -> None:
    """Buy then sell XBTUSD at market: the wallet moves by (1/entry - 1/exit) x qty minus
    the taker fee on each leg's BTC value, all in satoshi; funding is charged on the BTC value
    of the position at the mark."""
    _, w0, _ = await client.call("GET", "/api/v1/user/wallet?currency=XBt")
    assert w0["amount"] == 100_000_000
    await client.call(
        "POST", "/api/v1/order", {"symbol": "XBTUSD", "orderQty": 1000, "ordType": "Market"}
    )
    _, pos, _ = await client.call("GET", "/api/v1/position")
    assert pos[0]["currentQty"] == 1000 and pos[0]["currency"] == "XBt"
    assert pos[0]["currentCost"] < 0  # an inverse long costs XBt
    _, ex, _ = await client.call("GET", "/api/v1/execution/tradeHistory?reverse=true")
    fee_in = sum(r["execComm"] for r in ex if r["execType"] == "Trade")
    for step in range(30):
        emu.step(int(time.time() * 1000) + step)
    _, sell, _ = await client.call(
        "POST", "/api/v1/order", {"symbol": "XBTUSD", "orderQty": -1000, "ordType": "Market"}
    )
    assert sell["side"] == "Sell" and sell["ordStatus"] == "Filled"
    _, ex, _ = await client.call("GET", "/api/v1/execution/tradeHistory")
    trades = [r for r in ex if r["execType"] == "Trade"]
    legs = {s: [r for r in trades if r["side"] == s] for s in ("Buy", "Sell")}
    entry = 1000 / sum(r["lastQty"] / r["lastPx"] for r in legs["Buy"])  # harmonic mean
    exit_value = sum(r["lastQty"] / r["lastPx"] for r in legs["Sell"])
    pnl = 1000 / entry - exit_value  # BTC: long inverse gains when 1/exit < 1/entry
    fees = sum(r["execComm"] for r in trades)
    assert fee_in < fees
    _, w1, _ = await client.call("GET", "/api/v1/user/wallet?currency=XBt")
    assert abs(w1["amount"] - (100_000_000 + pnl * 1e8 - fees)) <= len(trades)
    _, margin, _ = await client.call("GET", "/api/v1/user/margin?currency=all")
    xbt = next(r for r in margin if r["currency"] == "XBt")
    assert xbt["walletBalance"] == w1["amount"] and xbt["unrealisedPnl"] == 0
    # funding on a short: received when the rate is positive
    await client.call(
        "POST", "/api/v1/order", {"symbol": "XBTUSD", "orderQty": -500, "ordType": "Market"}
    )
    _, w2, _ = await client.call("GET", "/api/v1/user/wallet?currency=XBt")
    mark = emu.driver.markets["XBTUSD"].mid()
    emu.settle_funding()
    _, w3, _ = await client.call("GET", "/api/v1/user/wallet?currency=XBt")
    assert abs(w3["amount"] - w2["amount"] - 500 / mark * 0.0001 * 1e8) <= 1
    _, ex, _ = await client.call("GET", "/api/v1/execution/tradeHistory?reverse=true&count=1")
    assert ex[0]["execType"] == "Funding"


async def test_leverage_and_liquidation(client: Client, emu: BitmexEmulator) -> None:
    status, pos, _ = await client.call(
        "POST", "/api/v1/position/leverage", {"symbol": "XBTUSD", "leverage": 50}
    )
    assert status == 200 and pos["leverage"] == 50
    await client.call(
        "POST", "/api/v1/order", {"symbol": "XBTUSD", "orderQty": 100_000, "ordType": "Market"}
    )
    _, pos, _ = await client.call("GET", "/api/v1/position")
    liq = pos[0]["liquidationPrice"]
    mid = emu.driver.markets["XBTUSD"].mid()
    assert liq is not None and 0.97 * mid < liq < mid  # 50x: about 2% - maintenance away
    emu.check_liquidations()
    assert emu.liquidations == 0
    m = emu.driver.markets["XBTUSD"]
    shift = m.to_ticks(mid - liq) + 50  # move the whole ladder below the liquidation price
    m.bids = {p - shift: s for p, s in m.bids.items()}
    m.asks = {p - shift: s for p, s in m.asks.items()}
    emu.check_liquidations()
    assert emu.liquidations == 1
    _, pos, _ = await client.call("GET", "/api/v1/position")
    assert pos[0]["currentQty"] == 0
    # the close is a Liquidation execution, booked in the integer wallet like any other
    _, ex, _ = await client.call("GET", "/api/v1/execution/tradeHistory?reverse=true&count=1")
    assert ex[0]["text"] == "Liquidation" and ex[0]["side"] == "Sell"
    assert ex[0]["lastQty"] == 100_000
    _, hist, _ = await client.call("GET", "/api/v1/user/walletHistory")
    _, wallet, _ = await client.call("GET", "/api/v1/user/wallet")
    assert hist[0]["tx"] == ex[0]["execID"] and hist[0]["amount"] < -ex[0]["execComm"] < 0
    assert wallet["amount"] == hist[0]["walletBalance"] == sum(r["amount"] for r in hist)
    assert pos[0]["realisedPnl"] == wallet["amount"] - 100_000_000
