"""Binance spot over real sockets, the corners the other files leave: Ed25519 signatures on
body parameters (an order placed with its parameters in the POST body), FOK orders (all or
nothing: a fill at a marketable price, EXPIRED when the book at the limit cannot fill the
whole size, and never a partial), and the depth10 / depth20 partial-book streams."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal

from tradeloop.emulator.binance.server import BinanceEmulator

from .helpers import Rest, Ws

Connect = Callable[[str], Awaitable[Ws]]


async def test_ed25519_signs_body_parameters(rest: Rest) -> None:
    _, d, _ = await rest.call("GET", "/api/v3/depth", {"symbol": "BTCUSDT", "limit": 5})
    px = str((Decimal(d["bids"][0][0]) * Decimal("0.9")).quantize(Decimal("0.01")))
    params = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
              "quantity": "0.01", "price": px, "newClientOrderId": "ed-1"}  # fmt: skip
    st, o, _ = await rest.call("POST", "/api/v3/order", params, signed=True, ed25519=True)
    assert st == 200 and o["status"] == "NEW" and o["clientOrderId"] == "ed-1", o
    forged = {**params, "newClientOrderId": "ed-2"}
    st, err, _ = await rest.call("POST", "/api/v3/order", forged, signed=True, sign="A" * 88)
    assert (st, err["code"]) == (400, -1022)
    _, opened, _ = await rest.call("GET", "/api/v3/openOrders", {"symbol": "BTCUSDT"}, signed=True)
    assert [x["clientOrderId"] for x in opened] == ["ed-1"]


async def test_fok_fills_whole_or_expires_untouched(rest: Rest) -> None:
    _, d, _ = await rest.call("GET", "/api/v3/depth", {"symbol": "BTCUSDT", "limit": 5})
    best_ask, ask_qty = Decimal(d["asks"][0][0]), Decimal(d["asks"][0][1])
    base = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "FOK",
            "price": str(best_ask)}  # fmt: skip
    small = min(ask_qty, Decimal("0.01"))
    st, ok, _ = await rest.call(
        "POST", "/api/v3/order", {**base, "quantity": str(small), "newClientOrderId": "fok-1"},
        signed=True,
    )  # fmt: skip
    assert st == 200 and ok["status"] == "FILLED" and Decimal(ok["executedQty"]) == small, ok
    # more than rests at that price: nothing at all trades
    _, d2, _ = await rest.call("GET", "/api/v3/depth", {"symbol": "BTCUSDT", "limit": 5})
    at_limit = sum(Decimal(q) for p, q in d2["asks"] if Decimal(p) <= best_ask)
    too_big = (at_limit + Decimal("0.5")).quantize(Decimal("0.00001"))
    st, exp, _ = await rest.call(
        "POST", "/api/v3/order", {**base, "quantity": str(too_big), "newClientOrderId": "fok-2"},
        signed=True,
    )  # fmt: skip
    assert st == 200 and exp["status"] == "EXPIRED" and Decimal(exp["executedQty"]) == 0, exp
    assert exp["fills"] == []
    _, d3, _ = await rest.call("GET", "/api/v3/depth", {"symbol": "BTCUSDT", "limit": 5})
    assert d3["asks"] == d2["asks"]  # the book is as it was
    # below the ask: cannot fill now, so it never rests either
    st, away, _ = await rest.call(
        "POST", "/api/v3/order",
        {**base, "price": str((best_ask * Decimal("0.9")).quantize(Decimal("0.01"))),
         "quantity": "0.01",
         "newClientOrderId": "fok-3"}, signed=True,
    )  # fmt: skip
    assert away.get("status") == "EXPIRED", away
    _, opened, _ = await rest.call("GET", "/api/v3/openOrders", {"symbol": "BTCUSDT"}, signed=True)
    assert opened == []


async def test_depth10_and_depth20_partial_books(emu: BinanceEmulator, connect: Connect) -> None:
    ws = await connect("/stream?streams=btcusdt@depth10@100ms/btcusdt@depth20")
    for _ in range(4):
        emu.step()
    sizes: dict[str, int] = {}
    while len(sizes) < 2:
        m = await ws.recv()
        data = m["data"]
        assert len(data["bids"]) == len(data["asks"])
        sizes[m["stream"]] = len(data["bids"])
        bids = [Decimal(p) for p, _ in data["bids"]]
        asks = [Decimal(p) for p, _ in data["asks"]]
        assert bids == sorted(bids, reverse=True) and asks == sorted(asks)
        assert bids[0] < asks[0] and "lastUpdateId" in data
    assert sizes == {"btcusdt@depth10@100ms": 10, "btcusdt@depth20": 20}
