"""Synthetic market data: determinism, OHLC consistency, shape."""

from __future__ import annotations

import numpy as np
import pytest

from tradeloop.core.errors import ConfigError
from tradeloop.data.synthetic import regime_path, synthetic_bars, synthetic_trades


def test_bars_deterministic_per_seed() -> None:
    a = synthetic_bars(5_000, seed=3)
    b = synthetic_bars(5_000, seed=3)
    c = synthetic_bars(5_000, seed=4)
    for col in ("start", "end", "open", "high", "low", "close", "volume"):
        assert np.array_equal(getattr(a, col), getattr(b, col))
    assert not np.array_equal(a.close, c.close)


def test_bars_ohlc_consistent() -> None:
    bars = synthetic_bars(200_000, seed=11, interval="5m", start_price=100.0)
    bars.validate()
    assert bars.open[0] == 100.0
    assert np.array_equal(bars.open[1:], bars.close[:-1])
    assert np.all(bars.high >= np.maximum(bars.open, bars.close))
    assert np.all(bars.low <= np.minimum(bars.open, bars.close))
    assert np.all(bars.low > 0) and np.all(bars.volume > 0)
    assert np.all(bars.start % bars.interval_ns == 0)
    assert np.all(np.diff(bars.start) == bars.interval_ns)
    assert np.array_equal(bars.end - bars.start, np.full(len(bars), 5 * 60 * 10**9))
    # wicks exist: most bars have high strictly above max(open, close)
    assert np.mean(bars.high > np.maximum(bars.open, bars.close)) > 0.9


def test_bars_realistic_scale() -> None:
    bars = synthetic_bars(100_000, seed=5)
    ret = np.diff(np.log(bars.close))
    # 1-minute returns of a crypto-like asset: a few basis points, fat tails
    assert 1e-4 < ret.std() < 5e-3
    kurt = np.mean((ret - ret.mean()) ** 4) / ret.var() ** 2
    assert kurt > 3.0


def test_regimes_switch() -> None:
    path = regime_path(100_000, np.random.default_rng(0), mean_duration=500)
    assert len(path) == 100_000
    assert len(set(path.tolist())) == 4
    switches = np.count_nonzero(np.diff(path))
    assert 50 < switches < 1_000


def test_bars_symbol_interval_start() -> None:
    bars = synthetic_bars(10, symbol="ETH-USDT", interval="1h", start_ns=3_600 * 10**9 * 5 + 7)
    assert bars.symbol == "ETH-USDT"
    assert bars.interval_ns == 3_600 * 10**9
    assert bars.start[0] == 3_600 * 10**9 * 5
    first = next(bars.iter_bars())
    assert first.ts == bars.end[0] and first.symbol == "ETH-USDT"


def test_million_bars() -> None:
    bars = synthetic_bars(1_000_000, seed=1)
    assert len(bars) == 1_000_000
    assert np.all(np.isfinite(bars.close))


def test_bad_arguments() -> None:
    with pytest.raises(ConfigError):
        synthetic_bars(0)
    with pytest.raises(ConfigError):
        synthetic_bars(10, start_price=-1.0)
    with pytest.raises(ConfigError):
        synthetic_bars(10, interval="1 fortnight")


def test_trades_deterministic_and_valid() -> None:
    a = synthetic_trades(20_000, seed=9)
    b = synthetic_trades(20_000, seed=9)
    assert np.array_equal(a.ts, b.ts) and np.array_equal(a.price, b.price)
    assert np.array_equal(a.side, b.side) and np.array_equal(a.qty, b.qty)
    a.validate()
    assert np.all(np.diff(a.ts) >= 0)
    assert set(np.unique(a.side).tolist()) == {-1, 1}
    assert np.all(a.qty > 0)
    up = np.diff(a.price) > 0
    assert np.all(a.side[1:][up] == 1)
