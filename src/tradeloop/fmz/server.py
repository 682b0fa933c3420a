"""The bridge's HTTP server: ``POST /<LABEL>`` with an FMZ request, one JSON reply, HTTP 200.

Fully async (aiohttp) so many dockers and keys are served at once; the only per-request state
is the decoded body. Whatever happens — oversized or malformed body, unknown label or method,
upstream timeout, 429, 5xx, a bug in an adapter — the docker gets ``{"error": ...}`` with HTTP
200 and the server keeps serving. Usage (tests, bench)::

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

from tradeloop.core.errors import AuthError, RateLimited, VenueError
from tradeloop.core.log import register_secret
from tradeloop.fmz.capture import CaptureWriter, redact_value
from tradeloop.fmz.dispatch import dispatch
from tradeloop.fmz.protocol import FmzError, decode_request, encode, err, ok
from tradeloop.fmz.venue import FmzVenue, VenueSpec, create_venue

log = logging.getLogger(__name__)

DEFAULT_MAX_BODY = 64 * 1024
TOKEN_HEADER = "X-Fmz-Token"


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
        register_secret(config.token)
        self._specs = config.specs()
        self._venues: dict[str, FmzVenue] = {}
        self._runner: web.AppRunner | None = None
        self._capture: CaptureWriter | None = None
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
        # client_max_size only guards request.read(); we read the body ourselves, bounded.
        app = web.Application(client_max_size=self.config.max_body + 1)
        app.router.add_route("*", "/{label:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, backlog=1024)
        await site.start()
        bound = self._runner.addresses[0]
        self.url = f"http://{_url_host(host)}:{bound[1]}"
        self._warn_exposure(host)
        log.info("FMZ bridge listening on %s (venues: %s)", self.url, ", ".join(self._venues))
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        for venue in self._venues.values():
            try:
                await venue.close()
            except Exception:
                log.exception("closing venue %s failed", venue.label)
        self._venues.clear()
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
        body = b""
        try:
            body, reply = await self._serve(request)
        except Exception as exc:  # the last line of defence: never a stack trace to the docker
            log.exception("unexpected error serving %s", request.path)
            reply = err(f"internal error: {type(exc).__name__}")
        payload = encode(reply)
        if self._capture is not None:
            self._capture.write(
                path=request.path,
                headers=dict(request.headers),
                body=body,
                reply=reply,
                elapsed_ms=(time.perf_counter() - t0) * 1000,
            )
        return web.Response(body=payload, status=200, content_type="application/json")

    async def _serve(self, request: web.Request) -> tuple[bytes, dict[str, Any]]:
        if not self._token_ok(request):
            return b"", err("unauthorized: missing or wrong token (?token= or X-Fmz-Token)")
        if request.method != "POST":
            return b"", err(f"only POST is supported (got {request.method})")
        try:
            async with asyncio.timeout(self.config.request_timeout):  # no slow-loris bodies
                body = await self._read_body(request)
        except FmzError as exc:
            return b"", err(str(exc))
        except TimeoutError:
            return b"", err("request body not received in time")
        label = request.match_info.get("label", "").strip("/").upper()
        venue = self._venues.get(label)
        if venue is None:
            known = ", ".join(f"/{k}" for k in self._venues) or "none configured"
            return body, err(f"unknown venue label {label[:40]!r} (serving: {known})")
        try:
            req = decode_request(body)
        except FmzError as exc:
            return body, err(str(exc))
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
                params = encode(redact_value(dict(req.params.raw)))[:500].decode(errors="replace")
                log.warning("%s: unsupported method %r, params %s", label, req.method[:60], params)
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


def _url_host(host: str) -> str:
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host
