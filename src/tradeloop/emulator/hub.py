"""WebSocket connections and fan-out, shared by every emulator front-end.

Why it is built this way:

* **One ordered queue per connection.** Every message for a client goes through its own
  bounded queue, drained by its own writer task, so a client sees its messages in the order
  they were produced and a slow client never stalls the market timer or anyone else. A queue
  that fills up closes that connection with the venue's "buffer full" code.
* **Answers before the pushes they caused.** While a request is being served (:meth:`Hub.hold`
  ... :meth:`Hub.release`), pushes it triggers (an order update, a public trade) are deferred,
  so a client gets "order accepted" before the fill of that order, as on a real venue.
* **Encode once.** A public payload is encoded once and the same text is queued for every
  subscriber of its key; private pushes are built per connection.

Subscription keys are whatever the venue chooses (``("books", "BTC-USDT")`` for OKX,
``("orderbook", "BTC-PERP")`` for FTX); what a message looks like is the venue's business.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import msgspec
from aiohttp import web

log = logging.getLogger(__name__)

_enc = msgspec.json.Encoder()
#: Messages queued for one client before it counts as stalled and is closed.
QUEUE_MAX = 5000

SubKey = tuple[str, ...]


class Conn:
    """One client WebSocket: its kind (the URL it came in on), login state, subscriptions and
    outbound queue. ``overflow`` is the close code and reason sent when the queue fills."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        kind: str = "",
        overflow: tuple[int, bytes] = (1013, b"Buffer full"),
    ) -> None:
        self.ws = ws
        self.kind = kind
        self.conn_id = secrets.token_hex(4)
        self.logged_in = False
        #: failed login attempts on this connection (the WS loop closes it past a limit)
        self.login_failures = 0
        #: private subscriptions: venue key -> the arg as the client sent it
        self.private_subs: dict[str, dict[str, str]] = {}
        self.public_keys: set[SubKey] = set()
        self.queue: asyncio.Queue[str | None] = asyncio.Queue(QUEUE_MAX)
        self.closed = False
        self.last_io = time.monotonic()
        self._overflow = overflow
        self._closer: asyncio.Future[Any] | None = None
        self.writer = asyncio.create_task(self._write(), name=f"emulator-ws-{self.conn_id}")

    def touch(self) -> None:
        self.last_io = time.monotonic()

    def send(self, text: str) -> None:
        if self.closed:
            return
        self.last_io = time.monotonic()
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            log.warning("ws %s: send buffer full, closing", self.conn_id)
            self.close_soon(*self._overflow)

    def send_json(self, obj: Any) -> None:
        self.send(_enc.encode(obj).decode())

    def close_soon(self, code: int, reason: bytes) -> None:
        """Start closing with ``code`` now, without waiting (callable from sync code)."""
        self.closed = True
        self._closer = asyncio.ensure_future(self.ws.close(code=code, message=reason))

    async def _write(self) -> None:
        while True:
            text = await self.queue.get()
            if text is None or self.ws.closed:
                return
            try:
                await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return

    async def finish(self, code: int, reason: bytes, timeout: float = 2.0) -> None:
        """Deliver what is already queued (e.g. the error that explains why), then close with
        ``code`` -- how a venue ends a connection it refuses to serve."""
        self.closed = True
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError, Exception):
            await asyncio.wait_for(asyncio.shield(self.writer), timeout)
        with contextlib.suppress(Exception):
            await self.ws.close(code=code, message=reason)

    async def close(self) -> None:
        self.closed = True
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)
        self.writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.writer
        if self._closer is not None:  # let a server-initiated close finish its handshake
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._closer


class Hub:
    """Every WS connection of one front-end, its subscriptions, and the deferral that keeps
    answers ahead of the pushes they caused. Venue hubs subclass it and add their channels."""

    #: close code and reason when a client's queue overflows (venues override)
    overflow: tuple[int, bytes] = (1013, b"Buffer full")
    #: close code and reason for a connection silent past the idle timeout
    idle_close: tuple[int, bytes] = (1000, b"Idle")

    def __init__(self) -> None:
        self.conns: set[Conn] = set()
        self.subs: dict[SubKey, set[Conn]] = defaultdict(set)
        self._hold = 0
        self._held: list[Callable[[], None]] = []

    # -- connection bookkeeping ------------------------------------------------------------
    def open(self, ws: web.WebSocketResponse, kind: str = "") -> Conn:
        conn = Conn(ws, kind, self.overflow)
        self.add(conn)
        return conn

    def add(self, conn: Conn) -> None:
        self.conns.add(conn)

    def remove(self, conn: Conn) -> None:
        self.conns.discard(conn)
        for key in conn.public_keys:
            self.subs[key].discard(conn)
        conn.public_keys.clear()

    def subscribe(self, conn: Conn, key: SubKey) -> bool:
        """Add ``conn`` to ``key``; False if it was already there."""
        if key in conn.public_keys:
            return False
        self.subs[key].add(conn)
        conn.public_keys.add(key)
        return True

    def unsubscribe(self, conn: Conn, key: SubKey) -> bool:
        """Remove ``conn`` from ``key``; False if it was not subscribed."""
        if key not in conn.public_keys:
            return False
        conn.public_keys.discard(key)
        self.subs[key].discard(conn)
        return True

    def toggle(self, conn: Conn, key: SubKey, subscribe: bool) -> bool:
        """:meth:`subscribe` or :meth:`unsubscribe`; False if nothing changed."""
        return self.subscribe(conn, key) if subscribe else self.unsubscribe(conn, key)

    def toggle_private(self, conn: Conn, channel: str, subscribe: bool) -> bool:
        """Add or remove ``conn``'s private subscription to ``channel`` (a venue whose private
        channels take no arguments); False if it already was, or was not, subscribed."""
        if subscribe == (channel in conn.private_subs):
            return False
        if subscribe:
            conn.private_subs[channel] = {"channel": channel}
        else:
            del conn.private_subs[channel]
        return True

    def listening(self, key: SubKey) -> bool:
        return bool(self.subs.get(key))

    # -- ordering: answers before the pushes they caused ------------------------------------
    def hold(self) -> None:
        self._hold += 1

    def release(self) -> None:
        self._hold -= 1
        if self._hold == 0:
            held, self._held = self._held, []
            for fn in held:
                fn()

    def defer(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` now, or after the request being served has been answered."""
        if self._hold:
            self._held.append(fn)
        else:
            fn()

    # -- fan-out ---------------------------------------------------------------------------
    def broadcast(self, key: SubKey, msg: Any) -> None:
        """Encode ``msg`` once and queue it for every subscriber of ``key``."""
        conns = self.subs.get(key)
        if not conns:
            return
        text = _enc.encode(msg).decode()
        for conn in list(conns):
            conn.send(text)

    def to_logged_in(self, send: Callable[[Conn], None]) -> None:
        """Call ``send(conn)`` for every logged-in connection (deferred like any push); the
        venue decides there what, if anything, that connection is subscribed to."""

        def go() -> None:
            for conn in list(self.conns):
                if conn.logged_in:
                    send(conn)

        self.defer(go)

    def to_private(self, channel: str, msg: Any) -> None:
        """Queue ``msg`` for every logged-in connection subscribed to the private ``channel``
        (venues whose private channels take no arguments: FTX ``fills``, BitMEX tables);
        deferred like any push."""

        def send(conn: Conn) -> None:
            if channel in conn.private_subs:
                conn.send_json(msg)

        self.to_logged_in(send)

    def any_private_listener(self) -> bool:
        return any(c.logged_in and c.private_subs for c in self.conns)

    # -- closing ---------------------------------------------------------------------------
    def close_idle(self, timeout_s: float) -> int:
        """Close connections with no traffic either way for ``timeout_s`` (venues do, so
        clients that forget to ping find out here, not in production)."""
        now = time.monotonic()
        n = 0
        for conn in list(self.conns):
            if not conn.closed and now - conn.last_io > timeout_s:
                conn.close_soon(*self.idle_close)
                n += 1
        return n

    async def close_all(self) -> None:
        for conn in list(self.conns):
            await conn.close()
