"""Per-connection bounds for the bridge: a hard cap, read deadlines, eviction of slow peers.

aiohttp on its own has no header-read timeout and no connection cap: 1,100 connections that
trickle one header byte at a time held every slot (and every file descriptor) and valid requests
timed out. Each accepted socket therefore gets a :class:`GuardedConnection` wrapped around
aiohttp's own protocol object. It forwards every callback unchanged and tracks where the
connection is in its request cycle:

``NEW``      accepted, no complete request yet        -> closed after ``header_timeout``
``IDLE``     keep-alive, waiting for the next request  -> closed after ``idle_timeout``
``HEADERS``  first byte of the next request arrived    -> closed after ``header_timeout``
``BODY``     headers parsed, handler reading the body  -> bounded by the handler's body timeout
``BUSY``     request being served (money may move)    -> never evicted, bounded by the handler

When all ``max_connections`` slots are taken, a new connection takes the slot of the connection
that has spent longest in a non-``BUSY`` state, provided it has been there at least ``grace``
seconds. A slowloris peer is always the oldest there; an honest client sends its request within
milliseconds, so it is ``BUSY`` long before ``grace`` is up. ``grace`` also bounds how fast
attackers that reconnect at once can churn the slots (``max_connections / grace`` per second),
so an honest connection waiting behind them in the listen backlog gets its turn soon — and its
request bytes are already there when it is accepted. If every slot is ``BUSY`` the newcomer is
refused; if slots are merely young, the accept loop waits until the oldest may be evicted.
The guard never parses HTTP itself: the web handler reports ``BODY``/``BUSY``/done through
:meth:`ConnectionGuard.lookup`.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from tradeloop.fmz.quietlog import RateLimitedLog

log = logging.getLogger(__name__)


class State(enum.Enum):
    NEW = "new"
    IDLE = "idle"
    HEADERS = "headers"
    BODY = "body"
    BUSY = "busy"


@dataclass(frozen=True, slots=True)
class Limits:
    max_connections: int = 256
    #: connect (or first byte of a keep-alive request) -> all header lines received
    header_timeout: float = 10.0
    #: a keep-alive connection may wait this long for its next request
    idle_timeout: float = 60.0
    #: a connection is never evicted to make room before it has had this long to send a request
    grace: float = 0.2


class GuardedConnection(asyncio.Protocol):
    """aiohttp's protocol for one connection, plus the state the guard needs. Every asyncio
    callback is forwarded to ``inner`` as is, so aiohttp behaves exactly as without it."""

    def __init__(self, guard: ConnectionGuard, inner: asyncio.Protocol) -> None:
        self.guard = guard
        self.inner = inner
        self.transport: asyncio.Transport | None = None
        self.state = State.NEW
        self.closed = False
        self.timer: asyncio.TimerHandle | None = None
        #: loop time the connection entered its current state
        self.since = 0.0

    # -- asyncio.Protocol, forwarded ------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.guard._opened(self)
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self.state is State.IDLE:
            self.guard.enter(self, State.HEADERS)
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self.guard._forget(self)
        self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    # -- guard side -----------------------------------------------------------------------------
    def abort(self) -> None:
        """Drop the connection now (RST, the descriptor is freed on the next loop pass)."""
        self.guard._forget(self)
        if self.transport is not None:
            self.transport.abort()


class ConnectionGuard:
    """The live connections of one bridge, their deadlines, and the admission policy."""

    def __init__(self, limits: Limits, inner_factory: Callable[[], asyncio.Protocol]) -> None:
        self.limits = limits
        self._inner_factory = inner_factory
        #: every connection not BUSY, in the order they entered their current state
        self._waiting: OrderedDict[GuardedConnection, None] = OrderedDict()
        self._busy: set[GuardedConnection] = set()
        self._by_transport: dict[asyncio.BaseTransport, GuardedConnection] = {}
        self._idle_event = asyncio.Event()
        self._idle_event.set()
        self.stats = {"accepted": 0, "refused": 0, "evicted": 0, "timed_out": 0, "peak": 0}
        self._log_evicted = RateLimitedLog(log, logging.WARNING)
        self._log_refused = RateLimitedLog(log, logging.WARNING)
        self._log_slow = RateLimitedLog(log, logging.WARNING)

    def __len__(self) -> int:
        return len(self._waiting) + len(self._busy)

    @property
    def busy(self) -> int:
        return len(self._busy)

    # -- admission ------------------------------------------------------------------------------
    def admit(self) -> GuardedConnection | None:
        """A protocol for a just-accepted socket, or None when there is no slot right now (see
        :meth:`next_evictable_in` for when there will be).

        The slot is reserved here, before the transport exists, so a burst of accepts can never
        overshoot the cap."""
        if len(self) >= self.limits.max_connections and not self.evict_oldest("connection limit"):
            return None
        conn = GuardedConnection(self, self._inner_factory())
        self._waiting[conn] = None
        self.stats["accepted"] += 1
        self.stats["peak"] = max(self.stats["peak"], len(self))
        return conn

    def refused(self) -> None:
        self.stats["refused"] += 1
        self._log_refused(
            "connection limit (%d) reached and every connection is serving a request: "
            "refusing new connections",
            self.limits.max_connections,
        )

    def evict_oldest(self, why: str) -> bool:
        """Abort the connection longest in a non-BUSY state if it has been there at least
        ``grace`` seconds. False if there is none."""
        conn = next(iter(self._waiting), None)
        if conn is None or conn.transport is None:
            return False  # nothing, or only a connection accepted this instant
        age = asyncio.get_running_loop().time() - conn.since
        if age < self.limits.grace:
            return False
        self.stats["evicted"] += 1
        self._log_evicted(
            "%s: closed the oldest connection without a request in service (%s for %.1fs)",
            why,
            conn.state.value,
            age,
        )
        conn.abort()
        return True

    def next_evictable_in(self) -> float | None:
        """Seconds until :meth:`evict_oldest` can free a slot; None if every open connection
        is BUSY (only a finished request will free one)."""
        conn = next(iter(self._waiting), None)
        if conn is None:
            return None
        if conn.transport is None:
            return self.limits.grace
        age = asyncio.get_running_loop().time() - conn.since
        return max(0.0, self.limits.grace - age)

    def discard(self, conn: GuardedConnection) -> None:
        """Forget a connection whose transport could not be created."""
        self._forget(conn)

    # -- state ----------------------------------------------------------------------------------
    def lookup(self, transport: asyncio.BaseTransport | None) -> GuardedConnection | None:
        return None if transport is None else self._by_transport.get(transport)

    def enter(self, conn: GuardedConnection, state: State) -> None:
        """Move ``conn`` to ``state`` and arm that state's deadline."""
        if conn.closed:
            return
        if conn.timer is not None:
            conn.timer.cancel()
            conn.timer = None
        conn.state = state
        if state is State.BUSY:
            self._waiting.pop(conn, None)
            self._busy.add(conn)
            self._idle_event.clear()
        else:
            if conn in self._busy:
                self._busy.discard(conn)
                if not self._busy:
                    self._idle_event.set()
            self._waiting.pop(conn, None)
            self._waiting[conn] = None  # newest in its state
        loop = asyncio.get_running_loop()
        conn.since = loop.time()
        timeout = {
            State.NEW: self.limits.header_timeout,
            State.HEADERS: self.limits.header_timeout,
            State.IDLE: self.limits.idle_timeout,
        }.get(state)
        if timeout is not None:
            conn.timer = loop.call_later(timeout, self._expire, conn, state)

    def _expire(self, conn: GuardedConnection, state: State) -> None:
        if conn.closed or conn.state is not state:
            return
        self.stats["timed_out"] += 1
        if state is State.IDLE:
            log.debug("closed a keep-alive connection idle for %ss", self.limits.idle_timeout)
        else:
            self._log_slow(
                "closed a connection that sent no complete request headers within %ss",
                self.limits.header_timeout,
            )
        conn.abort()

    def _opened(self, conn: GuardedConnection) -> None:
        if conn.closed:  # evicted between admission and connection_made
            if conn.transport is not None:
                conn.transport.abort()
            return
        assert conn.transport is not None
        self._by_transport[conn.transport] = conn
        self.enter(conn, State.NEW)

    def _forget(self, conn: GuardedConnection) -> None:
        if conn.closed:
            return
        conn.closed = True
        if conn.timer is not None:
            conn.timer.cancel()
            conn.timer = None
        self._waiting.pop(conn, None)
        if conn in self._busy:
            self._busy.discard(conn)
            if not self._busy:
                self._idle_event.set()
        if conn.transport is not None:
            self._by_transport.pop(conn.transport, None)

    # -- shutdown -------------------------------------------------------------------------------
    def abort_waiting(self) -> int:
        """Abort every connection not serving a request; returns how many."""
        conns = list(self._waiting)
        for conn in conns:
            conn.abort()
        return len(conns)

    async def wait_busy(self, timeout: float) -> bool:
        """Wait until no request is being served (or ``timeout``). True if none is."""
        try:
            async with asyncio.timeout(timeout):
                await self._idle_event.wait()
        except TimeoutError:
            return False
        return True

    def abort_all(self) -> int:
        conns = [*self._waiting, *self._busy]
        for conn in conns:
            conn.abort()
        return len(conns)
