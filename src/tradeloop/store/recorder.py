"""Market data recorder: gateway events in, store rows out.

Why it listens to the Gateway rather than to the wire: every venue tradeloop connects already
turns its own protocol into the same model events (trades, quotes, verified book deltas with
the venue sequence, bars, connectivity news), resubscribes after drops and resyncs books on
gaps. Recording those events makes one recorder serve every registered venue, and what is
replayed is exactly what a live strategy saw.

Gaps: a ``disconnected`` / ``resync`` status from a venue marks every (channel, instrument) of
that venue; the next row written for each carries ``gap=True`` and the status itself is stored
in the ``status`` channel. A book always restarts from the venue's fresh snapshot after a
resubscribe (kind SNAPSHOT), so a replay never applies deltas across a hole.

Checkpoints: every ``checkpoint_s`` seconds, and whenever files roll, the recorder writes its
own copy of each book (kind CHECKPOINT, full depth, the sequence of the last delta) so a reader
can start a book at any file without going back to the first snapshot.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from tradeloop.model import Bar, BookLevels, Event, QuoteTick, TradeTick, VenueStatus
from tradeloop.model.identity import native_of, venue_of
from tradeloop.store import schema as S
from tradeloop.store.custom import CustomData, encode
from tradeloop.store.funding import FundingRate
from tradeloop.store.writer import Key, PartitionBuffer, StoreWriter

log = logging.getLogger(__name__)

NS = 1_000_000_000
#: statuses that mean data was lost (a reconnect is followed by fresh snapshots anyway)
_GAP_STATUSES = frozenset({"disconnected", "resync"})


@dataclass
class RecordStats:
    messages: int = 0
    rows: int = 0
    gaps: int = 0
    dropped: int = 0


def _date(ts_ns: int) -> str:
    return datetime.fromtimestamp(ts_ns // NS, UTC).strftime("%Y-%m-%d")


class _Book:
    """The recorder's own full-depth copy of a recorded book (for checkpoints)."""

    __slots__ = ("asks", "bids", "sequence")

    def __init__(self) -> None:
        self.bids: dict[float, float] = {}
        self.asks: dict[float, float] = {}
        self.sequence = 0


class Recorder:
    """A ``MarketDataSink`` (and ``on_account_event`` receiver) writing into a store.

    ``accept`` is an optional tick filter (e.g. the live runtime's ``TickFilter.accept``): events
    it refuses are counted, not stored. ``now_ns`` stamps ``ts_recv``."""

    def __init__(
        self,
        writer: StoreWriter,
        *,
        checkpoint_s: float = 60.0,
        accept: Callable[[Event], bool] | None = None,
        now_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.writer = writer
        self.checkpoint_ns = int(checkpoint_s * NS)
        self.accept = accept
        self.now_ns = now_ns
        self.stats = RecordStats()
        self.books: dict[str, _Book] = {}
        self._gap: set[tuple[str, str]] = set()  # (channel, symbol) owing a gap mark
        self._symbols: dict[str, set[str]] = {}  # venue -> symbols seen
        self._keys: dict[tuple[str, str], tuple[Key, PartitionBuffer]] = {}
        self._date = ""
        self._next_checkpoint = 0

    # -- sink -----------------------------------------------------------------------------
    def on_market_data(self, ev: Event) -> None:
        t = type(ev)
        if t is VenueStatus:
            self.on_status(ev)
            return
        if self.accept is not None and not self.accept(ev):
            self.stats.dropped += 1
            return
        if t is BookLevels:
            self._book(ev)  # type: ignore[arg-type]
        elif t is TradeTick:
            tr: TradeTick = ev  # type: ignore[assignment]
            self._row(S.TRADES, tr.symbol, tr.ts, tr.price, tr.qty, tr.side.value, tr.trade_id)
        elif t is QuoteTick:
            q: QuoteTick = ev  # type: ignore[assignment]
            self._row(S.QUOTES, q.symbol, q.ts, q.bid, q.bid_qty, q.ask, q.ask_qty)
        elif t is Bar:
            b: Bar = ev  # type: ignore[assignment]
            iv = _interval(b.ts - b.start)
            self._row(S.BARS, b.symbol, b.ts, b.start, b.open, b.high, b.low, b.close, b.volume, iv)
        elif t is FundingRate:
            f: FundingRate = ev  # type: ignore[assignment]
            self._row(S.FUNDING, f.symbol, f.ts, f.rate, f.mark, f.funding_time)
        elif isinstance(ev, CustomData):  # outside data: one row, fields as JSON
            self._row(S.CUSTOM, ev.symbol, ev.ts, ev.kind, encode(ev))
        else:
            log.debug("recorder: ignoring %s", t.__name__)

    def on_status(self, ev: Event) -> None:
        """Connectivity news: stored, and every stream of the venue owes a gap mark."""
        if not isinstance(ev, VenueStatus):
            return
        self._row(S.STATUS, f"_venue.{ev.venue}", ev.ts, ev.status, ev.detail)
        if ev.status in _GAP_STATUSES:
            self.stats.gaps += 1
            for sym in self._symbols.get(ev.venue, ()):
                for ch in (S.TRADES, S.QUOTES, S.BOOK, S.BARS):
                    self._gap.add((ch, sym))

    def mark_gap(self, channel: str, symbol: str) -> None:
        """The next row of (channel, symbol) follows lost data (e.g. a failed funding poll)."""
        self._gap.add((channel, symbol))

    # -- rows -------------------------------------------------------------------------------
    def _buffer(self, channel: str, symbol: str, ts: int) -> PartitionBuffer:
        date = _date(ts)
        if date != self._date:  # a new UTC day: new partitions
            self._date = date
            self._keys.clear()
        hit = self._keys.get((channel, symbol))
        if hit is None:
            venue = venue_of(symbol) or "UNKNOWN"
            self._symbols.setdefault(venue, set()).add(symbol)
            key = (venue, channel, native_of(symbol), date)
            hit = self._keys[(channel, symbol)] = (key, self.writer.buffer(key))
        return hit[1]

    def _row(self, channel: str, symbol: str, ts_event: int, *values: object) -> None:
        now = self.now_ns()
        buf = self._buffer(channel, symbol, now)
        self.stats.messages += 1
        gap = (channel, symbol) in self._gap
        if gap:
            self._gap.discard((channel, symbol))
        cols = buf.cols
        cols[0].append(now)
        cols[1].append(ts_event)
        cols[2].append(self.stats.messages)
        cols[3].append(gap)
        for i, v in enumerate(values, 4):
            cols[i].append(v)
        buf.rows += 1

    def _book(self, b: BookLevels) -> None:
        now = self.now_ns()
        buf = self._buffer(S.BOOK, b.symbol, now)
        self.stats.messages += 1
        book = self.books.get(b.symbol)
        if book is None:
            book = self.books[b.symbol] = _Book()
        key = (S.BOOK, b.symbol)
        gap = key in self._gap
        if b.snapshot:
            book.bids.clear()
            book.asks.clear()
            if gap:
                self._gap.discard(key)
        elif gap:
            return  # a delta after a hole and before the fresh snapshot cannot be applied
        book.sequence = b.sequence
        kind = S.SNAPSHOT if b.snapshot else S.DELTA
        n = self.stats.messages
        ts_recv, ts_ev, seqs, gaps, seq, kinds, sides, prices, sizes = buf.cols
        for side, levels, mine in ((S.BID, b.bids, book.bids), (S.ASK, b.asks, book.asks)):
            for px, sz in levels:
                ts_recv.append(now)
                ts_ev.append(b.ts)
                seqs.append(n)
                gaps.append(gap)
                seq.append(b.sequence)
                kinds.append(kind)
                sides.append(side)
                prices.append(px)
                sizes.append(sz)
                if sz:
                    mine[px] = sz
                else:
                    mine.pop(px, None)
        buf.rows = len(ts_recv)

    def checkpoint(self) -> int:
        """Write every book as it stands (kind CHECKPOINT); returns the books written."""
        now = self.now_ns()
        for sym, book in self.books.items():
            if not book.bids and not book.asks:
                continue
            buf = self._buffer(S.BOOK, sym, now)
            self.stats.messages += 1
            n = self.stats.messages
            ts_recv, ts_ev, seqs, gaps, seq, kinds, sides, prices, sizes = buf.cols
            levels = [(S.BID, p, book.bids[p]) for p in sorted(book.bids, reverse=True)]
            levels += [(S.ASK, p, book.asks[p]) for p in sorted(book.asks)]
            for side, px, sz in levels:
                ts_recv.append(now)
                ts_ev.append(now)
                seqs.append(n)
                gaps.append(False)
                seq.append(book.sequence)
                kinds.append(S.CHECKPOINT)
                sides.append(side)
                prices.append(px)
                sizes.append(sz)
            buf.rows = len(ts_recv)
        self._next_checkpoint = now + self.checkpoint_ns
        return len(self.books)

    # -- durability -----------------------------------------------------------------------
    def flush(self) -> int:
        """Make everything received so far durable (checkpointing books when due)."""
        if self.checkpoint_ns and self.now_ns() >= self._next_checkpoint:
            self.checkpoint()
        rows = self.writer.flush()
        self.stats.rows += rows
        return rows

    def roll(self) -> None:
        """Checkpoint, flush and compact the flush files into one file per partition."""
        self.checkpoint()
        self.stats.rows += self.writer.flush()
        self.writer.roll()


def _interval(ns: int) -> str:
    for unit, size in (("d", 86_400 * NS), ("h", 3_600 * NS), ("m", 60 * NS), ("s", NS)):
        if ns and ns % size == 0:
            return f"{ns // size}{unit}"
    return f"{ns}ns"
