"""What each execution algorithm promises, checked on the fills of a perpetual's backtest
(issue 15):
TWAP trades ``slices`` equal market orders ``interval`` apart, VWAP never takes more than its
participation of the bar it sized on, an iceberg never shows more than its display size --
and each reaches the target exactly. A strategy sets one target and never another, so every
fill is the algorithm's."""

from __future__ import annotations

import itertools

import pytest
from tests.engine.test_multi_backtest import MIN, Hold, bars_of, swap

from tradeloop.engine.multi import Feed, MultiConfig, MultiResult, StrategyRun, run_multi_backtest
from tradeloop.engine.oms import AlgoSpec, ExecAlgo, ExecConfig

TARGET = 12.0  # contracts


def _run(spec: AlgoSpec, n: int = 600) -> tuple[MultiResult, dict[int, float]]:
    a = swap()  # fees in the settle currency: the position is exactly what was bought
    bars = bars_of(a.symbol, n, 9)
    ex = ExecConfig(per_symbol={a.symbol: spec})
    res = run_multi_backtest([Feed(a, bars)], [StrategyRun(Hold("h", {"qty": TARGET}))],
                             MultiConfig(cash=10_000_000.0, execution=ex))  # fmt: skip
    volume_by_end = dict(zip(bars.end.tolist(), bars.volume.tolist(), strict=True))
    return res, volume_by_end


def test_twap_sends_equal_slices_at_its_interval() -> None:
    res, _ = _run(AlgoSpec(ExecAlgo.TWAP, slices=4, interval_ns=5 * MIN))
    fills = res.fills
    assert len(fills) == 4
    assert [f.qty for f in fills] == pytest.approx([TARGET / 4] * 4)
    gaps = {b.ts - a.ts for a, b in itertools.pairwise(fills)}
    assert gaps == {5 * MIN}
    assert res.kernel.portfolio.position_qty(fills[0].symbol) == pytest.approx(TARGET)


def test_vwap_takes_at_most_its_share_of_each_bar() -> None:
    share = 0.05
    res, volume_by_end = _run(AlgoSpec(ExecAlgo.VWAP, participation=share), n=2000)
    fills = res.fills
    assert len(fills) > 3  # the target is larger than one bar's share
    for f in fills:  # sized on the bar that closed when the order went out (= the fill time)
        assert f.qty <= share * volume_by_end[f.ts] * (1 + 1e-9), (f.qty, volume_by_end[f.ts])
    assert sum(f.qty for f in fills) == pytest.approx(TARGET)


def test_iceberg_never_shows_more_than_its_display() -> None:
    res, _ = _run(AlgoSpec(ExecAlgo.ICEBERG, display=2.0), n=3000)
    fills = res.fills
    assert len(fills) >= TARGET / 2.0
    assert max(f.qty for f in fills) <= 2.0
    assert sum(f.qty for f in fills) == pytest.approx(TARGET)
