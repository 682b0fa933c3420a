"""FMZ contract tests for the BITFINEX label: every FMZ method through the bridge, the generic
adapter, the Bitfinex connector (orders over its authenticated WebSocket) and the Bitfinex
emulator (in process, real loopback sockets), on spot (``BTC_USD`` = ``tBTCUSD``) and the
perpetual (``BTC_USDT.swap`` = ``tBTCF0:USTF0``), plus the error paths. The label comes from the
venue registry (``fmz_label="BITFINEX"``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from tradeloop.emulator.bitfinex.server import BitfinexConfig, BitfinexEmulator
from tradeloop.fmz.adapter import GatewayVenue
from tradeloop.fmz.config import build_config
from tradeloop.fmz.server import BridgeConfig, FmzBridge
from tradeloop.fmz.symbols import parse_symbol
from tradeloop.fmz.venue import VenueSpec, known_kinds
from tradeloop.fmz.venues.bitfinex import BitfinexConventions

from .conftest import call

KEY, SECRET = "fmz-bfx-key-0001", "fmz-bfx-secret-0001"


@dataclass
class Env:
    emu: BitfinexEmulator
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
        v = self.bridge.venue("BITFINEX")
        assert isinstance(v, GatewayVenue)
        return v


async def until(probe: Callable[[], Awaitable[Any]], tries: int = 150) -> Any:
    """``probe()``'s first truthy answer (polled every 20 ms), else its last."""
    got = None
    for _ in range(tries):
        got = await probe()
        if got:
            return got
        await asyncio.sleep(0.02)
    return got


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    emu = BitfinexEmulator(
        BitfinexConfig(
            api_key=KEY, api_secret=SECRET,
            balances={"USD": 100_000.0, "BTC": 2.0, "USTF0": 100_000.0},
            symbols=["tBTCUSD", "tETHUSD", "tBTCF0:USTF0"], seed=3, tick_interval_ms=50,
        )
    )  # fmt: skip
    base = await emu.start("127.0.0.1", 0)
    # exactly what `tradeloop fmz --venue BITFINEX=URL` builds
    cfg, _ = build_config(file=None, venue_flags=[f"BITFINEX={base}"], token=None, capture=None)
    assert cfg.specs()["BITFINEX"].kind == "BITFINEX"
    spec = VenueSpec("BITFINEX", base, options={"rate_limits": "off", "timeout": 2.0})
    bridge = FmzBridge(BridgeConfig(venues={"BITFINEX": spec}, request_timeout=5.0))
    url = await bridge.start("127.0.0.1", 0)
    async with aiohttp.ClientSession() as http:
        try:
            yield Env(emu, bridge, http, url + "/BITFINEX")
        finally:
            await bridge.stop()
            await emu.stop()


def test_label_and_symbols() -> None:
    assert "BITFINEX" in set(known_kinds())
    conv = BitfinexConventions()
    cases = {"BTC_USD": "tBTCUSD", "BTC_USDT": "tBTCUST", "DOGE_USD": "tDOGE:USD",
             "BTC_USDT.swap": "tBTCF0:USTF0"}  # fmt: skip
    for fmz, native in cases.items():
        sid = conv.instrument_id(parse_symbol(fmz))
        assert sid == native + ".BITFINEX"
        assert conv.fmz_symbol(sid) == fmz


async def test_market_data(env: Env) -> None:
    d = await env.call("depth", {"symbol": "BTC_USD", "limit": "5"})
    asks, bids = d["data"]["asks"], d["data"]["bids"]
    assert len(asks) == len(bids) == 5 and bids[0][0] < asks[0][0]
    assert [a[0] for a in asks] == sorted(a[0] for a in asks)
    assert [b[0] for b in bids] == sorted((b[0] for b in bids), reverse=True)
    t = await env.data("ticker", {"symbol": "btc_usdt.swap"})
    assert t["symbol"] == "BTC_USDT.swap" and float(t["buy"]) < float(t["sell"])
    assert set(t) == {"symbol", "buy", "sell", "high", "low", "open", "last", "vol", "time"}
    markets = await env.data("markets")
    assert {"BTC_USD", "ETH_USD", "BTC_USDT.swap"} <= set(markets)
    assert markets["BTC_USD"]["base_asset"] == "BTC" and markets["BTC_USD"]["tick_size"] > 0
    await asyncio.sleep(0.3)  # a few trades on the tape
    trades = await env.data("trades", {"symbol": "BTC_USD", "limit": 20})
    assert trades and [x["time"] for x in trades] == sorted(x["time"] for x in trades)
    for period in (1, 5, 3):  # native 1m / 5m, and 3m built from 1m bars
        rows = await env.data("records", {"symbol": "BTC_USDT.swap", "period": period,
                                          "limit": 3})  # fmt: skip
        assert 0 < len(rows) <= 3 and all(r[0] % (period * 60) == 0 for r in rows)
        assert [r[0] for r in rows] == sorted(r[0] for r in rows)
        assert all(r[2] >= max(r[1], r[4]) and r[3] <= min(r[1], r[4]) for r in rows)
    tickers = await env.data("tickers")
    assert {x["symbol"] for x in tickers} == {"BTC_USD", "ETH_USD", "BTC_USDT.swap"}
    swaps = await env.data("tickers", {"symbol": "USDT.swap"})
    assert [x["symbol"] for x in swaps] == ["BTC_USDT.swap"]
    (f,) = await env.data("fundings", {"symbol": "BTC_USDT.swap"})
    assert f["symbol"] == "BTC_USDT.swap" and f["interval"] == 8 * 3_600_000
    assert "unsupported contract" in await env.error("ticker", {"symbol": "BTC_USD.quarter"})
    assert "USDT-margined" in await env.error("depth", {"symbol": "BTC_USD.swap"})


async def test_spot_and_perp_orders(env: Env) -> None:
    acc = await env.data("accounts")
    assert {"currency": "USD", "free": "100000", "frozen": "0"} in acc
    assert await env.data("assets") == acc
    t = await env.data("ticker", {"symbol": "BTC_USD"})
    low = round(float(t["buy"]) * 0.8)
    oid = (await env.data("trade", {"symbol": "BTC_USD", "type": "buy", "price": str(low),
                                    "amount": "0.01"}))["id"]  # fmt: skip
    assert oid.startswith("tBTCUSD,")
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

    async def filled() -> Any:
        mo = await env.data("order", {"id": mid})
        return mo if mo["status"] == "filled" else None

    mo = await until(filled)
    assert mo and mo["deal_amount"] * mo["avg_price"] == pytest.approx(500, rel=0.05)
    hist = await env.data("historyorders", {"symbol": "BTC_USD"})
    assert [h["id"] for h in hist] == [oid, mid]
    # the perpetual: leverage for later orders (Bitfinex's per-order ``lev``), open, see the
    # position at that leverage, close it
    assert await env.data("setmarginlevel", {"symbol": "BTC_USDT.swap", "marginLevel": "3"})
    await env.data("trade", {"symbol": "BTC_USDT.swap", "type": "buy", "price": -1,
                             "amount": "0.5"})  # fmt: skip

    async def positions() -> Any:
        return await env.data("positions", {"symbol": "USDT.swap"})

    pos = await until(positions)
    assert len(pos) == 1 and pos[0]["symbol"] == "BTC_USDT.swap"
    assert pos[0]["amount"] == 0.5 and pos[0]["type"] == 0 and pos[0]["contract_type"] == "swap"
    assert pos[0]["margin_level"] == 3 and env.emu.trading.account.sim.leverage("tBTCF0:USTF0") == 3
    cid = (await env.data("trade", {"symbol": "BTC_USDT.swap", "type": "closebuy", "price": -1,
                                    "amount": "0.5"}))["id"]  # fmt: skip

    async def flat() -> Any:
        return await env.data("positions") == []

    assert await until(flat)
    co = await env.data("order", {"id": cid})
    assert co["offset"] == "close" and co["type"] == "sell" and co["contract_type"] == "swap"
    assert await env.data("io", {"code": 0, "args": [4], "symbol": "BTC_USDT.swap"}) is True
    await env.data("trade", {"symbol": "BTC_USDT.swap", "type": "buy", "price": -1,
                             "amount": "0.1"})  # fmt: skip

    async def lev4() -> Any:  # the older io scheme's level rides on the next order
        return env.emu.trading.account.sim.leverage("tBTCF0:USTF0") == 4

    assert await until(lev4)
    assert "needs a contract symbol" in await env.error(
        "setmarginlevel", {"symbol": "BTC_USD", "marginLevel": 3}
    )
    assert "leverage is 1-100" in await env.error(
        "setmarginlevel", {"symbol": "BTC_USDT.swap", "marginLevel": 125}
    )


async def test_keys_passthrough_and_errors(env: Env) -> None:
    assert "authentication failed" in await env.error("accounts", access_key="nobody-0001")
    assert "unknown instrument" in await env.error(
        "trade", {"symbol": "XXX_USD", "type": "buy", "price": "1", "amount": "1"}
    )
    assert "rounds to 0" in await env.error(
        "trade", {"symbol": "BTC_USD", "type": "buy", "price": "100", "amount": "1e-12"}
    )
    assert "not found" in await env.error("order", {"id": "tBTCUSD,424242"})
    assert "not found" in await env.error("cancel", {"id": "tBTCUSD,424242"})
    r = await env.call("__api_/v2/ticker/tBTCUSD", headers={"Http-Method": "GET"})
    assert len(r["data"]) == 10 and r["data"][0] < r["data"][2]
    r = await env.call("__api_/v2/auth/r/wallets")
    assert ["exchange", "USD"] in [w[:2] for w in r["data"]]
    assert "plain venue API path" in await env.error("__api_/v2/../__admin/faults")
