"""Market data store throughput: record into Parquet, store size, replay, DuckDB query.

Four figures (issue 17), all in this one process, no network:

* recording: model events (book deltas of a few levels, trades) through ``Recorder`` into a
  ``StoreWriter`` with a flush every ``--flush-every`` messages (the 2 s flush of a live
  recorder at ~``flush-every/2`` messages/s), periodic book checkpoints and a final roll
  (compaction) included — messages/s of wall time and of this process's CPU time (one core);
* store size per million book messages (on disk after the roll, zstd Parquet);
* replay: store rows → ``reader.merged`` (decode into ``BookLevels`` / ``TradeTick``) →
  ``run_tick_backtest`` (simulated venue's L2 book, top-of-book quotes, bar aggregator) → the
  Kernel's bus → a strategy's ``on_book`` / ``on_trade`` / ``on_quote`` — events/s;
* DuckDB: one day of trades (``--day-trades`` rows in one date partition) through the catalog:
  count/volume/VWAP and 1-minute OHLC buckets.

The book walk is seeded (deterministic): a ``--depth``-level book per side around a random-walk
mid, each delta changing 1-6 levels near the top (size changes, deletions, insertions), about
one trade per four book messages, two instruments interleaved.

    .venv/bin/python bench/record_replay.py [--messages 1000000] [--day-trades 2000000]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.dataset  # imported before timing (see bench_replay)

from tradeloop.engine.strategy import Strategy
from tradeloop.engine.tick_replay import run_tick_backtest
from tradeloop.model import BookLevels, Event, Instrument, QuoteTick, Side, TradeTick
from tradeloop.store import schema as S
from tradeloop.store.reader import merged
from tradeloop.store.recorder import Recorder
from tradeloop.store.writer import StoreWriter

T0 = 1_700_000_000 * 10**9 - (1_700_000_000 * 10**9) % (86_400 * 10**9)  # a UTC midnight
SYMS = ("BTC-USDT.OKX", "ETH-USDT.OKX")


def book_walk(n_book: int, depth: int, seed: int = 7) -> Iterator[Event]:
    """``n_book`` book messages (two snapshots first) and about ``n_book / 4`` trades."""
    rng = random.Random(seed)
    tick = {"BTC-USDT.OKX": 0.1, "ETH-USDT.OKX": 0.01}
    mid_i = {"BTC-USDT.OKX": 300_000, "ETH-USDT.OKX": 200_000}  # in ticks
    books: dict[str, tuple[dict[int, float], dict[int, float]]] = {}
    seq = dict.fromkeys(SYMS, 1)
    ts = T0
    for sym in SYMS:
        m, t = mid_i[sym], tick[sym]
        bids = {m - 1 - i: round(rng.uniform(0.01, 5), 4) for i in range(depth)}
        asks = {m + 1 + i: round(rng.uniform(0.01, 5), 4) for i in range(depth)}
        books[sym] = (bids, asks)
        yield BookLevels(
            ts,
            sym,
            [(round(p * t, 2), s) for p, s in bids.items()],
            [(round(p * t, 2), s) for p, s in asks.items()],
            True,
            1,
        )
    for k in range(n_book - len(SYMS)):
        ts += rng.randint(1_000_000, 40_000_000)
        sym = SYMS[k & 1]
        t = tick[sym]
        bids, asks = books[sym]
        step = rng.choice((-1, 0, 0, 0, 1))
        m = mid_i[sym] = mid_i[sym] + step
        out_b: list[tuple[float, float]] = []
        out_a: list[tuple[float, float]] = []
        for p in [p for p in bids if p >= m]:  # the spread moved up: bids at/above mid go
            del bids[p]
            out_b.append((round(p * t, 2), 0.0))
        for p in [p for p in asks if p <= m]:
            del asks[p]
            out_a.append((round(p * t, 2), 0.0))
        for _ in range(rng.randint(1, 4)):
            is_bid = rng.random() < 0.5
            side, out = (bids, out_b) if is_bid else (asks, out_a)
            off = int(rng.expovariate(0.3)) + 1
            p = m - off if is_bid else m + off
            size = 0.0 if (p in side and rng.random() < 0.25) else round(rng.uniform(0.01, 5), 4)
            if size:
                side[p] = size
            else:
                side.pop(p, None)
            out.append((round(p * t, 2), size))
        seq[sym] += 1
        yield BookLevels(ts, sym, out_b, out_a, False, seq[sym])
        if rng.random() < 0.25:
            side_t = Side.BUY if rng.random() < 0.5 else Side.SELL
            best = min(asks) if side_t is Side.BUY else max(bids)
            yield TradeTick(ts, sym, round(best * t, 2), round(rng.uniform(0.001, 1), 4), side_t,
                            str(k))  # fmt: skip


def bench_record(root: Path, events: list[Event], flush_every: int) -> tuple[float, float, int]:
    """(wall s, CPU s, messages) to record ``events`` with a flush every ``flush_every``."""
    clock = [T0]
    rec = Recorder(StoreWriter(root, sync=True), checkpoint_s=60, now_ns=lambda: clock[0])
    on = rec.on_market_data
    w0, c0 = time.perf_counter(), time.process_time()
    for i, ev in enumerate(events, 1):
        clock[0] = ev.ts
        on(ev)
        if i % flush_every == 0:
            rec.flush()
    rec.roll()
    return time.perf_counter() - w0, time.process_time() - c0, rec.stats.messages


def store_bytes(root: Path, channel: str) -> int:
    return sum(f.stat().st_size for f in S.all_files(root) if f"channel={channel}" in str(f))


class Listener(Strategy):
    """Counts what reaches a strategy (so nothing is optimised away)."""

    symbols = SYMS

    def on_start(self) -> None:
        self.books = self.trades = self.quotes = self.bars = 0

    def on_book(self, b: BookLevels) -> None:
        self.books += 1

    def on_trade(self, t: TradeTick) -> None:
        self.trades += 1

    def on_quote(self, q: QuoteTick) -> None:
        self.quotes += 1

    def on_bar(self, b: object) -> None:
        self.bars += 1


def instruments() -> list[Instrument]:
    return [
        Instrument(SYMS[0], "BTC", "USDT", tick_size=0.1, lot_size=0.0001),
        Instrument(SYMS[1], "ETH", "USDT", tick_size=0.01, lot_size=0.001),
    ]


def bench_replay(root: Path) -> tuple[float, float, int, Listener]:
    """(wall s, CPU s, events, strategy) of a tick backtest over the whole store.

    ``pyarrow.dataset`` (what ``pq.read_table`` uses) is imported with this module, not inside
    the timing: a one-time import (~0.3 s) is start-up, not replay throughput."""
    streams = [(s, ch) for s in SYMS for ch in (S.BOOK, S.TRADES)]
    strat = Listener()
    w0, c0 = time.perf_counter(), time.process_time()
    res = run_tick_backtest(
        [strat], instruments(), merged(root, streams), {"USDT": 1_000_000.0}, bar_interval="1m"
    )
    return time.perf_counter() - w0, time.process_time() - c0, res.events, strat


def bench_decode(root: Path) -> tuple[float, int]:
    """CPU s and events of the decode step alone (store rows -> merged model events)."""
    streams = [(s, ch) for s in SYMS for ch in (S.BOOK, S.TRADES)]
    c0 = time.process_time()
    n = sum(1 for _ in merged(root, streams))
    return time.process_time() - c0, n


def bench_duckdb(root: Path, n: int) -> list[tuple[str, float, object]]:
    """Write one day of ``n`` trades for one instrument, then time catalog queries."""
    rng = np.random.default_rng(3)
    ts = np.sort(T0 + rng.integers(0, 86_400 * 10**9, n))
    px = 30_000 + np.cumsum(rng.choice([-0.1, 0.0, 0.1], n))
    t = pa.table({
        "ts_recv": ts, "ts_event": ts, "rec_seq": np.arange(1, n + 1), "gap": np.zeros(n, bool),
        "price": px.round(1), "qty": rng.uniform(0.0001, 2, n).round(4),
        "side": np.where(rng.random(n) < 0.5, "buy", "sell").tolist(),
        "trade_id": np.arange(n).astype(str).tolist(),
    }).cast(S.SCHEMAS[S.TRADES])  # fmt: skip
    day = time.strftime("%Y-%m-%d", time.gmtime(T0 // 10**9))
    w = StoreWriter(root, sync=False)
    w.append_table(("BINANCE", S.TRADES, "BTCUSDT", day), t)
    from tradeloop.store.catalog import connect

    out: list[tuple[str, float, object]] = []
    w0 = time.perf_counter()
    con = connect(root)
    out.append(("connect (views over the store)", time.perf_counter() - w0, ""))
    queries = {
        "count, volume, VWAP of the day": (
            "SELECT count(*), sum(qty), sum(price*qty)/sum(qty) FROM trades "
            f"WHERE venue='BINANCE' AND instrument='BTCUSDT' AND date='{day}'"
        ),
        "1-minute OHLCV bars of the day": (
            "SELECT count(*) FROM (SELECT ts_recv // 60000000000 AS m, arg_min(price, ts_recv), "
            "max(price), min(price), arg_max(price, ts_recv), sum(qty) FROM trades "
            f"WHERE instrument='BTCUSDT' AND date='{day}' GROUP BY m)"
        ),
    }
    for name, sql in queries.items():
        w0 = time.perf_counter()
        r = con.execute(sql).fetchall()
        out.append((name, time.perf_counter() - w0, r[0]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=1_000_000, help="book messages to record")
    ap.add_argument("--depth", type=int, default=400, help="levels per side in the book")
    ap.add_argument("--flush-every", type=int, default=100_000, help="messages per flush")
    ap.add_argument("--day-trades", type=int, default=2_000_000, help="trades in the day")
    ap.add_argument("--keep", help="record into this folder and keep it")
    args = ap.parse_args()
    tmp = Path(args.keep or tempfile.mkdtemp(prefix="tl-bench-store-"))
    try:
        events = list(book_walk(args.messages, args.depth))
        n_book = sum(1 for e in events if type(e) is BookLevels)
        levels = sum(len(e.bids) + len(e.asks) for e in events if type(e) is BookLevels)
        print(f"generated {len(events):,} events: {n_book:,} book messages "
              f"({levels / n_book:.1f} levels/msg incl. 2 snapshots of {args.depth}x2), "
              f"{len(events) - n_book:,} trades")  # fmt: skip
        wall, cpu, msgs = bench_record(tmp, events, args.flush_every)
        print(f"record:  {msgs:,} messages in {wall:.2f} s wall / {cpu:.2f} s CPU -> "
              f"{msgs / wall:,.0f} msg/s wall, {msgs / cpu:,.0f} msg/s per core (CPU)")  # fmt: skip
        bb, tb = store_bytes(tmp, S.BOOK), store_bytes(tmp, S.TRADES)
        print(f"store:   book {bb / 1e6:.1f} MB for {n_book:,} messages -> "
              f"{bb / n_book:.1f} B/msg = {bb / n_book:.1f} MB per million book messages; "
              f"trades {tb / max(1, len(events) - n_book):.1f} B/trade")  # fmt: skip
        del events
        wall, cpu, n, st = bench_replay(tmp)
        print(f"replay:  {n:,} events in {wall:.2f} s wall / {cpu:.2f} s CPU -> "
              f"{n / wall:,.0f} events/s wall, {n / cpu:,.0f} events/s per core (CPU) "
              f"(strategy saw {st.books:,} books, {st.trades:,} trades, {st.quotes:,} quotes, "
              f"{st.bars:,} bars)")  # fmt: skip
        cpu_d, n_d = bench_decode(tmp)
        print(f"decode:  {n_d:,} events in {cpu_d:.2f} s CPU -> {n_d / cpu_d:,.0f} events/s "
              "per core (rows -> model events, merged; no book, no engine)")  # fmt: skip
        qroot = tmp / "duck"
        for name, secs, r in bench_duckdb(qroot, args.day_trades):
            print(f"duckdb:  {name}: {secs * 1000:.0f} ms {r}")
        print(f"duckdb:  day file {store_bytes(qroot, S.TRADES) / 1e6:.1f} MB, "
              f"{args.day_trades:,} trades")  # fmt: skip
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
              f"on {os.cpu_count()} CPUs")  # fmt: skip
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
