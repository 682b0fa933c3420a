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
