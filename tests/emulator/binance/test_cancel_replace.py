"""``POST /api/v3/order/cancelReplace`` over a real socket: both halves succeed; a bad new order
refuses the whole request (nothing cancelled); an unknown order with STOP_ON_FAILURE (-2022,
new order not attempted) and with ALLOW_FAILURE (-2021, new order placed); the new order
refused after the cancel (-2021: the old one is gone). A duplicate new client id is a parameter
refusal like a filter failure."""

from __future__ import annotations

from typing import Any

from tradeloop.emulator.binance.server import BinanceEmulator

from .helpers import Rest

PATH = "/api/v3/order/cancelReplace"


async def _rest_buy(rest: Rest, cid: str, price: str = "20000") -> dict[str, Any]:
    st, o, _ = await rest.call("POST", "/api/v3/order", {
        "symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
        "quantity": "0.01", "price": price, "newClientOrderId": cid,
    }, signed=True)  # fmt: skip
    assert st == 200, o
    return o


def _replace(**kw: str) -> dict[str, str]:
    return {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
            "quantity": "0.02", "price": "21000", **kw}  # fmt: skip


async def _open(rest: Rest) -> list[str]:
    _, rows, _ = await rest.call("GET", "/api/v3/openOrders", {"symbol": "BTCUSDT"}, signed=True)
    return sorted(r["clientOrderId"] for r in rows)


async def test_cancel_replace(rest: Rest, emu: BinanceEmulator) -> None:
    await _rest_buy(rest, "old1")
    st, r, h = await rest.call("POST", PATH, _replace(
        cancelReplaceMode="STOP_ON_FAILURE", cancelOrigClientOrderId="old1",
        cancelNewClientOrderId="cx1", newClientOrderId="new1",
    ), signed=True)  # fmt: skip
    assert st == 200 and r["cancelResult"] == r["newOrderResult"] == "SUCCESS", r
    assert r["cancelResponse"]["origClientOrderId"] == "old1"
    assert r["cancelResponse"]["clientOrderId"] == "cx1"
    assert r["cancelResponse"]["status"] == "CANCELED"
    assert r["newOrderResponse"]["clientOrderId"] == "new1"
    assert r["newOrderResponse"]["price"] == "21000.00000000"
    assert "X-MBX-ORDER-COUNT-10S" in h
    assert await _open(rest) == ["new1"]

    # a new order failing its filters refuses everything: the old order keeps working
    st, r, _ = await rest.call("POST", PATH, _replace(
        cancelReplaceMode="STOP_ON_FAILURE", cancelOrigClientOrderId="new1", price="21000.001",
    ), signed=True)  # fmt: skip
    assert st == 400 and r["code"] == -1013 and "data" not in r, r
    assert await _open(rest) == ["new1"]

    # unknown order, STOP_ON_FAILURE: -2022, the new order not attempted
    st, r, _ = await rest.call("POST", PATH, _replace(
        cancelReplaceMode="STOP_ON_FAILURE", cancelOrderId="999999", newClientOrderId="new2",
    ), signed=True)  # fmt: skip
    assert st == 400 and r["code"] == -2022 and r["msg"] == "Order cancel-replace failed."
    assert r["data"]["cancelResult"] == "FAILURE"
    assert r["data"]["newOrderResult"] == "NOT_ATTEMPTED"
    unknown = {"symbol": "BTCUSDT", "orderId": "999999"}
    _, plain, _ = await rest.call("DELETE", "/api/v3/order", unknown, signed=True)
    assert r["data"]["cancelResponse"] == plain  # what the plain cancel answers
    assert r["data"]["newOrderResponse"] is None
    assert await _open(rest) == ["new1"]

    # unknown order, ALLOW_FAILURE: -2021, the new order placed all the same
    st, r, _ = await rest.call("POST", PATH, _replace(
        cancelReplaceMode="ALLOW_FAILURE", cancelOrderId="999999", newClientOrderId="new3",
    ), signed=True)  # fmt: skip
    assert st == 400 and r["code"] == -2021, r
    assert r["data"]["cancelResult"] == "FAILURE" and r["data"]["newOrderResult"] == "SUCCESS"
    assert r["data"]["newOrderResponse"]["clientOrderId"] == "new3"
    assert await _open(rest) == ["new1", "new3"]
    st, r, _ = await rest.call("POST", PATH, _replace(
        cancelReplaceMode="STOP_ON_FAILURE", cancelOrigClientOrderId="new1",
        newClientOrderId="new3",
    ), signed=True)  # fmt: skip
    assert st == 400 and r["code"] == -2010 and "data" not in r, r

    # the cancel succeeds, the new order is refused (more than the balance): -2021
    st, r, _ = await rest.call("POST", PATH, _replace(
        cancelReplaceMode="STOP_ON_FAILURE", cancelOrigClientOrderId="new1",
        newClientOrderId="new4", quantity="50",
    ), signed=True)  # fmt: skip
    assert st == 400 and r["code"] == -2021, r
    assert r["data"]["cancelResult"] == "SUCCESS" and r["data"]["newOrderResult"] == "FAILURE"
    assert r["data"]["newOrderResponse"]["code"] == -2010
    assert await _open(rest) == ["new3"]


async def test_cancel_replace_parameters(rest: Rest) -> None:
    st, r, _ = await rest.call("POST", PATH, _replace(cancelOrderId="1"), signed=True)
    assert st == 400 and r["code"] == -1102 and "cancelReplaceMode" in r["msg"]
    st, r, _ = await rest.call("POST", PATH, _replace(cancelReplaceMode="STOP_ON_FAILURE"),
                               signed=True)  # fmt: skip
    assert st == 400 and r["code"] == -1102 and "cancelOrderId" in r["msg"]
    st, r, _ = await rest.call("POST", PATH, _replace(cancelReplaceMode="X", cancelOrderId="1"),
                               signed=True)  # fmt: skip
    assert st == 400 and r["code"] == -1145
