"""A multi-timeframe run equals the same strategies run one by one where they are
independent, for a coarser period too (issue 15): a 15m strategy inside a run fed 1m bars
makes the same fills (side, price, size, time) as the same strategy run alone on the 15m
bars (pandas-checked resampling, tests/engine/test_multi_backtest.py), ends at the same
equity, and never sees a 1m bar: its orders fill at the open of the first 1m bar after its
15m bar closes, which is the next 15m bar's open, where a solo 15m run fills."""

from __future__ import annotations

import pytest
from tests.engine.test_multi_backtest import MIN, bars_of, spot

from tradeloop.data.resample import resample_bars
from tradeloop.engine.backtest import BacktestConfig, run_backtest
from tradeloop.engine.indicators import SMA
from tradeloop.engine.multi import Feed, MultiConfig, StrategyRun, run_multi_backtest
from tradeloop.engine.strategy import Strategy
from tradeloop.model import Bar


class Flip(Strategy):
    """SMA cross acting on changes of the signal only (as examples/sma_cross.py)."""

    params = {"fast": 4, "slow": 12}

    def on_start(self) -> None:
        self.f, self.s = SMA(self.p.fast), SMA(self.p.slow)
        self.long: bool | None = None
        self.periods: set[int] = set()

    def on_bar(self, bar: Bar) -> None:
        self.periods.add(bar.ts - bar.start)
        f, s = self.f.update(bar.close), self.s.update(bar.close)
        if f is None or s is None:
            return
        long = f > s * (1 + 1e-10)
        if long is not self.long:
            self.long = long
            self.target_percent(bar.symbol, 1.0 if long else 0.0)


@pytest.mark.parametrize("seed", [5, 6])
def test_a_15m_strategy_in_a_1m_run_equals_its_solo_15m_run(seed: int) -> None:
    a, b = spot("BTC-USDT"), spot("ETH-USDT")
    ba, bb = bars_of(a.symbol, 15 * 400, seed), bars_of(b.symbol, 15 * 400, seed + 10)
    coarse, fine = Flip("q"), Flip("m")
    runs = [StrategyRun(coarse, ("BTC-USDT",), {"BTC-USDT": (15 * MIN,)}, 5000.0),
            StrategyRun(fine, ("ETH-USDT",), {"ETH-USDT": (MIN,)}, 5000.0)]  # fmt: skip
    both = run_multi_backtest([Feed(a, ba), Feed(b, bb)], runs, MultiConfig(cash=10_000.0))
    assert coarse.periods == {15 * MIN} and fine.periods == {MIN}

    solo_q = run_backtest([Flip("q")], resample_bars(ba, 15 * MIN), a, BacktestConfig(cash=5000.0))
    solo_m = run_backtest([Flip("m")], bb, b, BacktestConfig(cash=5000.0))
    fq = [f for f in both.fills if f.symbol == a.symbol]
    assert len(fq) == len(solo_q.fills) > 4
    assert [(f.side, f.price, f.qty) for f in fq] == [
        (f.side, f.price, f.qty) for f in solo_q.fills
    ]
    # both fill at the open of what follows the 15m close, stamped with that open's time
    assert [f.ts for f in fq] == [f.ts for f in solo_q.fills]
    p = both.kernel.portfolio
    assert p.strategy_equity("q") == pytest.approx(solo_q.final_equity, rel=1e-9)
    assert p.strategy_equity("m") == pytest.approx(solo_m.final_equity, rel=1e-9)
