"""Bars to coarser bars (1m -> 15m, 1h), inside the engine, from the columns already loaded.

A multi-timeframe run loads each file once at its own resolution and derives the coarser
periods strategies ask for, so every period of one instrument comes from the same prints.
Buckets are aligned to the Unix epoch (``start // period * period``), which for any period
that divides a day equals pandas' default ``resample`` origin; a bucket holds the bars whose
*open* time falls in it, and buckets without bars are left out (pandas' ``dropna``). A period
finer than the data, or one that is not a whole multiple of it, is an error: it cannot be
built honestly, and silently ignoring it is how a "15m" strategy ends up trading 1m bars.
"""

from __future__ import annotations

import numpy as np

from tradeloop.core.errors import ConfigError
from tradeloop.data.intervals import format_interval
from tradeloop.data.series import BarSeries


def check_period(bars: BarSeries, period_ns: int) -> None:
    """ConfigError unless ``period_ns`` can be built from ``bars`` (same or a whole multiple)."""
    have = bars.interval_ns
    src = bars.source or bars.symbol
    if period_ns < have:
        raise ConfigError(
            f"{src}: bar period {format_interval(period_ns)} is finer than the data's "
            f"{format_interval(have)} (bars cannot be split; load finer data)"
        )
    if period_ns % have:
        raise ConfigError(
            f"{src}: bar period {format_interval(period_ns)} is not a whole multiple of the "
            f"data's {format_interval(have)}"
        )


def resample_bars(bars: BarSeries, period_ns: int) -> BarSeries:
    """OHLCV of ``bars`` over epoch-aligned buckets of ``period_ns`` (see the module docstring).

    open = first open, high = max, low = min, close = last close, volume = sum. The returned
    bars start at their bucket start and end ``period_ns`` later (when they are known: a 1h
    bar is published with the 1m bar that closes its last minute). The same period returns
    ``bars`` itself.
    """
    check_period(bars, period_ns)
    if period_ns == bars.interval_ns or len(bars) == 0:
        return bars
    bucket = bars.start // period_ns
    first = np.flatnonzero(np.r_[True, bucket[1:] != bucket[:-1]])
    last = np.r_[first[1:] - 1, len(bars) - 1]
    start = bucket[first] * period_ns
    return BarSeries(
        start=start,
        end=start + period_ns,
        open=bars.open[first],
        high=np.maximum.reduceat(bars.high, first),
        low=np.minimum.reduceat(bars.low, first),
        close=bars.close[last],
        volume=np.add.reduceat(bars.volume, first),
        symbol=bars.symbol,
        interval_ns=period_ns,
        source=f"resample({bars.source or bars.symbol}, {format_interval(period_ns)})",
    )
