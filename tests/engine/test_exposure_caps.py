"""Gross and net exposure caps (issue 15, portfolio allocation): targets are shrunk so the
account's target notional stays within ``max_gross`` / ``max_net`` times equity, in the order
the targets arrive; a target that keeps within them passes whole. Two perpetuals, two
strategies that each set one target worth 1.5x the account's equity, leverage 5."""

from __future__ import annotations

import pytest
from tests.engine.test_multi_backtest import Hold, bars_of, swap

from tradeloop.engine.multi import Feed, MultiConfig, MultiResult, StrategyRun, run_multi_backtest
from tradeloop.engine.oms import ExecConfig
from tradeloop.sim.config import SimConfig

CASH = 1_000_000.0


def _run(long_b: bool, **caps: float) -> tuple[MultiResult, float, float]:
    a, b = swap("AAA-USDT-SWAP"), swap("BBB-USDT-SWAP")
    ba, bb = bars_of(a.symbol, 50, 1), bars_of(b.symbol, 50, 2)
    qa = round(1.5 * CASH / float(ba.close[0]))
    qb = round(1.5 * CASH / float(bb.close[0])) * (1 if long_b else -1)
    runs = [StrategyRun(Hold("a", {"qty": qa}), ("AAA-USDT-SWAP",)),
            StrategyRun(Hold("b", {"qty": qb}), ("BBB-USDT-SWAP",))]  # fmt: skip
    cfg = MultiConfig(cash=CASH, execution=ExecConfig(**caps), sim=SimConfig(leverage=5.0))
    res = run_multi_backtest([Feed(a, ba), Feed(b, bb)], runs, cfg)
    pos = res.kernel.portfolio.positions
    na = pos[a.symbol].qty * pos[a.symbol].avg_price
    nb = pos[b.symbol].qty * pos[b.symbol].avg_price
    return res, na, nb


def test_uncapped_targets_pass_whole() -> None:
    _, na, nb = _run(True)
    assert na == pytest.approx(1.5 * CASH, rel=0.01) and nb == pytest.approx(1.5 * CASH, rel=0.01)


def test_gross_cap_shrinks_the_target_that_would_cross_it() -> None:
    _, na, nb = _run(True, max_gross=2.0)
    assert na == pytest.approx(1.5 * CASH, rel=0.01)  # first: within the cap, whole
    assert nb == pytest.approx(0.5 * CASH, rel=0.06)  # second: the room left (at its marks)
    assert abs(na) + abs(nb) <= 2.0 * CASH * 1.01


def test_net_cap_limits_one_direction_only() -> None:
    _, na, nb = _run(False, max_net=1.0)
    assert na == pytest.approx(1.0 * CASH, rel=0.03)  # long capped at 1x equity net
    assert nb == pytest.approx(-1.5 * CASH, rel=0.01)  # the short reduces net: passes whole
