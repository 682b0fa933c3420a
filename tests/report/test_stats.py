"""compute_stats against hand-computed and independently computed values, and edge cases."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from tradeloop.model.enums import Side
from tradeloop.report.stats import (
    NS_PER_YEAR,
    RoundTrip,
    Stats,
    compute_stats,
    drawdown,
    periods_per_year,
)

from .helpers import DAY, T0, fill

HOUR = DAY // 24


def _days(n: int) -> np.ndarray:
    return T0 + np.arange(n, dtype=np.int64) * DAY


def _trip(pnl: float) -> RoundTrip:
    return RoundTrip("X", Side.BUY, 1, T0, T0 + 1, 100, 100 + pnl, pnl, 0.0, pnl, 2)


def _json_clean(s: Stats) -> dict[str, object]:
    d = s.as_dict()
    json.dumps(d, allow_nan=False)  # raises on NaN/inf
    return d


def test_known_drawdown_and_duration() -> None:
    eq = np.array([100, 120, 90, 110, 130, 117], dtype=float)
    s = compute_stats(_days(6), eq, None, [], [], 100.0)
    assert s.max_drawdown == pytest.approx(0.25)  # 120 -> 90
    assert s.max_drawdown_duration_ns == 3 * DAY  # peak day 1, back above 120 on day 4
    assert s.max_drawdown_recovered
    assert s.total_return == pytest.approx(0.17)
    assert s.final_equity == 117
    assert (s.start_ts, s.end_ts, s.n_periods) == (T0, T0 + 5 * DAY, 6)
    np.testing.assert_allclose(drawdown(eq), [0, 0, 0.25, 10 / 120, 0, 0.1])


def test_unrecovered_drawdown_runs_to_the_end() -> None:
    s = compute_stats(_days(4), [100, 80, 90, 95], None, [], [], 100.0)
    assert s.max_drawdown == pytest.approx(0.2)
    assert s.max_drawdown_duration_ns == 3 * DAY
    assert not s.max_drawdown_recovered


def test_drawdown_starts_at_last_touch_of_the_peak() -> None:
    s = compute_stats(_days(5), [100, 120, 110, 120, 60], None, [], [], 100.0)
    assert s.max_drawdown == pytest.approx(0.5)
    assert s.max_drawdown_duration_ns == DAY  # from the second 120 (day 3) to the end (day 4)


def test_sharpe_sortino_volatility_match_independent_numpy() -> None:
    rng = np.random.default_rng(7)
    n = 500
    eq = 1000 * np.cumprod(1 + rng.normal(0.0005, 0.01, n))
    ts = T0 + np.arange(n, dtype=np.int64) * HOUR
    s = compute_stats(ts, eq, None, [], [], float(eq[0]))

    r = pd.Series(eq).pct_change().dropna().to_numpy()
    ppy = 365.25 * 24
    assert s.periods_per_year == pytest.approx(ppy)
    assert s.volatility == pytest.approx(r.std(ddof=1) * math.sqrt(ppy))
    assert s.sharpe == pytest.approx(r.mean() / r.std(ddof=1) * math.sqrt(ppy))
    downside = math.sqrt(np.mean(np.square(np.clip(r, None, 0.0))))
    assert s.sortino == pytest.approx(r.mean() / downside * math.sqrt(ppy))


def test_cagr_and_calmar() -> None:
    two_years = int(2 * NS_PER_YEAR)
    ts = np.array([T0, T0 + two_years // 2, T0 + two_years], dtype=np.int64)
    s = compute_stats(ts, [100.0, 80.0, 121.0], None, [], [], 100.0)
    assert s.cagr == pytest.approx(0.1)
    assert s.max_drawdown == pytest.approx(0.2)
    assert s.calmar == pytest.approx(0.5)


def test_trade_statistics() -> None:
    trips = [_trip(10), _trip(-5), _trip(20), _trip(-5)]
    fills = [fill(T0 + i, "buy", 1, 100, fee=0.25) for i in range(8)]
    s = compute_stats(_days(3), [100, 101, 102], None, fills, trips, 100.0)
    assert s.n_round_trips == 4 and s.n_fills == 8
    assert s.win_rate == pytest.approx(0.5)
    assert s.profit_factor == pytest.approx(3.0)
    assert s.avg_trade_pnl == pytest.approx(5.0)
    assert s.total_fees == pytest.approx(2.0)


def test_exposure_counts_non_zero_periods() -> None:
    s = compute_stats(_days(5), [1, 1, 1, 1, 1], [0, 1, 1, 0, -0.5], [], [], 1.0)
    assert s.exposure == pytest.approx(0.6)


def test_periods_per_year_uses_median_step() -> None:
    ts = T0 + np.array([0, 1, 2, 3, 100], dtype=np.int64) * HOUR  # one long gap
    assert periods_per_year(ts) == pytest.approx(365.25 * 24)


def test_initial_equity_defaults_to_first_point() -> None:
    s = compute_stats(_days(2), [200, 220], None, [], [])
    assert s.initial_equity == 200 and s.total_return == pytest.approx(0.1)


# --- edge cases: never raise, never NaN/inf -----------------------------------------------


def test_no_points() -> None:
    s = compute_stats(np.array([], dtype=np.int64), np.array([]), None, [], [], 1000.0)
    d = _json_clean(s)
    assert d["final_equity"] == 1000.0 and d["total_return"] == 0.0
    assert d["max_drawdown"] == 0.0 and d["n_periods"] == 0
    for k in ("cagr", "volatility", "sharpe", "sortino", "calmar", "win_rate", "exposure"):
        assert d[k] is None
    assert d["start_ts"] is None


def test_single_point() -> None:
    s = compute_stats(np.array([T0]), np.array([1100.0]), np.array([1.0]), [], [], 1000.0)
    d = _json_clean(s)
    assert d["total_return"] == pytest.approx(0.1)
    assert d["cagr"] is None and d["sharpe"] is None and d["volatility"] is None
    assert d["max_drawdown"] == 0.0 and d["exposure"] == 1.0


def test_flat_equity_no_trades() -> None:
    d = _json_clean(compute_stats(_days(10), np.full(10, 500.0), np.zeros(10), [], [], 500.0))
    assert d["volatility"] == 0.0 and d["sharpe"] is None and d["sortino"] is None
    assert d["max_drawdown"] == 0.0 and d["max_drawdown_duration_ns"] == 0
    assert d["cagr"] == 0.0 and d["calmar"] is None
    assert d["win_rate"] is None and d["profit_factor"] is None and d["avg_trade_pnl"] is None
    assert d["exposure"] == 0.0 and d["total_fees"] == 0.0


def test_only_rising_equity_has_no_sortino() -> None:
    d = _json_clean(compute_stats(_days(4), [1, 2, 3, 4], None, [], [], 1.0))
    assert d["sortino"] is None and d["sharpe"] is not None and d["calmar"] is None


def test_only_winning_trades_profit_factor_is_none() -> None:
    d = _json_clean(compute_stats(_days(2), [1, 2], None, [], [_trip(1), _trip(2)], 1.0))
    assert d["win_rate"] == 1.0 and d["profit_factor"] is None


def test_blown_up_account_and_bad_values_stay_finite() -> None:
    eq = np.array([100, 50, 0, -10, 5, np.nan, np.inf], dtype=float)
    d = _json_clean(compute_stats(_days(7), eq, None, [], [], 100.0))
    assert d["max_drawdown"] == pytest.approx(1.1)
    assert d["cagr"] == -1.0


def test_zero_time_span() -> None:
    ts = np.array([T0, T0, T0], dtype=np.int64)
    d = _json_clean(compute_stats(ts, [1.0, 2.0, 1.5], None, [], [], 1.0))
    assert d["cagr"] is None and d["sharpe"] is None and d["periods_per_year"] is None


def test_length_mismatch_is_a_caller_bug() -> None:
    with pytest.raises(ValueError):
        compute_stats(_days(3), [1.0, 2.0], None, [], [])
    with pytest.raises(ValueError):
        compute_stats(_days(2), [1.0, 2.0], [0.0], [], [])


def test_stats_is_frozen() -> None:
    s = compute_stats(_days(2), [1.0, 2.0], None, [], [])
    with pytest.raises(AttributeError):
        s.sharpe = 1.0  # type: ignore[misc]


def test_nan_position_counts_as_flat() -> None:
    s = compute_stats(_days(4), [1, 1, 1, 1], [np.nan, 1, 0, 0], [], [], 1.0)
    assert s.exposure == pytest.approx(0.25)
