"""A tick replay's quotes are the venue's top of book even while our fills consume the
simulator's copy of it (``run_tick_backtest`` reads ``ExternalBook.venue_top``, not a second
book), and the venue-side results stay those of the simulator's own book."""

from __future__ import annotations

import random

from tradeloop.engine.strategy import Strategy
from tradeloop.engine.tick_replay import run_tick_backtest
from tradeloop.model import BookLevels, Event, Instrument, QuoteTick, Side, TradeTick

SYM = "BTC-USDT.OKX"


def _events(n: int) -> list[Event]:
    rng = random.Random(3)
    ts = 1_700_000_000 * 10**9
    mid = 300
    out: list[Event] = [
        BookLevels(ts, SYM, [(mid - 1 - i, 0.5) for i in range(10)],
                   [(mid + 1 + i, 0.5) for i in range(10)], True, 1)
    ]  # fmt: skip
    for k in range(n):
        ts += 20_000_000
        mid += rng.choice((-1, 0, 1))
        bids = [(float(mid - rng.randint(1, 4)), rng.choice((0.0, 0.3, 0.7))) for _ in range(2)]
        asks = [(float(mid + rng.randint(1, 4)), rng.choice((0.0, 0.3, 0.7))) for _ in range(2)]
        bids += [(float(mid + j), 0.0) for j in range(4)]  # nothing at or above the mid
        asks += [(float(mid - j), 0.0) for j in range(4)]
        out.append(BookLevels(ts, SYM, bids, asks, False, k + 2))
        if k % 4 == 0:
            side = rng.choice((Side.BUY, Side.SELL))
            out.append(TradeTick(ts, SYM, float(mid), 0.1, side, str(k)))
    return out


class Flipper(Strategy):
    """Trades a size that eats most of a top level on every fifth book, and records quotes."""

    symbols = (SYM,)

    def on_start(self) -> None:
        self.quotes: list[tuple[int, float, float, float, float]] = []
        self.n = 0

    def on_quote(self, q: QuoteTick) -> None:
        self.quotes.append((q.ts, q.bid, q.bid_qty, q.ask, q.ask_qty))

    def on_book(self, b: BookLevels) -> None:
        self.n += 1
        if self.n % 5 == 0:
            self.target(SYM, 0.0 if self.position(SYM) > 0 else 0.25)


def _venue_quotes(events: list[Event]) -> list[tuple[int, float, float, float, float]]:
    """What a live gateway's book gives: every message applied to a plain book, a quote
    whenever the top (prices and sizes) changes."""
    bids: dict[float, float] = {}
    asks: dict[float, float] = {}
    out: list[tuple[int, float, float, float, float]] = []
    last = None
    for ev in events:
        if not isinstance(ev, BookLevels):
            continue
        if ev.snapshot:
            bids, asks = {}, {}
        for side, levels in ((bids, ev.bids), (asks, ev.asks)):
            for p, s in levels:
                if s > 0:
                    side[p] = s
                else:
                    side.pop(p, None)
        if bids and asks:
            b, a = max(bids), min(asks)
            top = (b, bids[b], a, asks[a])
            if top != last:
                last = top
                out.append((ev.ts, *top))
    return out


def test_quotes_are_the_venues_top_while_our_fills_consume_the_sim_book() -> None:
    events = _events(3_000)
    inst = Instrument.of("BTC-USDT", "OKX", "BTC", "USDT", tick_size=1.0, lot_size=0.01)
    strat = Flipper()
    res = run_tick_backtest([strat], [inst], events, {"USDT": 1_000_000.0}, bar_interval=None)
    assert len(res.fills) > 100  # our orders did take liquidity off the simulator's book
    assert strat.quotes == _venue_quotes(events)
    assert res.quotes == len(strat.quotes)
