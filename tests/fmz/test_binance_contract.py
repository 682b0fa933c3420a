"""Contract tests for the FMZ label BINANCE: every spot FMZ method through the bridge, the
Binance connector and the Binance emulator (in process, real loopback sockets), plus the error
paths, and the USD-M perpetual (``BTC_USDT.swap``: positions, leverage, funding, orders)."""

from __future__ import annotations

from typing import Any

import pytest

from tradeloop.emulator.binance.server import BinanceConfig, BinanceEmulator

from . import contract
from .contract import Env, Venue, env_fixture

KEY, SECRET = "fmz-binance-key-1", "fmz-binance-secret-1"
BINANCE = Venue("BINANCE", KEY, SECRET, BinanceEmulator, BinanceConfig, {
    "seed": 1, "balances": {"USDT": 100000.0, "BTC": 2.0}, "symbols": ["BTCUSDT", "ETHUSDT"],
}, request_timeout=3.0, check_flags=False)  # fmt: skip
env = env_fixture(BINANCE)


async def test_public_data(env: Env) -> None:
    markets = await env.data("markets")
    assert {"BTC_USDT", "ETH_USDT"} <= set(markets)
    m = markets["BTC_USDT"]
    assert m["base_asset"] == "BTC" and m["quote_asset"] == "USDT" and m["tick_size"] == 0.01
    first = await env.call("ticker", {"symbol": "BTC_USDT"})
    assert first["raw"]["symbol"] == "BTCUSDT"
    t = first["data"]
    assert t["symbol"] == "BTC_USDT" and 0 < float(t["buy"]) < float(t["sell"])
    await contract.check_depth(env, "BTC_USDT", 5)

    async def live_book() -> bool:  # synced from the diff stream after a snapshot
        return env.venue.market.is_live("BTCUSDT.BINANCE")

    await contract.until(live_book, tries=200)
    live = await env.call("depth", {"symbol": "BTC_USDT", "limit": 7})
    assert "raw" not in live and len(live["data"]["asks"]) == 7
    trades = await contract.check_tape(env, "BTC_USDT")  # the emulator's market ticks
    assert {x["type"] for x in trades} <= {"buy", "sell"}
    for period, limit in ((1, 5), (60, 3), (7, 4)):
        rows = await env.data("records", {"symbol": "BTC_USDT", "period": period,
                                          "limit": limit})  # fmt: skip
        times = [r[0] for r in rows]
        assert 0 < len(rows) <= limit and times == sorted(times)
        assert all(t % (period * 60) == 0 for t in times)
    tickers = await env.data("tickers")
    assert {x["symbol"] for x in tickers} >= {"BTC_USDT", "ETH_USDT"}


def _free(accounts: list[dict[str, Any]], ccy: str) -> float:
    return sum(float(a["free"]) for a in accounts if a["currency"] == ccy)


async def test_spot_order_lifecycle(env: Env) -> None:
    acc = await env.data("accounts")
    assert _free(acc, "USDT") == 100000.0 and _free(acc, "BTC") == 2.0
    r = await env.data("trade", {"symbol": "BTC_USDT", "type": "buy",
                                 "price": "30000.004999", "amount": 0.1 + 0.2})  # fmt: skip
    oid = r["id"]
    assert oid.startswith("BTCUSDT,")
    o = await env.call("order", {"id": oid})
    assert o["raw"]["price"] == "30000.00000000" and o["raw"]["origQty"] == "0.30000000"
    assert o["data"]["status"] == "pending" and o["data"]["type"] == "buy"
    assert [p["id"] for p in await env.data("orders", {"symbol": "BTC_USDT"})] == [oid]
    assert await contract.frozen(env, "USDT") > 0
    await contract.check_cancel(env, oid)
    assert await env.data("orders", {"symbol": "BTC_USDT"}) == []
    # market buy: FMZ's amount is the quote to spend
    mid = (await env.data("trade", {"symbol": "BTC_USDT", "type": "buy", "price": -1,
                                    "amount": "1000"}))["id"]  # fmt: skip
    mo = await env.data("order", {"id": mid})
    assert mo["status"] == "filled" and mo["price"] == -1
    assert mo["deal_amount"] * mo["avg_price"] == pytest.approx(1000, rel=0.01)
    sid = (await env.data("trade", {"symbol": "BTC_USDT", "type": "sell", "price": -1,
                                    "amount": "0.01"}))["id"]  # fmt: skip
    assert (await env.data("order", {"id": sid}))["deal_amount"] == pytest.approx(0.01)
    hist = await env.data("historyorders", {"symbol": "BTC_USDT"})
    statuses = {h["id"]: h["status"] for h in hist}
    assert statuses[oid] == "canceled" and statuses[mid] == "filled" and sid in statuses
    assert {oid, mid, sid} <= {h["id"] for h in await env.data("historyorders")}  # all symbols
    io = await env.call("__api_/api/v3/openOrders", {"symbol": "BTCUSDT"},
                        headers={"Http-Method": "GET"})  # fmt: skip
    assert io["data"] == []


async def test_swap_public_data(env: Env) -> None:
    sym = "BTC_USDT.swap"
    markets = await env.data("markets")
    assert {"BTC_USDT", "BTC_USDT.swap"} <= set(markets)
    assert markets["BTC_USDT.swap"]["tick_size"] == 0.1  # the perpetual's own filters
    assert markets["BTC_USDT"]["tick_size"] == 0.01
    t = await env.data("ticker", {"symbol": sym})
    assert 0 < float(t["buy"]) < float(t["sell"])
    depth = await env.data("depth", {"symbol": sym, "limit": 5})
    assert depth["bids"] and depth["asks"]
    rows = await env.data("records", {"symbol": sym, "period": 1, "limit": 3})
    assert len(rows) == 3
    assert {x["symbol"] for x in await env.data("tickers")} >= {"BTC_USDT", sym}
    f = await env.data("fundings", {"symbol": sym})
    assert f[0]["symbol"] == sym and f[0]["interval"] == 8 * 3600 * 1000
    assert "unsupported contract" in await env.error("ticker", {"symbol": "BTC_USDT.quarter"})


async def test_swap_positions_and_orders(env: Env) -> None:
    sym = "BTC_USDT.swap"
    assert await env.data("setmarginlevel", {"symbol": sym, "marginLevel": "5"}) is True
    assert await env.data("positions") == []
    await env.data("trade", {"symbol": sym, "type": "buy", "price": -1, "amount": "0.01"})
    pos = await env.data("positions", {"symbol": sym})
    assert len(pos) == 1 and pos[0]["type"] == 0 and pos[0]["amount"] == 0.01
    assert pos[0]["margin_level"] == 5 and pos[0]["contract_type"] == "swap"
    cid = (await env.data("trade", {"symbol": sym, "type": "closebuy", "price": -1,
                                    "amount": "0.01"}))["id"]  # fmt: skip
    assert cid.startswith("BTCUSDT-PERP,")
    co = await env.data("order", {"id": cid})
    assert co["type"] == "sell" and co["status"] == "filled"
    assert await env.data("positions") == []
    lid = (await env.data("trade", {"symbol": sym, "type": "buy", "price": "50000.123",
                                    "amount": "0.01"}))["id"]  # fmt: skip
    open_swap = await env.data("orders", {"symbol": sym})
    assert [o["id"] for o in open_swap] == [lid] and open_swap[0]["price"] == 50000.1
    assert await env.data("cancel", {"id": lid}) is True
    hist = await env.data("historyorders", {"symbol": sym})
    assert {lid, cid} <= {h["id"] for h in hist}
    raw = await env.call("__api_/fapi/v2/positionRisk", {"symbol": "BTCUSDT"},
                         headers={"Http-Method": "GET"})  # fmt: skip
    assert raw["data"][0]["positionAmt"] == "0" and raw["data"][0]["leverage"] == "5"


async def test_errors(env: Env) -> None:
    # Binance names a missing order by its code (-2013), not the shared "not found" phrase,
    # so the shared check_refusals does not apply
    assert "unknown instrument" in await env.error(
        "trade", {"symbol": "XXX_YYY", "type": "buy", "price": "1", "amount": "1"}
    )
    assert "-2013" in await env.error("order", {"id": "BTCUSDT,999"})
    assert "authentication failed" in await env.error("accounts", access_key="wrong-key-123")
    assert "authentication failed" in await env.error("accounts", secret_key="wrong-secret")
    assert "venue API path" in await env.error("__api_/api/v5/account/balance")
    await env.data("trades", {"symbol": "ETH_USDT"})  # the public gateway is up
    env.emu.faults.fail_next_429(10)  # honoured Retry-After (1 s), one retry, then refused
    assert "rate limited" in await env.error("trades", {"symbol": "ETH_USDT"})


def _wallet(rows: list[dict[str, Any]]) -> dict[str, tuple[float, float]]:
    return {a["currency"]: (float(a["free"]), float(a["frozen"])) for a in rows}


async def test_accounts_report_the_wallet_of_the_symbol(env: Env) -> None:
    """Spot and USD-M are two wallets, both holding USDT: ``accounts`` for ``BTC_USDT`` is the
    spot wallet, for ``BTC_USDT.swap`` (or ``contract_type`` swap) the futures wallet; a perp
    round trip moves only the futures one, by its realised PnL and fees."""
    sym = "BTC_USDT.swap"
    spot0 = _wallet(await env.data("accounts"))
    assert _wallet(await env.data("accounts", {"symbol": "BTC_USDT"})) == spot0
    fut0 = _wallet(await env.data("accounts", {"symbol": sym}))
    assert fut0 == {"USDT": (100000.0, 0.0)}  # the futures wallet: no BTC in it
    await env.data("trade", {"symbol": sym, "type": "buy", "price": -1, "amount": "0.01"})
    held = _wallet(await env.data("accounts", {"symbol": sym}))
    assert held["USDT"][1] > 0  # the position's margin is frozen in the futures wallet
    await env.data("trade", {"symbol": sym, "type": "closebuy", "price": -1, "amount": "0.01"})
    emu = env.emu
    assert emu.futures is not None
    fills = [f for _, f in emu.futures.trading.account.fills("BTCUSDT", "")]
    assert len(fills) >= 2
    signed = sum((f.price * f.qty) * (1 if f.side.value == "sell" else -1) for f in fills)
    want = 100000.0 + signed - sum(f.fee for f in fills)
    fut1 = _wallet(await env.data("accounts", {"symbol": sym}))
    assert fut1 == _wallet(await env.data("assets", {"contract_type": "swap"}))
    assert fut1["USDT"][0] == pytest.approx(want, abs=1e-6) and fut1["USDT"][0] != 100000.0
    raw = await env.call("accounts", {"symbol": sym})
    assert raw["raw"][0]["asset"] == "USDT"  # /fapi/v2/balance's own rows
    assert _wallet(await env.data("accounts")) == spot0  # spot untouched
    assert "unsupported contract" in await env.error("accounts", {"symbol": "BTC_USDT.quarter"})
