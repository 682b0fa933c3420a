"""Bars from trades: streaming aggregators (time / tick / volume bars) and a vectorised
resampler that produces exactly the same time bars.

The streaming aggregators are what both the backtester and a live feed drive, so a strategy
sees identical bars in both worlds. Time bars are aligned to multiples of the interval since
the epoch, cover [start, end), and are CLOSED BY THE CLOCK: ``on_time(ts)`` with
``ts >= end`` emits the bar (stamped ``ts=end``) even when no later trade arrives — waiting
for the next trade would delay a bar indefinitely in a quiet market, and would make live and
backtest disagree.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable

import numpy as np

from tradeloop.core.errors import ConfigError, DataError
from tradeloop.data.intervals import parse_interval
from tradeloop.data.series import F64, BarSeries, TradeSeries
from tradeloop.model.events import Bar, TradeTick

log = logging.getLogger(__name__)

_FAR_FUTURE = 2**63 - 1
_FAR_PAST = -(2**63)


class EmptyBarPolicy(enum.Enum):
    """What to emit for an interval in which nothing traded. Always passed explicitly: the
    choice changes indicators (SKIP leaves gaps, CARRY adds zero-volume bars), so no default
    silently decides it.

    ``SKIP``: nothing (bars have gaps; like dropping NaN rows of a resample).
    ``CARRY``: a flat bar at the previous close with zero volume (a regular grid; like
    forward-filling the close). Nothing is emitted before the first trade in either case.
    """

    SKIP = "skip"
    CARRY = "carry"


class TimeBarAggregator:
    """Streaming time bars over [start, start + interval), aligned to the epoch.

    A trade with ``ts`` exactly on a boundary opens the NEW bar. ``on_trade`` also advances the
    clock to the trade's ts. A trade whose bar was already closed by the clock (it arrives
    after ``on_time`` passed its bar's end) is late: it is dropped, counted in
    ``late_trades`` and logged, because the bar it belongs to has already been published.
    """

    def __init__(
        self,
        symbol: str,
        interval_ns: int | str,
        emit: Callable[[Bar], None],
        empty: EmptyBarPolicy,
    ) -> None:
        self.symbol = symbol
        self.interval_ns = parse_interval(interval_ns)
        self.emit = emit
        self.empty = empty
        self.late_trades = 0
        self._now = _FAR_PAST
        self._has_bar = False
        self._bar_start = 0
        # The next clock time at which something must be emitted (open bar's end, or the end
        # of the next flat CARRY bar); kept in one int so the hot path is a single compare.
        self._deadline = _FAR_FUTURE
        self._next_start = 0  # start of the first interval not yet emitted
        self._last_close: float | None = None
        self._o = self._h = self._l = self._c = self._v = 0.0

    def on_time(self, ts: int) -> None:
        """Advance the clock to ``ts``: emit every bar whose end is <= ``ts``."""
        if ts > self._now:
            self._now = ts
        if ts >= self._deadline:
            self._close_until(ts)

    def on_trade(self, trade: TradeTick) -> None:
        ts = trade.ts
        if ts >= self._deadline:
            self._close_until(ts)
        if ts > self._now:
            self._now = ts
        price = trade.price
        if self._has_bar and ts >= self._bar_start:
            if price > self._h:
                self._h = price
            elif price < self._l:
                self._l = price
            self._c = price
            self._v += trade.qty
            return
        interval = self.interval_ns
        start = ts - ts % interval
        now_start = self._now - self._now % interval
        if self._has_bar or start < now_start:
            self._late(trade)
            return
        self._has_bar = True
        self._bar_start = start
        self._deadline = start + interval
        self._o = self._h = self._l = self._c = price
        self._v = trade.qty

    def flush(self) -> None:
        """End of data: emit the open bar now (stamped with its end) without waiting for the
        clock, which is taken to have reached that end — so a straggler for the flushed
        interval counts as late instead of producing a second bar for it. Flat CARRY bars are
        not invented past the last trade."""
        if self._has_bar:
            end = self._bar_start + self.interval_ns
            if self._now < end:
                self._now = end
            self._emit_current()
            self._close_until(self._now)

    def _late(self, trade: TradeTick) -> None:
        self.late_trades += 1
        level = logging.WARNING if self.late_trades == 1 else logging.DEBUG
        log.log(
            level,
            "%s: dropped late trade at ts=%d (its %d ns bar was already closed at clock %d); "
            "%d late so far",
            self.symbol,
            trade.ts,
            self.interval_ns,
            self._now,
            self.late_trades,
        )

    def _emit_current(self) -> None:
        end = self._bar_start + self.interval_ns
        self._has_bar = False
        self._last_close = self._c
        self._next_start = end
        self.emit(
            Bar(end, self.symbol, self._bar_start, self._o, self._h, self._l, self._c, self._v)
        )

    def _close_until(self, ts: int) -> None:
        interval = self.interval_ns
        if self._has_bar and ts >= self._bar_start + interval:
            self._emit_current()
        if self._has_bar:
            self._deadline = self._bar_start + interval
            return
        if self.empty is EmptyBarPolicy.CARRY and self._last_close is not None:
            c = self._last_close
            start = self._next_start
            while start + interval <= ts:
                self.emit(Bar(start + interval, self.symbol, start, c, c, c, c, 0.0))
                start += interval
            self._next_start = start
            self._deadline = start + interval
        else:
            self._deadline = _FAR_FUTURE


class _CountingAggregator:
    """Shared machinery of bars closed by trade activity rather than by the clock.

    Such a bar spans [first trade ts, last trade ts] and is stamped ``ts`` = its last trade's
    timestamp, the moment it becomes known.
    """

    def __init__(self, symbol: str, emit: Callable[[Bar], None]) -> None:
        self.symbol = symbol
        self.emit = emit
        self._n = 0
        self._start = 0
        self._last_ts = 0
        self._o = self._h = self._l = self._c = self._v = 0.0

    def _add(self, trade: TradeTick) -> None:
        price = trade.price
        if self._n == 0:
            self._start = trade.ts
            self._o = self._h = self._l = price
            self._v = 0.0
        elif price > self._h:
            self._h = price
        elif price < self._l:
            self._l = price
        self._c = price
        self._v += trade.qty
        self._last_ts = trade.ts
        self._n += 1

    def _emit(self) -> None:
        self.emit(
            Bar(
                self._last_ts, self.symbol, self._start, self._o, self._h, self._l, self._c, self._v
            )
        )
        self._n = 0

    def on_time(self, ts: int) -> None:
        """Activity bars ignore the clock; present so all aggregators share one interface."""

    def flush(self) -> None:
        """End of data: emit the incomplete bar, if any."""
        if self._n:
            self._emit()


class TickBarAggregator(_CountingAggregator):
    """A bar every ``n_trades`` trades."""

    def __init__(self, symbol: str, n_trades: int, emit: Callable[[Bar], None]) -> None:
        if n_trades <= 0:
            raise ConfigError(f"tick bars need n_trades > 0, got {n_trades}")
        super().__init__(symbol, emit)
        self.n_trades = n_trades

    def on_trade(self, trade: TradeTick) -> None:
        self._add(trade)
        if self._n >= self.n_trades:
            self._emit()


class VolumeBarAggregator(_CountingAggregator):
    """A bar each time traded quantity reaches ``volume``.

    Overshoot: a trade is never split. The trade that makes the running volume reach or pass
    the threshold goes WHOLE into the bar it completes, so a bar's volume is >= ``volume`` and
    the next bar starts from zero. Splitting would invent trades that never happened and give
    two bars the same trade's timestamp.
    """

    def __init__(self, symbol: str, volume: float, emit: Callable[[Bar], None]) -> None:
        if not volume > 0:
            raise ConfigError(f"volume bars need a positive volume threshold, got {volume}")
        super().__init__(symbol, emit)
        self.volume = float(volume)

    def on_trade(self, trade: TradeTick) -> None:
        self._add(trade)
        if self._v >= self.volume:
            self._emit()


def resample_trades(
    trades: TradeSeries,
    interval_ns: int | str,
    empty: EmptyBarPolicy,
) -> BarSeries:
    """Vectorised time bars from a whole ``TradeSeries``; identical to feeding the trades to a
    ``TimeBarAggregator`` and closing with ``on_time(last bar end)``.

    Bars run from the first trade's interval to the last trade's. Volumes are summed in trade
    order (``np.bincount``), exactly as the streaming aggregator adds them, so the two agree
    bit for bit.
    """
    interval = parse_interval(interval_ns)
    src = f"resample({trades.source or trades.symbol}, {interval} ns, {empty.value})"
    n = len(trades)
    if n == 0:
        raise DataError(f"{trades.source or '<trades>'}: no trades to resample")
    ts = trades.ts
    if n > 1 and np.any(np.diff(ts) < 0):
        raise DataError(f"{trades.source or '<trades>'}: trades are not sorted by timestamp")
    bucket = ts - ts % interval  # numpy % floors like Python's, also before 1970
    first = int(bucket[0])
    slot = (bucket - first) // interval
    cuts = np.flatnonzero(np.diff(slot)) + 1
    begins = np.concatenate(([0], cuts))
    ends = np.concatenate((cuts, [n]))
    price = trades.price
    open_ = price[begins]
    close = price[ends - 1]
    high = np.maximum.reduceat(price, begins)
    low = np.minimum.reduceat(price, begins)
    group = np.repeat(np.arange(begins.size), ends - begins)
    volume: F64 = np.asarray(
        np.bincount(group, weights=trades.qty, minlength=begins.size), dtype=np.float64
    )
    starts = bucket[begins]
    if empty is EmptyBarPolicy.CARRY:
        n_slots = int(slot[-1]) + 1
        filled_slot = slot[begins]
        starts = first + np.arange(n_slots, dtype=np.int64) * interval
        last = np.zeros(n_slots, dtype=np.int64)
        last[filled_slot] = np.arange(filled_slot.size)
        np.maximum.accumulate(last, out=last)  # index of the latest real bar at or before
        prev_close = close[last]

        def spread(values: F64, fill: F64) -> F64:
            out = fill.copy()
            out[filled_slot] = values
            return out

        open_ = spread(open_, prev_close)
        high = spread(high, prev_close)
        low = spread(low, prev_close)
        close = spread(close, prev_close)
        volume = spread(volume, np.zeros(n_slots))
    return BarSeries(
        start=starts,
        end=starts + interval,
        open=open_,
        high=high,
        low=low,
        close=close,
        volume=volume,
        symbol=trades.symbol,
        interval_ns=interval,
        source=src,
    )


def aggregate_stream(
    trades: TradeSeries,
    interval_ns: int | str,
    empty: EmptyBarPolicy,
) -> list[Bar]:
    """Drive a ``TimeBarAggregator`` over ``trades`` and close the last bar by the clock;
    the streaming twin of ``resample_trades`` (handy for checks and small jobs)."""
    out: list[Bar] = []
    agg = TimeBarAggregator(trades.symbol, interval_ns, out.append, empty)
    for trade in trades.iter_trades():
        agg.on_trade(trade)
    if len(trades):
        last = int(trades.ts[-1])
        agg.on_time(last - last % agg.interval_ns + agg.interval_ns)
    return out
