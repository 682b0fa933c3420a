"""What the OKX connector-vs-emulator end-to-end tests share: fast socket settings and a
polling wait that fails with a message instead of hanging."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from tradeloop.venues.retry import RetryConfig
from tradeloop.venues.wsclient import WsConfig

#: Reconnects within ~0.2 s so drop/resubscribe tests finish quickly; heartbeats stay slow
#: enough not to fire during a test on a loaded machine.
FAST_WS = WsConfig(
    heartbeat_interval=5.0,
    heartbeat_timeout=5.0,
    reconnect=RetryConfig(max_attempts=0, base=0.05, cap=0.2),
)


async def until(
    cond: Callable[[], bool],
    what: str = "the condition",
    timeout: float = 15.0,
    error: type[Exception] = AssertionError,
) -> None:
    """Poll ``cond`` until it holds; raise ``error`` naming ``what`` if it never does."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not cond():
        if loop.time() > deadline:
            raise error(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(0.02)
