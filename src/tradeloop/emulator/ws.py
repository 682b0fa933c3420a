"""The WebSocket endpoint loop every emulator front-end runs (venue-neutral).

A front-end supplies a :class:`WsProtocol` -- what a text message means, how to answer a
binary frame or an internal error, how to close a connection that keeps failing to log in --
and :func:`serve` does the rest the same way for every venue:

* each connection is registered with the hub (its ordered send queue) and with the server
  (so the ``drop_ws`` fault can cut it);
* every text message waits for the ``latency_ms`` fault first, like a slow venue;
* one bad message never costs a client its connection: an exception while serving it is
  logged (without the message, which may hold keys) and answered by ``on_crash``;
* :data:`~tradeloop.emulator.limits.MAX_LOGIN_FAILURES` failed logins close the connection
  after the error that explains why has been delivered;
* messages are capped at :data:`~tradeloop.emulator.limits.MAX_WS_MESSAGE`; protocol-level
  pings are answered by aiohttp.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import WSMsgType, web

from tradeloop.emulator.hub import Conn, Hub
from tradeloop.emulator.limits import MAX_LOGIN_FAILURES, MAX_WS_MESSAGE

if TYPE_CHECKING:
    from tradeloop.emulator.base import EmulatorServer

log = logging.getLogger(__name__)


def json_object(text: str) -> dict[str, Any] | None:
    """A JSON object request, or None for anything else (a venue answers that with its
    "invalid request" error; deep nesting is refused, not a crash)."""
    try:
        req = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return req if isinstance(req, dict) else None


class WsProtocol(Protocol):
    """What a venue's WebSocket dialect must say; see :func:`serve`."""

    #: close code and reason after too many failed logins on one connection
    login_close: tuple[int, bytes]

    def on_text(self, conn: Conn, text: str) -> None: ...

    def on_binary(self, conn: Conn, data: bytes) -> None: ...

    def on_crash(self, conn: Conn) -> None:
        """Answer a message whose handling raised (the connection stays open)."""


def handler(
    server: EmulatorServer, hub: Hub, protocol: WsProtocol, kind: str = ""
) -> Callable[[web.Request], Awaitable[web.WebSocketResponse]]:
    """An aiohttp handler serving ``protocol`` on one URL (``kind`` tags its connections)."""

    async def ws_handler(request: web.Request) -> web.WebSocketResponse:
        return await serve(server, hub, protocol, request, kind)

    return ws_handler


async def serve(
    server: EmulatorServer, hub: Hub, protocol: WsProtocol, request: web.Request, kind: str
) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(autoping=True, max_msg_size=MAX_WS_MESSAGE)
    await ws.prepare(request)
    conn = hub.open(ws, kind)
    server.track(ws)
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                conn.touch()
                await server.faults.delay()
                _guarded(protocol, conn, msg.data)
            elif msg.type == WSMsgType.BINARY:
                conn.touch()
                protocol.on_binary(conn, bytes(msg.data))
            elif msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
                break
            if conn.login_failures >= MAX_LOGIN_FAILURES:
                log.info("ws %s: %d failed logins, closing", conn.conn_id, conn.login_failures)
                await conn.finish(*protocol.login_close)
                break
    finally:
        hub.remove(conn)
        server.untrack(ws)
        await conn.close()
    return ws


def _guarded(protocol: WsProtocol, conn: Conn, text: str) -> None:
    try:
        protocol.on_text(conn, text)
    except Exception:
        log.exception("ws %s: message failed", conn.conn_id)  # never the text: it may hold keys
        protocol.on_crash(conn)
