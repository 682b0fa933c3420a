"""Reading the store back: one stream's rows, books rebuilt from deltas, model events.

Why rows become model events here (not in the engine): the replay must hand the Kernel exactly
the events a live gateway would have, so the decoding from rows lives next to the schema that
wrote them, and the engine-side runner only merges and dispatches.
"""

from __future__ import annotations

import gc
import operator
from collections.abc import Iterable, Iterator
from decimal import Decimal
from itertools import chain, repeat
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from tradeloop.book.checksum import okx_checksum
from tradeloop.model import Bar, BookLevels, Event, QuoteTick, Side, TradeTick
from tradeloop.model.identity import InstrumentId
from tradeloop.store import schema as S


def read_stream(
    root: Path, venue: str, channel: str, instrument: str, start_ns: int = 0, end_ns: int = 0
) -> pa.Table:
    """Rows of one (venue, channel, instrument), in recording order (``ts_recv``, ``rec_seq``),
    optionally restricted to ``start_ns <= ts_recv < end_ns``."""
    base = S.partition_dir(root, venue, channel, instrument, "x").parent
    files: list[Path] = []
    if base.is_dir():
        for d in sorted(base.iterdir()):
            files.extend(S.live_files(d))
    if not files:
        return S.SCHEMAS[channel].empty_table()
    t = pa.concat_tables([pq.read_table(f, schema=S.SCHEMAS[channel]) for f in files])
    if start_ns or end_ns:
        ts = t.column("ts_recv")
        mask = pc.greater_equal(ts, start_ns)
        if end_ns:
            mask = pc.and_(mask, pc.less(ts, end_ns))
        t = t.filter(mask)
    return t.sort_by([("ts_recv", "ascending"), ("rec_seq", "ascending")])


def text(x: float) -> str:
    """A float as the plain decimal text a venue sends (no exponent, no trailing zeros)."""
    s = repr(x)
    if "e" in s or "E" in s:
        s = format(Decimal(s), "f")
    return s[:-2] if s.endswith(".0") else s


class Book:
    """A full-depth L2 book rebuilt from store rows."""

    __slots__ = ("asks", "bids", "sequence", "valid")

    def __init__(self) -> None:
        self.bids: dict[float, float] = {}
        self.asks: dict[float, float] = {}
        self.sequence = 0
        self.valid = False

    def top(self, n: int) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        b = sorted(self.bids.items(), reverse=True)[:n]
        a = sorted(self.asks.items())[:n]
        return b, a

    def okx_checksum(self, depth: int = 25) -> int:
        b, a = self.top(depth)
        return okx_checksum(
            [(text(p), text(s)) for p, s in b], [(text(p), text(s)) for p, s in a], depth
        )


_Levels = list[tuple[float, float]]
#: book messages decoded per step of :func:`_book_events` (bounds the level lists held at once)
CHUNK = 1 << 16


def _bounds(t: pa.Table) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per book message of ``t``: first row, end of its bids, end row, and whether its rows
    are bids then asks (what the recorder and importers write).

    Why vectorised: this is the replay's decode step. Message bounds (a change of ``rec_seq``)
    and each message's bid count come from numpy; a bids-first message is then two C-level
    slices of one list of level tuples, and any other order falls back to the row-by-row
    split (:func:`_rows`), so the result is the same either way."""
    n = t.num_rows
    rs_np = np.asarray(t.column("rec_seq"))
    bid_np = np.asarray(t.column("side")) == S.BID
    starts = np.flatnonzero(np.diff(rs_np)) + 1
    a_np = np.concatenate(([0], starts))
    b_np = np.concatenate((starts, [n]))
    cb = np.concatenate(([0], np.cumsum(bid_np)))
    nb_np = cb[b_np] - cb[a_np]
    # bids first: the first nb rows of the message are all bids
    ok = (cb[a_np + nb_np] - cb[a_np]) == nb_np
    return a_np, a_np + nb_np, b_np, ok


def _rows(t: pa.Table, a: int, b: int) -> tuple[_Levels, _Levels]:
    """Rows ``a:b`` split into bids and asks one by one (a message not written bids-first)."""
    s = t.slice(a, b - a)
    bids: _Levels = []
    asks: _Levels = []
    for sd, p, q in zip(*(s.column(c).to_pylist() for c in ("side", "price", "size")), strict=True):
        (bids if sd == S.BID else asks).append((p, q))
    return bids, asks


def _levels(
    t: pa.Table,
    pairs: list[tuple[float, float]],
    a: list[int],
    m: list[int],
    b: list[int],
    ok: np.ndarray,
) -> tuple[list[_Levels], list[_Levels]]:
    """Bids and asks of the messages with bounds ``a``/``m``/``b`` (lists of one chunk)."""
    bids = [pairs[x:y] for x, y in zip(a, m, strict=True)]
    asks = [pairs[y:z] for y, z in zip(m, b, strict=True)]
    for i in np.flatnonzero(~ok).tolist():
        bids[i], asks[i] = _rows(t, a[i], b[i])
    return bids, asks


def _pairs(t: pa.Table) -> list[tuple[float, float]]:
    """Every level's (price, size) tuple at once, sliced per message.

    The cycle collector is paused while they are made: a million new tuples (no cycles among
    them) would otherwise trigger full collections that walk the whole heap, which measured
    as half the cost of building them."""
    px, sz = (_floats(t.column(c)) for c in ("price", "size"))
    paused = gc.isenabled()
    gc.disable()
    try:
        return list(zip(px, sz, strict=True))
    finally:
        if paused:
            gc.enable()


def _floats(col: pa.ChunkedArray) -> list[float]:
    """A float column as Python floats (numpy's ``tolist`` is the quicker path; nulls keep
    pyarrow's None)."""
    return np.asarray(col).tolist() if col.null_count == 0 else col.to_pylist()


def _values(col: pa.ChunkedArray, rows: np.ndarray) -> list[int]:
    """``col[rows]`` as Python ints (numpy's path when there are no nulls, else pyarrow's)."""
    if col.null_count == 0:
        return np.asarray(col)[rows].tolist()
    return col.take(pa.array(rows)).to_pylist()


def book_messages(
    t: pa.Table,
) -> Iterator[tuple[int, int, int, bool, _Levels, _Levels]]:
    """Group book rows into messages: (ts_recv, sequence, kind, gap, bids, asks)."""
    if not t.num_rows:
        return
    a_np, m_np, b_np, ok = _bounds(t)
    bids, asks = _levels(t, _pairs(t), a_np.tolist(), m_np.tolist(), b_np.tolist(), ok)
    first = pa.array(a_np)
    ts, seq, kind, gap = (
        t.column(c).take(first).to_pylist() for c in ("ts_recv", "sequence", "kind", "gap")
    )
    yield from zip(ts, seq, kind, gap, bids, asks, strict=True)


def _book_events(t: pa.Table, symbol: str) -> Iterator[Event]:
    """A book stream as ``BookLevels`` (deltas over a gap left out), built a chunk of
    messages at a time by ``map`` over columns: no Python frame per message."""
    if not t.num_rows:
        return iter(())
    a_np, m_np, b_np, ok = _bounds(t)
    kind = np.asarray(t.column("kind"))[a_np]
    gap = np.asarray(t.column("gap"))[a_np]
    snap = kind != S.DELTA
    keep = ~(gap & ~snap)
    a_np, m_np, b_np, ok, snap = a_np[keep], m_np[keep], b_np[keep], ok[keep], snap[keep]
    ts = _values(t.column("ts_recv"), a_np)
    seq = _values(t.column("sequence"), a_np)
    pairs = _pairs(t)

    def chunks() -> Iterator[Iterator[Event]]:
        for c in range(0, len(ts), CHUNK):
            d = slice(c, c + CHUNK)
            a, m, b = a_np[d].tolist(), m_np[d].tolist(), b_np[d].tolist()
            if ok[d].all():  # lazily sliced: each message's lists exist only while it does
                bids: Iterable[_Levels] = map(pairs.__getitem__, map(slice, a, m))
                asks: Iterable[_Levels] = map(pairs.__getitem__, map(slice, m, b))
            else:
                bids, asks = _levels(t, pairs, a, m, b, ok[d])
            yield map(BookLevels, ts[d], repeat(symbol), bids, asks, snap[d].tolist(), seq[d])

    return chain.from_iterable(chunks())


def apply(
    book: Book,
    kind: int,
    gap: bool,
    seq: int,
    bids: list[tuple[float, float]],
    asks: list[tuple[float, float]],
) -> bool:
    """Apply one message; False when it could not be (a delta over a hole)."""
    if kind != S.DELTA:
        book.bids = {p: s for p, s in bids if s}
        book.asks = {p: s for p, s in asks if s}
        book.valid = True
    elif gap or not book.valid:
        book.valid = False
        return False
    else:
        for side, levels in ((book.bids, bids), (book.asks, asks)):
            for p, s in levels:
                if s:
                    side[p] = s
                else:
                    side.pop(p, None)
    book.sequence = seq
    return True


def stream_events(
    root: Path, symbol: str, channel: str, start_ns: int = 0, end_ns: int = 0
) -> Iterator[Event]:
    """One stream as model events stamped with ``ts_recv`` (what live code saw, when)."""
    return _events(_table(root, symbol, channel, start_ns, end_ns), symbol, channel)


def _table(root: Path, symbol: str, channel: str, start_ns: int, end_ns: int) -> pa.Table:
    sid = InstrumentId.parse(symbol)
    return read_stream(root, sid.venue, channel, sid.native, start_ns, end_ns)


def _event_times(t: pa.Table, channel: str) -> np.ndarray:
    """``ts`` of each event :func:`_events` yields for ``t`` (computed without making them)."""
    ts = np.asarray(t.column("ts_recv"))
    if channel != S.BOOK or not len(ts):
        return ts
    rs = np.asarray(t.column("rec_seq"))
    a = np.concatenate(([0], np.flatnonzero(np.diff(rs)) + 1))
    kind = np.asarray(t.column("kind"))[a]
    gap = np.asarray(t.column("gap"))[a]
    return ts[a][~(gap & (kind == S.DELTA))]


def _events(t: pa.Table, symbol: str, channel: str) -> Iterator[Event]:
    if channel == S.BOOK:
        return _book_events(t, symbol)
    if channel == S.TRADES:
        # only the columns a TradeTick needs, numbers by numpy's quicker path
        ts = t.column("ts_recv")
        d = {
            "ts_recv": ts.to_pylist() if ts.null_count else np.asarray(ts).tolist(),
            "price": _floats(t.column("price")),
            "qty": _floats(t.column("qty")),
            "side": t.column("side").to_pylist(),
            "trade_id": t.column("trade_id").to_pylist(),
        }
        px = d["price"]
        sides = {"buy": Side.BUY, "sell": Side.SELL}
        buy, sell = Side.BUY, Side.SELL
        # unknown side (some imported files): the tick rule against the previous price
        side = [
            sides.get(sd) or (buy if p >= last else sell)
            for sd, p, last in zip(d["side"], px, [0.0, *px][: len(px)], strict=True)
        ]
        return map(TradeTick, d["ts_recv"], repeat(symbol), px, d["qty"], side, d["trade_id"])
    return _row_events(t, symbol, channel)


def _row_events(t: pa.Table, symbol: str, channel: str) -> Iterator[Event]:
    d = t.to_pydict()
    if channel == S.CUSTOM:
        from tradeloop.store.custom import decode

        for ts, kind, payload in zip(d["ts_recv"], d["kind"], d["payload"], strict=True):
            yield decode(kind, ts, payload)
    elif channel == S.QUOTES:
        for row in zip(d["ts_recv"], d["bid"], d["bid_qty"], d["ask"], d["ask_qty"], strict=True):
            yield QuoteTick(row[0], symbol, *row[1:])
    elif channel == S.BARS:
        for ts, st, o, h, lo, c, v in zip(
            d["ts_recv"],
            d["start"],
            d["open"],
            d["high"],
            d["low"],
            d["close"],
            d["volume"],
            strict=True,
        ):
            yield Bar(ts, symbol, st, o, h, lo, c, v)


def merged(
    root: Path, streams: list[tuple[str, str]], start_ns: int = 0, end_ns: int = 0
) -> Iterator[Event]:
    """Many (symbol, channel) streams merged in time order; ties keep the order of
    ``streams`` (stable: books before trades if listed so), so replay is deterministic.

    Why not ``heapq.merge``: the order is known before any event exists — a stable numpy sort
    of every stream's event times by (ts, stream) — so each step is one ``next()`` on the
    stream whose turn it is, with no per-event tuples or heap (the replay's decode step)."""
    tables = [_table(root, sym, ch, start_ns, end_ns) for sym, ch in streams]
    times = [_event_times(t, ch) for t, (_sym, ch) in zip(tables, streams, strict=True)]
    if not any(len(x) for x in times):
        return
    ts_all = np.concatenate(times)
    k_all = np.concatenate([np.full(len(x), k, np.int64) for k, x in enumerate(times)])
    order = k_all[np.lexsort((k_all, ts_all))].tolist()  # lexsort is stable
    nexts = [_events(t, sym, ch).__next__ for t, (sym, ch) in zip(tables, streams, strict=True)]
    # all in C per event: the stream's turn -> its iterator's next() (itself a map)
    turns = iter(order)
    yield from map(operator.call, map(nexts.__getitem__, turns))
    if next(turns, None) is not None:  # a stream ran dry before its times did: a bug
        raise RuntimeError("store replay: a stream yielded fewer events than it has times")
