"""Performance statistics: round trips from fills, and a summary of an equity curve.

Everything here is pure and deterministic so the same backtest always reports the same numbers,
and everything in :class:`Stats` is JSON-safe: a statistic that cannot be computed from the data
(a Sharpe ratio of a flat curve, a win rate with no trades, a CAGR over zero time) is ``None``,
never NaN or infinity, because ``json.dumps`` would otherwise emit invalid JSON.

Conventions
-----------
* Timestamps are int nanoseconds since the Unix epoch (as everywhere in tradeloop).
* Returns are per-period simple returns of the equity curve; ratios are annualised with
  ``periods_per_year`` inferred from the median timestamp step (365.25-day years, crypto trades
  every day); the risk-free rate is 0.
* Volatility uses the sample standard deviation (``ddof=1``); Sortino divides the mean return by
  the downside deviation ``sqrt(mean(min(r, 0)**2))`` taken over *all* periods.
* Max drawdown is a positive fraction of the running peak (0.25 = the curve fell 25%).
* Fees are assumed to be in the quote/settle currency, as ``model.position.Position`` assumes;
  round-trip PnL is net of them.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt

from tradeloop.model.enums import Side
from tradeloop.model.events import Fill

log = logging.getLogger(__name__)

NS_PER_DAY = 86_400 * 1_000_000_000
NS_PER_YEAR = 365.25 * NS_PER_DAY
_REL_EPS = 1e-9  # a position this small relative to the fill that produced it counts as flat
_ABS_EPS = 1e-12


@dataclass(frozen=True, slots=True)
class RoundTrip:
    """One trade from flat back to flat (or to a flip) in one symbol.

    ``side`` is the opening side (BUY = long). ``qty`` is the total quantity opened (which, for a
    closed trip, equals the total quantity closed). Prices are quantity-weighted averages of the
    opening and closing fills. ``pnl`` = ``gross_pnl`` - ``fees``; over a complete trip the
    average-cost realised PnL equals ``(exit_price - entry_price) * qty * sign * multiplier``
    whatever the order of adds and partial closes, which is what we compute.
    """

    symbol: str
    side: Side
    qty: float
    entry_ts: int
    exit_ts: int
    entry_price: float
    exit_price: float
    gross_pnl: float
    fees: float
    pnl: float
    n_fills: int

    @property
    def duration_ns(self) -> int:
        return self.exit_ts - self.entry_ts


@dataclass(slots=True)
class _OpenTrip:
    """Accumulator for the trip currently open in one symbol."""

    side: Side
    entry_ts: int
    qty: float = 0.0  # signed current position
    opened: float = 0.0  # total |qty| opened
    open_notional: float = 0.0
    closed: float = 0.0  # total |qty| closed
    close_notional: float = 0.0
    fees: float = 0.0
    n_fills: int = 0

    def close(self, symbol: str, ts: int, multiplier: float) -> RoundTrip:
        entry = self.open_notional / self.opened if self.opened else 0.0
        exit_ = self.close_notional / self.closed if self.closed else 0.0
        gross = (self.close_notional - self.open_notional) * self.side.sign * multiplier
        return RoundTrip(
            symbol=symbol,
            side=self.side,
            qty=self.opened,
            entry_ts=self.entry_ts,
            exit_ts=ts,
            entry_price=entry,
            exit_price=exit_,
            gross_pnl=gross,
            fees=self.fees,
            pnl=gross - self.fees,
            n_fills=self.n_fills,
        )


def _is_flat(q: float, scale: float) -> bool:
    return abs(q) <= max(_ABS_EPS, _REL_EPS * scale)


def round_trips(
    fills: Sequence[Fill], multipliers: dict[str, float] | None = None
) -> list[RoundTrip]:
    """Group fills into closed round trips, per symbol, ordered by exit time.

    A trip opens when the position leaves 0 and closes when it returns to 0. A fill that flips the
    position through 0 is split: the part that flattens closes the trip and the rest opens a new
    one at the same price and time; its fee is split pro rata by quantity. Fills are taken in
    timestamp order (stable, so same-ts fills keep their given order). A trip still open after the
    last fill is not returned: its PnL is not yet realised.
    """
    mult = multipliers or {}
    open_trips: dict[str, _OpenTrip] = {}
    out: list[RoundTrip] = []
    for f in sorted(fills, key=lambda x: x.ts):
        qty = abs(f.qty)
        if qty <= 0.0:
            continue
        m = mult.get(f.symbol, 1.0)
        signed = f.side.sign * qty
        trip = open_trips.get(f.symbol)
        if trip is None:
            trip = open_trips[f.symbol] = _OpenTrip(side=f.side, entry_ts=f.ts)
        trip.n_fills += 1
        if f.side is trip.side:  # opening or adding
            trip.qty += signed
            trip.opened += qty
            trip.open_notional += qty * f.price
            trip.fees += f.fee
            continue
        current = abs(trip.qty)
        closing = min(qty, current)
        rest = qty - closing
        if _is_flat(rest, qty):
            closing, rest = qty, 0.0
        trip.closed += closing
        trip.close_notional += closing * f.price
        trip.fees += f.fee * (closing / qty)
        trip.qty += f.side.sign * closing
        if not _is_flat(trip.qty, max(current, qty)):
            continue  # partial close
        out.append(trip.close(f.symbol, f.ts, m))
        del open_trips[f.symbol]
        if rest > 0.0:  # flipped: the remainder opens a new trip
            open_trips[f.symbol] = _OpenTrip(
                side=f.side,
                entry_ts=f.ts,
                qty=f.side.sign * rest,
                opened=rest,
                open_notional=rest * f.price,
                fees=f.fee * (rest / qty),
                n_fills=1,
            )
    if open_trips:
        log.debug("round_trips: %d symbol(s) end with an open position", len(open_trips))
    out.sort(key=lambda t: t.exit_ts)
    return out


@dataclass(frozen=True, slots=True)
class Stats:
    """Summary statistics of one run. ``None`` means "not computable from this data" (see the
    module docstring); fields are plain Python numbers so :meth:`as_dict` is JSON-ready.

    Edge cases: no points → returns/drawdown 0, final equity = initial; 1 point or a zero time
    span → CAGR, volatility, Sharpe, Sortino, Calmar ``None``; flat equity → volatility 0,
    Sharpe/Sortino ``None``; no losing periods → Sortino ``None``; no round trips → win rate,
    profit factor and average trade ``None``; no losing trips → profit factor ``None`` (it would
    be infinite); no position series → exposure ``None``.
    """

    start_ts: int | None
    end_ts: int | None
    n_periods: int
    periods_per_year: float | None
    initial_equity: float
    final_equity: float
    total_return: float
    cagr: float | None
    volatility: float | None
    sharpe: float | None
    sortino: float | None
    max_drawdown: float
    max_drawdown_duration_ns: int
    max_drawdown_recovered: bool
    calmar: float | None
    n_round_trips: int
    n_fills: int
    win_rate: float | None
    profit_factor: float | None
    avg_trade_pnl: float | None
    exposure: float | None
    total_fees: float

    def as_dict(self) -> dict[str, object]:
        """Plain dict for JSON; any non-finite float that slipped in becomes ``None``."""
        d = asdict(self)
        return {k: _finite_or_none(v) if isinstance(v, float) else v for k, v in d.items()}


def _finite_or_none(x: float | None) -> float | None:
    if x is None or not math.isfinite(x):
        return None
    return float(x)


def periods_per_year(ts: npt.NDArray[np.int64]) -> float | None:
    """Infer the sampling frequency from the median step (robust to gaps and weekends)."""
    if len(ts) < 2:
        return None
    step = float(np.median(np.diff(ts.astype(np.int64))))
    return NS_PER_YEAR / step if step > 0 else None


def simple_returns(equity: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Per-period simple returns; a period starting at equity <= 0 has return 0 (a blown-up
    account has no meaningful percentage return, and dividing would leak inf/NaN)."""
    eq = np.asarray(equity, dtype=np.float64)
    if len(eq) < 2:
        return np.zeros(0)
    prev, cur = eq[:-1], eq[1:]
    out = np.zeros(len(cur))
    ok = prev > 0
    np.divide(cur - prev, prev, out=out, where=ok)
    return out


def drawdown(equity: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Drawdown from the running peak as a positive fraction (0 at new highs). Where the peak is
    not positive the fraction is meaningless and reported as 0."""
    eq = np.asarray(equity, dtype=np.float64)
    if len(eq) == 0:
        return np.zeros(0)
    peak = np.maximum.accumulate(eq)
    dd = np.zeros(len(eq))
    np.divide(peak - eq, peak, out=dd, where=peak > 0)
    return dd


def _max_drawdown(
    ts: npt.NDArray[np.int64], eq: npt.NDArray[np.float64]
) -> tuple[float, int, bool]:
    """(depth, duration_ns, recovered). Duration runs from the last peak before the deepest
    trough to the first point back at or above that peak, or to the last point if never."""
    dd = drawdown(eq)
    if len(dd) == 0 or float(dd.max()) <= 0.0:
        return 0.0, 0, True
    trough = int(np.argmax(dd))
    peak_val = float(np.max(eq[: trough + 1]))
    peak_idx = int(np.flatnonzero(eq[: trough + 1] >= peak_val)[-1])
    after = np.flatnonzero(eq[trough + 1 :] >= peak_val)
    if len(after):
        end_idx, recovered = trough + 1 + int(after[0]), True
    else:
        end_idx, recovered = len(eq) - 1, False
    return float(dd[trough]), int(ts[end_idx] - ts[peak_idx]), recovered


def _cagr(initial: float, final: float, span_ns: int) -> float | None:
    if span_ns <= 0 or initial <= 0:
        return None
    if final <= 0:
        return -1.0
    try:
        return _finite_or_none(math.pow(final / initial, NS_PER_YEAR / span_ns) - 1.0)
    except OverflowError:
        return None


def _trade_stats(trips: Sequence[RoundTrip]) -> tuple[float | None, float | None, float | None]:
    """(win rate, profit factor, average pnl) over round trips."""
    if not trips:
        return None, None, None
    pnl = np.array([t.pnl for t in trips], dtype=np.float64)
    wins = float(np.count_nonzero(pnl > 0)) / len(pnl)
    gross_win = float(pnl[pnl > 0].sum())
    gross_loss = float(-pnl[pnl < 0].sum())
    pf = gross_win / gross_loss if gross_loss > 0 else None
    return wins, pf, float(pnl.mean())


def compute_stats(
    ts: npt.ArrayLike,
    equity: npt.ArrayLike,
    position: npt.ArrayLike | None,
    fills: Sequence[Fill],
    round_trips: Sequence[RoundTrip],
    initial_equity: float | None = None,
) -> Stats:
    """Summarise an equity curve sampled at ``ts`` plus the run's fills and round trips.

    ``position`` (same length as ``equity``, signed, any unit) gives exposure: the fraction of
    periods with a non-zero position. ``initial_equity`` defaults to the first equity point; total
    return and CAGR are measured from it. Raises ``ValueError`` only for mismatched lengths (a
    caller bug); degenerate data yields zeros/``None`` as documented on :class:`Stats`.
    """
    t = np.asarray(ts, dtype=np.int64)
    eq = np.asarray(equity, dtype=np.float64)
    if len(t) != len(eq):
        raise ValueError(f"ts has {len(t)} points but equity has {len(eq)}")
    pos = None if position is None else np.asarray(position, dtype=np.float64)
    if pos is not None and len(pos) != len(eq):
        raise ValueError(f"position has {len(pos)} points but equity has {len(eq)}")
    if len(eq) and not np.all(np.isfinite(eq)):
        log.warning("equity has non-finite values; they are carried forward for statistics")
        eq = finite_forward_filled(eq)

    n = len(eq)
    if initial_equity is None:
        initial_equity = float(eq[0]) if n else 0.0
    initial = float(initial_equity)
    final = float(eq[-1]) if n else initial
    total_return = final / initial - 1.0 if initial > 0 else 0.0
    span = int(t[-1] - t[0]) if n else 0

    ppy = periods_per_year(t)
    r = simple_returns(eq)
    vol = sharpe = sortino = None
    if len(r) >= 2 and ppy is not None:
        ann = math.sqrt(ppy)
        sd = float(np.std(r, ddof=1))
        mean = float(np.mean(r))
        vol = sd * ann
        sharpe = mean / sd * ann if sd > 0 else None
        downside = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2)))
        sortino = mean / downside * ann if downside > 0 else None

    mdd, mdd_dur, recovered = _max_drawdown(t, eq)
    cagr = _cagr(initial, final, span)
    calmar = cagr / mdd if cagr is not None and mdd > 0 else None
    win_rate, pf, avg_pnl = _trade_stats(round_trips)
    exposure = None
    if pos is not None and len(pos):
        exposure = float(np.count_nonzero(np.nan_to_num(pos, nan=0.0))) / len(pos)

    return Stats(
        start_ts=int(t[0]) if n else None,
        end_ts=int(t[-1]) if n else None,
        n_periods=n,
        periods_per_year=_finite_or_none(ppy),
        initial_equity=initial,
        final_equity=final,
        total_return=total_return,
        cagr=cagr,
        volatility=_finite_or_none(vol),
        sharpe=_finite_or_none(sharpe),
        sortino=_finite_or_none(sortino),
        max_drawdown=mdd,
        max_drawdown_duration_ns=mdd_dur,
        max_drawdown_recovered=recovered,
        calmar=_finite_or_none(calmar),
        n_round_trips=len(round_trips),
        n_fills=len(fills),
        win_rate=win_rate,
        profit_factor=_finite_or_none(pf),
        avg_trade_pnl=avg_pnl,
        exposure=exposure,
        total_fees=float(sum(f.fee for f in fills)),
    )


def finite_forward_filled(a: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Replace non-finite values by the last finite one (0 before the first), so one bad mark
    does not poison running maxima (drawdown) or every later return."""
    ok = np.isfinite(a)
    idx = np.where(ok, np.arange(len(a)), 0)
    np.maximum.accumulate(idx, out=idx)
    out = a[idx]
    out[~ok & (idx == 0) & ~ok[0]] = 0.0
    return np.asarray(out, dtype=np.float64)
