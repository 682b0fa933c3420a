"""The shared harness of the FMZ contract tests (``test_<venue>_contract.py``): one venue's
emulator in process on 127.0.0.1:0, the bridge in front of it with the venue's label, and an
FMZ client speaking to ``/<LABEL>`` over a real loopback socket.

Why one module: every venue's contract test built the same bridge the same way and repeated
the same checks of the FMZ shapes (depth ordering, bar alignment, the resting-order
lifecycle, the error phrases). Here they are written once; a venue test keeps only what is
its own. A new venue needs a :class:`Venue` (label, keys, emulator and config classes, the
config's balances and symbols) and the line ``env = env_fixture(VENUE)``. Binance would adopt
it by replacing its ``Env`` class and fixture with ``env = env_fixture(Venue("BINANCE", KEY,
SECRET, BinanceEmulator, BinanceConfig, {"seed": 1, "balances": ..., "symbols": [...]},
request_timeout=3.0, check_flags=False))``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest

from tradeloop.fmz.adapter import GatewayVenue
from tradeloop.fmz.config import build_config
from tradeloop.fmz.server import BridgeConfig, FmzBridge
from tradeloop.fmz.venue import VenueSpec

from .conftest import call

#: the keys every FMZ ticker carries
TICKER_KEYS = {"symbol", "buy", "sell", "high", "low", "open", "last", "vol", "time"}


@dataclass(frozen=True)
class Venue:
    """What differs between venues when standing one up behind the bridge."""

    label: str
    access_key: str
    #: what the FMZ client sends as ``secret_key`` (OKX packs ``secret,passphrase``)
    secret_key: str
    #: the emulator front-end and its config class
    emulator_cls: Callable[[Any], Any]
    config_cls: Callable[..., Any]
    #: the config beyond ``api_key``/``api_secret`` (the FMZ keys), ``seed=3`` and a 50 ms
    #: tick, any of which it may override
    config: Mapping[str, Any] = field(default_factory=dict)
    request_timeout: float = 5.0
    #: also check that ``tradeloop fmz --venue LABEL=URL`` resolves the label to this kind
    check_flags: bool = True

    def make_emulator(self) -> Any:
        """The unstarted emulator, keyed for the FMZ client and ticking."""
        kw = {"api_key": self.access_key, "api_secret": self.secret_key, "seed": 3,
              "tick_interval_ms": 50, **self.config}  # fmt: skip
        return self.emulator_cls(self.config_cls(**kw))


@dataclass
class Env:
    """A running bridge in front of one venue's emulator, and an FMZ client for it."""

    emu: Any
    bridge: FmzBridge
    http: aiohttp.ClientSession
    url: str
    label: str
    access_key: str
    secret_key: str

    async def call(self, method: str, params: dict[str, Any] | None = None, **kw: Any) -> Any:
        """The full reply (``data`` and ``raw``, or ``error``), with this venue's keys."""
        kw.setdefault("access_key", self.access_key)
        kw.setdefault("secret_key", self.secret_key)
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
        v = self.bridge.venue(self.label)
        assert isinstance(v, GatewayVenue)
        return v


@asynccontextmanager
async def running(venue: Venue) -> AsyncIterator[Env]:
    """The emulator and the bridge, started on ephemeral loopback ports and stopped after."""
    emu = venue.make_emulator()
    base = await emu.start("127.0.0.1", 0)
    label = venue.label
    if venue.check_flags:  # exactly what `tradeloop fmz --venue LABEL=URL` builds
        cfg, _ = build_config(file=None, venue_flags=[f"{label}={base}"], token=None,
                              capture=None)  # fmt: skip
        assert cfg.specs()[label].kind == label
    spec = VenueSpec(label, base, options={"rate_limits": "off", "timeout": 2.0})
    bridge = FmzBridge(BridgeConfig(venues={label: spec}, request_timeout=venue.request_timeout))
    try:
        url = await bridge.start("127.0.0.1", 0)
        async with aiohttp.ClientSession() as http:
            yield Env(emu, bridge, http, f"{url}/{label}", label, venue.access_key,
                      venue.secret_key)  # fmt: skip
    finally:
        await bridge.stop()
        await emu.stop()


def env_fixture(venue: Venue) -> Any:
    """A function-scoped ``env`` fixture for ``venue``: ``env = env_fixture(VENUE)``."""

    @pytest.fixture
    async def env() -> AsyncIterator[Env]:
        async with running(venue) as e:
            yield e

    return env


# -- waiting -----------------------------------------------------------------------------------
async def until(probe: Callable[[], Awaitable[Any]], tries: int = 150) -> Any:
    """``probe()``'s first truthy answer (polled every 20 ms), else its last."""
    got = None
    for _ in range(tries):
        got = await probe()
        if got:
            return got
        await asyncio.sleep(0.02)
    return got


async def wait(env: Env, method: str, params: dict[str, Any], pred: Any) -> Any:
    """``method``'s data once ``pred`` holds for it; fails naming the last answer if never."""
    got = None
    for _ in range(150):
        got = await env.data(method, params)
        if pred(got):
            return got
        await asyncio.sleep(0.02)
    raise AssertionError(f"{method} {params}: never {got}")


# -- the shapes every venue must give ----------------------------------------------------------
async def check_depth(env: Env, symbol: str, limit: int | str = "5") -> dict[str, Any]:
    """``limit`` levels a side (sent as given: FMZ clients send text or numbers), uncrossed,
    asks ascending and bids descending; the whole reply."""
    reply: dict[str, Any] = await env.call("depth", {"symbol": symbol, "limit": limit})
    asks, bids = reply["data"]["asks"], reply["data"]["bids"]
    assert len(asks) == len(bids) == int(limit) and bids[0][0] < asks[0][0]
    assert [a[0] for a in asks] == sorted(a[0] for a in asks)
    assert [b[0] for b in bids] == sorted((b[0] for b in bids), reverse=True)
    return reply


async def check_ticker(env: Env, asked: str, shown: str) -> dict[str, Any]:
    """The ticker for ``asked`` (any case) names ``shown``, carries every key, is uncrossed."""
    t: dict[str, Any] = await env.data("ticker", {"symbol": asked})
    assert t["symbol"] == shown and float(t["buy"]) < float(t["sell"])
    assert set(t) == TICKER_KEYS
    return t


async def check_tape(env: Env, symbol: str, limit: int = 20) -> list[dict[str, Any]]:
    """Recent trades exist once the emulator's market has ticked (polled, bounded at 5 s:
    no fixed sleep) and come oldest first."""

    async def printed() -> Any:
        return await env.data("trades", {"symbol": symbol, "limit": limit})

    trades: list[dict[str, Any]] = await until(printed, tries=250)
    assert trades and [x["time"] for x in trades] == sorted(x["time"] for x in trades)
    return trades


async def check_records(env: Env, symbol: str, periods: tuple[int, ...] = (1, 5, 3)) -> None:
    """Bars for native (1m, 5m) and built (3m from 1m) periods: at most the limit, aligned to
    the period, oldest first, each high/low bounding its open and close."""
    for period in periods:
        rows = await env.data("records", {"symbol": symbol, "period": period, "limit": 3})
        assert 0 < len(rows) <= 3 and all(r[0] % (period * 60) == 0 for r in rows)
        assert [r[0] for r in rows] == sorted(r[0] for r in rows)
        assert all(r[2] >= max(r[1], r[4]) and r[3] <= min(r[1], r[4]) for r in rows)


async def resting_buy(env: Env, symbol: str, amount: str, id_prefix: str) -> str:
    """A buy 20 % under the bid rests: pending, listed as the only open order on ``symbol``,
    found by id; its id."""
    t = await env.data("ticker", {"symbol": symbol})
    low = round(float(t["buy"]) * 0.8)
    oid: str = (await env.data("trade", {"symbol": symbol, "type": "buy", "price": str(low),
                                         "amount": amount}))["id"]  # fmt: skip
    assert oid.startswith(id_prefix)
    (o,) = await env.data("orders", {"symbol": symbol})
    assert o["id"] == oid and o["type"] == "buy" and o["status"] == "pending"
    assert o["amount"] == float(amount) and o["price"] == low
    assert (await env.data("order", {"id": oid}))["status"] == "pending"
    return oid


async def check_cancel(env: Env, oid: str) -> None:
    assert await env.data("cancel", {"id": oid}) is True
    assert (await env.data("order", {"id": oid}))["status"] == "canceled"


async def spot_accounts(env: Env, quote: str, free: str) -> None:
    """The quote currency's starting balance, all free; ``assets`` equals ``accounts``."""
    acc = await env.data("accounts")
    assert {"currency": quote, "free": free, "frozen": "0"} in acc
    assert await env.data("assets") == acc


async def frozen(env: Env, currency: str) -> float:
    return float(next(a for a in await env.data("accounts") if a["currency"] == currency)["frozen"])


async def market_buy_spending(env: Env, symbol: str, quote_amount: str) -> dict[str, Any]:
    """A spot market buy spends ``quote_amount`` of the quote currency (the connector sizes it
    at the ask); the filled order, once its fill has arrived."""
    mid = (await env.data("trade", {"symbol": symbol, "type": "buy", "price": -1,
                                    "amount": quote_amount}))["id"]  # fmt: skip

    async def filled() -> Any:
        mo = await env.data("order", {"id": mid})
        return mo if mo["status"] == "filled" else None

    mo: dict[str, Any] | None = await until(filled)
    assert mo, f"market buy {mid} never filled"
    assert mo["deal_amount"] * mo["avg_price"] == pytest.approx(float(quote_amount), rel=0.05)
    return mo


async def spot_round(env: Env, symbol: str, quote: str, amount: str, id_prefix: str
                     ) -> dict[str, Any]:  # fmt: skip
    """The spot account story: 100000 ``quote`` free; a resting buy of ``amount`` freezes
    some, is canceled, nothing stays open; a market buy spends 500 ``quote``; the history is
    those two orders, oldest first. The market order."""
    await spot_accounts(env, quote, "100000")
    oid = await resting_buy(env, symbol, amount, id_prefix)
    assert await frozen(env, quote) > 0
    await check_cancel(env, oid)
    assert await env.data("orders") == []
    mo = await market_buy_spending(env, symbol, "500")
    hist = await env.data("historyorders", {"symbol": symbol})
    assert [h["id"] for h in hist] == [oid, mo["id"]]
    return mo


async def open_swap(env: Env, symbol: str, amount: str, contracts: str) -> dict[str, Any]:
    """Open a long on the swap ``symbol`` at market; the one position then listed under
    ``contracts`` (e.g. ``USDT.swap``)."""
    await env.data("trade", {"symbol": symbol, "type": "buy", "price": -1, "amount": amount})

    async def positions() -> Any:
        return await env.data("positions", {"symbol": contracts})

    pos = await until(positions)
    assert pos and len(pos) == 1 and pos[0]["symbol"] == symbol
    assert pos[0]["amount"] == float(amount) and pos[0]["type"] == 0
    assert pos[0]["contract_type"] == "swap"
    return dict(pos[0])


async def close_swap(env: Env, symbol: str, amount: str) -> None:
    """Close the long at market: no position left; the closing order is a swap sell."""
    cid = (await env.data("trade", {"symbol": symbol, "type": "closebuy", "price": -1,
                                    "amount": amount}))["id"]  # fmt: skip

    async def flat() -> Any:
        return await env.data("positions") == []

    assert await until(flat)
    co = await env.data("order", {"id": cid})
    assert co["offset"] == "close" and co["type"] == "sell" and co["contract_type"] == "swap"


async def check_refusals(env: Env, unknown: str, missing_id: str, tiny: str | None = None,
                         cancel_missing: bool = True) -> None:  # fmt: skip
    """The error phrases every venue gives: a refused key, an unlisted ``unknown`` symbol, an
    amount rounding to nothing on ``tiny`` (when given) and an order id that does not exist."""
    assert "authentication failed" in await env.error("accounts", access_key="nobody-0001")
    assert "unknown instrument" in await env.error(
        "trade", {"symbol": unknown, "type": "buy", "price": "1", "amount": "1"}
    )
    if tiny is not None:
        assert "rounds to 0" in await env.error(
            "trade", {"symbol": tiny, "type": "buy", "price": "100", "amount": "1e-12"}
        )
    assert "not found" in await env.error("order", {"id": missing_id})
    if cancel_missing:
        assert "not found" in await env.error("cancel", {"id": missing_id})
