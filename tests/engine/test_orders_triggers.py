"""Trigger orders and brackets through the whole engine (strategy API, OMS, risk, simulator):
a stop gapped through, a trailing stop's path, a bracket whose one leg ends the other."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from tradeloop.data.series import BarSeries
from tradeloop.engine.backtest import BacktestConfig, run_backtest
from tradeloop.engine.strategy import Strategy
from tradeloop.model import Bar, Instrument, Order, OrderStatus, Side
from tradeloop.model.checks import order_problem
from tradeloop.model.enums import RejectReason, TriggerKind
from tradeloop.model.order import Trigger

BTC = Instrument("BTC-USDT", "BTC", "USDT", tick_size=0.01, lot_size=1e-4, taker_fee=0.0)
MIN = 60_000_000_000
S = OrderStatus


def series(rows: list[tuple[float, float, float, float]]) -> BarSeries:
    a = np.asarray(rows, dtype=float)
    starts = np.arange(len(rows), dtype=np.int64) * MIN
    return BarSeries(starts, starts + MIN, a[:, 0], a[:, 1], a[:, 2], a[:, 3],
                     np.full(len(rows), 1e6), "BTC-USDT", MIN, "test")  # fmt: skip


class Script(Strategy):
    """Runs ``actions[i](self)`` on the i-th bar."""

    def __init__(self, actions: dict[int, Any]) -> None:
        super().__init__("s")
        self.actions = actions
        self.i = 0
        self.placed: list[Order] = []

    def on_bar(self, bar: Bar) -> None:
        act = self.actions.get(self.i)
        if act is not None:
            self.placed.append(act(self))
        self.i += 1


def run(rows: list[tuple[float, float, float, float]], actions: dict[int, Any]) -> Script:
    s = Script(actions)
    run_backtest([s], series(rows), BTC, BacktestConfig(cash=10_000.0))
    return s


FLAT = (100.0, 100.0, 100.0, 100.0)


def test_bracket_stop_leg_gapped_through_fills_at_the_open() -> None:
    rows = [FLAT, FLAT, (90.0, 91.0, 88.0, 89.0), (120.0, 121.0, 119.0, 120.0)]
    s = run(rows, {0: lambda st: st.bracket("BTC-USDT", Side.BUY, 1.0, sl=95.0, tp=110.0)})
    (entry,) = s.placed
    protect = entry.attached
    assert protect is not None and protect.trigger is not None
    assert entry.status is S.FILLED and entry.avg_price == 100.0
    assert protect.status is S.FILLED and protect.avg_price == 90.0  # the gap, not 95
    assert protect.trigger.kind is TriggerKind.OCO and protect.side is Side.SELL
    assert s.position("BTC-USDT") == pytest.approx(0.0)  # the take-profit leg died with it
    assert s.kernel.oms.open_orders == {}


def test_bracket_take_profit_leg_touched_cancels_the_stop() -> None:
    rows = [FLAT, FLAT, (100.0, 112.0, 99.0, 111.0), (50.0, 50.0, 40.0, 45.0)]
    s = run(rows, {0: lambda st: st.bracket("BTC-USDT", Side.BUY, 1.0, sl=95.0, tp=110.0)})
    protect = s.placed[0].attached
    assert protect is not None and protect.avg_price == 110.0
    assert s.position("BTC-USDT") == pytest.approx(0.0)
    assert s.equity == pytest.approx(10_010.0)  # the crash afterwards costs nothing


def test_bracket_entry_never_filled_ends_its_protective_order() -> None:
    rows = [FLAT, FLAT, FLAT]
    acts = {
        0: lambda st: st.bracket("BTC-USDT", Side.BUY, 1.0, price=80.0, sl=70.0),
        1: lambda st: st.cancel(st.placed[0]),
    }
    s = run(rows, acts)
    protect = s.placed[0].attached
    assert protect is not None
    assert s.placed[0].status is S.CANCELED
    assert protect.status is S.CANCELED and protect.reason == "entry ended without a fill"


def test_trailing_stop_path_in_a_backtest() -> None:
    rows = [FLAT, FLAT, (100.0, 130.0, 100.0, 128.0), (128.0, 129.0, 110.0, 112.0)]
    acts = {
        0: lambda st: st.buy("BTC-USDT", 1.0),
        1: lambda st: st.trailing_stop("BTC-USDT", Side.SELL, 1.0, rate=0.1),
    }
    s = run(rows, acts)
    trail = s.placed[1]
    assert trail.status is S.FILLED and trail.avg_price == pytest.approx(117.0)  # 130 * 0.9
    assert s.position("BTC-USDT") == pytest.approx(0.0)


def test_stop_limit_and_take_profit_from_the_strategy_api() -> None:
    rows = [FLAT, FLAT, (100.0, 100.0, 94.0, 95.0), (95.0, 106.0, 95.0, 105.0)]
    acts = {
        0: lambda st: st.buy("BTC-USDT", 2.0),
        1: lambda st: st.stop("BTC-USDT", Side.SELL, 1.0, 96.0, price=95.5),
        2: lambda st: st.take_profit("BTC-USDT", Side.SELL, 1.0, 105.0),
    }
    s = run(rows, acts)
    stop, tp = s.placed[1], s.placed[2]
    assert (stop.status, stop.avg_price) == (S.FILLED, 96.0)
    assert (tp.status, tp.avg_price) == (S.FILLED, 105.0)


def test_bad_trigger_numbers_are_refused_before_the_venue() -> None:
    rows = [FLAT, FLAT]
    s = run(rows, {0: lambda st: st.oco("BTC-USDT", Side.SELL, 1.0, sl=110.0, tp=90.0)})
    assert s.placed[0].status is S.REJECTED and s.placed[0].code is RejectReason.INVALID_PRICE


@pytest.mark.parametrize(
    ("trigger", "ok"),
    [
        (Trigger(TriggerKind.STOP, 95.0), True),
        (Trigger(TriggerKind.STOP, float("nan")), False),
        (Trigger(TriggerKind.STOP, 0.0), False),
        (Trigger(TriggerKind.TRAILING, callback_rate=0.05), True),
        (Trigger(TriggerKind.TRAILING, callback_rate=0.05, callback_amount=1.0), False),
        (Trigger(TriggerKind.TRAILING), False),
        (Trigger(TriggerKind.TRAILING, callback_rate=1.5), False),
        (Trigger(TriggerKind.OCO, 90.0, tp_price=110.0), True),
        (Trigger(TriggerKind.OCO, 90.0, tp_price=float("inf")), False),
    ],
)
def test_trigger_number_checks(trigger: Trigger, ok: bool) -> None:
    o = Order("x", "BTC-USDT", Side.SELL, 1.0, trigger=trigger)
    assert (order_problem(o) is None) is ok
