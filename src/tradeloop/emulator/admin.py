"""The ``/__admin/faults`` endpoint, guarded.

Anything that can reach the emulator's port can reach this endpoint, and it changes what every
client sees (latency, refusals, lost replies, dropped sockets). So:

* it needs a bearer token (``Authorization: Bearer TOKEN``), compared in constant time. The
  token comes from ``--admin-token`` / :data:`ADMIN_TOKEN_ENV`, else one is generated at start
  (the CLI prints it; in process it is ``server.admin_token``);
* a request carrying an ``Origin`` that is not the emulator's own is refused: a web page in a
  local browser must not drive it (browsers send ``Origin`` on every cross-origin POST);
* a POST must be ``application/json`` -- the content types a page may send cross-origin
  without a preflight (``text/plain``, forms) never reach the JSON parser;
* bodies are capped at :data:`MAX_ADMIN_BODY` (413) and every refusal is a short JSON error
  that quotes nothing but a bounded prefix of what was sent.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import os
import secrets
from urllib.parse import urlsplit

from aiohttp import web

from tradeloop.emulator.faults import Faults

#: Environment variable holding the admin token (``--admin-token`` overrides it).
ADMIN_TOKEN_ENV = "TRADELOOP_EMULATOR_ADMIN_TOKEN"
#: Largest admin request body; a real one is a few hundred bytes.
MAX_ADMIN_BODY = 64 * 1024
#: Shortest token accepted from the operator (a generated one is 43 characters).
MIN_TOKEN_LEN = 8
_LOCAL_NAMES = ("127.0.0.1", "localhost", "[::1]")


def new_token() -> str:
    """A fresh random admin token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def resolve_token(explicit: str | None) -> tuple[str, bool]:
    """The admin token to use and whether it was generated: ``explicit`` (flag/config) first,
    then :data:`ADMIN_TOKEN_ENV`, else a new random one. Too-short tokens are refused so a
    placeholder such as ``x`` cannot guard the endpoint."""
    token = explicit or os.environ.get(ADMIN_TOKEN_ENV) or ""
    if not token:
        return new_token(), True
    if len(token) < MIN_TOKEN_LEN or not token.isprintable() or " " in token:
        raise ValueError(
            f"admin token must be at least {MIN_TOKEN_LEN} printable characters without spaces"
        )
    return token, False


def _error(status: int, text: str, **headers: str) -> web.Response:
    return web.json_response({"error": text}, status=status, headers=headers or None)


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


class AdminGuard:
    """Checks every admin request; ``own_origins`` is refreshed once the port is known."""

    def __init__(self, token: str) -> None:
        self._token = token.encode()
        self.own_origins: set[str] = set()

    def set_address(self, host: str, port: int) -> None:
        """The origins a page served by the emulator itself would send."""
        names = {host, *_LOCAL_NAMES} if host not in ("0.0.0.0", "::") else set(_LOCAL_NAMES)
        if ":" in host and not host.startswith("["):
            names.add(f"[{host}]")
        self.own_origins = {f"http://{n}:{port}" for n in names}

    def _origin_ok(self, request: web.Request) -> bool:
        origin = request.headers.get("Origin")
        if origin is None:  # not a browser cross-origin request (curl, tests, aiohttp)
            return True
        if origin in self.own_origins:
            return True
        # Bound to a wildcard address and reached by an interface IP: that IP is our own
        # origin. A DNS name is never trusted here (DNS rebinding would pass a Host check).
        parts = urlsplit(origin)
        return (
            parts.scheme == "http"
            and parts.hostname is not None
            and _is_ip_literal(parts.hostname)
            and parts.netloc == request.host
        )

    def _token_ok(self, request: web.Request) -> bool:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return False
        return hmac.compare_digest(given.strip().encode(), self._token)

    def refusal(self, request: web.Request) -> web.Response | None:
        """Why ``request`` may not use the admin endpoint, as the response to send; or None."""
        if not self._origin_ok(request):
            return _error(403, "cross-origin requests are refused")
        if not self._token_ok(request):
            return _error(
                401,
                "admin token required: Authorization: Bearer TOKEN",
                **{"WWW-Authenticate": 'Bearer realm="tradeloop-emulator"'},
            )
        if request.method == "POST":
            if request.content_type != "application/json":
                return _error(415, "content type must be application/json")
            if (request.content_length or 0) > MAX_ADMIN_BODY:
                return _error(413, f"body larger than {MAX_ADMIN_BODY} bytes")
        return None


def admin_routes(app: web.Application, guard: AdminGuard, faults: Faults) -> None:
    """Register ``GET``/``POST /__admin/faults`` behind ``guard``."""

    async def get(request: web.Request) -> web.StreamResponse:
        refused = guard.refusal(request)
        return refused or web.json_response(faults.state())

    async def post(request: web.Request) -> web.StreamResponse:
        refused = guard.refusal(request)
        if refused is not None:
            return refused
        body = await _read_bounded(request)
        if body is None:
            return _error(413, f"body larger than {MAX_ADMIN_BODY} bytes")
        try:
            spec = json.loads(body or b"{}")
            if not isinstance(spec, dict):
                raise ValueError("expected a JSON object")
            result = faults.apply(spec)
        except (ValueError, TypeError, RecursionError) as exc:
            return _error(400, str(exc)[:300])
        return web.json_response(result)

    app.router.add_get("/__admin/faults", get)
    app.router.add_post("/__admin/faults", post)


async def _read_bounded(request: web.Request) -> bytes | None:
    """The body, or None once it passes :data:`MAX_ADMIN_BODY` (chunked bodies carry no
    length to check up front)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(16 * 1024):
        size += len(chunk)
        if size > MAX_ADMIN_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)
