"""The dashboard's HTTP side: the page, its assets, the WebSocket and the control endpoint.

Binding. 127.0.0.1 and a free port unless configured. Bound anywhere else, every request
needs the access token (``TRADELOOP_DASHBOARD_TOKEN``, or one generated and shown once on the
terminal — never logged): ``?token=`` on the first visit sets an HttpOnly cookie. Even on
loopback, controls need the per-process form key embedded in the page (so another web page
in the same browser cannot post them) and the WebSocket refuses foreign ``Origin``s.

Assets. Our own page, script and styles are package data of :mod:`tradeloop.dashboard`; the
chart library (TradingView Lightweight Charts) is read from an installed package — the
``lightweight-charts`` distribution on PyPI ships its standalone build — or from an npm install
named by ``TRADELOOP_LIGHTWEIGHT_CHARTS``. Nothing is fetched from the network, so the page
works offline.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import secrets
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from aiohttp import web

from tradeloop.core.errors import ConfigError
from tradeloop.dashboard.controls import ControlError, apply
from tradeloop.report.chartlib import chart_component, chart_library

if TYPE_CHECKING:
    from tradeloop.dashboard.model import DashboardModel
    from tradeloop.dashboard.push import Hub
    from tradeloop.live.runtime import LiveRuntime

log = logging.getLogger(__name__)

STATIC = ("index.html", "app.js", "chart.js", "style.css")
_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def static_text(name: str) -> str:
    if name == "chart.js":  # the chart component is shared with the backtest report
        return chart_component()
    return resources.files("tradeloop.dashboard").joinpath("static", name).read_text("utf-8")


class DashboardServer:
    def __init__(self, rt: LiveRuntime, model: DashboardModel, hub: Hub, host: str, port: int,
                 token: str | None) -> None:  # fmt: skip
        self.rt, self.model, self.hub = rt, model, hub
        self.host, self.port = host, port
        self.token = token if token else None
        self.form_key = secrets.token_urlsafe(24)
        self.runner: web.AppRunner | None = None
        self.url = ""
        lib = chart_library()
        self.lib: bytes | None = lib.read_bytes() if lib is not None else None
        if lib is None:
            log.warning("dashboard: chart library not installed (pip install "
                        "'tradeloop[dashboard]'); tables work, charts do not")  # fmt: skip

    # -- access ------------------------------------------------------------------------------
    def _authorized(self, req: web.Request) -> bool:
        if self.token is None:
            return True
        given = (req.query.get("token") or req.cookies.get("tl_token")
                 or req.headers.get("Authorization", "").removeprefix("Bearer "))  # fmt: skip
        return hmac.compare_digest(given.encode(), self.token.encode())

    @web.middleware
    async def _guard(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if not self._authorized(request):
            return web.Response(status=401, text="dashboard token required (?token=...)\n")
        resp: web.StreamResponse = await handler(request)
        if resp.prepared:
            return resp  # the WebSocket: headers already sent
        if self.token is not None and "token" in request.query:
            resp.set_cookie("tl_token", self.token, httponly=True, samesite="Strict")
        resp.headers["Cache-Control"] = "no-store"
        resp.headers["X-Content-Type-Options"] = "nosniff"
        return resp

    def _same_origin(self, req: web.Request) -> bool:
        origin = req.headers.get("Origin")
        return origin is None or urlsplit(origin).netloc == req.host

    # -- handlers ------------------------------------------------------------------------------
    async def index(self, req: web.Request) -> web.Response:
        html = static_text("index.html").replace("__FORM_KEY__", self.form_key)
        csp = "default-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'"
        return web.Response(text=html, content_type="text/html",
                            headers={"Content-Security-Policy": csp})  # fmt: skip

    async def static(self, req: web.Request) -> web.Response:
        name = req.match_info["name"]
        if name not in STATIC:
            raise web.HTTPNotFound()
        return web.Response(text=static_text(name),
                            content_type=_TYPES[Path(name).suffix])  # fmt: skip

    async def library(self, req: web.Request) -> web.Response:
        if self.lib is None:
            return web.Response(text="window.LightweightCharts = null;\n",
                                content_type="text/javascript")  # fmt: skip
        return web.Response(body=self.lib, content_type="text/javascript")

    async def websocket(self, req: web.Request) -> web.StreamResponse:
        if not self._same_origin(req):
            raise web.HTTPForbidden(text="foreign origin")
        ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=1 << 16)
        await ws.prepare(req)
        await self.hub.serve(ws, req.remote or "?")
        return ws

    async def snapshot(self, req: web.Request) -> web.Response:
        import msgspec

        return web.Response(body=msgspec.json.encode(self.model.snapshot()),
                            content_type="application/json")  # fmt: skip

    async def control(self, req: web.Request) -> web.Response:
        given = req.headers.get("X-Tradeloop-Form", "")
        if not self._same_origin(req) or not hmac.compare_digest(given, self.form_key):
            raise web.HTTPForbidden(text="form key missing or wrong")
        try:
            body = await req.json()
            if not isinstance(body, dict):
                raise ControlError("expected a JSON object")
            who = "".join(ch for ch in str(body.get("who") or "operator") if ch.isprintable())
            done = apply(self.rt, self.model, body, who[:40] or "operator", req.remote or "?")
        except (ControlError, ValueError) as exc:
            return web.json_response({"ok": False, "error": str(exc)}, status=400)
        return web.json_response({"ok": True, "done": done})

    # -- life ----------------------------------------------------------------------------------
    async def start(self) -> str:
        app = web.Application(middlewares=[self._guard], client_max_size=1 << 16)
        app.router.add_get("/", self.index)
        app.router.add_get("/static/{name}", self.static)
        app.router.add_get("/lib/lightweight-charts.js", self.library)
        app.router.add_get("/ws", self.websocket)
        app.router.add_get("/api/snapshot", self.snapshot)
        app.router.add_post("/api/control", self.control)
        self.runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self.runner.setup()
        site = web.TCPSite(self.runner, self.host, self.port)
        try:
            await site.start()
        except OSError as exc:  # in use, not this machine's address: one line, nothing sent
            await self.runner.cleanup()
            self.runner = None
            raise ConfigError(f"dashboard {self.host}:{self.port}: cannot listen "
                              f"({exc.strerror or exc})") from None  # fmt: skip
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        port = sockets[0].getsockname()[1] if sockets else self.port
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"http://{host}:{port}/"
        return self.url

    async def stop(self) -> None:
        await self.hub.close()
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None
