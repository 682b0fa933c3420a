"""Risk parity inside a run (issue 15): the weights the allocator applies at each rebalance
equal a numpy computation from the bars themselves -- each instrument's mark sampled on the
sampling clock (a timer at t sees the bars that ended before t; a rebalance due at the same
t as a sample runs first, as timers due together run in the order they were last set), the
last ``lookback + 1`` samples before the rebalance, the standard deviation of their log
returns, weights proportional to 1/sigma."""

from __future__ import annotations

import numpy as np
import pytest
from tests.engine.test_multi_backtest import MIN, Cross, bars_of, spot

from tradeloop.data.series import BarSeries
from tradeloop.engine.allocation import RiskParity
from tradeloop.engine.multi import Feed, MultiConfig, StrategyRun, run_multi_backtest

HOUR = 60 * MIN
LOOKBACK = 12


def _mark_at(bars: BarSeries, t: int) -> float:
    """The close of the last bar that ended before ``t`` (what a timer at t sees)."""
    i = int(np.searchsorted(bars.end, t, side="left")) - 1
    return float(bars.close[i])


def test_rebalance_weights_equal_numpy_on_the_sampled_marks() -> None:
    a, b = spot("AAA-USDT"), spot("BBB-USDT")
    ba, bb = bars_of(a.symbol, 3 * 24 * 60, 21), bars_of(b.symbol, 3 * 24 * 60, 22)
    rp = RiskParity({"x": (a.symbol,), "y": (b.symbol,)}, LOOKBACK, HOUR, 24 * HOUR)
    runs = [StrategyRun(Cross("x"), (a.symbol,)), StrategyRun(Cross("y"), (b.symbol,))]
    res = run_multi_backtest([Feed(a, ba), Feed(b, bb)], runs,
                             MultiConfig(cash=100_000.0, setup=rp.install))  # fmt: skip
    assert len(rp.history) >= 2
    start = int(ba.start[0])
    for ts, got in rp.history:
        samples = list(range(start + HOUR, ts, HOUR))[-(LOOKBACK + 1) :]
        sigma = {}
        for sid, bars in (("x", ba), ("y", bb)):
            px = np.array([_mark_at(bars, t) for t in samples])
            sigma[sid] = float(np.std(np.diff(np.log(px)), ddof=1))
        inv = {k: 1 / v for k, v in sigma.items()}
        want = {k: v / sum(inv.values()) for k, v in inv.items()}
        assert got == pytest.approx(want, rel=1e-12), (ts, got, want)
    assert res.kernel.portfolio.books["x"].capital != res.kernel.portfolio.books["y"].capital
