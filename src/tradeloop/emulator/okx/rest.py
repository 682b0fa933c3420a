"""REST for the OKX front-end: the envelope, error rendering and authentication, so handlers
only return ``data``. Faults, body bounds and the lost-reply fault come from the shared
:func:`tradeloop.emulator.rest.guard`; :class:`OkxDialect` says how OKX words them (429
``50011``, 503 ``50001``, 413, ``50002``, 500 ``50026``).

A handler is ``async (emu, ctx) -> list`` where ``ctx`` carries the parsed params; it raises
:class:`OkxError` for request-level failures. Handlers returning :class:`Reply` choose the
top-level code themselves (batch endpoints: ``"1"``/``"2"``).

Whatever the request looks like, the answer is an envelope, never a 500 from the plumbing: a
body over the cap is 413, a body that is not UTF-8 JSON (including one nested past the parser's
depth or holding an integer too long to convert) is ``50002``.
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

from tradeloop.emulator import rest
from tradeloop.emulator.faults import FailKind
from tradeloop.emulator.okx.auth import verify_rest
from tradeloop.emulator.okx.errors import OkxError, message

if TYPE_CHECKING:
    from tradeloop.emulator.okx.server import OkxEmulator

log = logging.getLogger(__name__)

_enc = msgspec.json.Encoder()


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


class OkxDialect:
    """How OKX answers what the shared REST guard decides (see :class:`rest.RestDialect`)."""

    def refused(self, kind: FailKind) -> web.Response:
        if kind == "429":
            return respond("50011", message("50011"), [], 429)
        return respond("50001", message("50001"), [], 503)

    def too_large(self) -> web.Response:
        return too_large()

    def bad_body(self) -> web.Response:
        return error_response(OkxError("50002"))

    def crash(self) -> web.Response:
        return respond("50026", message("50026"), [], 500)


DIALECT = OkxDialect()


def route(
    emu: OkxEmulator, handler: Handler, private: bool
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Wrap ``handler`` with the shared guard (latency, injected failures, bounds), OKX auth
    and the envelope."""

    async def run(request: web.Request, body: str) -> web.StreamResponse:
        try:
            if private:
                verify_rest(
                    emu.creds, request.headers, request.method, request.raw_path, body, time.time()
                )
            ctx = await _parse(request, body)
            result = await handler(emu, ctx)
        except OkxError as err:
            return error_response(err)
        if isinstance(result, Reply):
            extra = (
                {"inTime": str(ctx.in_time_us), "outTime": str(now_us())} if result.trade else None
            )
            return respond(result.code, result.msg, result.data, 200, extra)
        return respond("0", "", result)

    return rest.guard(emu.faults, DIALECT, run)


def too_large() -> web.Response:
    """HTTP 413 with a short JSON body, as a front proxy answers an oversized request."""
    return web.Response(
        body=b'{"msg":"Request Entity Too Large","code":"413"}',
        status=413,
        content_type="application/json",
    )


async def not_found(request: web.Request) -> web.Response:
    """OKX answers unknown paths with HTTP 404 and a short JSON body."""
    return web.Response(
        body=b'{"msg":"Not Found","code":"404"}', status=404, content_type="application/json"
    )
