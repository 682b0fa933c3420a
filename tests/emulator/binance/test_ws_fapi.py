"""The emulator's USD-M futures WS API (``/ws-fapi/v1``) over real sockets: spot's dialect
(ids, ``status``, ``result``/``error``, ``rateLimits``; per-request HMAC or Ed25519 signatures,
``session.logon`` Ed25519 only) over the futures methods, wallet, weights and order counts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tradeloop.emulator.binance.server import BinanceEmulator

from .helpers import Rest, Ws, ms, ws_signed

Connect = Callable[[str], Awaitable[Ws]]
ORDER = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
         "quantity": "0.01", "price": "10000.0", "newClientOrderId": "wf-1"}  # fmt: skip


async def test_orders_over_ws_fapi(emu: BinanceEmulator, connect: Connect, rest: Rest) -> None:
    ws = await connect("/ws-fapi/v1")
    placed = await ws.call("order.place", ws_signed(ORDER), rid="a")
    assert placed["status"] == 200, placed
    assert placed["result"]["status"] == "NEW" and placed["result"]["clientOrderId"] == "wf-1"
    lim = placed["rateLimits"][0]
    assert lim["rateLimitType"] == "REQUEST_WEIGHT" and lim["limit"] == 2400  # futures' own
    dup = await ws.call("order.place", ws_signed(ORDER), rid="b")  # the id is still open
    assert dup["status"] == 400 and dup["error"]["code"] == -4116 and dup["id"] == "b"
    mod = await ws.call("order.modify", ws_signed({"symbol": "BTCUSDT", "side": "BUY",
                        "origClientOrderId": "wf-1", "quantity": "0.02",
                        "price": "10000.5"}), rid="c")  # fmt: skip
    assert mod["result"]["origQty"] == "0.02" and mod["result"]["price"] == "10000.5"
    st = await ws.call(
        "order.status", ws_signed({"symbol": "BTCUSDT", "origClientOrderId": "wf-1"}), rid="d"
    )
    assert st["result"]["status"] == "NEW"
    gone = await ws.call(
        "order.cancel", ws_signed({"symbol": "BTCUSDT", "origClientOrderId": "wf-1"}), rid="e"
    )
    assert gone["result"]["status"] == "CANCELED"
    # the same order over REST says the same (one venue behind both)
    code, row, _ = await rest.call(
        "GET", "/fapi/v1/order", {"symbol": "BTCUSDT", "origClientOrderId": "wf-1"}, True
    )
    assert code == 200 and row["status"] == "CANCELED"
    bal = await ws.call("v2/account.balance", ws_signed({}), rid="f")
    assert [r["asset"] for r in bal["result"]] == ["USDT"]
    acct = await ws.call("v2/account.status", ws_signed({}), rid="g")
    assert acct["result"]["assets"][0]["asset"] == "USDT"
    pos = await ws.call("v2/account.position", ws_signed({}), rid="h")
    assert pos["result"] == []  # v2: open positions only
    assert len((await ws.call("account.position", ws_signed({}), rid="i"))["result"]) == 1
    for method in ("order.place", "order.modify", "order.cancel", "order.status"):
        assert emu.served["/ws-fapi/v1 " + method] >= 1
    assert emu.served["POST /fapi/v1/order"] == 0


async def test_ws_fapi_auth_and_unknowns(emu: BinanceEmulator, connect: Connect) -> None:
    ws = await connect("/ws-fapi/v1")
    bad = dict(ws_signed(ORDER), signature="0" * 64)
    r = await ws.call("order.place", bad, rid=1)
    assert r["status"] == 400 and r["error"]["code"] == -1022 and "rateLimits" in r
    assert (await ws.call("session.logon", ws_signed({}), rid=2))["error"]["code"] == -4056
    ok = await ws.call("session.logon", ws_signed({}, ed25519=True), rid=3)
    assert ok["status"] == 200 and ok["result"]["userDataStream"] is False
    r = await ws.call("account.balance", {"timestamp": ms()}, rid=4)  # logged on: no signature
    assert r["status"] == 200
    for method in ("userDataStream.subscribe", "session.nope", "exchangeInfo"):
        r = await ws.call(method, {}, rid=method)
        assert r["error"]["code"] == -1000 and "Unknown method" in r["error"]["msg"], r
