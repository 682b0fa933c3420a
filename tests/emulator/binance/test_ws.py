"""Binance market streams and the WS API over real sockets."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from tradeloop.emulator.binance.server import BinanceEmulator

from .helpers import KEY, Rest, Ws, ed_sign, ms, ws_signed

Connect = Callable[[str], Awaitable[Ws]]


async def test_depth_diffs_chain_to_snapshot(emu: BinanceEmulator, connect: Connect,
                                             rest: Rest) -> None:  # fmt: skip
    ws = await connect("/ws/btcusdt@depth@100ms")
    _, snap, _ = await rest.call("GET", "/api/v3/depth", {"symbol": "BTCUSDT", "limit": 1000})
    book = {True: dict(snap["bids"]), False: dict(snap["asks"])}
    last = snap["lastUpdateId"]
    for _ in range(15):
        emu.step()
    # the market is frozen after these steps (tick_interval_ms=0): every diff up to the
    # venue's current id is read, then the book must equal the venue's, with no way out
    final = emu.hub.update_id("BTCUSDT")
    assert final > last
    seen = 0
    while last != final:
        d = await ws.recv()
        assert d["e"] == "depthUpdate" and d["s"] == "BTCUSDT"
        assert d["U"] == last + 1 and d["u"] >= d["U"]
        last = d["u"]
        for is_bid, key in ((True, "b"), (False, "a")):
            for px, qty in d[key]:
                if Decimal(qty) == 0:
                    book[is_bid].pop(px, None)
                else:
                    book[is_bid][px] = qty
        seen += 1
    _, now, _ = await rest.call("GET", "/api/v3/depth", {"symbol": "BTCUSDT", "limit": 1000})
    assert seen >= 2 and now["lastUpdateId"] == last == final
    assert dict(now["bids"]) == book[True] and dict(now["asks"]) == book[False]


async def test_skip_seq_fault_makes_a_gap(emu: BinanceEmulator, connect: Connect) -> None:
    ws = await connect("/ws/btcusdt@depth")
    emu.step()
    first = await ws.recv()
    emu.faults.skip_seqs(1)
    emu.step()
    emu.step()
    nxt = await ws.recv()
    assert nxt["U"] > first["u"] + 1


async def test_combined_and_control(emu: BinanceEmulator, connect: Connect) -> None:
    ws = await connect("/stream?streams=btcusdt@bookTicker/ethusdt@trade")
    await ws.send({"method": "SUBSCRIBE", "params": ["btcusdt@kline_1m", "btcusdt@depth5"],
                   "id": 7})  # fmt: skip
    assert await ws.until(lambda m: m.get("id") == 7) == {"result": None, "id": 7}
    await ws.send({"method": "LIST_SUBSCRIPTIONS", "id": "x1"})
    subs = await ws.until(lambda m: m.get("id") == "x1")
    assert subs["result"] == sorted(
        ["btcusdt@bookTicker", "ethusdt@trade", "btcusdt@kline_1m", "btcusdt@depth5"]
    )
    await ws.send({"method": "SUBSCRIBE", "params": ["nope@trade"], "id": 8})
    err = await ws.until(lambda m: m.get("id") == 8)
    assert err["code"] == 2
    await ws.send({"method": "UNSUBSCRIBE", "params": ["ethusdt@trade"], "id": 9})
    await ws.until(lambda m: m.get("id") == 9)
    for _ in range(5):
        emu.step()
    streams = set()
    for _ in range(8):
        m = await ws.recv()
        streams.add(m["stream"])
        if m["stream"] == "btcusdt@kline_1m":
            assert m["data"]["k"]["i"] == "1m" and m["data"]["e"] == "kline"
        if m["stream"] == "btcusdt@depth5":
            assert len(m["data"]["bids"]) == 5
    assert {"btcusdt@bookTicker", "btcusdt@kline_1m", "btcusdt@depth5"} <= streams
    assert "ethusdt@trade" not in streams


async def test_ws_api_logon_order_and_user_stream(emu: BinanceEmulator, connect: Connect) -> None:
    ws = await connect("/ws-api/v3")
    # HMAC is refused for session.logon; Ed25519 is accepted
    bad = await ws.call("session.logon", ws_signed({}), rid="a")
    assert bad["status"] == 400
    ok = await ws.call("session.logon", ws_signed({}, ed25519=True), rid="b")
    assert ok["status"] == 200 and ok["result"]["apiKey"] == KEY
    assert ok["rateLimits"][0]["rateLimitType"] == "REQUEST_WEIGHT"
    sub = await ws.call("userDataStream.subscribe", rid="c")
    assert sub["result"] == {"subscriptionId": 0}
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01",
             "newClientOrderId": "ws-1", "timestamp": ms()}  # fmt: skip
    placed = await ws.call("order.place", order, rid="d")
    assert placed["status"] == 200 and placed["result"]["status"] == "FILLED"
    events: list[dict[str, Any]] = []
    while not any(e.get("x") == "TRADE" and e["X"] == "FILLED" for e in events):
        m = await ws.recv()
        assert m["subscriptionId"] == 0
        events.append(m["event"])
    m = await ws.recv()
    events.append(m["event"])
    reports = [e for e in events if e["e"] == "executionReport"]
    assert (reports[0]["x"], reports[0]["c"], reports[0]["z"]) == ("NEW", "ws-1", "0.00000000")
    assert reports[-1]["z"] == "0.01000000" and reports[-1]["N"] == "BTC"
    assert events[-1]["e"] == "outboundAccountPosition"
    assert {b["a"] for b in events[-1]["B"]} == {"BTC", "USDT"}
    st = await ws.call("order.status", {"symbol": "BTCUSDT", "origClientOrderId": "ws-1",
                                        "timestamp": ms()}, rid="e")  # fmt: skip
    assert st["result"]["status"] == "FILLED"
    acct = await ws.call("account.status", {"timestamp": ms()}, rid="f")
    btc = next(b for b in acct["result"]["balances"] if b["asset"] == "BTC")
    assert Decimal(btc["free"]) > 2
    opened = await ws.call("openOrders.status", {"timestamp": ms()}, rid="g")
    assert opened["result"] == []


async def test_ws_api_signed_without_logon(emu: BinanceEmulator, connect: Connect) -> None:
    ws = await connect("/ws-api/v3")
    r = await ws.call("account.status", ws_signed({}), rid=1)
    assert r["status"] == 200
    p = ws_signed({})
    p["signature"] = "0" * 64
    r = await ws.call("account.status", p, rid=2)
    assert r["status"] == 400 and r["error"]["code"] == -1022
    r = await ws.call("account.status", {"timestamp": ms()}, rid=3)
    assert r["error"]["code"] == -1102  # apiKey missing: not logged on
    sub = await ws.call("userDataStream.subscribe.signature", ws_signed({}), rid=4)
    assert sub["status"] == 200
    # Ed25519 signature over the sorted params works on any signed method too
    p = {"apiKey": KEY, "timestamp": ms()}
    p["signature"] = ed_sign("&".join(f"{k}={p[k]}" for k in sorted(p)))
    assert (await ws.call("account.status", p, rid=5))["status"] == 200
