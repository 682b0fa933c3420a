"""BarSeries / TradeSeries behaviour."""

from __future__ import annotations

import numpy as np
import pytest

from tradeloop.core.errors import DataError
from tradeloop.data import BarSeries, TradeSeries, synthetic_bars, synthetic_trades
from tradeloop.data.series import tick_rule_sides
from tradeloop.model.enums import Side
from tradeloop.model.events import Bar


def test_iter_bars_and_from_bars_round_trip() -> None:
    bars = synthetic_bars(500, seed=1)
    events = list(bars.iter_bars())
    assert len(events) == len(bars) == 500
    first = events[0]
    assert isinstance(first, Bar) and type(first.ts) is int and type(first.open) is float
    assert (first.ts, first.start, first.close) == (bars.end[0], bars.start[0], bars.close[0])
    back = BarSeries.from_bars(events, bars.interval_ns)
    for col in ("start", "end", "open", "high", "low", "close", "volume"):
        assert np.array_equal(getattr(back, col), getattr(bars, col))
    assert back.symbol == bars.symbol


def test_slice_and_between() -> None:
    bars = synthetic_bars(100, seed=2, interval="1m", start_ns=0)
    part = bars.slice(10, 20)
    assert len(part) == 10 and part.start[0] == bars.start[10]
    assert len(bars.slice(-5)) == 5
    window = bars.between(5 * 60 * 10**9, 8 * 60 * 10**9)
    assert window.start.tolist() == [m * 60 * 10**9 for m in (5, 6, 7)]
    assert len(bars.between()) == 100


def test_columns_coerced_and_checked() -> None:
    bars = BarSeries([0, 60], [60, 120], [1, 2], [2, 3], [1, 1], [2, 2], [0, 0], "X", 60)
    assert bars.start.dtype == np.int64 and bars.open.dtype == np.float64
    with pytest.raises(ValueError, match="different length"):
        BarSeries([0], [60, 120], [1], [1], [1], [1], [1], "X", 60)
    with pytest.raises(ValueError, match="interval_ns"):
        BarSeries([0], [60], [1], [1], [1], [1], [1], "X", 0)


def test_validate_names_source_and_row() -> None:
    bars = BarSeries([0, 60], [60, 120], [1, 2], [2, 1], [1, 1.5], [2, 1], [1, 1], "X", 60, "mem")
    with pytest.raises(DataError, match=r"^mem: row 2 .*high 1.0 < low 1.5"):
        bars.validate()
    with pytest.raises(DataError, match="no bars"):
        bars.slice(0, 0).validate()


def test_trade_series_iter_and_between() -> None:
    trades = synthetic_trades(1_000, seed=3)
    ticks = list(trades.iter_trades())
    assert len(ticks) == 1_000
    assert ticks[10].ts == trades.ts[10] and ticks[10].price == trades.price[10]
    assert all(
        t.side is (Side.BUY if s > 0 else Side.SELL)
        for t, s in zip(ticks, trades.side, strict=True)
    )
    mid = int(trades.ts[500])
    assert trades.between(mid).ts[0] == mid
    assert len(trades.slice(0, 3)) == 3


def test_unknown_sides_use_tick_rule() -> None:
    price = np.array([10.0, 10.0, 11.0, 11.0, 10.5, 10.5, 12.0])
    assert tick_rule_sides(price).tolist() == [1, 1, 1, 1, -1, -1, 1]
    trades = TradeSeries(np.arange(7), price, np.ones(7), np.array([0, 0, 0, -1, 0, 0, 0]), "X")
    sides = [t.side for t in trades.iter_trades()]
    assert sides == [Side.BUY, Side.BUY, Side.BUY, Side.SELL, Side.SELL, Side.SELL, Side.BUY]


def test_validate_trades_allows_equal_timestamps() -> None:
    ok = TradeSeries([5, 5, 6], [1, 1, 1], [1, 1, 1], [1, -1, 0], "X", "t")
    ok.validate()
    bad = TradeSeries([5, 6, 5], [1, 1, 1], [1, 1, 1], [1, -1, 0], "X", "t")
    with pytest.raises(DataError, match=r"^t: row 3 .*sorted"):
        bad.validate()


def test_columns_are_read_only_views() -> None:
    src = np.array([1.0, 2.0])
    bars = BarSeries(np.array([0, 60]), np.array([60, 120]), src, src, src, src, src, "X", 60)
    with pytest.raises(ValueError, match="read-only"):
        bars.close[0] = 5.0
    src[0] = 1.5  # the caller's array stays writable
    part = synthetic_bars(10).slice(2, 4)
    with pytest.raises(ValueError, match="read-only"):
        part.open[0] = 1.0
