"""A label's keyless gateway: instruments, public REST reads, and live books and quotes.

``depth`` and ``ticker`` are what strategies poll hardest; answering them from memory instead
of a REST round trip is the bridge's main speed-up. The memory is the gateway's own: the first
request for an instrument subscribes its ``book`` (and ``trades``, for the last price) through
:meth:`~tradeloop.venues.base.DataClient.subscribe`, and later requests read
:meth:`~tradeloop.venues.base.Gateway.book` / ``quote`` — the connector's verified books (sequence
and checksum rules, resync on a gap, nothing served while the stream is down). Nothing here
parses a venue's messages.

The gateway is started on first use, not at bridge start, so a bridge in front of an unreachable
venue still starts and answers each request with the upstream error; a failed start is retried
by the next request.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from tradeloop.model import (
    BookLevels,
    Event,
    QuoteTick,
    TradeTick,
    VenueStatus,
)
from tradeloop.venues.base import CONNECTED, DISCONNECTED, RECONNECTED, Gateway

log = logging.getLogger(__name__)

#: instruments kept live per label (each is a book subscription)
MAX_WATCHED = 200
#: channels subscribed per watched instrument (the contract's names)
CHANNELS = ("book", "trades")


class LiveMarket:
    """The keyless gateway of one label and what it keeps live (see the module docstring)."""

    def __init__(self, build: Callable[[], Gateway], *, live: bool = True) -> None:
        self._build = build
        self.live = live
        self._gw: Gateway | None = None
        self._starting: asyncio.Task[Gateway] | None = None
        self._watched: set[str] = set()
        self._unlisted: set[str] = set()
        self._last: dict[str, TradeTick] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    # -- lifecycle --------------------------------------------------------------------------
    async def gateway(self) -> Gateway:
        """The started gateway; concurrent first callers share one start."""
        if self._gw is not None:
            return self._gw
        if self._closed:
            raise RuntimeError("venue closed")
        if self._starting is None:
            self._starting = asyncio.ensure_future(self._start())
            self._starting.add_done_callback(_retrieve)
        task = self._starting
        try:
            return await asyncio.shield(task)
        finally:
            if task.done() and self._starting is task and self._gw is None:
                self._starting = None  # failed: the next request tries again

    async def _start(self) -> Gateway:
        gw = self._build()
        gw.bind_data(self)
        gw.on_account_event = self._on_status
        try:
            await gw.start()
        except BaseException:
            await _quiet_stop(gw)
            raise
        if self._closed:
            await _quiet_stop(gw)
            raise RuntimeError("venue closed")
        self._gw = gw
        return gw

    @property
    def started(self) -> Gateway | None:
        return self._gw

    async def close(self) -> None:
        self._closed = True
        for t in list(self._tasks):
            t.cancel()
        if self._starting is not None and not self._starting.done():
            self._starting.cancel()
        gw, self._gw = self._gw, None
        if gw is not None:
            await _quiet_stop(gw)

    # -- MarketDataSink / account events ------------------------------------------------------
    def on_market_data(self, event: Event) -> None:
        if type(event) is TradeTick and event.symbol in self._watched:
            self._last[event.symbol] = event

    def _on_status(self, event: Event) -> None:
        if isinstance(event, VenueStatus) and event.status in (
            CONNECTED,
            RECONNECTED,
            DISCONNECTED,
        ):
            self._last.clear()  # trades seen before a drop may be stale

    # -- live state ---------------------------------------------------------------------------
    def watch(self, symbol: str) -> None:
        """Start keeping ``symbol`` live (idempotent, never blocks: the subscription is sent by
        a background task, and the request that asked is answered without waiting for it)."""
        gw = self._gw
        if not self.live or gw is None or symbol in self._watched:
            return
        if len(self._watched) >= MAX_WATCHED or symbol in self._unlisted:
            return
        if symbol not in gw.instruments():  # e.g. a dated future: REST only
            if len(self._unlisted) < 10 * MAX_WATCHED:
                self._unlisted.add(symbol)
            return
        self._watched.add(symbol)
        self._spawn(self._subscribe(gw, symbol))

    async def _subscribe(self, gw: Gateway, symbol: str) -> None:
        try:
            await gw.subscribe(symbol, CHANNELS)
        except Exception as exc:  # keep serving from REST; a later watch() may retry
            log.warning("live %s for %s failed: %s", "/".join(CHANNELS), symbol, exc)
            self._watched.discard(symbol)

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def book(self, symbol: str, limit: int) -> BookLevels | None:
        """The verified live book's top ``limit`` levels, or None (not watched, not in sync,
        stream down)."""
        gw = self._gw
        if gw is None or symbol not in self._watched:
            return None
        return gw.book(symbol, limit)

    def quote(self, symbol: str) -> QuoteTick | None:
        gw = self._gw
        if gw is None or symbol not in self._watched:
            return None
        return gw.quote(symbol)

    def last_trade(self, symbol: str) -> TradeTick | None:
        return self._last.get(symbol)

    def is_live(self, symbol: str) -> bool:
        """Whether ``depth`` and ``ticker`` for ``symbol`` are served from memory now."""
        return self.book(symbol, 1) is not None and self.quote(symbol) is not None

    async def wait_book(self, symbol: str, limit: int, timeout: float) -> BookLevels | None:
        """For venues without a REST book: wait (bounded) for the live book to be verified."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while True:
            b = self.book(symbol, limit)
            if b is not None or loop.time() >= end:
                return b
            await asyncio.sleep(0.02)


def _retrieve(task: asyncio.Task[Any]) -> None:
    """Mark a shared task's failure as seen even when every waiter has gone."""
    if not task.cancelled():
        task.exception()


async def _quiet_stop(gw: Gateway) -> None:
    try:
        await gw.stop()
    except Exception as exc:
        log.warning("stopping gateway %s failed: %s", gw.venue, exc)
