"""Server lifecycle shared by every venue front-end: one aiohttp app on one port serving REST,
WebSocket and the ``/__admin`` fault endpoint, plus the background tasks (market timer,
periodic faults, venue timers). Venue subclasses add their routes in :meth:`setup_routes` and
their timers in :meth:`on_start`.

The admin endpoint is guarded by a bearer token (see :mod:`tradeloop.emulator.admin`);
``admin_token`` is the one in force, generated when none was given.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiohttp import web

from tradeloop.core.log import register_secret
from tradeloop.emulator.admin import AdminGuard, admin_routes, resolve_token
from tradeloop.emulator.faults import Faults, PeriodicFaults

log = logging.getLogger(__name__)


class EmulatorServer:
    """Start/stop plumbing; ``start`` returns ``http://host:port`` (port 0 = ephemeral)."""

    venue = "generic"

    def __init__(
        self,
        faults: Faults | None = None,
        periodic: PeriodicFaults | None = None,
        admin_token: str | None = None,
    ) -> None:
        self.faults = faults or Faults()
        #: bearer token for ``/__admin/faults``: the one given, ``$TRADELOOP_EMULATOR_ADMIN_TOKEN``,
        #: else generated (then ``admin_token_generated`` is True and the CLI prints it)
        self.admin_token, self.admin_token_generated = resolve_token(admin_token)
        register_secret(self.admin_token)
        self._admin = AdminGuard(self.admin_token)
        self.periodic = periodic or PeriodicFaults()
        self.app = web.Application()
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._sockets: set[web.WebSocketResponse] = set()
        self._closing: set[asyncio.Future[Any]] = set()
        self.base_url = ""
        self.port = 0
        self.faults.register_drop_hook(self._drop_all)
        admin_routes(self.app, self._admin, self.faults)

    def admin_headers(self) -> dict[str, str]:
        """Headers that authorize an ``/__admin/faults`` request (tests, scripts)."""
        return {"Authorization": f"Bearer {self.admin_token}"}

    # -- subclass hooks --------------------------------------------------------------------
    def setup_routes(self, app: web.Application) -> None:
        """Add the venue's routes."""

    async def on_start(self) -> None:
        """Start venue timers (use :meth:`spawn`)."""

    async def on_stop(self) -> None:
        """Stop venue resources before the sockets close."""

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        if self._runner is not None:
            raise RuntimeError("emulator already started")
        self.setup_routes(self.app)
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else port
        self.base_url = f"http://{host}:{self.port}"
        self._admin.set_address(host, self.port)
        self._tasks.extend(self.periodic.tasks(self.faults))
        await self.on_start()
        log.info("%s emulator listening on %s", self.venue, self.base_url)
        return self.base_url

    async def stop(self) -> None:
        await self.on_stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def spawn(self, coro: Any, name: str) -> None:
        self._tasks.append(asyncio.create_task(coro, name=name))

    # -- websockets ------------------------------------------------------------------------
    def track(self, ws: web.WebSocketResponse) -> None:
        self._sockets.add(ws)

    def untrack(self, ws: web.WebSocketResponse) -> None:
        self._sockets.discard(ws)

    def _drop_all(self) -> int:
        """Abort every WS transport: the client sees a dead connection, as on a network cut."""
        n = 0
        for ws in list(self._sockets):
            req = getattr(ws, "_req", None)
            transport = req.transport if req is not None else None
            if transport is not None:
                transport.abort()
            else:
                self._closing.add(asyncio.ensure_future(ws.close()))
            self._sockets.discard(ws)
            n += 1
        return n
