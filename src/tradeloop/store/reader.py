"""Reading the store back: one stream's rows, books rebuilt from deltas, model events.

Why rows become model events here (not in the engine): the replay must hand the Kernel exactly
the events a live gateway would have, so the decoding from rows lives next to the schema that
wrote them, and the engine-side runner only merges and dispatches.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

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


def book_messages(
    t: pa.Table,
) -> Iterator[tuple[int, int, int, bool, list[tuple[float, float]], list[tuple[float, float]]]]:
    """Group book rows into messages: (ts_recv, sequence, kind, gap, bids, asks)."""
    cols = [
        t.column(n).to_pylist()
        for n in ("ts_recv", "rec_seq", "sequence", "kind", "gap", "side", "price", "size")
    ]
    ts, rs, seq, kind, gap, side, px, sz = cols
    i, n = 0, len(rs)
    while i < n:
        j = i
        bids: list[tuple[float, float]] = []
        asks: list[tuple[float, float]] = []
        r = rs[i]
        while j < n and rs[j] == r:
            (bids if side[j] == S.BID else asks).append((px[j], sz[j]))
            j += 1
        yield ts[i], seq[i], kind[i], gap[i], bids, asks
        i = j


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
    sid = InstrumentId.parse(symbol)
    t = read_stream(root, sid.venue, channel, sid.native, start_ns, end_ns)
    if channel == S.BOOK:
        for ts, seq, kind, gap, bids, asks in book_messages(t):
            if gap and kind == S.DELTA:
                continue
            yield BookLevels(ts, symbol, bids, asks, kind != S.DELTA, seq)
        return
    d = t.to_pydict()
    if channel == S.TRADES:
        sides = {"buy": Side.BUY, "sell": Side.SELL}
        last = 0.0
        for ts, p, q, sd, tid in zip(
            d["ts_recv"], d["price"], d["qty"], d["side"], d["trade_id"], strict=True
        ):
            # unknown side (some imported files): the tick rule
            side = sides.get(sd) or (Side.BUY if p >= last else Side.SELL)
            last = p
            yield TradeTick(ts, symbol, p, q, side, tid)
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
    ``streams`` (stable: books before trades if listed so), so replay is deterministic."""
    its = [
        ((ev.ts, k, ev) for ev in stream_events(root, sym, ch, start_ns, end_ns))
        for k, (sym, ch) in enumerate(streams)
    ]
    for _ts, _k, ev in heapq.merge(*its, key=lambda x: (x[0], x[1])):
        yield ev
