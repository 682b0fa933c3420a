"""FMZ contract tests for the BITMEX label: the bridge -> the generic adapter -> the BitMEX
connector -> the BitMEX emulator (in process, real loopback sockets). The label comes from the
venue registry (``/BITMEX``; no BitMEX code in the bridge beyond its conventions entry). The
futures methods run on the inverse ``XBTUSD`` (``BTC_USD.swap``, PnL and margin in BTC) and
the linear ``XBTUSDT`` (``BTC_USDT.swap``, in USDT)."""

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
from tradeloop.fmz.symbols import parse_symbol
from tradeloop.fmz.venue import VenueSpec, known_kinds
from tradeloop.fmz.venues.bitmex import BitmexConventions

from .conftest import call

server = pytest.importorskip("tradeloop.emulator.bitmex.server")

KEY, SECRET = "fmz-bitmex-key-0001", "fmz-bitmex-secret-0001"


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
        v = self.bridge.venue("BITMEX")
        assert isinstance(v, GatewayVenue)
        return v


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    emu = server.BitmexEmulator(
        server.BitmexConfig(
            api_key=KEY, api_secret=SECRET, seed=3, tick_interval_ms=50,
            balances={"XBt": 100_000_000.0, "USDt": 10_000_000_000.0},
            symbols=["XBTUSD", "ETHUSD", "XBTUSDT"], admin_token="t" * 32,
        )
    )  # fmt: skip
    base = await emu.start("127.0.0.1", 0)
    # exactly what `tradeloop fmz --venue BITMEX=URL` builds
    cfg, _ = build_config(file=None, venue_flags=[f"BITMEX={base}"], token=None, capture=None)
    assert cfg.specs()["BITMEX"].kind == "BITMEX"
    spec = VenueSpec("BITMEX", base, options={"rate_limits": "off", "timeout": 2.0})
    bridge = FmzBridge(BridgeConfig(venues={"BITMEX": spec}, request_timeout=5.0))
    url = await bridge.start("127.0.0.1", 0)
    async with aiohttp.ClientSession() as http:
        try:
            yield Env(emu, bridge, http, url + "/BITMEX")
        finally:
            await bridge.stop()
            await emu.stop()


def test_label_and_symbols() -> None:
    assert "BITMEX" in known_kinds()
    conv = BitmexConventions()
    for text, native in (("BTC_USD.swap", "XBTUSD"), ("eth_usd.swap", "ETHUSD"),
                         ("BTC_USDT.swap", "XBTUSDT"), ("BTC_USD.h25", "XBTH25")):  # fmt: skip
        sid = conv.instrument_id(parse_symbol(text))
        assert sid == native + ".BITMEX"
    for native, text in (("XBTUSD", "BTC_USD.swap"), ("XBTUSDT", "BTC_USDT.swap"),
                         ("ETHUSD", "ETH_USD.swap")):  # fmt: skip
        assert conv.fmz_symbol(native + ".BITMEX") == text


async def wait(env: Env, method: str, params: dict[str, Any], pred: Any) -> Any:
    for _ in range(150):
        got = await env.data(method, params)
        if pred(got):
            return got
        await asyncio.sleep(0.02)
    raise AssertionError(f"{method} {params}: never {got}")


async def test_market_data(env: Env) -> None:
    d = await env.call("depth", {"symbol": "BTC_USD.swap", "limit": "5"})
    asks, bids = d["data"]["asks"], d["data"]["bids"]
    assert len(asks) == len(bids) == 5 and bids[0][0] < asks[0][0]
    assert [a[0] for a in asks] == sorted(a[0] for a in asks)
    assert env.venue.market.is_live("XBTUSD.BITMEX")
    t = await env.data("ticker", {"symbol": "btc_usdt.swap"})
    assert t["symbol"] == "BTC_USDT.swap" and float(t["buy"]) < float(t["sell"])
    markets = await env.data("markets")
    assert {"BTC_USD.swap", "ETH_USD.swap", "BTC_USDT.swap"} <= set(markets)
    await asyncio.sleep(0.3)  # a few trades on the tape
    trades = await env.data("trades", {"symbol": "BTC_USD.swap", "limit": 20})
    assert trades and [x["time"] for x in trades] == sorted(x["time"] for x in trades)
    for period in (1, 5, 3):  # native 1m / 5m, and 3m built from 1m bars
        rows = await env.data("records", {"symbol": "BTC_USD.swap", "period": period,
                                          "limit": 3})  # fmt: skip
        assert 0 < len(rows) <= 3 and all(r[0] % (period * 60) == 0 for r in rows)
    (fund,) = await env.data("fundings", {"symbol": "BTC_USD.swap"})
    assert fund["symbol"] == "BTC_USD.swap" and fund["rate"] == pytest.approx(0.0001)
    assert "only contracts" in await env.error("ticker", {"symbol": "BTC_USD"})
    assert "unsupported contract" in await env.error("ticker", {"symbol": "BTC_USD.quarter"})


async def test_inverse_and_linear_futures(env: Env) -> None:
    acc = await env.data("accounts")
    by = {a["currency"]: a for a in acc}
    assert float(by["BTC"]["free"]) == pytest.approx(1.0)
    assert float(by["USDT"]["free"]) == pytest.approx(10_000.0)
    # a resting inverse limit order, seen and canceled
    t = await env.data("ticker", {"symbol": "BTC_USD.swap"})
    low = round(float(t["buy"]) * 0.8)
    oid = (await env.data("trade", {"symbol": "BTC_USD.swap", "type": "buy", "price": str(low),
                                    "amount": "100"}))["id"]  # fmt: skip
    assert oid.startswith("XBTUSD,")
    (o,) = await env.data("orders", {"symbol": "BTC_USD.swap"})
    assert o["id"] == oid and o["status"] == "pending" and o["amount"] == 100
    assert await env.data("cancel", {"id": oid}) is True
    assert (await env.data("order", {"id": oid}))["status"] == "canceled"
    # leverage, then a position on each kind of swap
    assert await env.data("setmarginlevel", {"symbol": "BTC_USD.swap", "marginLevel": 5})
    for sym, amount in (("BTC_USD.swap", "200"), ("BTC_USDT.swap", "1000")):
        await env.data("trade", {"symbol": sym, "type": "buy", "price": -1, "amount": amount})
    pos = await wait(env, "positions", {}, lambda p: len(p) == 2)
    got = {p["symbol"]: p for p in pos}
    inv, lin = got["BTC_USD.swap"], got["BTC_USDT.swap"]
    assert (inv["amount"], inv["type"], inv["contract_type"]) == (200, 0, "swap")
    assert inv["margin_level"] == 5 and 0 < inv["margin"] < 0.01  # BTC: 200 USD / 5x
    assert lin["amount"] == 1000 and 0 < lin["margin"] < 100  # USDT: 0.001 BTC at 10x
    # the venue's own position (minor units) agrees with what FMZ shows (whole BTC)
    raw = await env.call("__api_/api/v1/position", headers={"Http-Method": "GET"})
    row = next(r for r in raw["data"] if r["symbol"] == "XBTUSD")
    assert row["currentQty"] == 200 and inv["margin"] == pytest.approx(row["posMargin"] / 1e8)
    # close both
    for sym, amount in (("BTC_USD.swap", "200"), ("BTC_USDT.swap", "1000")):
        await env.data("trade", {"symbol": sym, "type": "closebuy", "price": -1,
                                 "amount": amount})  # fmt: skip
    await wait(env, "positions", {}, lambda p: p == [])
    hist = await env.data("historyorders", {"symbol": "BTC_USD.swap"})
    assert oid in [h["id"] for h in hist]


async def test_keys_passthrough_and_errors(env: Env) -> None:
    assert "authentication failed" in await env.error("accounts", access_key="nobody-0001")
    assert "unknown instrument" in await env.error(
        "trade", {"symbol": "DOGE_USD.swap", "type": "buy", "price": "1", "amount": "1"}
    )
    assert "not found" in await env.error("order", {"id": "XBTUSD,424242"})
    r = await env.call("__api_/api/v1/instrument", {"symbol": "XBTUSD"},
                       headers={"Http-Method": "GET"})  # fmt: skip
    assert r["data"][0]["symbol"] == "XBTUSD" and r["data"][0]["isInverse"] is True
    r = await env.call("__api_/api/v1/user/margin", headers={"Http-Method": "GET"})
    assert r["data"]["currency"] == "XBt"
    assert "plain venue API path" in await env.error("__api_/__admin/faults")
