"""A tick-level backtest from the store: books and trades recorded, replayed through the
Kernel; a strategy acting in ``on_book`` is deterministic and its fills respect the book."""

from __future__ import annotations

import random
from pathlib import Path

from tradeloop.engine.strategy import Strategy
from tradeloop.engine.tick_replay import run_tick_backtest
from tradeloop.model import BookLevels, Instrument, Liquidity, QuoteTick, Side, TradeTick
from tradeloop.store import schema as S
from tradeloop.store.reader import merged
from tradeloop.store.recorder import Recorder
from tradeloop.store.writer import StoreWriter

T0 = 1_700_000_000 * 10**9
SYMS = ["BTC-USDT.OKX", "ETH-USDT.OKX"]


def make_store(root: Path) -> None:
    """A seeded random book walk per instrument, recorded like live data."""
    clock = [T0]
    rec = Recorder(StoreWriter(root, sync=False), checkpoint_s=30, now_ns=lambda: clock[0])
    rng = random.Random(5)
    mids = {"BTC-USDT.OKX": 30_000.0, "ETH-USDT.OKX": 2_000.0}
    for sym, mid in mids.items():
        bids = [(mid - 1 - i, 1.0 + i) for i in range(10)]
        asks = [(mid + 1 + i, 1.0 + i) for i in range(10)]
        rec.on_market_data(BookLevels(clock[0], sym, bids, asks, True, 1))
    seq = dict.fromkeys(mids, 1)
    for step in range(3000):
        clock[0] += 50_000_000
        sym = SYMS[step % 2]
        m = mids[sym] = mids[sym] + rng.choice((-1.0, 0.0, 1.0))
        seq[sym] += 1
        bids = [(m - 1 - i, round(rng.uniform(0.5, 3), 3)) for i in range(3)] + [(m - 4, 0.0)]
        asks = [(m + 1 + i, round(rng.uniform(0.5, 3), 3)) for i in range(3)] + [(m + 4, 0.0)]
        # drop levels the walk left behind (inside the new spread)
        bids += [(m + k, 0.0) for k in range(0, 5)]
        asks += [(m - k, 0.0) for k in range(0, 5)]
        rec.on_market_data(BookLevels(clock[0], sym, bids, asks, False, seq[sym]))
        if step % 3 == 0:
            side = rng.choice((Side.BUY, Side.SELL))
            px = m + 1 if side is Side.BUY else m - 1
            rec.on_market_data(TradeTick(clock[0], sym, px, 0.2, side, str(step)))
        if step % 500 == 0:
            rec.flush()
    rec.roll()


class BookScalper(Strategy):
    """Buys 0.1 at the ask when the bid side outweighs the ask side, sells when reversed."""

    symbols = tuple(SYMS)

    def on_start(self) -> None:
        self.seen: list[tuple[int, str, float, float]] = []

    def on_quote(self, q: QuoteTick) -> None:
        self.seen.append((q.ts, q.symbol, q.bid, q.ask))

    def on_book(self, b: BookLevels) -> None:
        if b.snapshot or not b.bids or not b.asks:
            return
        pressure = sum(s for _, s in b.bids[:3]) - sum(s for _, s in b.asks[:3])
        pos = self.position(b.symbol)
        if pressure > 2.0 and pos <= 0:
            self.target(b.symbol, 0.1)
        elif pressure < -2.0 and pos > 0:
            self.target(b.symbol, 0.0)


def run(
    root: Path,
) -> tuple[list[tuple[int, str, Side, float, float, Liquidity]], BookScalper, int, int]:
    insts = [Instrument.of(s.split(".")[0], "OKX", s[:3], "USDT") for s in SYMS]
    strat = BookScalper()
    streams = [(s, ch) for s in SYMS for ch in (S.BOOK, S.TRADES)]
    res = run_tick_backtest([strat], insts, merged(root, streams), {"USDT": 100_000.0})
    fills = [(f.ts, f.symbol, f.side, f.price, f.qty, f.liquidity) for f in res.fills]
    return fills, strat, res.events, res.bars


def test_tick_backtest_is_deterministic_and_fills_respect_the_book(tmp_path: Path) -> None:
    make_store(tmp_path)
    a, strat, events, bars = run(tmp_path)
    b, _, _, _ = run(tmp_path)
    assert a == b and len(a) >= 10
    assert events > 4000 and bars > 0
    # each fill is at the touch the strategy saw as the latest quote of its instrument
    last: dict[str, tuple[float, float]] = {}
    quotes = iter(strat.seen)
    pending = next(quotes, None)
    for ts, sym, side, price, _qty, _liq in a:
        while pending is not None and pending[0] <= ts:
            last[pending[1]] = (pending[2], pending[3])
            pending = next(quotes, None)
        bid, ask = last[str(sym)]
        assert price == (ask if side is Side.BUY else bid), (ts, sym, side, price, bid, ask)
