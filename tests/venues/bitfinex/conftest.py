"""Bitfinex connector tests against the in-process Bitfinex emulator over real loopback
sockets (frozen market: it moves only on ``emu.step()``), with fast retry settings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tradeloop.model import Event, Fill, OrderReport, OrderStatus
from tradeloop.venues.bitfinex.gateway import BitfinexGateway
from tradeloop.venues.bitfinex.rest import BitfinexRestClient
from tradeloop.venues.execution import RecoveryPolicy
from tradeloop.venues.retry import RetryConfig
from tradeloop.venues.wsclient import WsConfig

server = pytest.importorskip("tradeloop.emulator.bitfinex.server")

KEY, SECRET = "bfx-conn-key-1", "bfx-conn-secret-1"
SPOT, PERP = "tBTCUSD.BITFINEX", "tBTCF0:USTF0.BITFINEX"
FAST_WS = WsConfig(heartbeat_interval=5.0, heartbeat_timeout=5.0,
                   ping_text='{"event":"ping","cid":0}', pong_text=None,
                   reconnect=RetryConfig(max_attempts=0, base=0.05, cap=0.2))  # fmt: skip
FAST_REST = RetryConfig(max_attempts=4, base=0.01, cap=0.05)
FAST_RECOVERY = RecoveryPolicy(
    cancel_backoff=RetryConfig(max_attempts=0, base=0.02, cap=0.1),
    cancel_deadline_s=20.0,
    lookup_backoff=RetryConfig(max_attempts=6, base=0.02, cap=0.1),
)


class Sink:
    """Records reports, fills and market/status events in arrival order."""

    def __init__(self) -> None:
        self.log: list[Event] = []

    def on_order_report(self, report: OrderReport) -> None:
        self.log.append(report)

    def on_fill(self, fill: Fill) -> None:
        self.log.append(fill)

    def on_market_data(self, event: Event) -> None:
        self.log.append(event)

    def reports(self, cid: str) -> list[OrderReport]:
        return [e for e in self.log if isinstance(e, OrderReport) and e.client_order_id == cid]

    def statuses(self, cid: str) -> list[OrderStatus]:
        return [r.status for r in self.reports(cid)]

    def fills(self, cid: str) -> list[Fill]:
        return [e for e in self.log if isinstance(e, Fill) and e.client_order_id == cid]

    def of(self, kind: type[Event]) -> list[Any]:
        return [e for e in self.log if isinstance(e, kind)]


async def until(cond: Callable[[], bool], what: str = "the condition", timeout: float = 10.0
                ) -> None:  # fmt: skip
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


@pytest.fixture
async def emu() -> AsyncIterator[Any]:
    balances = {"USD": 100_000.0, "BTC": 2.0, "USTF0": 50_000.0}
    cfg = server.BitfinexConfig(api_key=KEY, api_secret=SECRET, tick_interval_ms=0,
                                balances=balances)  # fmt: skip
    e = server.BitfinexEmulator(cfg)
    await e.start("127.0.0.1", 0)
    try:
        yield e
    finally:
        await e.stop()


def make_gateway(emu: Any, keyed: bool = True) -> BitfinexGateway:
    rest = BitfinexRestClient(emu.base_url, KEY if keyed else "", SECRET if keyed else "",
                              retry=FAST_REST)  # fmt: skip
    return BitfinexGateway(emu.base_url, rest=rest, ws_config=FAST_WS, recovery=FAST_RECOVERY)


@pytest.fixture
async def gw(emu: Any) -> AsyncIterator[tuple[BitfinexGateway, Sink]]:
    g = make_gateway(emu)
    sink = Sink()
    g.bind(sink)
    g.bind_data(sink)
    await g.start()
    try:
        yield g, sink
    finally:
        await g.stop()
