"""Synthetic market data: the built-in default so that examples, tests and benchmarks run with
no files and no network.

Prices follow geometric Brownian motion whose drift and volatility switch between a few
regimes (calm / bull / bear / turbulent) by a Markov chain, with fat-tailed (Student-t)
shocks — plain GBM is too tame to exercise a strategy or a risk engine. Everything is
vectorised numpy and deterministic per ``seed``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tradeloop.core.errors import ConfigError
from tradeloop.data.intervals import parse_interval
from tradeloop.data.series import SIDE_BUY, SIDE_SELL, BarSeries, TradeSeries

YEAR_NS = 365 * 86_400 * 1_000_000_000
DEFAULT_START_NS = 1_704_067_200 * 1_000_000_000  # 2024-01-01 00:00:00 UTC


@dataclass(frozen=True)
class Regime:
    """Annualised log drift and volatility, plus a volume multiplier for the regime."""

    name: str
    drift: float
    vol: float
    volume_factor: float


REGIMES: tuple[Regime, ...] = (
    Regime("calm", 0.05, 0.35, 0.7),
    Regime("bull", 1.20, 0.55, 1.2),
    Regime("bear", -1.20, 0.75, 1.4),
    Regime("turbulent", 0.0, 1.40, 2.2),
)

# Row i = probabilities of the next regime after leaving regime i (no self-transitions: how
# long a regime lasts is drawn separately).
TRANSITIONS = np.array(
    [
        [0.00, 0.45, 0.40, 0.15],
        [0.60, 0.00, 0.20, 0.20],
        [0.55, 0.15, 0.00, 0.30],
        [0.50, 0.25, 0.25, 0.00],
    ]
)

T_DOF = 4.0  # Student-t degrees of freedom of the per-bar shocks (fat tails, finite variance)


def regime_path(
    n: int, rng: np.random.Generator, mean_duration: float = 1_440.0
) -> npt.NDArray[np.int64]:
    """Regime index for each of ``n`` steps: geometric sojourns, Markov jumps between regimes.

    Only the (few hundred) regime switches are looped over in Python; the per-step array is
    built with ``np.repeat``.
    """
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    p = 1.0 / max(mean_duration, 1.0)
    lengths: list[int] = []
    states: list[int] = []
    state = 0
    total = 0
    # Draw sojourn lengths in blocks to keep the loop short.
    while total < n:
        block = rng.geometric(p, size=64)
        uniforms = rng.random(64)
        for length, u in zip(block.tolist(), uniforms.tolist(), strict=True):
            states.append(state)
            lengths.append(int(length))
            total += int(length)
            cum = np.cumsum(TRANSITIONS[state])
            state = min(int(np.searchsorted(cum, u * cum[-1], side="right")), len(REGIMES) - 1)
            if total >= n:
                break
    return np.repeat(np.array(states, dtype=np.int64), lengths)[:n]


def _check(n: int, start_price: float) -> None:
    if n <= 0:
        raise ConfigError(f"synthetic data needs n > 0, got {n}")
    if not (np.isfinite(start_price) and start_price > 0):
        raise ConfigError(f"start_price must be a positive number, got {start_price}")


def synthetic_bars(
    n: int = 10_000,
    symbol: str = "BTC-USDT",
    interval: str | int = "1m",
    seed: int = 7,
    start_price: float = 30_000.0,
    start_ns: int = DEFAULT_START_NS,
    base_volume: float = 10.0,
    mean_regime_bars: float = 1_440.0,
) -> BarSeries:
    """``n`` OHLCV bars of a regime-switching GBM, deterministic per ``seed``.

    open = previous close; close = open * exp(return); high and low are drawn from the exact
    distribution of the maximum / minimum of a Brownian bridge between open and close, so
    high >= max(open, close) and low <= min(open, close) always, with realistic wick sizes.
    Volume is log-normal, larger in volatile regimes and on big moves. ``start_ns`` is rounded
    down to a multiple of the interval so bars are aligned like exchange candles.
    """
    _check(n, start_price)
    interval_ns = parse_interval(interval)
    rng = np.random.default_rng(seed)
    # Temporaries are dropped as soon as they are used (``del``): 5M bars need ~25 arrays of
    # 40 MB in flight otherwise — 1 GB for the generator alone, the peak of a whole 5M-bar
    # backtest. Same operations in the same order and the same draws: identical bars.
    regime = regime_path(n, rng, mean_regime_bars)
    drift = np.array([r.drift for r in REGIMES])[regime]
    vol = np.array([r.vol for r in REGIMES])[regime]
    vfac = np.array([r.volume_factor for r in REGIMES])[regime]
    del regime

    dt = interval_ns / YEAR_NS
    sigma = vol * np.sqrt(dt)  # per-bar log-volatility
    shocks = rng.standard_t(T_DOF, size=n) * np.sqrt((T_DOF - 2.0) / T_DOF)
    log_ret = (drift - 0.5 * vol * vol) * dt + sigma * shocks
    del drift, vol

    log_close = np.log(start_price) + np.cumsum(log_ret)
    log_open = np.empty(n)
    log_open[0] = np.log(start_price)
    log_open[1:] = log_close[:-1]

    # Max/min of a Brownian bridge from a to b with variance s^2 over the bar:
    #   M = (a + b + sqrt((b - a)^2 - 2 s^2 ln U)) / 2,   m = (a + b - sqrt(...)) / 2
    move2 = log_ret * log_ret
    del log_ret
    s2 = sigma * sigma
    del sigma
    u_hi = rng.random(n)
    u_lo = rng.random(n)
    # 1 - U lies in (0, 1], so the log is finite and <= 0.
    log_high = 0.5 * (log_open + log_close + np.sqrt(move2 - 2.0 * s2 * np.log1p(-u_hi)))
    del u_hi
    log_low = 0.5 * (log_open + log_close - np.sqrt(move2 - 2.0 * s2 * np.log1p(-u_lo)))
    del u_lo, move2, s2

    open_ = np.exp(log_open)
    del log_open
    open_[0] = start_price  # exactly, not exp(log(start_price))
    close = np.exp(log_close)
    del log_close
    # exp() is monotone but rounding can still nudge the envelope past an endpoint; clamp.
    high = np.maximum(np.exp(log_high), np.maximum(open_, close))
    del log_high
    low = np.minimum(np.exp(log_low), np.minimum(open_, close))
    del log_low

    size = np.abs(shocks)
    del shocks
    volume = base_volume * vfac * (0.4 + size) * rng.lognormal(0.0, 0.5, size=n)
    del vfac, size

    first = (start_ns // interval_ns) * interval_ns
    start = first + np.arange(n, dtype=np.int64) * interval_ns
    return BarSeries(
        start=start,
        end=start + interval_ns,
        open=open_,
        high=high,
        low=low,
        close=close,
        volume=volume,
        symbol=symbol,
        interval_ns=interval_ns,
        source=f"synthetic(seed={seed})",
    )


def synthetic_trades(
    n: int = 100_000,
    symbol: str = "BTC-USDT",
    seed: int = 7,
    start_price: float = 30_000.0,
    start_ns: int = DEFAULT_START_NS,
    mean_gap_ms: float = 250.0,
    tick_size: float = 0.01,
    mean_qty: float = 0.05,
    mean_regime_trades: float = 20_000.0,
) -> TradeSeries:
    """``n`` public trades: Poisson arrivals, regime-switching GBM prices on a tick grid,
    log-normal sizes; a trade is a buy when it ticks up, a sell when it ticks down, a coin flip
    when the price is unchanged. Timestamps are non-decreasing int ns; ties happen (bursts)."""
    _check(n, start_price)
    if mean_gap_ms <= 0 or tick_size <= 0 or mean_qty <= 0:
        raise ConfigError("mean_gap_ms, tick_size and mean_qty must be positive")
    rng = np.random.default_rng(seed)
    regime = regime_path(n, rng, mean_regime_trades)
    drift = np.array([r.drift for r in REGIMES])[regime]
    vol = np.array([r.vol for r in REGIMES])[regime]

    gaps_ns = np.floor(rng.exponential(mean_gap_ms * 1e6, size=n)).astype(np.int64)
    gaps_ns[0] = 0
    ts = int(start_ns) + np.cumsum(gaps_ns)

    dt = np.maximum(gaps_ns, 1) / YEAR_NS
    shocks = rng.standard_t(T_DOF, size=n) * np.sqrt((T_DOF - 2.0) / T_DOF)
    log_ret = (drift - 0.5 * vol * vol) * dt + vol * np.sqrt(dt) * shocks
    log_ret[0] = 0.0
    raw = start_price * np.exp(np.cumsum(log_ret))
    price = np.maximum(np.round(raw / tick_size), 1.0) * tick_size

    move = np.sign(np.diff(price, prepend=price[0]))
    coin = np.where(rng.random(n) < 0.5, SIDE_BUY, SIDE_SELL)
    side = np.where(move > 0, SIDE_BUY, np.where(move < 0, SIDE_SELL, coin)).astype(np.int8)

    qty = mean_qty * rng.lognormal(-0.5, 1.0, size=n)  # E[lognormal(-0.5, 1)] = 1
    return TradeSeries(
        ts=ts,
        price=price,
        qty=qty,
        side=side,
        symbol=symbol,
        source=f"synthetic(seed={seed})",
    )
