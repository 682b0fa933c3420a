"""OKX algo orders on the emulator, over a real socket: a stop gapped through by the last
price, a trailing stop's path, an OCO / attached bracket where one leg ends the other, the
``orders-algo`` channel and the ids that map the child's fills back."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tradeloop.emulator.feed import now_ms
from tradeloop.emulator.okx.server import OkxEmulator
from tradeloop.model import NS_PER_MS, Side, TradeTick

from .helpers import Client, WsClient

SYM = "BTC-USDT"


def _px(emu: OkxEmulator, factor: float) -> str:
    inst = emu.instruments[SYM]
    return inst.format_price(emu.driver.markets[SYM].mid() * factor)


def _print(emu: OkxEmulator, factor: float) -> None:
    """The tape prints a trade at mid × factor (a gap when far from the book)."""
    px = float(_px(emu, factor))
    emu.trading.account.sim.on_trade(
        TradeTick(ts=now_ms() * NS_PER_MS, symbol=SYM, price=px, qty=0.001, side=Side.SELL)
    )


@pytest.fixture
async def ws(frozen_emu: OkxEmulator) -> AsyncIterator[WsClient]:
    async with aiohttp.ClientSession() as s:
        raw = await s.ws_connect(f"{frozen_emu.base_url.replace('http', 'ws')}/ws/v5/private")
        w = WsClient(raw)
        assert (await w.login())["event"] == "login"
        for ch in ("orders-algo", "orders"):
            await w.send({"op": "subscribe", "args": [{"channel": ch, "instType": "ANY"}]})
            await w.wait(lambda m, ch=ch: m.get("event") == "subscribe")
        yield w
        await raw.close()


def _push(channel: str, **want: str) -> Any:
    def pred(m: Any) -> bool:
        if not isinstance(m, dict) or m.get("arg", {}).get("channel") != channel:
            return False
        row = m["data"][0]
        return all(row.get(k) == v for k, v in want.items())

    return pred


async def test_stop_gapped_through_fires_and_maps_fills_to_the_algo(
    frozen_emu: OkxEmulator, frozen_client: Client, ws: WsClient
) -> None:
    body = {"instId": SYM, "tdMode": "cash", "side": "sell", "ordType": "conditional",
            "sz": "0.01", "slTriggerPx": _px(frozen_emu, 0.95), "slOrdPx": "-1",
            "algoClOrdId": "stop1"}  # fmt: skip
    status, r = await frozen_client.post("/api/v5/trade/order-algo", body)
    assert status == 200 and r["code"] == "0", r
    algo_id = r["data"][0]["algoId"]
    await ws.wait(_push("orders-algo", algoId=algo_id, state="live"))
    _, pend = await frozen_client.get("/api/v5/trade/orders-algo-pending?ordType=conditional", True)
    assert [row["algoClOrdId"] for row in pend["data"]] == ["stop1"]
    _, plain = await frozen_client.get("/api/v5/trade/orders-pending", True)
    assert plain["data"] == []  # untriggered: not an order yet

    _print(frozen_emu, 0.90)  # the last price gaps through the trigger
    eff = await ws.wait(_push("orders-algo", algoId=algo_id, state="effective"))
    row = eff["data"][0]
    assert row["actualSide"] == "sl" and row["actualPx"] == _px(frozen_emu, 0.90)
    filled = await ws.wait(_push("orders", algoId=algo_id, state="filled"))
    assert (
        filled["data"][0]["ordId"] == row["ordId"] and filled["data"][0]["algoClOrdId"] == "stop1"
    )
    _, hist = await frozen_client.get("/api/v5/trade/orders-algo-history?ordType=conditional", True)
    assert [(h["algoId"], h["state"]) for h in hist["data"]] == [(algo_id, "effective")]


async def test_trailing_stop_path(
    frozen_emu: OkxEmulator, frozen_client: Client, ws: WsClient
) -> None:
    body = {"instId": SYM, "tdMode": "cash", "side": "sell", "ordType": "move_order_stop",
            "sz": "0.01", "callbackRatio": "0.05"}  # fmt: skip
    _, r = await frozen_client.post("/api/v5/trade/order-algo", body)
    assert r["code"] == "0", r
    algo_id = r["data"][0]["algoId"]
    _print(frozen_emu, 1.10)  # best price 1.10 x mid: the level is now 1.045 x mid
    _print(frozen_emu, 1.06)
    _, pend = await frozen_client.get(
        "/api/v5/trade/orders-algo-pending?ordType=move_order_stop", True
    )
    assert [p["algoId"] for p in pend["data"]] == [algo_id]
    _print(frozen_emu, 1.04)  # below the level it trailed up to
    eff = await ws.wait(_push("orders-algo", algoId=algo_id, state="effective"))
    assert eff["data"][0]["actualPx"] == _px(frozen_emu, 1.04)


async def test_oco_one_leg_fires_the_other_is_gone(
    frozen_emu: OkxEmulator, frozen_client: Client, ws: WsClient
) -> None:
    body = {"instId": SYM, "tdMode": "cash", "side": "sell", "ordType": "oco", "sz": "0.01",
            "tpTriggerPx": _px(frozen_emu, 1.05), "tpOrdPx": "-1",
            "slTriggerPx": _px(frozen_emu, 0.95), "slOrdPx": "-1"}  # fmt: skip
    _, r = await frozen_client.post("/api/v5/trade/order-algo", body)
    algo_id = r["data"][0]["algoId"]
    _print(frozen_emu, 1.06)
    eff = await ws.wait(_push("orders-algo", algoId=algo_id, state="effective"))
    assert eff["data"][0]["actualSide"] == "tp"
    _print(frozen_emu, 0.90)  # the stop-loss leg died with the take-profit
    _, pend = await frozen_client.get("/api/v5/trade/orders-algo-pending?ordType=oco", True)
    assert pend["data"] == []


async def test_attached_bracket_placed_on_fill_and_cancel_algos(
    frozen_emu: OkxEmulator, frozen_client: Client, ws: WsClient
) -> None:
    attach = {"attachAlgoClOrdId": "prot1", "tpTriggerPx": _px(frozen_emu, 1.05),
              "tpOrdPx": "-1", "slTriggerPx": _px(frozen_emu, 0.95), "slOrdPx": "-1"}  # fmt: skip
    body = {"instId": SYM, "tdMode": "cash", "side": "buy", "ordType": "market", "sz": "0.01",
            "tgtCcy": "base_ccy", "clOrdId": "entry1", "attachAlgoOrds": [attach]}  # fmt: skip
    _, r = await frozen_client.post("/api/v5/trade/order", body)
    assert r["code"] == "0", r
    live = await ws.wait(_push("orders-algo", algoClOrdId="prot1", state="live"))
    row = live["data"][0]
    assert row["ordType"] == "oco" and row["side"] == "sell"
    assert float(row["sz"]) <= 0.01  # the base received (OKX takes the buy's fee in BTC)
    c = {"instId": SYM, "algoId": row["algoId"]}
    _, r = await frozen_client.post("/api/v5/trade/cancel-algos", [c])
    assert r["data"][0]["sCode"] == "0", r
    await ws.wait(_push("orders-algo", algoClOrdId="prot1", state="canceled"))


async def test_bad_algo_requests_are_refused_per_item(frozen_client: Client) -> None:
    bad = [
        {"instId": SYM, "tdMode": "cash", "side": "sell", "ordType": "oco", "sz": "0.01",
         "slTriggerPx": "100", "slOrdPx": "-1"},
        {"instId": SYM, "tdMode": "cash", "side": "sell", "ordType": "move_order_stop",
         "sz": "0.01"},
        {"instId": SYM, "tdMode": "cash", "side": "sell", "ordType": "iceberg", "sz": "0.01"},
    ]  # fmt: skip
    for b in bad:
        _, r = await frozen_client.post("/api/v5/trade/order-algo", b)
        assert r["data"][0]["sCode"] != "0", (b, r)
    _, r = await frozen_client.get("/api/v5/trade/orders-algo-pending", True)
    assert r["code"] == "50014"


async def test_a_fired_algos_child_is_found_by_its_ord_id_and_listed_by_algo_cl_ord_id(
    frozen_emu: OkxEmulator, frozen_client: Client, ws: WsClient
) -> None:
    """The child's ordId answers ``/trade/order`` and ``/trade/fills`` (a connector catching
    up after a reconnect asks by it); a stop-limit child shows its limit; the algo listings
    filter by ``algoClOrdId``."""
    far = _px(frozen_emu, 1.2)  # a sell limit above the book: the child rests
    for cl, px in (("lim1", far), ("mkt1", "-1")):
        body = {"instId": SYM, "tdMode": "cash", "side": "sell", "ordType": "conditional",
                "sz": "0.01", "slTriggerPx": _px(frozen_emu, 0.95), "slOrdPx": px,
                "algoClOrdId": cl}  # fmt: skip
        _, r = await frozen_client.post("/api/v5/trade/order-algo", body)
        assert r["data"][0]["sCode"] == "0", r
    _, one = await frozen_client.get("/api/v5/trade/orders-algo-pending?ordType=conditional"
                                     "&algoClOrdId=lim1", True)  # fmt: skip
    assert [row["algoClOrdId"] for row in one["data"]] == ["lim1"]
    _print(frozen_emu, 0.90)
    rest = await ws.wait(_push("orders", algoClOrdId="lim1", state="live"))
    assert rest["data"][0]["ordType"] == "limit" and rest["data"][0]["px"] == far
    filled = await ws.wait(_push("orders", algoClOrdId="mkt1", state="filled"))
    ord_id = filled["data"][0]["ordId"]
    _, got = await frozen_client.get(f"/api/v5/trade/order?instId={SYM}&ordId={ord_id}", True)
    assert got["data"][0]["state"] == "filled" and got["data"][0]["algoClOrdId"] == "mkt1"
    _, fills = await frozen_client.get(f"/api/v5/trade/fills?ordId={ord_id}", True)
    assert fills["data"] and {f["ordId"] for f in fills["data"]} == {ord_id}
    _, hist = await frozen_client.get("/api/v5/trade/orders-algo-history?ordType=conditional"
                                      "&algoClOrdId=mkt1", True)  # fmt: skip
    assert [(h["algoClOrdId"], h["ordId"]) for h in hist["data"]] == [("mkt1", ord_id)]
