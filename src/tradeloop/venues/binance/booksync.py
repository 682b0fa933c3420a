"""Binance local order book, synchronised the documented way.

"How to manage a local order book correctly" (web-socket-streams.md): subscribe to the diff
stream and **buffer** its events; fetch a REST snapshot; if the snapshot's ``lastUpdateId`` is
older than the first buffered ``U`` fetch it again; **drop** buffered events with
``u <= lastUpdateId``; the first event applied must straddle it (``U <= lastUpdateId + 1 <=
u``); after that every event must continue the previous one -- spot ``U == previous u + 1``,
USD-M futures ``pu == previous u`` -- or updates were lost and the book must be rebuilt from a
new snapshot (:attr:`SyncResult.RESYNC`; the diffs keep buffering meanwhile). Size ``"0"``
deletes a level. Binance sends no checksum: continuity is the only evidence the book is right.

Results are return values, not exceptions: a gap is an expected event on a live feed.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from enum import Enum
from typing import Any

from tradeloop.book.orderbook import FloatLevels, OrderBook

#: Diffs kept while waiting for a snapshot (about 100 s of a 100 ms stream per symbol).
MAX_BUFFER = 1000


class SyncResult(str, Enum):
    APPLIED = "applied"
    BUFFERED = "buffered"  # waiting for a snapshot
    DROPPED = "dropped"  # older than the book (u <= last applied id)
    REFETCH = "refetch"  # the snapshot is older than the buffered diffs: fetch another
    RESYNC = "resync"  # a gap: the book is invalid; fetch a new snapshot


class Diff:
    """One ``depthUpdate``: ids and the levels as ``[price_text, qty_text]``."""

    __slots__ = ("a", "b", "first", "last", "prev")

    def __init__(
        self, first: int, last: int, b: Sequence[Any], a: Sequence[Any], prev: int | None = None
    ) -> None:
        self.first, self.last, self.prev, self.b, self.a = first, last, prev, b, a


class BinanceBookSync:
    """One symbol's book kept in sync with a diff-depth stream (see the module docstring)."""

    __slots__ = ("_buffer", "_chained", "book", "futures", "last_error", "last_id", "last_levels",
                 "resyncs", "synced")  # fmt: skip

    def __init__(self, symbol: str = "", *, futures: bool = False) -> None:
        self.book = OrderBook(symbol)
        self.futures = futures
        self.synced = False
        self.last_id = 0
        self.resyncs = 0
        self.last_error = ""
        self.last_levels: FloatLevels = ([], [])
        self._buffer: deque[Diff] = deque(maxlen=MAX_BUFFER)
        self._chained = False  # a diff has been applied since the snapshot

    @property
    def first_buffered(self) -> int | None:
        return self._buffer[0].first if self._buffer else None

    def reset(self) -> None:
        """Forget the book (keep buffering diffs until the next snapshot)."""
        self.book.clear()
        self.synced = False
        self.last_id = 0

    def _gap(self, reason: str) -> SyncResult:
        self.last_error = f"{self.book.symbol}: {reason}"
        self.resyncs += 1
        self.reset()
        self._buffer.clear()
        return SyncResult.RESYNC

    def on_diff(self, d: Diff) -> SyncResult:
        if not self.synced:
            self._buffer.append(d)
            return SyncResult.BUFFERED
        return self._apply(d)

    def _apply(self, d: Diff) -> SyncResult:
        last = self.last_id
        if d.last < last or (d.last == last and (self._chained or not self.futures)):
            return SyncResult.DROPPED
        if self.futures and d.prev is not None and self._chained:
            if d.prev != last:
                return self._gap(f"gap: pu {d.prev} != last u {last}")
        elif self._chained:
            if d.first != last + 1:
                return self._gap(f"gap: U {d.first} != last u {last} + 1")
        elif self.futures:  # first after the snapshot: U <= lastUpdateId <= u, or chained
            if not (d.first <= last <= d.last or d.prev == last):
                return self._gap(f"first diff [{d.first}, {d.last}] misses lastUpdateId {last}")
        elif not d.first <= last + 1 <= d.last:
            return self._gap(f"first diff [{d.first}, {d.last}] misses lastUpdateId {last}")
        try:
            self.last_levels = self.book.apply_deltas(d.b, d.a)
        except (ValueError, TypeError) as exc:
            return self._gap(f"malformed level ({exc})")
        self.last_id = d.last
        self._chained = True
        return SyncResult.APPLIED

    def on_snapshot(
        self, last_update_id: int, bids: Sequence[Any], asks: Sequence[Any]
    ) -> SyncResult:
        """Load a REST snapshot and replay the buffered diffs on it. REFETCH when the snapshot
        is older than everything buffered; RESYNC when the buffer does not continue it."""
        first = self.first_buffered
        if first is not None and last_update_id < first - 1:
            return SyncResult.REFETCH
        try:
            self.last_levels = self.book.apply_snapshot(bids, asks)
        except (ValueError, TypeError) as exc:
            return self._gap(f"malformed snapshot ({exc})")
        self.last_id = last_update_id
        self._chained = False
        self.synced = True
        buffered, self._buffer = self._buffer, deque(maxlen=MAX_BUFFER)
        result = SyncResult.APPLIED
        for d in buffered:
            r = self._apply(d)
            if r is SyncResult.RESYNC:
                return r
        return result

    def top(self, depth: int) -> FloatLevels:
        return self.book.top(depth)
