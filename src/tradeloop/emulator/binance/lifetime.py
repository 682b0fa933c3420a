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
    if life.interval_s > 0 and not _start_pings(ws, life):
        log.warning("ws %s: this aiohttp has no server heartbeat hooks; no pings", conn.conn_id)
    if life.max_age_s <= 0:
        return None

    def expire() -> None:
        if not conn.closed:
            log.info("ws %s: %.0f s old, closing (Binance's 24 h limit)", conn.conn_id,
                     life.max_age_s)  # fmt: skip
            conn.close_soon(1000, b"connection age limit")

    return asyncio.get_running_loop().call_later(life.max_age_s, expire)
