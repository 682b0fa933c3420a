"""REST plumbing for the OKX front-end: the envelope, error rendering, fault injection and
authentication, applied uniformly by one middleware so handlers only return ``data``.
Refusal faults (429/503) answer before the handler runs; lost-reply faults after it ran.

A handler is ``async (emu, ctx) -> list`` where ``ctx`` carries the parsed params; it raises
:class:`OkxError` for request-level failures. Handlers returning :class:`Reply` choose the
top-level code themselves (batch endpoints: ``"1"``/``"2"``).

Whatever the request looks like, the answer is an envelope, never a 500 from the plumbing: a
body over :data:`MAX_BODY` is 413, a body that is not UTF-8 JSON (including one nested past the
parser's depth or holding an integer too long to convert) is ``50002``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import web

from tradeloop.emulator.faults import LostReplyKind
from tradeloop.emulator.okx.auth import verify_rest
from tradeloop.emulator.okx.errors import OkxError, message

if TYPE_CHECKING:
    from tradeloop.emulator.okx.server import OkxEmulator

log = logging.getLogger(__name__)

_enc = msgspec.json.Encoder()
#: Largest request body (aiohttp's default cap, answered as 413 rather than a 500).
MAX_BODY = 1 << 20


@dataclass
class Ctx:
    """One parsed request: ``params`` from the query (GET) or JSON object body (POST);
    ``items`` is the JSON array body of batch endpoints."""

    method: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    items: list[Any] | None = None
    in_time_us: int = 0

    def get(self, key: str, default: str = "") -> str:
        v = self.params.get(key, default)
        return default if v is None else str(v)

    def require(self, key: str) -> str:
        v = self.get(key)
        if v == "":
            raise OkxError("50014", "", key)
        return v


@dataclass
class Reply:
    data: list[Any]
    code: str = "0"
    msg: str = ""
    trade: bool = False  # add inTime/outTime like OKX's trade endpoints


Handler = Callable[["OkxEmulator", Ctx], Awaitable[list[Any] | Reply]]


def respond(
    code: str, msg: str, data: list[Any], status: int = 200, extra: dict[str, Any] | None = None
) -> web.Response:
    body: dict[str, Any] = {"code": code, "msg": msg, "data": data}
    if extra:
        body.update(extra)
    return web.Response(body=_enc.encode(body), status=status, content_type="application/json")


def error_response(err: OkxError) -> web.Response:
    return respond(err.code, err.msg, [], err.status)


def now_us() -> int:
    return time.time_ns() // 1000


async def _parse(request: web.Request, body: str) -> Ctx:
    ctx = Ctx(request.method, request.path, in_time_us=now_us())
    if request.method == "GET":
        ctx.params = dict(request.query)
        return ctx
    if not body.strip():
        ctx.params = {}
        return ctx
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):  # syntax, too-long integers, nesting past the limit
        raise OkxError("50002") from None
    if isinstance(doc, dict):
        ctx.params = doc
    elif isinstance(doc, list):
        ctx.items = doc
    else:
        raise OkxError("50002")
    return ctx


def route(
    emu: OkxEmulator, handler: Handler, private: bool
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Wrap ``handler`` with latency, injected failures, auth and the envelope."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        await emu.faults.delay()
        kind = emu.faults.take_failure()
        if kind == "429":
            return respond("50011", message("50011"), [], 429)
        if kind == "5xx":
            return respond("50001", message("50001"), [], 503)
        response = await _execute(emu, handler, private, request)
        lost = emu.faults.take_lost_reply(request.method, request.path)
        if lost is not None:
            return lose_reply(request, lost)
        return response

    return wrapped


async def _execute(
    emu: OkxEmulator, handler: Handler, private: bool, request: web.Request
) -> web.Response:
    """Authenticate, parse and run one request; every outcome becomes an OKX envelope."""
    if (request.content_length or 0) > MAX_BODY:
        return too_large()
    try:
        body = await _body(request)
        if private:
            verify_rest(
                emu.creds, request.headers, request.method, request.raw_path, body, time.time()
            )
        ctx = await _parse(request, body)
        result = await handler(emu, ctx)
    except OkxError as err:
        return error_response(err)
    except web.HTTPRequestEntityTooLarge:  # a chunked body that outgrew the cap
        return too_large()
    except Exception:
        log.exception("OKX emulator: %s %s failed", request.method, request.path)
        return respond("50026", message("50026"), [], 500)
    if isinstance(result, Reply):
        extra = {"inTime": str(ctx.in_time_us), "outTime": str(now_us())} if result.trade else None
        return respond(result.code, result.msg, result.data, 200, extra)
    return respond("0", "", result)


async def _body(request: web.Request) -> str:
    """The body as UTF-8 text (OKX speaks UTF-8 JSON whatever charset a client declares)."""
    if not request.can_read_body:
        return ""
    raw = await request.read()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise OkxError("50002") from None


def too_large() -> web.Response:
    """HTTP 413 with a short JSON body, as a front proxy answers an oversized request."""
    return web.Response(
        body=b'{"msg":"Request Entity Too Large","code":"413"}',
        status=413,
        content_type="application/json",
    )


def lose_reply(request: web.Request, kind: LostReplyKind) -> web.Response:
    """The request has run; its answer never reaches the client. ``"drop"`` cuts the
    connection (the client sees it close with no response); ``"5xx"`` answers 504 with a
    non-OKX body, as a load balancer does when the venue behind it was too slow."""
    log.info("fault: lost the reply to %s %s (%s)", request.method, request.path, kind)
    transport = request.transport
    if kind == "drop" and transport is not None:
        transport.abort()
        return web.Response(status=504)  # written to a closed transport: never seen
    return web.Response(status=504, text="504 Gateway Time-out", content_type="text/html")


async def not_found(request: web.Request) -> web.Response:
    """OKX answers unknown paths with HTTP 404 and a short JSON body."""
    return web.Response(
        body=b'{"msg":"Not Found","code":"404"}', status=404, content_type="application/json"
    )
