"""The replay's optimised paths give the same results as the plain ones they replaced.

Why: ``book_messages`` splits messages with numpy slices and ``run_tick_backtest`` takes the
top of book from sorted price lists; both were made fast for bench/record_replay.py, and these
tests pin them to the obvious row-by-row / max()-min() definitions.
"""

from __future__ import annotations

import random
from pathlib import Path

import pyarrow as pa

from tradeloop.engine.strategy import Strategy
from tradeloop.engine.tick_replay import run_tick_backtest
from tradeloop.model import BookLevels, Instrument, QuoteTick
from tradeloop.store import schema as S
from tradeloop.store.reader import book_messages, merged
from tradeloop.store.recorder import Recorder
from tradeloop.store.writer import StoreWriter

T0 = 1_700_000_000 * 10**9


def _slow(t: pa.Table) -> list[tuple[object, ...]]:
    d = t.to_pydict()
    out: list[tuple[object, ...]] = []
    i, n = 0, t.num_rows
    while i < n:
        j = i
        bids: list[tuple[float, float]] = []
        asks: list[tuple[float, float]] = []
        while j < n and d["rec_seq"][j] == d["rec_seq"][i]:
            (bids if d["side"][j] == S.BID else asks).append((d["price"][j], d["size"][j]))
            j += 1
        out.append((d["ts_recv"][i], d["sequence"][i], d["kind"][i], d["gap"][i], bids, asks))
        i = j
    return out


def test_book_messages_equal_the_row_by_row_split() -> None:
    rng = random.Random(1)
    rows: dict[str, list[object]] = {n: [] for n in S.SCHEMAS[S.BOOK].names}
    for msg in range(1, 400):
        sides = [rng.choice((S.BID, S.ASK)) for _ in range(rng.randint(1, 6))]
        if msg % 3:  # most messages bids first (recorder order); the rest mixed
            sides.sort()
        for sd in sides:
            for name, v in zip(
                rows,
                (T0 + msg, T0, msg, msg % 50 == 0, msg, msg % 2, sd, 100.0 + rng.randint(0, 9),
                 float(rng.randint(0, 3))),
                strict=True,
            ):  # fmt: skip
                rows[name].append(v)
    t = pa.table(rows, schema=S.SCHEMAS[S.BOOK])
    assert list(book_messages(t)) == _slow(t)
    # merged() orders events by times computed without making them (gap deltas left out)
    from tradeloop.store.reader import _event_times, _events

    evs = list(_events(t, "X-USDT.OKX", S.BOOK))
    assert len(evs) < len(_slow(t))  # some deltas follow a gap
    assert _event_times(t, S.BOOK).tolist() == [e.ts for e in evs]
    assert list(book_messages(S.SCHEMAS[S.BOOK].empty_table())) == []


class Quotes(Strategy):
    symbols = ("X-USDT.OKX",)

    def on_start(self) -> None:
        self.quotes: list[tuple[int, float, float, float, float]] = []
        self.books: list[BookLevels] = []

    def on_quote(self, q: QuoteTick) -> None:
        self.quotes.append((q.ts, q.bid, q.bid_qty, q.ask, q.ask_qty))

    def on_book(self, b: BookLevels) -> None:
        self.books.append(b)


def test_replayed_quotes_equal_the_max_min_top(tmp_path: Path) -> None:
    sym = "X-USDT.OKX"
    clock = [T0]
    rec = Recorder(StoreWriter(tmp_path, sync=False), checkpoint_s=0, now_ns=lambda: clock[0])
    rng = random.Random(9)
    rec.on_market_data(BookLevels(T0, sym, [(99.0 - i, 1.0) for i in range(20)],
                                  [(101.0 + i, 1.0) for i in range(20)], True, 1))  # fmt: skip
    for k in range(2000):
        clock[0] += 1_000_000
        lv = [(float(rng.randint(80, 120)), float(rng.choice((0, 0, 1, 2)))) for _ in range(4)]
        bids = [(p, s) for p, s in lv if p < 100]
        asks = [(p, s) for p, s in lv if p > 100]
        rec.on_market_data(BookLevels(clock[0], sym, bids, asks, k % 700 == 0, k + 2))
    rec.roll()
    st = Quotes()
    inst = Instrument(sym, "X", "USDT", tick_size=1.0, lot_size=1.0)
    run_tick_backtest([st], [inst], merged(tmp_path, [(sym, S.BOOK)]), {"USDT": 1e6})
    # reference: the top from a dict of levels by max()/min(), a quote when it changes
    rb: dict[float, float] = {}
    ra: dict[float, float] = {}
    want, last = [], None
    for b in st.books:
        if b.snapshot:
            rb.clear()
            ra.clear()
        for side, levels in ((rb, b.bids), (ra, b.asks)):
            for p, s in levels:
                if s:
                    side[p] = s
                else:
                    side.pop(p, None)
        if rb and ra:
            q = (max(rb), rb[max(rb)], min(ra), ra[min(ra)])
            if q != last:
                last = q
                want.append((b.ts, *q))
    assert len(st.books) == 2002  # with the checkpoint the roll writes
    assert st.quotes == want


def test_merged_equals_a_heap_merge_of_the_streams(tmp_path: Path) -> None:
    """Ties (same ts across streams) keep the listed order; a book delta after a gap is
    skipped the same way in both."""
    import heapq

    from tradeloop.model import Side, TradeTick, VenueStatus
    from tradeloop.store.reader import stream_events

    syms = ["A-USDT.OKX", "B-USDT.OKX"]
    clock = [T0]
    rec = Recorder(StoreWriter(tmp_path, sync=False), checkpoint_s=0, now_ns=lambda: clock[0])
    rng = random.Random(4)
    for s in syms:
        rec.on_market_data(BookLevels(T0, s, [(9.0, 1.0)], [(11.0, 1.0)], True, 1))
    for k in range(600):
        clock[0] += rng.choice((0, 0, 1_000))  # many equal receive times
        s = syms[k % 2]
        if k == 300:
            rec.on_status(VenueStatus(clock[0], "OKX", "disconnected", "drop"))
        if k in (300, 301):
            rec.on_market_data(BookLevels(clock[0], s, [(9.0, 2.0)], [(11.0, 2.0)], True, k))
        rec.on_market_data(BookLevels(clock[0], s, [(9.0, float(k % 3))], [], False, k + 2))
        if k % 4 == 0:
            rec.on_market_data(TradeTick(clock[0], s, 10.0, 0.1, Side.BUY, str(k)))
    rec.roll()
    streams = [(s, ch) for s in syms for ch in (S.BOOK, S.TRADES)]
    its = [
        [(ev.ts, k, n, ev) for n, ev in enumerate(stream_events(tmp_path, sym, ch))]
        for k, (sym, ch) in enumerate(streams)
    ]
    want = [item[3] for item in heapq.merge(*its)]
    got = list(merged(tmp_path, streams))
    assert len(got) > 700 and got == want
    assert list(merged(tmp_path, [("C-USDT.OKX", S.BOOK)])) == []
