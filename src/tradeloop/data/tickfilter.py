"""Abnormal-tick filter: bad market data is counted and logged, never shown to a strategy.

A venue feed occasionally carries prints no one could trade at: a fat-finger trade far from the
market, a zero or negative price, a crossed or locked book after a missed update, an event
older than one already seen. A strategy acting on one of those trades real money on nonsense,
so the live runtime passes every market event through :class:`TickFilter` first. The same class
works on bars (:func:`filter_bars`, :func:`filter_series`), so a backtest cleans its data with
the same rules: ``tradeloop backtest --tick-filter`` and the ``[filter]`` table of a run config
(``engine/runbuild.py``). It lives in ``data`` (below ``engine``, ``store`` and ``live``) so every
one of them can use it without reaching up a layer.

Rules, per instrument (``FilterConfig``, overridable per instrument in ``[filter]``):

* **non-positive values** — a price, size, bid or ask that is not a finite positive number
  (sizes may be 0), a bar whose high/low do not contain its open/close;
* **time out of order** — an event older than the last accepted one of the same instrument and
  kind by more than ``max_lag_ns``;
* **crossed or locked book** — best bid >= best ask in a quote or a book snapshot;
* **price jump** — ``|ln(price / last accepted price)|`` beyond ``k`` times a robust rolling
  scale: 1.4826 × the median absolute log return over the last ``window`` accepted prices,
  floored at ``min_scale`` (a flat market must not make every move look abnormal). A real
  level shift is accepted once ``confirm`` consecutive filtered prices agree with each other,
  so a genuine gap costs a few ticks, not the rest of the day.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from statistics import median

import numpy as np

from tradeloop.data.series import BarSeries
from tradeloop.model import Bar, BookLevels, Event, QuoteTick, TradeTick

log = logging.getLogger(__name__)

NON_POSITIVE = "non_positive"
OUT_OF_ORDER = "out_of_order"
CROSSED = "crossed_book"
JUMP = "price_jump"


@dataclass(frozen=True, slots=True)
class FilterConfig:
    enabled: bool = True
    k: float = 12.0
    window: int = 64
    min_scale: float = 5e-4
    max_lag_ns: int = 0
    check_book: bool = True
    confirm: int = 3


@dataclass(slots=True)
class _PriceState:
    last: float = 0.0
    returns: deque[float] = field(default_factory=lambda: deque(maxlen=64))
    scale: float = 0.0
    since_scale: int = 0
    pending: list[float] = field(default_factory=list)


def _bad(x: float) -> bool:
    return not (x > 0.0 and math.isfinite(x))


class TickFilter:
    """Per-instrument checks (see the module docstring); :meth:`accept` says whether an event
    may pass. ``counts`` holds ``{(symbol, reason): n}``; a WARNING is logged the first time a
    (symbol, reason) is seen and then at most every ``log_every_s`` seconds with the count."""

    def __init__(
        self,
        config: FilterConfig = FilterConfig(),
        overrides: Mapping[str, FilterConfig] | None = None,
        log_every_s: float = 60.0,
    ) -> None:
        self.config = config
        self.overrides = dict(overrides or {})
        self.counts: dict[tuple[str, str], int] = {}
        self._prices: dict[str, _PriceState] = {}
        self._last_ts: dict[tuple[str, type], int] = {}
        self._logged: dict[tuple[str, str], float] = {}
        self._log_every = log_every_s

    @property
    def dropped(self) -> int:
        return sum(self.counts.values())

    def config_for(self, symbol: str) -> FilterConfig:
        return self.overrides.get(symbol, self.config)

    # -- the check ----------------------------------------------------------------------------
    def accept(self, ev: Event) -> bool:
        symbol = getattr(ev, "symbol", None)
        if symbol is None:
            return True  # account and status news are not market data
        cfg = self.config_for(symbol)
        if not cfg.enabled:
            return True
        reason = self._problem(ev, symbol, cfg)
        if reason is None:
            key = (symbol, type(ev))
            if ev.ts > self._last_ts.get(key, -1):
                self._last_ts[key] = ev.ts
            return True
        self._count(symbol, reason, ev)
        return False

    def _problem(self, ev: Event, symbol: str, cfg: FilterConfig) -> str | None:
        price: float | None = None
        if isinstance(ev, TradeTick):
            if _bad(ev.price) or ev.qty < 0 or not math.isfinite(ev.qty):
                return NON_POSITIVE
            price = ev.price
        elif isinstance(ev, QuoteTick):
            if _bad(ev.bid) or _bad(ev.ask) or ev.bid_qty < 0 or ev.ask_qty < 0:
                return NON_POSITIVE
            if cfg.check_book and ev.bid >= ev.ask:
                return CROSSED
            price = (ev.bid + ev.ask) * 0.5
        elif isinstance(ev, Bar):
            o, h, lo, c = ev.open, ev.high, ev.low, ev.close
            if _bad(o) or _bad(h) or _bad(lo) or _bad(c) or ev.volume < 0:
                return NON_POSITIVE
            if h < max(o, c) or lo > min(o, c):
                return NON_POSITIVE
            price = c
        elif isinstance(ev, BookLevels):
            for p, q in (*ev.bids, *ev.asks):
                if _bad(p) or q < 0 or not math.isfinite(q):
                    return NON_POSITIVE
            crossed = (
                ev.snapshot
                and ev.bids
                and ev.asks
                and (max(p for p, _ in ev.bids) >= min(p for p, _ in ev.asks))
            )
            if cfg.check_book and crossed:
                return CROSSED
        last_ts = self._last_ts.get((symbol, type(ev)))
        if last_ts is not None and ev.ts < last_ts - cfg.max_lag_ns:
            return OUT_OF_ORDER
        if price is not None and not isinstance(ev, QuoteTick) and self._jump(symbol, price, cfg):
            return JUMP
        return None

    def _jump(self, symbol: str, price: float, cfg: FilterConfig) -> bool:
        st = self._prices.get(symbol)
        if st is None:
            st = self._prices[symbol] = _PriceState(returns=deque(maxlen=cfg.window))
        if not st.last:
            st.last = price
            return False
        r = math.log(price / st.last)
        if st.since_scale >= 8 or not st.scale:
            st.scale = 1.4826 * median(abs(x) for x in st.returns) if st.returns else 0.0
            st.since_scale = 0
        limit = cfg.k * max(st.scale, cfg.min_scale)
        if abs(r) <= limit:
            st.pending.clear()
            self._take(st, price, r)
            return False
        # a run of filtered prices that agree with each other is a new level, not noise
        if st.pending and abs(math.log(price / st.pending[-1])) > limit:
            st.pending.clear()
        st.pending.append(price)
        if len(st.pending) >= cfg.confirm:
            log.warning("%s: price level moved to %g (was %g): accepted after %d ticks",
                        symbol, price, st.last, len(st.pending))  # fmt: skip
            st.pending.clear()
            st.returns.clear()
            st.scale = 0.0
            st.last = price
            return False
        return True

    @staticmethod
    def _take(st: _PriceState, price: float, r: float) -> None:
        if r:
            st.returns.append(r)
            st.since_scale += 1
        st.last = price

    def _count(self, symbol: str, reason: str, ev: Event) -> None:
        key = (symbol, reason)
        n = self.counts[key] = self.counts.get(key, 0) + 1
        now = time.monotonic()
        last = self._logged.get(key)
        if last is None or now - last >= self._log_every:
            self._logged[key] = now
            log.warning("filtered %s %s (%s): %d so far: %s", symbol, type(ev).__name__,
                        reason, n, ev)  # fmt: skip


def filter_bars(
    bars: Iterable[Bar], config: FilterConfig = FilterConfig()
) -> tuple[list[Bar], TickFilter]:
    """The bars that pass (backtests use the same rules as live), and the filter's counts."""
    f = TickFilter(config)
    return [b for b in bars if f.accept(b)], f


def filter_series(
    series: BarSeries, config: FilterConfig = FilterConfig()
) -> tuple[BarSeries, TickFilter]:
    """:func:`filter_bars` on a columnar :class:`~tradeloop.data.series.BarSeries` (what
    ``tradeloop backtest --tick-filter`` runs before the backtest); the filter's ``counts``
    say what was dropped and why."""
    f = TickFilter(config)
    keep = np.fromiter((f.accept(b) for b in series.iter_bars()), dtype=bool, count=len(series))
    if keep.all():
        return series, f
    out = BarSeries(
        start=series.start[keep], end=series.end[keep], open=series.open[keep],
        high=series.high[keep], low=series.low[keep], close=series.close[keep],
        volume=series.volume[keep], symbol=series.symbol, interval_ns=series.interval_ns,
        source=f"{series.source} (tick filter: {int((~keep).sum())} bar(s) dropped)",
    )  # fmt: skip
    return out, f
