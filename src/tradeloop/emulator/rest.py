"""REST plumbing every emulator front-end wraps its routes in (venue-neutral).

:func:`guard` applies, in this order and identically for every venue: the ``latency_ms``
fault; the refusal faults (``fail_next``: 429 / 5xx *before* the request runs, so nothing
happened at the venue); the body cap (:data:`~tradeloop.emulator.limits.MAX_BODY`, also for
chunked bodies that carry no length); UTF-8 decoding; the venue's handler; a last-resort answer
for a handler that raised; and finally the lost-reply fault (the request *ran*, its answer is
lost), which is what exercises a client's idempotency.

What those answers look like (status, envelope, error text) is the venue's
:class:`RestDialect`; authentication and parsing are the venue handler's, using
:mod:`tradeloop.emulator.auth`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from aiohttp import web

from tradeloop.emulator.faults import FailKind, Faults, LostReplyKind
from tradeloop.emulator.limits import MAX_BODY

log = logging.getLogger(__name__)

#: A venue handler: the request and its body as text -> the response to send.
VenueHandler = Callable[[web.Request, str], Awaitable[web.StreamResponse]]


class BadBody(Exception):
    """The body is not UTF-8 text (venues answer with their "invalid JSON" error)."""


class RestDialect(Protocol):
    """The venue's answers for what :func:`guard` decides before or around its handler."""

    def refused(self, kind: FailKind) -> web.Response:
        """An injected 429 (rate limit) or 5xx (venue unavailable), before anything ran."""

    def too_large(self) -> web.Response:
        """A body over the cap (HTTP 413)."""

    def bad_body(self) -> web.Response:
        """A body that is not UTF-8."""

    def crash(self) -> web.Response:
        """A handler raised unexpectedly (an emulator bug; never a plumbing 500)."""


@dataclass(frozen=True)
class TextDialect:
    """A :class:`RestDialect` for venues whose every error is one shape -- a status and a
    text -- rendered by ``render`` (FTX: ``{"success": false, "error": text}``)."""

    render: Callable[[int, str], web.Response]
    rate_limited: str
    unavailable: str
    too_large_text: str
    bad_body_text: str
    crash_text: str

    def refused(self, kind: FailKind) -> web.Response:
        if kind == "429":
            return self.render(429, self.rate_limited)
        return self.render(503, self.unavailable)

    def too_large(self) -> web.Response:
        return self.render(413, self.too_large_text)

    def bad_body(self) -> web.Response:
        return self.render(400, self.bad_body_text)

    def crash(self) -> web.Response:
        return self.render(500, self.crash_text)


def guard(
    faults: Faults, dialect: RestDialect, handler: VenueHandler
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Wrap ``handler`` with faults, bounds and the last-resort error answer."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        await faults.delay()
        kind = faults.take_failure()
        if kind is not None:
            return dialect.refused(kind)
        response = await _run(dialect, handler, request)
        lost = faults.take_lost_reply(request.method, request.path)
        if lost is not None:
            return lose_reply(request, lost)
        return response

    return wrapped


async def _run(
    dialect: RestDialect, handler: VenueHandler, request: web.Request
) -> web.StreamResponse:
    if (request.content_length or 0) > MAX_BODY:
        return dialect.too_large()
    try:
        body = await read_text(request)
        return await handler(request, body)
    except web.HTTPRequestEntityTooLarge:  # a chunked body that outgrew the cap
        return dialect.too_large()
    except BadBody:
        return dialect.bad_body()
    except Exception:
        log.exception("emulator: %s %s failed", request.method, request.path)
        return dialect.crash()


async def read_text(request: web.Request) -> str:
    """The body as UTF-8 text (venues speak UTF-8 JSON whatever charset a client declares)."""
    if not request.can_read_body:
        return ""
    raw = await request.read()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadBody from None


def lose_reply(request: web.Request, kind: LostReplyKind) -> web.Response:
    """The request has run; its answer never reaches the client. ``"drop"`` cuts the
    connection (the client sees it close with no response); ``"5xx"`` answers 504 with a
    non-venue body, as a load balancer does when the venue behind it was too slow."""
    log.info("fault: lost the reply to %s %s (%s)", request.method, request.path, kind)
    transport = request.transport
    if kind == "drop" and transport is not None:
        transport.abort()
        return web.Response(status=504)  # written to a closed transport: never seen
    return web.Response(status=504, text="504 Gateway Time-out", content_type="text/html")
