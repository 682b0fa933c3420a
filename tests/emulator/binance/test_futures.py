"""The emulator's USD-M perpetual (``/fapi``) over real sockets: market data, signed order
entry and its refusals, positions, leverage and margin type, the futures market streams
(``pu`` chain, markPrice) and the listenKey user stream."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tradeloop.emulator.binance import futures_markets as fm
from tradeloop.emulator.binance.server import BinanceEmulator

from .helpers import Rest, Ws

SYM = {"symbol": "BTCUSDT"}


async def _ok(rest: Rest, method: str, path: str, params: dict[str, Any] | None = None,
              signed: bool = False) -> Any:  # fmt: skip
    status, body, _ = await rest.call(method, path, params, signed=signed)
    assert status == 200, body
    return body


async def _err(rest: Rest, method: str, path: str, params: dict[str, Any]) -> int:
    status, body, _ = await rest.call(method, path, params, signed=True)
    assert status == 400, body
    return int(body["code"])


async def test_public_market_data(rest: Rest, emu: BinanceEmulator) -> None:
    info = await _ok(rest, "GET", "/fapi/v1/exchangeInfo")
    row = info["symbols"][0]
    assert row["symbol"] == "BTCUSDT" and row["contractType"] == "PERPETUAL"
    flt = {f["filterType"]: f for f in row["filters"]}
    assert flt["PRICE_FILTER"]["tickSize"] == "0.10" and flt["LOT_SIZE"]["stepSize"] == "0.001"
    assert flt["MIN_NOTIONAL"]["notional"] == "100"
    depth = await _ok(rest, "GET", "/fapi/v1/depth", dict(SYM, limit=5))
    assert len(depth["bids"]) == 5 and {"E", "T", "lastUpdateId"} <= set(depth)
    assert float(depth["bids"][0][0]) < float(depth["asks"][0][0])
    spot = await _ok(rest, "GET", "/api/v3/depth", dict(SYM, limit=5))
    assert spot["bids"] != depth["bids"]  # another market
    pi = await _ok(rest, "GET", "/fapi/v1/premiumIndex", SYM)
    assert pi["lastFundingRate"] == "0.00010000" and pi["nextFundingTime"] % (8 * 3600_000) == 0
    assert len(await _ok(rest, "GET", "/fapi/v1/fundingRate", dict(SYM, limit=3))) == 3
    assert len(await _ok(rest, "GET", "/fapi/v1/klines", dict(SYM, interval="1m", limit=4))) == 4
    assert await _ok(rest, "GET", "/fapi/v1/trades", dict(SYM, limit=2))
    _, _, headers = await rest.call("GET", "/fapi/v1/depth", dict(SYM, limit=1000))
    assert int(headers["X-MBX-USED-WEIGHT-1M"]) >= 20  # the futures depth weights
    status, body, _ = await rest.call("GET", "/fapi/v1/depth", {"symbol": "NOPEUSDT"})
    assert status == 400 and body["code"] == -1121


async def test_orders_positions_and_account(rest: Rest, emu: BinanceEmulator) -> None:
    assert (await _ok(rest, "POST", "/fapi/v1/leverage", dict(SYM, leverage=10), True))[
        "leverage"] == 10  # fmt: skip
    bid = float((await _ok(rest, "GET", "/fapi/v1/depth", dict(SYM, limit=5)))["bids"][0][0])
    px = f"{round(bid * 0.9, 1):.1f}"
    o = await _ok(rest, "POST", "/fapi/v1/order", dict(SYM, side="BUY", type="LIMIT",
                  timeInForce="GTC", quantity="0.010", price=px, newClientOrderId="f1"),
                  True)  # fmt: skip
    assert o["status"] == "NEW" and o["clientOrderId"] == "f1" and o["price"] == px
    got = await _ok(rest, "GET", "/fapi/v1/order", dict(SYM, origClientOrderId="f1"), True)
    assert got["orderId"] == o["orderId"] and "time" in got
    assert [x["orderId"] for x in await _ok(rest, "GET", "/fapi/v1/openOrders", SYM, True)] == [
        o["orderId"]]  # fmt: skip
    assert await _err(rest, "POST", "/fapi/v1/order", dict(SYM, side="BUY", type="LIMIT",
                      timeInForce="GTC", quantity="0.01", price=px,
                      newClientOrderId="f1")) == -4116  # fmt: skip
    c = await _ok(rest, "DELETE", "/fapi/v1/order", dict(SYM, orderId=o["orderId"]), True)
    assert c["status"] == "CANCELED"
    assert await _err(rest, "DELETE", "/fapi/v1/order", dict(SYM, orderId=o["orderId"])) == -2011
    m = await _ok(rest, "POST", "/fapi/v1/order", dict(SYM, side="SELL", type="MARKET",
                  quantity="0.02", newOrderRespType="RESULT"), True)  # fmt: skip
    assert m["status"] == "FILLED" and m["executedQty"] == "0.02" and float(m["avgPrice"]) > 0
    pos = await _ok(rest, "GET", "/fapi/v2/positionRisk", SYM, True)
    assert pos[0]["positionAmt"] == "-0.02" and pos[0]["leverage"] == "10"
    assert [p["symbol"] for p in await _ok(rest, "GET", "/fapi/v3/positionRisk", {}, True)] == [
        "BTCUSDT"]  # fmt: skip
    trades = await _ok(rest, "GET", "/fapi/v1/userTrades", SYM, True)
    assert sum(float(t["qty"]) for t in trades) == pytest.approx(0.02)
    assert all(t["side"] == "SELL" and t["commissionAsset"] == "USDT" for t in trades)
    fees = sum(float(t["commission"]) for t in trades)
    bal = (await _ok(rest, "GET", "/fapi/v2/balance", {}, True))[0]
    assert float(bal["balance"]) == pytest.approx(100_000 - fees, abs=1e-6)
    acct = await _ok(rest, "GET", "/fapi/v2/account", {}, True)
    assert acct["assets"][0]["asset"] == "USDT" and acct["positions"][0]["positionAmt"] == "-0.02"
    spot = await _ok(rest, "GET", "/api/v3/account", {}, True)
    usdt = next(b for b in spot["balances"] if b["asset"] == "USDT")
    assert float(usdt["free"]) == 100_000  # the spot wallet is untouched
    assert (
        await _err(rest, "POST", "/fapi/v1/marginType", dict(SYM, marginType="ISOLATED")) == -4048
    )  # a position is open
    assert len(await _ok(rest, "GET", "/fapi/v1/allOrders", SYM, True)) == 2
    # reduce-only larger than the position is refused; closing it works
    assert await _err(rest, "POST", "/fapi/v1/order", dict(SYM, side="SELL", type="MARKET",
                      quantity="0.01", reduceOnly="true")) == -2022  # fmt: skip
    await _ok(rest, "POST", "/fapi/v1/order", dict(SYM, side="BUY", type="MARKET",
              quantity="0.02", reduceOnly="true"), True)  # fmt: skip
    assert (await _ok(rest, "GET", "/fapi/v2/positionRisk", SYM, True))[0]["positionAmt"] == "0"
    assert await _ok(rest, "POST", "/fapi/v1/marginType", dict(SYM, marginType="ISOLATED"),
                     True) == {"code": 200, "msg": "success"}  # fmt: skip
    assert await _err(rest, "POST", "/fapi/v1/marginType",
                      dict(SYM, marginType="ISOLATED")) == -4046  # fmt: skip


@pytest.mark.parametrize(
    ("over", "code"),
    [
        ({"price": "60000.05"}, -4014),  # off the 0.10 tick
        ({"quantity": "0.0015"}, -1111),  # off the 0.001 step
        ({"quantity": "0.001", "price": "1000.0"}, -4164),  # 1 USDT < 100 notional
        ({"quantity": "0"}, -1100),
        ({"type": "OCO"}, -1116),
        ({"timeInForce": "XYZ"}, -1115),
        ({"positionSide": "LONG"}, -4061),
        ({"quantity": "2000"}, -4005),
        ({"price": "1000000.0", "quantity": "0.01", "timeInForce": "GTX"}, -5022),  # would take
        ({"quantity": "1000", "price": "60000.0"}, -2019),  # margin
    ],
)
async def test_order_refusals(rest: Rest, over: dict[str, str], code: int) -> None:
    p = dict(SYM, side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.01", price="60000.0")
    p.update(over)
    assert await _err(rest, "POST", "/fapi/v1/order", p) == code
    assert await _ok(rest, "GET", "/fapi/v1/openOrders", SYM, True) == [] or code == -2019


async def test_signing_on_fapi(rest: Rest) -> None:
    status, body, _ = await rest.call("GET", "/fapi/v2/balance", {}, signed=True, sign="00")
    assert status == 400 and body["code"] == -1022
    status, body, _ = await rest.call("GET", "/fapi/v2/balance", {}, signed=True, ts=1)
    assert status == 400 and body["code"] == -1021
    status, body, _ = await rest.call("POST", "/fapi/v1/listenKey", {}, signed=False)
    assert status == 401 and body["code"] == -2014


async def test_market_streams_pu_chain(
    emu: BinanceEmulator, rest: Rest, connect: Callable[[str], Awaitable[Ws]]
) -> None:
    ws = await connect("/fapi/stream?streams=btcusdt@depth@100ms/btcusdt@markPrice")
    for _ in range(12):
        emu.step()
    diffs, marks = [], []
    while len(diffs) < 4 or not marks:
        m = await ws.recv()
        (diffs if m["stream"].endswith("100ms") else marks).append(m["data"])
    for a, b in itertools.pairwise(diffs):
        assert b["pu"] == a["u"] and b["U"] > a["u"] + 1  # only pu chains them
    assert diffs[0]["e"] == "depthUpdate" and "T" in diffs[0]
    assert marks[0]["e"] == "markPriceUpdate" and marks[0]["r"] == "0.00010000"
    await ws.send({"method": "LIST_SUBSCRIPTIONS", "id": 7})
    got = await ws.until(lambda m: m.get("id") == 7)
    assert got["result"] == ["btcusdt@depth@100ms", "btcusdt@markPrice"]
    emu.faults.skip_seqs(1)
    emu.step()
    emu.step()
    after = await ws.until(lambda m: m["stream"].endswith("100ms"))
    last = diffs[-1]["u"]
    while after["data"]["pu"] == last:  # diffs sent before the fault
        last = after["data"]["u"]
        after = await ws.until(lambda m: m["stream"].endswith("100ms"))
    assert after["data"]["pu"] != last  # a lost diff shows as a broken pu chain


async def test_listen_key_user_stream(
    emu: BinanceEmulator, rest: Rest, connect: Callable[[str], Awaitable[Ws]]
) -> None:
    key = (await rest.call("POST", "/fapi/v1/listenKey", {}, signed=False, key_only=True))[1]
    lk = key["listenKey"]
    again = (await rest.call("POST", "/fapi/v1/listenKey", {}, key_only=True))[1]
    assert again["listenKey"] == lk  # the live key is answered again
    ws = await connect("/fapi/ws/" + lk)
    await _ok(rest, "POST", "/fapi/v1/order", dict(SYM, side="BUY", type="MARKET",
              quantity="0.01", newClientOrderId="u1"), True)  # fmt: skip
    first = await ws.recv()
    assert first["e"] == "ORDER_TRADE_UPDATE" and first["o"]["x"] == "NEW"
    acct = await ws.until(lambda m: m["e"] == "ACCOUNT_UPDATE")
    assert acct["a"]["P"][0]["pa"] == "0.01" and acct["a"]["B"][0]["a"] == "USDT"
    last = await ws.until(lambda m: m["e"] == "ORDER_TRADE_UPDATE" and m["o"]["X"] == "FILLED")
    assert last["o"]["c"] == "u1" and last["o"]["z"] == "0.01"
    assert (await rest.call("PUT", "/fapi/v1/listenKey", {}, key_only=True))[0] == 200
    assert (await rest.call("DELETE", "/fapi/v1/listenKey", {}, key_only=True))[0] == 200
    assert (await ws.until(lambda m: m.get("e") == "listenKeyExpired"))["listenKey"] == lk


async def test_funding_settles_at_the_boundary(
    emu: BinanceEmulator, rest: Rest, connect: Callable[[str], Awaitable[Ws]]
) -> None:
    side = emu.futures
    assert side is not None
    lk = (await rest.call("POST", "/fapi/v1/listenKey", {}, key_only=True))[1]["listenKey"]
    ws = await connect("/fapi/ws/" + lk)
    await _ok(rest, "POST", "/fapi/v1/order", dict(SYM, side="BUY", type="MARKET",
              quantity="0.05"), True)  # fmt: skip
    before = float((await _ok(rest, "GET", "/fapi/v2/balance", {}, True))[0]["balance"])
    due = side._next_funding
    assert (await _ok(rest, "GET", "/fapi/v1/premiumIndex", SYM))["nextFundingTime"] == due
    emu.step(due - 1)  # not yet
    assert await _ok(rest, "GET", "/fapi/v1/income", {"incomeType": "FUNDING_FEE"}, True) == []
    emu.step(due)
    mark = float(fm.mark_price(side.driver.markets["BTCUSDT"]))
    paid = 0.05 * mark * 0.0001  # a long pays a positive rate
    rows = await _ok(rest, "GET", "/fapi/v1/income", {"incomeType": "FUNDING_FEE"}, True)
    assert len(rows) == 1 and float(rows[0]["income"]) == pytest.approx(-paid, abs=1e-6)
    after = float((await _ok(rest, "GET", "/fapi/v2/balance", {}, True))[0]["balance"])
    assert after == pytest.approx(before - paid, abs=1e-6)
    ev = await ws.until(lambda m: m.get("e") == "ACCOUNT_UPDATE" and m["a"]["m"] == "FUNDING_FEE")
    assert float(ev["a"]["B"][0]["wb"]) == pytest.approx(after, abs=1e-6)
    assert side._next_funding == due + side.funding_ms
    emu.step(due + 1)  # once per boundary
    assert len(await _ok(rest, "GET", "/fapi/v1/income", {}, True)) == 1


async def test_modify_order(rest: Rest, emu: BinanceEmulator) -> None:
    bid = float((await _ok(rest, "GET", "/fapi/v1/depth", dict(SYM, limit=5)))["bids"][0][0])
    px = f"{round(bid * 0.9, 1):.1f}"
    o = await _ok(rest, "POST", "/fapi/v1/order", dict(SYM, side="BUY", type="LIMIT",
                  timeInForce="GTC", quantity="0.010", price=px, newClientOrderId="m1"),
                  True)  # fmt: skip
    new_px = f"{round(bid * 0.8, 1):.1f}"
    put = dict(SYM, origClientOrderId="m1", side="BUY", quantity="0.02", price=new_px)
    a = await _ok(rest, "PUT", "/fapi/v1/order", put, True)
    assert a["orderId"] == o["orderId"] and a["price"] == new_px and a["origQty"] == "0.02"
    assert await _err(rest, "PUT", "/fapi/v1/order", put) == -5027  # nothing to change
    assert await _err(rest, "PUT", "/fapi/v1/order", dict(put, side="SELL")) == -1117
    assert await _err(rest, "PUT", "/fapi/v1/order", dict(put, price="1.05")) == -4014
    cross = f"{round(bid * 1.05, 1):.1f}"  # a crossing price matches at once
    filled = await _ok(rest, "PUT", "/fapi/v1/order", dict(put, price=cross), True)
    assert filled["status"] == "FILLED"
    assert await _err(rest, "PUT", "/fapi/v1/order", dict(put, price=px)) == -2013
