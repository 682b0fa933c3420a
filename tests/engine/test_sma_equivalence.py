"""The SMA example through the full engine equals an independent vectorised implementation."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from tradeloop.data.loaders import load_bars
from tradeloop.data.series import BarSeries
from tradeloop.data.synthetic import synthetic_bars
from tradeloop.engine.backtest import BacktestConfig, BacktestResult, run_backtest
from tradeloop.model import Instrument

ROOT = Path(__file__).resolve().parents[2]


def sma_strategy(fast: int, slow: int):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("sma_cross_t", ROOT / "examples/sma_cross.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.SmaCross(params={"fast": fast, "slow": slow})


def reference(bars: BarSeries, fast: int, slow: int, cash: float, fee: float) -> tuple[float, int]:
    """Numpy: signals from windowed means; trades happen only where the signal flips, at the
    next bar's open; all-in means spending all cash including the fee."""
    close, open_ = bars.close, bars.open
    n = len(close)
    f = sliding_window_view(close, fast).mean(axis=1)[slow - fast :]
    s = sliding_window_view(close, slow).mean(axis=1)
    long = np.zeros(n, dtype=bool)
    long[slow - 1 :] = f > s * (1.0 + 1e-10)
    flips = np.flatnonzero(np.diff(np.concatenate(([False], long)).astype(np.int8)))
    flips = flips[flips + 1 < n]  # an order on the last bar never fills
    qty, fills = 0.0, 0
    for i in flips:
        px = open_[i + 1]
        if long[i]:
            qty = cash / (px * (1.0 + fee))
            cash -= qty * px + qty * px * fee
        else:
            cash += qty * px - qty * px * fee
            qty = 0.0
        fills += 1
    return cash + qty * close[-1], fills


def run(bars: BarSeries, fast: int, slow: int, fee: float = 0.001) -> BacktestResult:
    base, quote = bars.symbol.split("-")[:2]
    inst = Instrument(
        bars.symbol, base, quote, tick_size=1e-8, lot_size=1e-12, maker_fee=fee, taker_fee=fee
    )
    return run_backtest([sma_strategy(fast, slow)], bars, inst, BacktestConfig(cash=10_000.0))


@pytest.mark.parametrize(
    ("file", "fast", "slow"),
    [
        ("candles/UNITTEST_BTC-1m.feather", 10, 50),
        ("candles/ETH_BTC-5m.feather", 5, 20),
        ("bars/btc-perp-20211231-20220201_1m.csv", 10, 50),
    ],
)
def test_matches_vectorised_reference_on_real_candles(
    shared_data: Path, file: str, fast: int, slow: int
) -> None:
    symbol = "BTC-USDT" if "btc-perp" in file else "X-BTC"
    bars = load_bars(shared_data / file, symbol=symbol)
    res = run(bars, fast, slow)
    want_equity, want_fills = reference(bars, fast, slow, 10_000.0, 0.001)
    assert want_fills > 10  # the data must actually exercise the rules
    assert len(res.fills) == want_fills
    assert res.final_equity == pytest.approx(want_equity, rel=1e-9)


def test_matches_reference_on_synthetic_and_is_deterministic() -> None:
    bars = synthetic_bars(n=20_000, seed=3)
    a, b = run(bars, 10, 50), run(bars, 10, 50)
    want_equity, want_fills = reference(bars, 10, 50, 10_000.0, 0.001)
    assert len(a.fills) == want_fills > 50
    assert a.final_equity == pytest.approx(want_equity, rel=1e-9)
    assert a.fingerprint == b.fingerprint
    assert run(bars, 10, 40).fingerprint != a.fingerprint


def test_recorded_equity_curve_equals_portfolio_valuation_every_bar() -> None:
    """The curve is rebuilt from fill snapshots; check it against equity() on every bar."""
    bars = synthetic_bars(n=5_000, seed=11)
    strat = sma_strategy(5, 20)
    seen: list[float] = []
    inner = strat.on_bar

    def on_bar(bar):  # type: ignore[no-untyped-def]
        inner(bar)
        seen.append(strat.kernel.portfolio.equity())

    strat.on_bar = on_bar
    inst = Instrument(bars.symbol, "BTC", "USDT", tick_size=0.01, lot_size=1e-8)
    res = run_backtest([strat], bars, inst, BacktestConfig(cash=10_000.0))
    assert len(res.fills) > 20
    np.testing.assert_allclose(res.equity, np.asarray(seen), rtol=1e-12)
    assert res.equity[-1] == pytest.approx(res.final_equity, rel=1e-12)
