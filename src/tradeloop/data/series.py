"""Columnar market data: ``BarSeries`` (OHLCV) and ``TradeSeries`` (public trades).

Data is held as parallel numpy columns rather than lists of events because loading, slicing,
resampling and validating a million rows must be vectorised; events (``Bar``/``TradeTick``) are
only materialised when a consumer iterates, one at a time, from ``.tolist()`` columns (plain
Python floats/ints zip and construct several times faster than numpy scalars).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from tradeloop.core.errors import DataError
from tradeloop.data.intervals import format_interval
from tradeloop.model.enums import Side
from tradeloop.model.events import Bar, TradeTick

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
I8 = npt.NDArray[np.int8]

ROW_NOTE = "1-based data row, header excluded"

SIDE_BUY = 1
SIDE_SELL = -1
SIDE_UNKNOWN = 0


def _as(arr: Any, dtype: type) -> Any:
    """A read-only 1-D view of ``arr`` as ``dtype``.

    Series are shared (slices are views, the backtester and the report read the same
    columns), so an in-place edit by one consumer would silently change everyone's data;
    the view is read-only (the caller's own array keeps its flags).
    """
    out: Any = np.ascontiguousarray(arr, dtype=dtype)
    if out.ndim != 1:
        raise ValueError(f"columns must be 1-D, got shape {out.shape}")
    view = out.view()
    view.flags.writeable = False
    return view


def row_error(source: str, index: int, what: str) -> DataError:
    """A ``DataError`` naming the file and the 1-based data row of 0-based ``index``."""
    return DataError(f"{source}: row {index + 1} ({ROW_NOTE}): {what}")


def fmt_ts(ns: int) -> str:
    """ISO-8601 UTC text of an int-ns timestamp, for messages people read."""
    text = str(np.datetime64(int(ns), "ns"))
    return text.removesuffix(".000000000") + "Z"


def _first_true(mask: npt.NDArray[np.bool_]) -> int:
    """Index of the first True in ``mask``, or -1."""
    hits = np.flatnonzero(mask)
    return int(hits[0]) if hits.size else -1


@dataclass(frozen=True, eq=False)
class BarSeries:
    """OHLCV bars over [start, end), sorted by ``start``; ``end`` is when each bar is known.

    ``source`` is where the data came from (a file path, "synthetic", "resample(...)") and is
    what error messages quote.
    """

    start: I64
    end: I64
    open: F64
    high: F64
    low: F64
    close: F64
    volume: F64
    symbol: str
    interval_ns: int
    source: str = ""

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            object.__setattr__(self, name, _as(getattr(self, name), np.int64))
        for name in ("open", "high", "low", "close", "volume"):
            object.__setattr__(self, name, _as(getattr(self, name), np.float64))
        n = self.start.shape[0]
        for name in ("end", "open", "high", "low", "close", "volume"):
            if getattr(self, name).shape[0] != n:
                raise ValueError(f"BarSeries column {name!r} has a different length than start")
        if self.interval_ns <= 0:
            raise ValueError(f"interval_ns must be positive, got {self.interval_ns}")

    @classmethod
    def from_bars(
        cls, bars: Iterable[Bar], interval_ns: int, symbol: str | None = None, source: str = ""
    ) -> BarSeries:
        """Columns from ``Bar`` events (e.g. what an aggregator emitted)."""
        items = list(bars)
        rows = [(b.start, b.ts, b.open, b.high, b.low, b.close, b.volume) for b in items]
        sym = symbol if symbol is not None else (items[0].symbol if items else "")
        cols = list(zip(*rows, strict=True)) if rows else [()] * 7
        return cls(
            start=np.array(cols[0], dtype=np.int64),
            end=np.array(cols[1], dtype=np.int64),
            open=np.array(cols[2], dtype=np.float64),
            high=np.array(cols[3], dtype=np.float64),
            low=np.array(cols[4], dtype=np.float64),
            close=np.array(cols[5], dtype=np.float64),
            volume=np.array(cols[6], dtype=np.float64),
            symbol=sym,
            interval_ns=interval_ns,
            source=source,
        )

    def __len__(self) -> int:
        return int(self.start.shape[0])

    def uniform_period(self) -> int | None:
        """The one period (ns) every bar spans, or None when they differ (or there are none):
        a replay then names the bars' bus topic once instead of bar by bar."""
        if not len(self):
            return None
        period = self.end - self.start
        return int(period[0]) if bool((period == period[0]).all()) else None

    def __repr__(self) -> str:
        return (
            f"BarSeries(symbol={self.symbol!r}, n={len(self)}, interval_ns={self.interval_ns}, "
            f"source={self.source!r})"
        )

    def iter_bars(self) -> Iterator[Bar]:
        """Yield ``Bar(ts=end, ...)`` in order; the hot loop of every bar backtest."""
        sym = self.symbol
        for end, start, o, h, lo, c, v in zip(
            self.end.tolist(),
            self.start.tolist(),
            self.open.tolist(),
            self.high.tolist(),
            self.low.tolist(),
            self.close.tolist(),
            self.volume.tolist(),
            strict=True,
        ):
            yield Bar(end, sym, start, o, h, lo, c, v)

    def to_bars(self) -> list[Bar]:
        return list(self.iter_bars())

    def slice(self, begin: int | None = None, stop: int | None = None) -> BarSeries:
        """Rows ``[begin, stop)`` by position (negative indices allowed); arrays are views."""
        s = slice(begin, stop)
        return BarSeries(
            start=self.start[s],
            end=self.end[s],
            open=self.open[s],
            high=self.high[s],
            low=self.low[s],
            close=self.close[s],
            volume=self.volume[s],
            symbol=self.symbol,
            interval_ns=self.interval_ns,
            source=self.source,
        )

    def between(self, start_ns: int | None = None, end_ns: int | None = None) -> BarSeries:
        """Bars whose open time lies in ``[start_ns, end_ns)`` (time-based slice)."""
        lo = 0 if start_ns is None else int(np.searchsorted(self.start, start_ns, "left"))
        hi = len(self) if end_ns is None else int(np.searchsorted(self.start, end_ns, "left"))
        return self.slice(lo, hi)

    def validate(self) -> BarSeries:
        """Raise ``DataError`` naming ``source`` and the first bad row; return self if sound."""
        validate_bars(self)
        return self


@dataclass(frozen=True, eq=False)
class TradeSeries:
    """Public trades sorted by ``ts``. ``side`` is the taker side: +1 buy, -1 sell, 0 unknown."""

    ts: I64
    price: F64
    qty: F64
    side: I8
    symbol: str
    source: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "ts", _as(self.ts, np.int64))
        object.__setattr__(self, "price", _as(self.price, np.float64))
        object.__setattr__(self, "qty", _as(self.qty, np.float64))
        object.__setattr__(self, "side", _as(self.side, np.int8))
        n = self.ts.shape[0]
        for name in ("price", "qty", "side"):
            if getattr(self, name).shape[0] != n:
                raise ValueError(f"TradeSeries column {name!r} has a different length than ts")

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    def __repr__(self) -> str:
        return f"TradeSeries(symbol={self.symbol!r}, n={len(self)}, source={self.source!r})"

    def iter_trades(self) -> Iterator[TradeTick]:
        """Yield ``TradeTick``s in order.

        ``TradeTick.side`` cannot say "unknown", so trades whose side the file did not give are
        classified by the tick rule (uptick = buy, downtick = sell, unchanged = as the previous
        trade, buy at the very start) — the standard fallback, and deterministic.
        """
        sym = self.symbol
        sides = effective_sides(self.side, self.price)
        buy, sell = Side.BUY, Side.SELL
        for ts, p, q, s in zip(
            self.ts.tolist(), self.price.tolist(), self.qty.tolist(), sides.tolist(), strict=True
        ):
            yield TradeTick(ts, sym, p, q, buy if s > 0 else sell)

    def slice(self, begin: int | None = None, stop: int | None = None) -> TradeSeries:
        """Rows ``[begin, stop)`` by position; arrays are views."""
        s = slice(begin, stop)
        return TradeSeries(
            ts=self.ts[s],
            price=self.price[s],
            qty=self.qty[s],
            side=self.side[s],
            symbol=self.symbol,
            source=self.source,
        )

    def between(self, start_ns: int | None = None, end_ns: int | None = None) -> TradeSeries:
        """Trades with ``start_ns <= ts < end_ns``."""
        lo = 0 if start_ns is None else int(np.searchsorted(self.ts, start_ns, "left"))
        hi = len(self) if end_ns is None else int(np.searchsorted(self.ts, end_ns, "left"))
        return self.slice(lo, hi)

    def validate(self) -> TradeSeries:
        validate_trades(self)
        return self


def tick_rule_sides(price: F64) -> I8:
    """Taker side by the tick rule: +1 on an uptick, -1 on a downtick, else the previous sign."""
    n = price.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int8)
    move = np.sign(np.diff(price, prepend=price[0])).astype(np.int8)
    # Forward-fill zeros with the last non-zero move; leading zeros become +1 (buy).
    idx = np.where(move != 0, np.arange(n), 0)
    np.maximum.accumulate(idx, out=idx)
    filled = move[idx]
    filled[filled == 0] = SIDE_BUY
    return filled.astype(np.int8)


def effective_sides(side: I8, price: F64) -> I8:
    """``side`` with unknown (0) entries replaced by the tick rule."""
    if side.size == 0 or np.all(side != SIDE_UNKNOWN):
        return side
    inferred = tick_rule_sides(price)
    return np.where(side == SIDE_UNKNOWN, inferred, side).astype(np.int8)


def _check_finite(source: str, columns: dict[str, F64]) -> None:
    worst: tuple[int, str, float] | None = None
    for name, col in columns.items():
        i = _first_true(~np.isfinite(col))
        if i >= 0 and (worst is None or i < worst[0]):
            worst = (i, name, float(col[i]))
    if worst is not None:
        i, name, value = worst
        raise row_error(source, i, f"field {name!r} is {value} (must be a finite number)")


def check_times(source: str, ts: I64, what: str, allow_equal: bool) -> None:
    if ts.shape[0] < 2:
        return
    d = np.diff(ts)
    back = _first_true(d < 0)
    dup = -1 if allow_equal else _first_true(d == 0)
    if back >= 0 and (dup < 0 or back < dup):
        raise row_error(
            source,
            back + 1,
            f"{what} {fmt_ts(int(ts[back + 1]))} is earlier than the previous row's "
            f"{fmt_ts(int(ts[back]))} (timestamps must be sorted ascending)",
        )
    if dup >= 0:
        raise row_error(
            source,
            dup + 1,
            f"duplicate {what} {fmt_ts(int(ts[dup + 1]))} (same as the previous row)",
        )


def validate_bars(bars: BarSeries) -> None:
    """Check a ``BarSeries`` is usable; raise a one-line ``DataError`` at the first bad row.

    Checks, each reported at the earliest offending row: finite numbers, positive prices,
    non-negative volume, low <= open/close <= high, strictly increasing open times (unsorted
    and duplicate rows reported separately) and bars that do not overlap.
    """
    src = bars.source or "<bars>"
    if len(bars) == 0:
        raise DataError(f"{src}: no bars (empty file or no data rows)")
    _check_finite(
        src,
        {
            "open": bars.open,
            "high": bars.high,
            "low": bars.low,
            "close": bars.close,
            "volume": bars.volume,
        },
    )
    problems: list[tuple[int, str]] = []
    for name in ("open", "high", "low", "close"):
        col = getattr(bars, name)
        i = _first_true(col <= 0)
        if i >= 0:
            problems.append((i, f"field {name!r} is {float(col[i])!r} (prices must be positive)"))
    i = _first_true(bars.volume < 0)
    if i >= 0:
        problems.append((i, f"field 'volume' is {float(bars.volume[i])!r} (must not be negative)"))
    i = _first_true(bars.high < bars.low)
    if i >= 0:
        problems.append((i, f"high {float(bars.high[i])!r} < low {float(bars.low[i])!r}"))
    for name in ("open", "close"):
        col = getattr(bars, name)
        i = _first_true((col < bars.low) | (col > bars.high))
        if i >= 0:
            problems.append(
                (
                    i,
                    f"{name} {float(col[i])!r} is outside [low, high] = "
                    f"[{float(bars.low[i])!r}, {float(bars.high[i])!r}]",
                )
            )
    if problems:
        i, what = min(problems, key=lambda p: p[0])
        raise row_error(src, i, what)
    check_times(src, bars.start, "bar open time", allow_equal=False)
    i = _first_true(bars.end <= bars.start)
    if i >= 0:
        raise row_error(src, i, "bar end time is not after its start time")
    if len(bars) > 1:
        i = _first_true(bars.start[1:] < bars.end[:-1])
        if i >= 0:
            raise row_error(
                src,
                i + 1,
                f"bar starts at {fmt_ts(int(bars.start[i + 1]))}, before the previous bar ends "
                f"at {fmt_ts(int(bars.end[i]))} (interval {format_interval(bars.interval_ns)} "
                "too long for this data?)",
            )


def validate_trades(trades: TradeSeries) -> None:
    """Check a ``TradeSeries``: finite positive prices, finite non-negative quantities, known
    side codes, non-decreasing timestamps (equal timestamps are normal for trades)."""
    src = trades.source or "<trades>"
    if len(trades) == 0:
        raise DataError(f"{src}: no trades (empty file or no data rows)")
    _check_finite(src, {"price": trades.price, "qty": trades.qty})
    problems: list[tuple[int, str]] = []
    i = _first_true(trades.price <= 0)
    if i >= 0:
        problems.append(
            (i, f"field 'price' is {float(trades.price[i])!r} (prices must be positive)")
        )
    i = _first_true(trades.qty < 0)
    if i >= 0:
        problems.append((i, f"field 'qty' is {float(trades.qty[i])!r} (must not be negative)"))
    i = _first_true((trades.side < -1) | (trades.side > 1))
    if i >= 0:
        problems.append((i, f"field 'side' is {int(trades.side[i])} (must be -1, 0 or +1)"))
    if problems:
        i, what = min(problems, key=lambda p: p[0])
        raise row_error(src, i, what)
    check_times(src, trades.ts, "trade timestamp", allow_equal=True)
