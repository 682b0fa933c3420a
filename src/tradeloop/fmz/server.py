"""The bridge's HTTP server: ``POST /<LABEL>`` with an FMZ request, one JSON reply, HTTP 200.

Fully async (aiohttp) so many dockers and keys are served at once; the only per-request state
is the decoded body. Whatever happens — oversized or malformed body, unknown label or method,
upstream timeout, 429, 5xx, a bug in an adapter — the docker gets ``{"error": ...}`` with HTTP
200 and the server keeps serving.

aiohttp parses HTTP and runs the handler; everything around it that a hostile peer could abuse
is ours: :mod:`.listen` accepts (bounded, rate-limited errors), :mod:`.conn` caps connections
and enforces header/idle deadlines, the handler bounds the body read, :mod:`.quietlog` keeps
request bytes out of aiohttp's error logs, and every request's credentials are registered for
redaction before anything can log them. Usage (tests, bench)::

    bridge = FmzBridge(BridgeConfig(venues={"OKX": base_url}))
    url = await bridge.start("127.0.0.1", 0)
    ...
    await bridge.stop()
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from tradeloop.core.errors import AuthError, RateLimited, VenueError
from tradeloop.core.log import install_redaction, register_secret
from tradeloop.fmz.adapter import create_venue
from tradeloop.fmz.capture import CaptureWriter
from tradeloop.fmz.conn import ConnectionGuard, GuardedConnection, Limits, State
from tradeloop.fmz.dispatch import dispatch
from tradeloop.fmz.listen import Listener, connection_cap
from tradeloop.fmz.protocol import FmzError, decode_request, encode, err, ok
from tradeloop.fmz.quietlog import SafeServerLog
from tradeloop.fmz.redaction import redact_value, register_credentials, sensitive_values
from tradeloop.fmz.venue import FmzVenue, VenueSpec

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY = 64 * 1024
TOKEN_HEADER = "X-Fmz-Token"
#: stop(): how long a request already being served may take to finish before it is cut
STOP_GRACE = 0.6
#: stop(): bound on closing each venue (sessions, WebSockets)
VENUE_CLOSE_TIMEOUT = 0.5


@dataclass
class BridgeConfig:
    """Bridge settings. ``venues`` maps a URL label (``OKX`` in ``/OKX``) to a base URL (the
    adapter is picked from the label) or to a full :class:`VenueSpec`."""

    venues: Mapping[str, str | VenueSpec] = field(default_factory=dict)
    token: str | None = None
    capture: str | Path | None = None
    max_body: int = DEFAULT_MAX_BODY
    #: overall deadline for one docker request, upstream retries included
    request_timeout: float = 10.0
    #: headers parsed -> whole body received (slow-body peers get an error, then are closed)
    body_timeout: float = 10.0
    #: connect (or first byte of a keep-alive request) -> all header lines received
    header_timeout: float = 10.0
    #: a keep-alive connection with no request is closed after this long
    idle_timeout: float = 60.0
    #: open client connections; lowered to fit the process's file-descriptor limit
    max_connections: int = 256
    #: adapter knobs applied to every venue given as a bare URL (e.g. ``markets_ttl``)
    venue_options: Mapping[str, Any] = field(default_factory=dict)

    def specs(self) -> dict[str, VenueSpec]:
        out: dict[str, VenueSpec] = {}
        for label, v in self.venues.items():
            key = label.strip("/").upper()
            if isinstance(v, VenueSpec):
                out[key] = v
            else:
                out[key] = VenueSpec(kind=key, rest_url=v, options=dict(self.venue_options))
        return out


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class FmzBridge:
    """The FMZ custom-protocol server in front of one or more venues."""

    def __init__(self, config: BridgeConfig) -> None:
        self.config = config
        install_redaction()  # before the first request: records are clean for every handler
        register_secret(config.token)
        self._specs = config.specs()
        self._venues: dict[str, FmzVenue] = {}
        self._runner: web.AppRunner | None = None
        self._guard: ConnectionGuard | None = None
        self._listener: Listener | None = None
        self._capture: CaptureWriter | None = None
        self.http_log = SafeServerLog(logging.getLogger("tradeloop.fmz.http"))
        self.url = ""

    # -- lifecycle ----------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 6666) -> str:
        """Open venues and listen; returns the base URL (``port=0`` picks a free port)."""
        for label, spec in self._specs.items():
            venue = create_venue(label, spec)
            await venue.start()
            self._venues[label] = venue
        if self.config.capture:
            self._capture = CaptureWriter(self.config.capture)
        cfg = self.config
        # client_max_size only guards request.read(); we read the body ourselves, bounded.
        app = web.Application(client_max_size=cfg.max_body + 1)
        app.router.add_route("*", "/{label:.*}", self._handle)
        self._runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            logger=self.http_log,
            # our guard enforces idle/header deadlines; aiohttp's timer is only a backstop
            keepalive_timeout=cfg.idle_timeout + cfg.header_timeout,
            # after an early answer (too large, timeout) read leftovers for 1 s at most
            lingering_time=1.0,
            shutdown_timeout=0.2,
        )
        await self._runner.setup()
        server = self._runner.server
        assert server is not None
        cap = connection_cap(cfg.max_connections)
        if cap < cfg.max_connections:
            log.info("connection cap lowered to %d to fit the file-descriptor limit", cap)
        limits = Limits(cap, cfg.header_timeout, cfg.idle_timeout)
        self._guard = ConnectionGuard(limits, server)
        self._listener = Listener(self._guard)
        _, bound_port = await self._listener.start(host, port)
        self.url = f"http://{_url_host(host)}:{bound_port}"
        self._warn_exposure(host)
        log.info("FMZ bridge listening on %s (venues: %s)", self.url, ", ".join(self._venues))
        return self.url

    @property
    def connections(self) -> int:
        """Client connections open right now."""
        return 0 if self._guard is None else len(self._guard)

    @property
    def guard(self) -> ConnectionGuard | None:
        return self._guard

    async def stop(self) -> None:
        """Close everything within about 2 s, whatever the clients are doing.

        Stop accepting; drop every connection that is not being served (idle, half-sent
        headers or body — a half-open peer never finishes); give requests already being served
        :data:`STOP_GRACE` to answer, then cut them; then close the venues, each bounded."""
        if self._listener is not None:
            await self._listener.close()
            self._listener = None
        if self._guard is not None:
            self._guard.abort_waiting()
            if not await self._guard.wait_busy(STOP_GRACE):
                log.warning("stop: cutting %d request(s) still being served", self._guard.busy)
            self._guard.abort_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        venues = list(self._venues.values())
        self._venues.clear()
        await asyncio.gather(*(_close_venue(v) for v in venues))
        if self._capture is not None:
            self._capture.close()
            self._capture = None

    def _warn_exposure(self, host: str) -> None:
        if is_loopback(host):
            return
        log.warning(
            "!!! FMZ bridge bound to %s, NOT loopback: dockers send API keys in plain text. "
            "Anyone who can reach this port can trade with the keys it sees. %s",
            host,
            "A shared token is required (?token= or X-Fmz-Token)."
            if self.config.token
            else "NO TOKEN IS SET: pass --token to require one.",
        )

    def venue(self, label: str) -> FmzVenue:
        return self._venues[label.upper()]

    # -- request handling ---------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        t0 = time.perf_counter()
        conn = self._guard.lookup(request.transport) if self._guard is not None else None
        if conn is not None:
            self._guard_enter(conn, State.BODY)
        body = b""
        try:
            body, reply = await self._serve(request, conn)
        except _PeerGone:
            # the peer went away (or was dropped as too slow) mid-body: nobody to answer
            raise web.HTTPBadRequest() from None
        except Exception as exc:  # the last line of defence: never a stack trace to the docker
            log.exception("unexpected error serving %s", request.path[:80])
            reply = err(f"internal error: {type(exc).__name__}")
        finally:
            if conn is not None:
                self._guard_enter(conn, State.IDLE)
        payload = encode(reply)
        if self._capture is not None:
            self._capture.write(
                path=request.path,
                headers=dict(request.headers),
                body=body,
                reply=reply,
                elapsed_ms=(time.perf_counter() - t0) * 1000,
            )
        resp = web.Response(body=payload, status=200, content_type="application/json")
        if not request.content.is_eof():
            resp.force_close()  # answered before the whole body arrived: do not reuse
        return resp

    def _guard_enter(self, conn: GuardedConnection, state: State) -> None:
        if self._guard is not None:
            self._guard.enter(conn, state)

    async def _serve(
        self, request: web.Request, conn: GuardedConnection | None
    ) -> tuple[bytes, dict[str, Any]]:
        if not self._token_ok(request):
            return b"", err("unauthorized: missing or wrong token (?token= or X-Fmz-Token)")
        if request.method != "POST":
            return b"", err(f"only POST is supported (got {request.method[:10]})")
        try:
            async with asyncio.timeout(self.config.body_timeout):  # no slow-loris bodies
                body = await self._read_body(request)
        except FmzError as exc:
            return b"", err(str(exc))
        except TimeoutError:
            return b"", err("request body not received in time")
        except ConnectionError as exc:
            raise _PeerGone() from exc
        except (web.RequestPayloadError, HttpProcessingError, aiohttp.ClientPayloadError) as exc:
            # bad chunked encoding, short body ...: the exception text quotes request bytes
            return b"", err(f"malformed request body ({type(exc).__name__})")
        if conn is not None:
            self._guard_enter(conn, State.BUSY)
        label = request.match_info.get("label", "").strip("/").upper()
        venue = self._venues.get(label)
        if venue is None:
            known = ", ".join(f"/{k}" for k in self._venues) or "none configured"
            return body, err(f"unknown venue label {label[:40]!r} (serving: {known})")
        try:
            req = decode_request(body)
        except FmzError as exc:
            return body, err(str(exc))
        # before anything below can log. Values under credential-looking param names are
        # masked wherever the bridge writes params, but not registered process-wide: a peer
        # must not be able to blank arbitrary words out of the log.
        secrets = register_credentials(req.creds) | sensitive_values(dict(req.params.raw))
        http_method = request.headers.get("Http-Method", "")
        try:
            async with asyncio.timeout(self.config.request_timeout):
                result = await dispatch(venue, req, http_method)
        except Exception as exc:
            msg = _error_message(exc, label, self.config.request_timeout)
            if msg is None:
                raise
            if msg.startswith("unsupported method"):
                # spec C §12: unknown methods are how new docker calls show up; keep the params
                params = redact_value(dict(req.params.raw), secrets)
                text = encode(params)[:500].decode(errors="replace")
                log.warning("%s: unsupported method %r, params %s", label, req.method[:60], text)
            else:
                log.info("%s %s -> error: %s", label, req.method[:60], msg)
            return body, err(msg)
        return body, ok(result.data, result.raw)

    def _token_ok(self, request: web.Request) -> bool:
        token = self.config.token
        if not token:
            return True
        given = request.query.get("token") or request.headers.get(TOKEN_HEADER, "")
        if not given:
            auth = request.headers.get("Authorization", "")
            given = auth[7:] if auth.startswith("Bearer ") else ""
        return hmac.compare_digest(given.encode(), token.encode())

    async def _read_body(self, request: web.Request) -> bytes:
        limit = self.config.max_body
        if request.content_length is not None and request.content_length > limit:
            raise FmzError(f"request body too large ({request.content_length} > {limit} bytes)")
        chunks: list[bytes] = []
        total = 0
        while total <= limit:
            chunk = await request.content.read(limit + 1 - total)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise FmzError(f"request body too large (> {limit} bytes)")
        return b"".join(chunks)


class _PeerGone(Exception):
    """The client disconnected (or was dropped) while its body was being read."""


def _error_message(exc: BaseException, label: str, timeout: float) -> str | None:
    """The docker-facing text for an exception, or None for a genuine bug (logged upstream)."""
    if isinstance(exc, FmzError):
        return str(exc)
    if isinstance(exc, RateLimited):
        return f"{label}: rate limited by the venue ({exc}); retry later"
    if isinstance(exc, AuthError):
        return f"{label}: authentication failed ({exc})"
    if isinstance(exc, VenueError) and exc.code == "timeout":
        return f"{label}: upstream timeout ({exc})"
    if isinstance(exc, VenueError) and exc.code == "network":
        return f"{label}: upstream connection error ({exc})"
    if isinstance(exc, VenueError):
        code = f" [{exc.code}]" if exc.code else ""
        return f"{label}: venue error{code}: {exc}"
    if isinstance(exc, TimeoutError):
        return f"{label}: upstream timeout (no answer within {timeout:g}s)"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"{label}: upstream HTTP {exc.status}: {exc.message}"
    if isinstance(exc, aiohttp.ClientError | OSError):
        return f"{label}: upstream connection error: {type(exc).__name__}: {exc}"
    return None


async def _close_venue(venue: FmzVenue) -> None:
    try:
        async with asyncio.timeout(VENUE_CLOSE_TIMEOUT):
            await venue.close()
    except TimeoutError:
        log.warning("closing venue %s took over %ss; left behind", venue.label,
                    VENUE_CLOSE_TIMEOUT)  # fmt: skip
    except Exception:
        log.exception("closing venue %s failed", venue.label)


def _url_host(host: str) -> str:
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host
