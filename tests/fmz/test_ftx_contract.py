"""FMZ contract tests for the FTX label: the bridge -> the generic adapter -> the FTX connector ->
the FTX emulator (in process, real loopback sockets). The label comes from the venue registry
(``/FTX`` with no FTX code in the bridge beyond its conventions entry)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from tradeloop.fmz.adapter import GatewayVenue
from tradeloop.fmz.config import build_config
from tradeloop.fmz.server import BridgeConfig, FmzBridge
from tradeloop.fmz.venue import VenueSpec, known_kinds

from .conftest import call

server = pytest.importorskip("tradeloop.emulator.ftx.server")

KEY, SECRET = "fmz-ftx-key-0001", "fmz-ftx-secret-0001"


@dataclass
class Env:
    emu: Any
    bridge: FmzBridge
    http: aiohttp.ClientSession
    url: str

    async def call(self, method: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        kw.setdefault("access_key", KEY)
        kw.setdefault("secret_key", SECRET)
        return await call(self.http, self.url, method, params, **kw)

    async def data(self, method: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        reply = await self.call(method, params, **kw)
        assert "error" not in reply, (method, params, reply)
        return reply["data"]

    async def error(self, method: str, params: dict[str, Any] | None = None, **kw: Any) -> str:
        reply = await self.call(method, params, **kw)
        assert set(reply) == {"error"}, (method, reply)
        return str(reply["error"])

    @property
    def venue(self) -> GatewayVenue:
        v = self.bridge.venue("FTX")
        assert isinstance(v, GatewayVenue)
        return v


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    emu = server.FtxEmulator(
        server.FtxConfig(
            api_key=KEY, api_secret=SECRET, balances={"USD": 100_000.0, "BTC": 2.0},
            symbols=["BTC-PERP", "BTC/USD", "ETH-PERP"], seed=3, tick_interval_ms=50,
            subaccounts=["fmz"],
        )
    )  # fmt: skip
    base = await emu.start("127.0.0.1", 0)
    # exactly what `tradeloop fmz --venue FTX=URL` builds
    cfg, _ = build_config(file=None, venue_flags=[f"FTX={base}"], token=None, capture=None)
    spec = VenueSpec("FTX", base, options={"rate_limits": "off", "timeout": 2.0})
    assert cfg.specs()["FTX"].kind == "FTX"
    bridge = FmzBridge(BridgeConfig(venues={"FTX": spec}, request_timeout=5.0))
    url = await bridge.start("127.0.0.1", 0)
    async with aiohttp.ClientSession() as http:
        try:
            yield Env(emu, bridge, http, url + "/FTX")
        finally:
            await bridge.stop()
            await emu.stop()


def test_label_comes_from_the_registry() -> None:
    assert {"OKX", "FTX"} <= set(known_kinds())


async def test_market_data_from_the_ftx_gateway(env: Env) -> None:
    d = await env.call("depth", {"symbol": "BTC_USD", "limit": "5"})
    assert "raw" not in d  # no REST book query: the gateway's verified book, waited for
    asks, bids = d["data"]["asks"], d["data"]["bids"]
    assert len(asks) == len(bids) == 5 and bids[0][0] < asks[0][0]
    assert [a[0] for a in asks] == sorted(a[0] for a in asks)
    assert [b[0] for b in bids] == sorted((b[0] for b in bids), reverse=True)
    assert env.venue.market.is_live("BTC/USD.FTX")
    t = await env.data("ticker", {"symbol": "btc_usd.swap"})
    assert t["symbol"] == "BTC_USD.swap" and float(t["buy"]) < float(t["sell"])
    assert set(t) == {"symbol", "buy", "sell", "high", "low", "open", "last", "vol", "time"}
    markets = await env.data("markets")
    assert {"BTC_USD", "BTC_USD.swap", "ETH_USD.swap"} <= set(markets)
    assert markets["BTC_USD"]["base_asset"] == "BTC" and markets["BTC_USD"]["tick_size"] > 0
    await asyncio.sleep(0.3)  # a few trades on the tape
    trades = await env.data("trades", {"symbol": "BTC_USD.swap", "limit": 20})
    assert trades and [x["time"] for x in trades] == sorted(x["time"] for x in trades)
    for period in (1, 5, 3):  # native 1m / 5m, and 3m built from 1m bars
        rows = await env.data("records", {"symbol": "BTC_USD.swap", "period": period,
                                          "limit": 3})  # fmt: skip
        assert 0 < len(rows) <= 3 and all(r[0] % (period * 60) == 0 for r in rows)
        assert [r[0] for r in rows] == sorted(r[0] for r in rows)
    for method in ("tickers", "fundings"):
        assert "is not supported" in await env.error(method)
    assert "unsupported contract" in await env.error("ticker", {"symbol": "BTC_USD.quarter"})
    assert "quoted in USD" in await env.error("depth", {"symbol": "BTC_USDT.swap"})


async def test_spot_and_swap_orders(env: Env) -> None:
    acc = await env.data("accounts")
    assert {"currency": "USD", "free": "100000", "frozen": "0"} in acc
    assert await env.data("assets") == acc
    t = await env.data("ticker", {"symbol": "BTC_USD"})
    low = round(float(t["buy"]) * 0.8)
    oid = (await env.data("trade", {"symbol": "BTC_USD", "type": "buy", "price": str(low),
                                    "amount": "0.01"}))["id"]  # fmt: skip
    assert oid.startswith("BTC/USD,")
    (o,) = await env.data("orders", {"symbol": "BTC_USD"})
    assert o["id"] == oid and o["type"] == "buy" and o["status"] == "pending"
    assert o["amount"] == 0.01 and o["price"] == low
    assert (await env.data("order", {"id": oid}))["status"] == "pending"
    usd = next(a for a in await env.data("accounts") if a["currency"] == "USD")
    assert float(usd["frozen"]) > 0
    assert await env.data("cancel", {"id": oid}) is True
    assert (await env.data("order", {"id": oid}))["status"] == "canceled"
    assert await env.data("orders") == []
    # a spot market buy spends a quote amount (the connector sizes it at the ask)
    mid = (await env.data("trade", {"symbol": "BTC_USD", "type": "buy", "price": -1,
                                    "amount": "500"}))["id"]  # fmt: skip
    for _ in range(100):  # the fill arrives on the private stream
        mo = await env.data("order", {"id": mid})
        if mo["status"] == "filled":
            break
        await asyncio.sleep(0.02)
    assert mo["status"] == "filled" and mo["price"] == -1
    assert mo["deal_amount"] * mo["avg_price"] == pytest.approx(500, rel=0.05)
    hist = await env.data("historyorders", {"symbol": "BTC_USD"})
    assert [h["id"] for h in hist] == [oid, mid]
    # the swap: open, see the position, close it
    await env.data("trade", {"symbol": "BTC_USD.swap", "type": "buy", "price": -1,
                             "amount": "0.5"})  # fmt: skip
    for _ in range(100):
        pos = await env.data("positions", {"symbol": "USD.swap"})
        if pos:
            break
        await asyncio.sleep(0.02)
    assert len(pos) == 1 and pos[0]["symbol"] == "BTC_USD.swap"
    assert pos[0]["amount"] == 0.5 and pos[0]["type"] == 0 and pos[0]["contract_type"] == "swap"
    cid = (await env.data("trade", {"symbol": "BTC_USD.swap", "type": "closebuy", "price": -1,
                                    "amount": "0.5"}))["id"]  # fmt: skip
    for _ in range(100):
        if await env.data("positions") == []:
            break
        await asyncio.sleep(0.02)
    assert await env.data("positions") == []
    co = await env.data("order", {"id": cid})
    assert co["offset"] == "close" and co["type"] == "sell" and co["contract_type"] == "swap"
    assert "is not supported" in await env.error("setmarginlevel", {"symbol": "BTC_USD.swap",
                                                                    "marginLevel": 3})  # fmt: skip


async def test_keys_passthrough_and_errors(env: Env) -> None:
    bad = await env.error("accounts", access_key="nobody-0001")
    assert "authentication failed" in bad
    assert "secret" in await env.error("accounts", secret_key=",sub")
    sub = await env.data("accounts", secret_key=f"{SECRET},fmz")  # a subaccount
    assert {"currency": "BTC", "free": "2", "frozen": "0"} in sub
    assert "unknown instrument" in await env.error(
        "trade", {"symbol": "XXX_USD", "type": "buy", "price": "1", "amount": "1"}
    )
    assert "rounds to 0" in await env.error(
        "trade", {"symbol": "BTC_USD", "type": "buy", "price": "100", "amount": "1e-12"}
    )
    assert "not found" in await env.error("order", {"id": "BTC/USD,424242"})
    assert "not found" in await env.error("cancel", {"id": "BTC/USD,424242"})
    r = await env.call("__api_/api/markets/BTC-PERP", headers={"Http-Method": "GET"})
    assert r["data"]["success"] is True and r["data"]["result"]["name"] == "BTC-PERP"
    r = await env.call("__api_/api/wallet/balances")
    assert any(b["coin"] == "USD" for b in r["data"]["result"])
    assert "plain venue API path" in await env.error("__api_/__admin/faults")
    assert "plain venue API path" in await env.error("__api_/api/../__admin/faults")
