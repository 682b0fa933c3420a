"""The common parts of the venue connector suites' fixtures (``tests/venues/<venue>/
conftest.py``): a sink recording what a gateway hands the engine, a bounded poll, an emulator
served on 127.0.0.1:0 for the length of a block, a gateway bound and started for the length of
a block, and retry settings short enough that fault tests finish in a second.

Why here: each venue's conftest had its own copy of each. A venue's conftest now keeps only
its own data -- keys, symbols, the emulator's config and how its gateway is built::

    @pytest.fixture
    async def emu() -> AsyncIterator[Any]:
        async with serving(make_emulator()) as e:
            yield e

    @pytest.fixture
    async def gw(emu: Any) -> AsyncIterator[tuple[Gateway, Sink]]:
        async with bound(make_gateway(emu.base_url), Sink()) as pair:
            yield pair
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol, TypeVar

from tradeloop.model import Event, Fill, OrderReport, OrderStatus
from tradeloop.venues.base import ExecutionSink, Gateway, MarketDataSink
from tradeloop.venues.execution import RecoveryPolicy
from tradeloop.venues.retry import RetryConfig
from tradeloop.venues.wsclient import WsConfig

#: The production shape (4 tries per request), with waits of 10-50 ms.
FAST_REST = RetryConfig(max_attempts=4, base=0.01, cap=0.05)
#: Cancel rounds and lookups every 20-100 ms; a cancel deadline far beyond any test.
FAST_RECOVERY = RecoveryPolicy(
    cancel_backoff=RetryConfig(max_attempts=0, base=0.02, cap=0.1),
    cancel_deadline_s=20.0,
    lookup_backoff=RetryConfig(max_attempts=6, base=0.02, cap=0.1),
)


def fast_ws(ping_text: str, pong_text: str | None) -> WsConfig:
    """WebSocket settings that reconnect within ~0.2 s, with heartbeats (the venue's own
    ping/pong texts) too slow to fire during a test on a loaded machine."""
    return WsConfig(
        heartbeat_interval=5.0,
        heartbeat_timeout=5.0,
        ping_text=ping_text,
        pong_text=pong_text,
        reconnect=RetryConfig(max_attempts=0, base=0.05, cap=0.2),
    )


class Sink:
    """Records reports, fills and market/status events in arrival order."""

    def __init__(self) -> None:
        self.log: list[Event] = []

    def on_order_report(self, report: OrderReport) -> None:
        self.log.append(report)

    def on_fill(self, fill: Fill) -> None:
        self.log.append(fill)

    def on_funding(self, payment: Event) -> None:
        self.log.append(payment)

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


async def until(
    cond: Callable[[], Any], what: str = "the condition", timeout: float = 15.0, poll: float = 0.01
) -> None:
    """Poll ``cond`` until it holds; fail naming ``what`` if it never does within ``timeout``
    seconds (a bound, never a wait: a passing test returns as soon as ``cond`` holds)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not cond():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(poll)


class _Server(Protocol):
    async def start(self, host: str, port: int) -> str: ...
    async def stop(self) -> None: ...


class _Sink(ExecutionSink, MarketDataSink, Protocol):
    """Takes both what a gateway reports about orders and its market data."""


S = TypeVar("S", bound=_Server)
G = TypeVar("G", bound=Gateway)
K = TypeVar("K", bound=_Sink)


@asynccontextmanager
async def serving(emu: S) -> AsyncIterator[S]:
    """``emu`` started on an ephemeral loopback port, stopped on leaving."""
    await emu.start("127.0.0.1", 0)
    try:
        yield emu
    finally:
        await emu.stop()


@asynccontextmanager
async def bound(gateway: G, sink: K) -> AsyncIterator[tuple[G, K]]:
    """``gateway`` bound to ``sink`` (orders and market data) and started; stopped on leaving."""
    gateway.bind(sink)
    gateway.bind_data(sink)
    await gateway.start()
    try:
        yield gateway, sink
    finally:
        await gateway.stop()
