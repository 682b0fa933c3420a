"""Conditional orders in the emulator: spot STOP_LOSS(_LIMIT) / TAKE_PROFIT(_LIMIT) and USD-M
STOP_MARKET / TAKE_PROFIT_MARKET (on ``/fapi/v1/order`` and the Algo Order API): they rest
untriggered, refuse a stop already reached, fire when a trade reaches the level and then trade
as their child order; ccxt's stop orders (spot stop-loss-limit, USD-M STOP_MARKET) work."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tradeloop.emulator.account import SimAccount
from tradeloop.emulator.binance.server import BinanceEmulator
from tradeloop.emulator.feed import now_ms
from tradeloop.model import NS_PER_MS, Side, TradeTick

from .helpers import KEY, SECRET, Rest

SYM = {"symbol": "BTCUSDT"}
_prints = iter(range(1, 10**6))


async def _ok(rest: Rest, method: str, path: str, params: dict[str, Any]) -> Any:
    status, body, _ = await rest.call(method, path, params, signed=True)
    assert status == 200, body
    return body


def _print(account: SimAccount, price: float, taker: Side) -> None:
    """A public trade at ``price`` reaching the simulator (what fires triggers)."""
    account.sim.on_trade(TradeTick(now_ms() * NS_PER_MS, "BTCUSDT", price, 0.001, taker,
                                   f"stop-print-{next(_prints)}"))  # fmt: skip


def _last(emu: BinanceEmulator, futures: bool = False) -> Decimal:
    side = emu.futures if futures and emu.futures is not None else None
    m = side.driver.markets["BTCUSDT"] if side else emu.driver.markets["BTCUSDT"]
    return Decimal(m.last_trade.price)


async def test_spot_stop_loss_limit_rests_then_fires(rest: Rest, emu: BinanceEmulator) -> None:
    last = _last(emu)
    stop = (last * Decimal("0.95")).quantize(Decimal("0.01"))
    limit = (last * Decimal("0.90")).quantize(Decimal("0.01"))
    o = await _ok(rest, "POST", "/api/v3/order", dict(SYM, side="SELL", type="STOP_LOSS_LIMIT",
                  quantity="0.01", price=str(limit), stopPrice=str(stop), timeInForce="GTC",
                  newClientOrderId="sl1"))  # fmt: skip
    assert o["status"] == "NEW" and o["type"] == "STOP_LOSS_LIMIT"
    got = await _ok(rest, "GET", "/api/v3/order", dict(SYM, origClientOrderId="sl1"))
    assert got["stopPrice"] == f"{stop:.8f}" and got["executedQty"] == "0.00000000"
    _print(emu.trading.account, float(stop) - 0.01, Side.SELL)  # the price falls through
    got = await _ok(rest, "GET", "/api/v3/order", dict(SYM, origClientOrderId="sl1"))
    assert got["status"] == "FILLED" and float(got["executedQty"]) == 0.01


@pytest.mark.parametrize(
    ("kind", "side", "factor", "code"),
    [
        ("STOP_LOSS", "SELL", "1.05", -2010),  # a sell stop above the last price: fires at once
        ("TAKE_PROFIT", "SELL", "0.95", -2010),
        ("STOP_LOSS", "BUY", "0.95", -2010),
        ("STOP_LOSS", "SELL", None, -1102),  # no stopPrice
    ],
)
async def test_spot_stop_refusals(
    rest: Rest, emu: BinanceEmulator, kind: str, side: str, factor: str | None, code: int
) -> None:
    p = dict(SYM, side=side, type=kind, quantity="0.01")
    if factor is not None:
        p["stopPrice"] = str((_last(emu) * Decimal(factor)).quantize(Decimal("0.01")))
    status, body, _ = await rest.call("POST", "/api/v3/order", p, signed=True)
    assert status == 400 and body["code"] == code, body


async def test_spot_take_profit_market_buy(rest: Rest, emu: BinanceEmulator) -> None:
    stop = (_last(emu) * Decimal("0.97")).quantize(Decimal("0.01"))
    o = await _ok(rest, "POST", "/api/v3/order", dict(SYM, side="BUY", type="TAKE_PROFIT",
                  quantity="0.01", stopPrice=str(stop)))  # fmt: skip
    assert o["status"] == "NEW"
    _print(emu.trading.account, float(stop), Side.SELL)
    got = await _ok(rest, "GET", "/api/v3/order", dict(SYM, orderId=o["orderId"]))
    assert got["status"] == "FILLED"


async def test_futures_stop_market_and_algo_orders(rest: Rest, emu: BinanceEmulator) -> None:
    assert emu.futures is not None
    acct = emu.futures.trading.account
    await _ok(rest, "POST", "/fapi/v1/order", dict(SYM, side="BUY", type="MARKET",
              quantity="0.02"))  # fmt: skip
    last = _last(emu, futures=True)
    stop = (last * Decimal("0.95")).quantize(Decimal("0.1"))
    o = await _ok(rest, "POST", "/fapi/v1/order", dict(SYM, side="SELL", type="STOP_MARKET",
                  quantity="0.01", stopPrice=str(stop), reduceOnly="true"))  # fmt: skip
    assert o["status"] == "NEW" and o["stopPrice"] == str(stop)
    status, body, _ = await rest.call("POST", "/fapi/v1/order", dict(
        SYM, side="SELL", type="STOP_MARKET", quantity="0.01",
        stopPrice=str((last * Decimal("1.05")).quantize(Decimal("0.1")))), signed=True)  # fmt: skip
    assert status == 400 and body["code"] == -2021
    tp = (last * Decimal("1.05")).quantize(Decimal("0.1"))
    a = await _ok(rest, "POST", "/fapi/v1/algoOrder", dict(SYM, algoType="CONDITIONAL",
                  side="SELL", type="TAKE_PROFIT_MARKET", quantity="0.01",
                  triggerPrice=str(tp), reduceOnly="true", clientAlgoId="tp1"))  # fmt: skip
    assert a["algoStatus"] == "NEW" and a["clientAlgoId"] == "tp1" and a["triggerPrice"] == str(tp)
    opened = await _ok(rest, "GET", "/fapi/v1/openAlgoOrders", SYM)
    assert [x["algoId"] for x in opened] == [a["algoId"]]
    _print(acct, float(stop) - 0.1, Side.SELL)  # the stop fires, the take-profit does not
    got = await _ok(rest, "GET", "/fapi/v1/order", dict(SYM, orderId=o["orderId"]))
    assert got["status"] == "FILLED"
    pos = await _ok(rest, "GET", "/fapi/v2/positionRisk", SYM)
    assert pos[0]["positionAmt"] == "0.01"
    _print(acct, float(tp) + 0.1, Side.BUY)
    fired = await _ok(rest, "GET", "/fapi/v1/algoOrder", dict(SYM, clientAlgoId="tp1"))
    assert fired["algoStatus"] == "TRIGGERED"
    assert (await _ok(rest, "GET", "/fapi/v2/positionRisk", SYM))[0]["positionAmt"] == "0"
    b = await _ok(rest, "POST", "/fapi/v1/algoOrder", dict(SYM, algoType="CONDITIONAL",
                  side="BUY", type="STOP_MARKET", quantity="0.01",
                  triggerPrice=str(tp)))  # fmt: skip
    c = await _ok(rest, "DELETE", "/fapi/v1/algoOrder", dict(SYM, algoId=b["algoId"]))
    assert c["code"] == "200"
    assert (await _ok(rest, "GET", "/fapi/v1/algoOrder", dict(SYM, algoId=b["algoId"])))[
        "algoStatus"] == "CANCELED"  # fmt: skip
    assert len(await _ok(rest, "GET", "/fapi/v1/allAlgoOrders", SYM)) == 2


ccxt = pytest.importorskip("ccxt.async_support")


async def test_ccxt_stop_orders(emu: BinanceEmulator) -> None:
    spot = ccxt.binance({"apiKey": KEY, "secret": SECRET, "enableRateLimit": False})
    usdm = ccxt.binanceusdm({"apiKey": KEY, "secret": SECRET, "enableRateLimit": False})
    for e in (spot, usdm):
        for k, v in list(e.urls["api"].items()):
            if isinstance(v, str) and v.startswith("https://api.binance.com/api/v3"):
                e.urls["api"][k] = emu.base_url + "/api/v3"
            elif isinstance(v, str) and v.startswith("https://fapi.binance.com"):
                e.urls["api"][k] = v.replace("https://fapi.binance.com", emu.base_url)
        e.options.update(fetchMargins=False, fetchCurrencies=False)
    spot.options["fetchMarkets"] = {"types": ["spot"]}
    try:
        last = float(_last(emu))
        trigger = {"stopPrice": round(last * 0.95, 2)}
        o = await spot.create_order("BTC/USDT", "STOP_LOSS_LIMIT", "sell", 0.01,
                                    round(last * 0.9, 2), trigger)  # fmt: skip
        got = await spot.fetch_order(o["id"], "BTC/USDT")
        assert got["status"] == "open" and got["triggerPrice"] == round(last * 0.95, 2)
        flast = float(_last(emu, futures=True))
        s = await usdm.create_order("BTC/USDT:USDT", "STOP_MARKET", "buy", 0.01, None,
                                    {"stopPrice": round(flast * 1.05, 1)})  # fmt: skip
        assert s["status"] == "open"
        armed = await usdm.fetch_open_orders("BTC/USDT:USDT", params={"trigger": True})
        assert [x["id"] for x in armed] == [s["id"]]
        await usdm.cancel_order(s["id"], "BTC/USDT:USDT", {"trigger": True})
    finally:
        await spot.close()
        await usdm.close()
