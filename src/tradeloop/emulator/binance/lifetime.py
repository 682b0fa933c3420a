"""How long a Binance WebSocket lives: server pings that must be answered, and the forced
disconnect at the connection's age limit.

Binance pings every stream and WS API connection (spot every 20 s, dropping it when no pong
came back within a minute; USD-M every 3 minutes, within 10) and closes every connection 24
hours after it opened, so clients must answer pings and reconnect. :class:`WsLifetime` holds
those numbers (tests make them short) and applies them to each connection a hub opens.

The pings use aiohttp's own server heartbeat -- a PING after ``interval`` without traffic
from the client, the socket closed when no PONG follows within ``timeout``. The shared
emulator WS loop builds its ``WebSocketResponse`` without one, so it is switched on here on
the prepared response through aiohttp internals (``_heartbeat``, ``_pong_heartbeat`` and the
protocol's data-received hook that lets a PONG cancel the timeout); when they are missing
(another aiohttp) no pings are sent and a warning says so. A heartbeat option in the kit's
``emulator.ws.serve`` would be the proper home (tests/emulator/binance/test_lifetime.py pins
the behaviour).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tradeloop.emulator.hub import Conn

log = logging.getLogger(__name__)

DAY_S = 86_400.0


@dataclass(frozen=True)
class WsLifetime:
    """Ping ``interval_s`` (0 = no pings), pong ``timeout_s``, ``max_age_s`` (0 = forever)."""

    interval_s: float = 20.0
    timeout_s: float = 60.0
    max_age_s: float = DAY_S


#: Binance's numbers for the spot streams and WS API, and for the USD-M streams
SPOT_LIFETIME = WsLifetime(20.0, 60.0, DAY_S)
FUTURES_LIFETIME = WsLifetime(180.0, 600.0, DAY_S)


#: pings sent per connection (so a test can wait for N ping rounds instead of sleeping)
_PINGS: weakref.WeakKeyDictionary[Conn, int] = weakref.WeakKeyDictionary()


def pings_sent(conn: Conn) -> int:
    """How many server pings went out on ``conn`` so far."""
    return _PINGS.get(conn, 0)


def _count_pings(ws: Any, conn: Conn) -> None:
    """Count the pings aiohttp's heartbeat really sends (it skips a round while data is
    arriving): a ping arms a fresh pong deadline."""
    send = getattr(ws, "_send_heartbeat", None)
    if send is None or not hasattr(ws, "_pong_response_cb"):
        return

    def counted() -> None:
        before = ws._pong_response_cb
        send()
        if ws._pong_response_cb is not None and ws._pong_response_cb is not before:
            _PINGS[conn] = _PINGS.get(conn, 0) + 1

    ws._send_heartbeat = counted


def _start_pings(ws: Any, life: WsLifetime) -> bool:
    proto = getattr(getattr(ws, "_req", None), "protocol", None)
    hooks = (hasattr(ws, "_on_data_received"), hasattr(ws, "_reset_heartbeat"),
             hasattr(proto, "_data_received_cb"))  # fmt: skip
    if not (isinstance(ws, web.WebSocketResponse) and all(hooks)):
        return False
    ws._heartbeat = life.interval_s
    ws._pong_heartbeat = life.timeout_s
    proto._data_received_cb = ws._on_data_received  # type: ignore[union-attr]
    ws._reset_heartbeat()
    return True


def apply(ws: Any, conn: Conn, life: WsLifetime) -> asyncio.TimerHandle | None:
    """Start pinging ``ws`` and schedule its forced close; the timer to cancel on removal."""
    if life.interval_s > 0:
        if _start_pings(ws, life):
            _count_pings(ws, conn)
        else:
            log.warning("ws %s: this aiohttp has no server heartbeat hooks; no pings",
                        conn.conn_id)  # fmt: skip
    if life.max_age_s <= 0:
        return None

    def expire() -> None:
        if not conn.closed:
            log.info("ws %s: %.0f s old, closing (Binance's 24 h limit)", conn.conn_id,
                     life.max_age_s)  # fmt: skip
            conn.close_soon(1000, b"connection age limit")

    return asyncio.get_running_loop().call_later(life.max_age_s, expire)
