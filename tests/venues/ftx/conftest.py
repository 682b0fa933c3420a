"""FTX connector tests against the in-process FTX emulator over real loopback sockets: the
emulator fixture (frozen market: it moves only on ``emu.step()``, so pushes are
deterministic), a started gateway bound to a recording sink, and fast retry settings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tradeloop.model import Event, Fill, OrderReport, OrderStatus
from tradeloop.venues.execution import RecoveryPolicy
from tradeloop.venues.ftx.gateway import FtxGateway
from tradeloop.venues.ftx.rest import FtxRestClient
from tradeloop.venues.retry import RetryConfig
from tradeloop.venues.wsclient import WsConfig

server = pytest.importorskip("tradeloop.emulator.ftx.server")

KEY, SECRET = "ftx-conn-key-1", "ftx-conn-secret-1"
PERP, SPOT = "BTC-PERP.FTX", "BTC/USD.FTX"
FAST_WS = WsConfig(
    heartbeat_interval=5.0,
    heartbeat_timeout=5.0,
    ping_text='{"op":"ping"}',
    pong_text='{"type":"pong"}',
    reconnect=RetryConfig(max_attempts=0, base=0.05, cap=0.2),
)
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


async def until(
    cond: Callable[[], bool], what: str = "the condition", timeout: float = 15.0
) -> None:
    """Poll ``cond`` until it holds; fail naming ``what`` if it never does."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not cond():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(0.02)


def make_emulator(**over: Any) -> Any:
    cfg: dict[str, Any] = dict(
        api_key=KEY,
        api_secret=SECRET,
        balances={"USD": 100_000.0, "BTC": 2.0},
        symbols=["BTC-PERP", "BTC/USD"],
        seed=3,
        tick_interval_ms=0,
    )
    cfg.update(over)
    return server.FtxEmulator(server.FtxConfig(**cfg))


@pytest.fixture
async def emu() -> AsyncIterator[Any]:
    e = make_emulator()
    await e.start("127.0.0.1", 0)
    try:
        yield e
    finally:
        await e.stop()


def make_gateway(url: str, **over: Any) -> FtxGateway:
    rest = FtxRestClient(url, KEY, SECRET, retry=FAST_REST)
    opts: dict[str, Any] = {"rest": rest, "ws_config": FAST_WS, "recovery": FAST_RECOVERY}
    opts.update(over)
    return FtxGateway(**opts)


@pytest.fixture
async def gw(emu: Any) -> AsyncIterator[tuple[FtxGateway, Sink]]:
    gateway = make_gateway(emu.base_url)
    sink = Sink()
    gateway.bind(sink)
    gateway.bind_data(sink)
    await gateway.start()
    try:
        yield gateway, sink
    finally:
        await gateway.stop()
