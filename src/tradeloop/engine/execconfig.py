"""How targets are traded: the execution algorithm per instrument, how hard a refused target
is pursued, exposure caps and how many finished orders stay in memory — frozen, documented
configuration the OMS (``engine.oms``) reads, identical in backtest and live."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from tradeloop.model import NS_PER_S


class ExecAlgo(str, Enum):
    """How a target is traded (``engine.algos`` explains each)."""

    MARKET = "market"
    LIMIT_CHASE = "limit_chase"
    TWAP = "twap"
    VWAP = "vwap"
    ICEBERG = "iceberg"


_MARKET_ALGO, _CHASE, _TWAP, _VWAP, _ICEBERG = (
    ExecAlgo.MARKET,
    ExecAlgo.LIMIT_CHASE,
    ExecAlgo.TWAP,
    ExecAlgo.VWAP,
    ExecAlgo.ICEBERG,
)
#: algos that trade a target in slices rather than at once
_SLICED = frozenset({_TWAP, _VWAP, _ICEBERG})
#: algos that rest limit orders at the best price and re-price them when it moves
_CHASING = frozenset({_CHASE, _ICEBERG})


@dataclass(frozen=True, slots=True)
class AlgoSpec:
    """One instrument's execution algorithm and its knobs.

    * ``market`` — one market order per target change (quote-sized for all-in spot buys).
    * ``limit_chase`` — a limit at our side's best price, re-priced when it moves; a spot buy
      is sized so price × size plus the fee fits the free cash (an all-in target fills).
    * ``twap`` — the change is cut into ``slices`` market orders ``interval_ns`` apart; the
      last takes what is left, so lot rounding never adds a dust order (spot buy slices are
      sized in base while the free cash covers them, so they add up to the change).
    * ``vwap`` — each bar, a market order of at most ``participation`` × that bar's volume,
      so the target is reached at the market's own pace (participation of bar volume).
    * ``iceberg`` — limit orders at the best price showing at most ``display`` (base units /
      contracts) at a time; each filled piece is followed by the next (a left-over below
      the minimum size rides with the piece before it).
    """

    algo: ExecAlgo = ExecAlgo.MARKET
    slices: int = 10
    interval_ns: int = 60 * NS_PER_S
    participation: float = 0.1
    display: float = 0.0

    def __post_init__(self) -> None:
        if self.slices < 1 or self.interval_ns <= 0:
            raise ValueError("twap needs slices >= 1 and a positive interval")
        if not 0 < self.participation <= 1:
            raise ValueError("vwap participation must be in (0, 1]")
        if self.display < 0:
            raise ValueError("iceberg display size must be >= 0")


@dataclass(frozen=True, slots=True)
class TargetRetryPolicy:
    """How long to wait before pursuing a target again after a transient refusal (or before
    re-sending a cancel the venue could not confirm).

    The n-th consecutive wait (n = 0, 1, ...) is drawn uniformly from ``[d/2, d]`` with
    ``d = min(cap_s, base_s * 2**n)`` ("equal jitter": never a thundering herd, never zero).
    There is no attempt limit: a target stands until the strategy changes it, and the venue's
    own limits recover. The jitter comes from a generator seeded with ``seed``, so backtests
    stay deterministic.
    """

    base_s: float = 0.25
    cap_s: float = 15.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not (self.base_s > 0 and self.cap_s >= self.base_s):
            raise ValueError("TargetRetryPolicy needs 0 < base_s <= cap_s")

    def delay_ns(self, attempt: int, rng: random.Random) -> int:
        d = min(self.cap_s, self.base_s * 2.0 ** min(attempt, 32))
        return int((d * 0.5 + rng.random() * d * 0.5) * NS_PER_S)


@dataclass(frozen=True, slots=True)
class ExecConfig:
    """How targets are traded. ``LIMIT_CHASE`` rests a limit at the best price on our side and
    re-prices it whenever the best price moves, until the target is met."""

    algo: ExecAlgo = ExecAlgo.MARKET
    retry: TargetRetryPolicy = TargetRetryPolicy()
    #: finished orders kept in ``OMS.orders`` (with their fill de-dup keys); the oldest go
    #: first. ``None`` keeps every order (backtests report them all); a long live run sets a
    #: bound so memory stays flat.
    max_finished_orders: int | None = None
    #: algorithm per instrument id, overriding ``algo`` (a run config sets each strategy's
    #: algo on its instruments)
    per_symbol: Mapping[str, AlgoSpec] = field(default_factory=dict)
    #: exposure caps, multiples of equity: Σ|notional| of the targets and |Σ notional|
    max_gross: float | None = None
    max_net: float | None = None

    def __post_init__(self) -> None:
        if self.max_finished_orders is not None and self.max_finished_orders < 1:
            raise ValueError("max_finished_orders must be >= 1 (or None to keep all)")

    def spec_for(self, symbol: str) -> AlgoSpec:
        spec = self.per_symbol.get(symbol)
        return spec if spec is not None else AlgoSpec(self.algo)
