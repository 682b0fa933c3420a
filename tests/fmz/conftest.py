"""Fixtures for the FMZ bridge tests: a fake venue (protocol-layer tests need no exchange) and
a helper that POSTs raw bodies over a real loopback socket."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import pytest

from tradeloop.fmz.protocol import Credentials, Reply
from tradeloop.fmz.server import BridgeConfig, FmzBridge
from tradeloop.fmz.symbols import FmzSymbol
from tradeloop.fmz.venue import FmzVenue, OrderRequest, VenueSpec, register_venue


class FakeVenue(FmzVenue):
    """Records every call; ``fail`` makes the next call raise the given exception."""

    instances: list[FakeVenue] = []
    api_prefixes = ("/api/v5/",)

    def __init__(self, label: str, spec: VenueSpec) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.fail: BaseException | None = None
        #: when set, ``ticker`` waits for it: a request that stays in flight (BUSY)
        self.hold: asyncio.Event | None = None
        self.held = 0  # tickers waiting on ``hold`` right now
        FakeVenue.instances.append(self)

    def _rec(self, name: str, *args: Any) -> Reply:
        self.calls.append((name, args))
        if self.fail is not None:
            exc, self.fail = self.fail, None
            raise exc
        return Reply({"method": name, "args": [str(a) for a in args]}, {"fake": True})

    async def ticker(self, symbol: FmzSymbol) -> Reply:
        if self.hold is not None:
            self.held += 1
            try:
                await self.hold.wait()
            finally:
                self.held -= 1
        return self._rec("ticker", symbol)

    async def depth(self, symbol: FmzSymbol, limit: int) -> Reply:
        return self._rec("depth", symbol, limit)

    async def trades(self, symbol: FmzSymbol, limit: int) -> Reply:
        return self._rec("trades", symbol, limit)

    async def records(self, symbol: FmzSymbol, period_min: int, limit: int) -> Reply:
        return self._rec("records", symbol, period_min, limit)

    async def markets(self) -> Reply:
        return self._rec("markets")

    async def tickers(self, contract: str | None) -> Reply:
        return self._rec("tickers", contract)

    async def fundings(self, symbol: FmzSymbol | None) -> Reply:
        return self._rec("fundings", symbol)

    async def accounts(self, creds: Credentials, scope: FmzSymbol | None = None) -> Reply:
        return self._rec("accounts", creds.access_key, *([scope] if scope else []))

    async def assets(self, creds: Credentials, scope: FmzSymbol | None = None) -> Reply:
        return self._rec("assets", creds.access_key, *([scope] if scope else []))

    async def trade(self, creds: Credentials, order: OrderRequest) -> Reply:
        return self._rec("trade", order.symbol, order.side, order.amount, order.price)

    async def orders(self, creds: Credentials, symbol: FmzSymbol | None) -> Reply:
        return self._rec("orders", symbol)

    async def order(self, creds: Credentials, order_id: str, symbol: FmzSymbol | None) -> Reply:
        return self._rec("order", order_id, symbol)

    async def history_orders(
        self, creds: Credentials, symbol: FmzSymbol | None, since_ms: int, limit: int
    ) -> Reply:
        return self._rec("historyorders", symbol, since_ms, limit)

    async def cancel(self, creds: Credentials, order_id: str, symbol: FmzSymbol | None) -> Reply:
        return self._rec("cancel", order_id, symbol)

    async def positions(self, creds: Credentials, symbol: FmzSymbol | None) -> Reply:
        return self._rec("positions", symbol)

    async def set_margin_level(self, creds: Credentials, symbol: FmzSymbol, level: int) -> Reply:
        return self._rec("setmarginlevel", symbol, level)

    async def api(
        self, creds: Credentials, http_method: str, path: str, params: Mapping[str, Any]
    ) -> Reply:
        return self._rec("api", http_method, path, dict(params))


register_venue("FAKE", FakeVenue)


def fake_config(**kw: Any) -> BridgeConfig:
    return BridgeConfig(venues={"FAKE": VenueSpec(kind="FAKE", rest_url="http://unused")}, **kw)


@pytest.fixture
async def fake_bridge() -> AsyncIterator[tuple[FmzBridge, FakeVenue]]:
    bridge = FmzBridge(fake_config())
    await bridge.start("127.0.0.1", 0)
    venue = bridge.venue("FAKE")
    assert isinstance(venue, FakeVenue)
    try:
        yield bridge, venue
    finally:
        await bridge.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def post_raw(
    http: aiohttp.ClientSession, url: str, body: bytes, headers: Mapping[str, str] | None = None
) -> tuple[int, Any]:
    """POST ``body`` and return (status, parsed JSON) — parsing fails the test if not JSON."""
    async with http.post(url, data=body, headers=dict(headers or {})) as r:
        text = await r.read()
        import json

        return r.status, json.loads(text)


async def call(
    http: aiohttp.ClientSession,
    url: str,
    method: str,
    params: Mapping[str, Any] | None = None,
    *,
    access_key: str = "fake-ak-0001",
    secret_key: str = "fake-sk-0001,fake-pp-0001",
    headers: Mapping[str, str] | None = None,
) -> Any:
    import json

    body = {
        "access_key": access_key,
        "secret_key": secret_key,
        "nonce": 1730275031047002000,
        "method": method,
        "params": dict(params or {}),
    }
    status, reply = await post_raw(http, url, json.dumps(body).encode(), headers)
    assert status == 200
    return reply
