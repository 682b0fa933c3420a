"""The live dashboard: a page served by the running process, updated over a WebSocket.

``tradeloop live`` and ``tradeloop paper`` start it by default (``--dashboard HOST:PORT``,
``--no-dashboard``); the runtime only knows it as a start hook (``LiveRuntime.start_hooks``),
so nothing below this package imports it. See ``docs/dashboard.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import secrets
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tradeloop.core.errors import ConfigError

if TYPE_CHECKING:
    from tradeloop.dashboard.model import DashboardModel
    from tradeloop.dashboard.push import Hub
    from tradeloop.dashboard.server import DashboardServer
    from tradeloop.live.runtime import LiveRuntime

log = logging.getLogger(__name__)

TOKEN_ENV = "TRADELOOP_DASHBOARD_TOKEN"


@dataclass(frozen=True, slots=True)
class DashboardOptions:
    host: str = "127.0.0.1"
    port: int = 0
    #: access token; None = from TRADELOOP_DASHBOARD_TOKEN, else generated when not loopback
    token: str | None = None
    #: push coalescing window (s): at most 1/window messages a second per browser
    window_s: float = 0.05
    refresh_s: float = 1.0
    #: where the address is announced (the CLIs print it; tests collect it)
    announce: Callable[[str], None] | None = None


def parse_bind(text: str) -> tuple[str, int]:
    """``HOST:PORT``, ``HOST``, ``PORT`` or ``[::1]:PORT``; a missing host is 127.0.0.1."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.lstrip(":")
    elif text.count(":") == 1:
        host, port = text.split(":")
    elif text.isdigit():
        host, port = "", text
    else:
        host, port = text, ""
    try:
        number = int(port or 0)
        if not 0 <= number <= 65535:
            raise ValueError(port)
        if host and host != "localhost":
            ipaddress.ip_address(host)
    except ValueError:
        raise ConfigError(f"--dashboard {text!r}: expected HOST:PORT (an IP address, a port "
                          "0-65535)") from None  # fmt: skip
    return host or "127.0.0.1", number


class Dashboard:
    """A running dashboard (model + push hub + HTTP server + refresh task)."""

    def __init__(self, model: DashboardModel, hub: Hub, server: DashboardServer,
                 refresh_s: float) -> None:  # fmt: skip
        self.model, self.hub, self.server = model, hub, server
        self.url = server.url
        self._task = asyncio.create_task(self._refresh(refresh_s))

    async def _refresh(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            try:
                self.model.refresh()
            except Exception:
                log.exception("dashboard refresh failed")

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self.model.refresh()
        self.model.detach()
        await self.server.stop()


async def attach(rt: LiveRuntime, opts: DashboardOptions) -> Dashboard:
    """Wire a dashboard onto ``rt`` (after its kernels exist) and start serving."""
    from tradeloop.dashboard.model import DashboardModel
    from tradeloop.dashboard.push import Hub
    from tradeloop.dashboard.server import DashboardServer, is_loopback

    token = opts.token or os.environ.get(TOKEN_ENV) or None
    generated = False
    if token is None and not is_loopback(opts.host):
        token, generated = secrets.token_urlsafe(18), True
    holder: list[DashboardModel] = []
    hub = Hub(lambda: holder[0].snapshot(), window_s=opts.window_s)
    model = DashboardModel(rt, hub)
    holder.append(model)
    model.attach()
    server = DashboardServer(rt, model, hub, opts.host, opts.port, token)
    url = await server.start()
    log.info("dashboard: %s%s", url, " (token required)" if token else "")
    say = opts.announce
    if say is not None:
        say(f"dashboard: {url}" + (" (token required)" if token else ""))
        if generated:
            # shown once on the terminal, like the emulator's admin token; never logged
            say(f"dashboard token (set {TOKEN_ENV} to choose one): {token}")
    return Dashboard(model, hub, server, opts.refresh_s)


def hook(opts: DashboardOptions) -> Callable[[LiveRuntime], Awaitable[Any]]:
    """A ``LiveRuntime.start_hooks`` entry that starts the dashboard."""

    async def start(rt: LiveRuntime) -> Dashboard:
        return await attach(rt, opts)

    return start


def print_line(text: str) -> None:
    """Announce on stdout (the CLIs' channel for what the operator must see)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
