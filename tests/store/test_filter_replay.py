"""The live runtime's abnormal-tick filter applies in record and replay alike: the same bad
ticks (a fat-finger trade, a crossed book snapshot, a zero price) are kept out of the store by
the recorder and out of the strategy by the tick replay, and counted in both."""

from __future__ import annotations

from pathlib import Path

from tradeloop.engine.strategy import Strategy
from tradeloop.engine.tick_replay import run_tick_backtest
from tradeloop.live.tickfilter import TickFilter
from tradeloop.model import BookLevels, Event, Instrument, Side, TradeTick
from tradeloop.store import schema as S
from tradeloop.store.reader import merged, read_stream
from tradeloop.store.recorder import Recorder
from tradeloop.store.writer import StoreWriter

SYM = "BTC-USDT.OKX"
T0 = 1_700_000_000 * 10**9
BAD_TRADES = {30: 300_000.0, 60: 0.0}  # step -> price


def events() -> list[Event]:
    out: list[Event] = [
        BookLevels(T0, SYM, [(29_999.0, 1.0), (29_998.0, 2.0)], [(30_001.0, 1.0)], True, 1)
    ]
    for k in range(1, 100):
        ts = T0 + k * 10**8
        out.append(BookLevels(ts, SYM, [(29_999.0, 1.0 + k % 3)], [], False, k + 1))
        px = BAD_TRADES.get(k, 30_000.0 + (k % 5) - 2)
        out.append(TradeTick(ts, SYM, px, 0.1, Side.BUY, str(k)))
        if k == 50:  # a crossed snapshot (a missed update somewhere)
            out.append(BookLevels(ts, SYM, [(30_010.0, 1.0)], [(30_000.0, 1.0)], True, 1000))
            out.append(BookLevels(ts, SYM, [(29_999.0, 1.0)], [(30_001.0, 1.0)], True, 1001))
    return out


class Seen(Strategy):
    symbols = (SYM,)

    def on_start(self) -> None:
        self.prices: list[float] = []
        self.books = 0

    def on_trade(self, t: TradeTick) -> None:
        self.prices.append(t.price)

    def on_book(self, b: BookLevels) -> None:
        self.books += 1


def replay(root: Path, filt: TickFilter | None) -> tuple[Seen, int]:
    st = Seen()
    res = run_tick_backtest(
        [st],
        [Instrument(SYM, "BTC", "USDT", tick_size=1.0, lot_size=0.001)],
        merged(root, [(SYM, S.BOOK), (SYM, S.TRADES)]),
        {"USDT": 1e6},
        accept=filt.accept if filt else None,
    )
    return st, res.filtered


def test_filter_in_record_and_replay_alike(tmp_path: Path) -> None:
    raw, clean = tmp_path / "raw", tmp_path / "clean"
    clock = [T0]
    for root, filt in ((raw, None), (clean, TickFilter())):
        rec = Recorder(StoreWriter(root, sync=False), checkpoint_s=0, now_ns=lambda: clock[0],
                       accept=filt.accept if filt else None)  # fmt: skip
        for ev in events():
            clock[0] = ev.ts
            rec.on_market_data(ev)
        rec.roll()
        if filt:
            assert rec.stats.dropped == 3 and filt.dropped == 3
    # recorded through the filter: the bad ticks never reached the store
    prices = read_stream(clean, "OKX", S.TRADES, "BTC-USDT").column("price").to_pylist()
    assert 300_000.0 not in prices and 0.0 not in prices and len(prices) == 97
    # replayed raw without a filter: the strategy sees them; with it: it does not
    seen, n = replay(raw, None)
    assert 300_000.0 in seen.prices and 0.0 in seen.prices and n == 0
    filt = TickFilter()
    seen_f, n_f = replay(raw, filt)
    assert n_f == 3 and filt.dropped == 3
    assert 300_000.0 not in seen_f.prices and 0.0 not in seen_f.prices
    assert seen.books - seen_f.books == 1  # the crossed snapshot
    # the clean store replays to what the filtered replay of the raw store showed
    seen_c, _ = replay(clean, None)
    assert seen_c.prices == seen_f.prices and seen_c.books == seen_f.books
