"""Capital allocation between strategies: inverse-volatility risk parity on a schedule.

Fixed weights and equal weights are set once, as each strategy's capital, when the run is
built (``engine.runbuild``). Risk parity re-sets the weights every ``rebalance_ns``: each
strategy's weight is proportional to ``1 / σ``, σ being the standard deviation (ddof 1) of
the log returns of its instruments' marks sampled every ``sample_ns`` over the last
``lookback`` samples (averaged over the strategy's instruments). A rebalance moves capital
between the strategies' virtual books — ``capital_i = w_i × equity − pnl_i`` so that each
strategy's equity becomes ``w_i × equity`` — and re-sizes their percent targets. Only marks
the kernel already keeps are read, on clock timers: no per-bar cost, and the same code runs
in backtest and live.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Mapping

import numpy as np

from tradeloop.data.intervals import parse_interval
from tradeloop.engine.kernel import Kernel
from tradeloop.engine.runconfig import AllocationSpec

log = logging.getLogger(__name__)


def inverse_vol_weights(vols: Mapping[str, float]) -> dict[str, float]:
    """``w_i = (1/σ_i) / Σ 1/σ_j``; strategies with no measurable σ share equally."""
    good = {k: v for k, v in vols.items() if v > 0 and math.isfinite(v)}
    if not good:
        return {k: 1.0 / len(vols) for k in vols} if vols else {}
    inv = {k: 1.0 / v for k, v in good.items()}
    total = sum(inv.values())
    return {k: inv.get(k, 0.0) / total for k in vols}


class RiskParity:
    def __init__(
        self,
        symbols: Mapping[str, tuple[str, ...]],
        lookback: int,
        sample_ns: int,
        rebalance_ns: int,
        name: str = "alloc",
    ) -> None:
        #: timer-name prefix: several allocators (live account groups) share one clock
        self.name = name
        self.symbols = dict(symbols)
        self.lookback = lookback
        self.sample_ns = sample_ns
        self.rebalance_ns = rebalance_ns
        wanted = {s for syms in self.symbols.values() for s in syms}
        self.prices: dict[str, deque[float]] = {s: deque(maxlen=lookback + 1) for s in wanted}
        self.history: list[tuple[int, dict[str, float]]] = []
        self._kernel: Kernel | None = None

    @classmethod
    def of(
        cls, symbols: Mapping[str, tuple[str, ...]], spec: AllocationSpec, name: str = "alloc"
    ) -> RiskParity:
        """The allocator an ``[allocation]`` table describes (backtest and live alike)."""
        return cls(symbols, spec.lookback, parse_interval(spec.sample),
                   parse_interval(spec.rebalance or "1d"), name)  # fmt: skip

    def install(self, kernel: Kernel) -> None:
        self._kernel = kernel
        kernel.clock.set_timer(f"{self.name}.sample", self.sample_ns, self._sample)
        kernel.clock.set_timer(f"{self.name}.rebalance", self.rebalance_ns, self._rebalance)

    def state(self) -> dict[str, list[float]]:
        """The sampled marks, what a restarted live process needs to weigh as it would have
        (journaled; the weights themselves live on in each strategy's capital)."""
        return {s: list(dq) for s, dq in self.prices.items()}

    def restore(self, state: Mapping[str, list[float]]) -> None:
        for s, px in state.items():
            dq = self.prices.get(s)
            if dq is not None:
                dq.clear()
                dq.extend(float(x) for x in px)

    def _sample(self, _name: str, _ts: int) -> None:
        assert self._kernel is not None
        marks = self._kernel.portfolio.marks
        for s, dq in self.prices.items():
            m = marks.get(s)
            if m:
                dq.append(m)

    def volatility(self, sid: str) -> float:
        vols = []
        for s in self.symbols.get(sid, ()):
            px = np.asarray(self.prices[s], dtype=float)
            if px.shape[0] >= 3:
                vols.append(float(np.std(np.diff(np.log(px)), ddof=1)))
        return float(np.mean(vols)) if vols else math.nan

    def weights(self) -> dict[str, float]:
        return inverse_vol_weights({sid: self.volatility(sid) for sid in self.symbols})

    def _rebalance(self, _name: str, ts: int) -> None:
        k = self._kernel
        assert k is not None
        w = self.weights()
        p = k.portfolio
        equity = p.equity()
        self.history.append((ts, w))
        for sid, wi in w.items():
            book = p.books[sid]
            pnl = p.strategy_equity(sid) - book.capital
            book.capital = wi * equity - pnl
        for sid in w:
            for sym, frac in list(p.books[sid].percent_targets.items()):
                if p.marks.get(sym):
                    p.set_target_percent(sid, sym, frac)
        log.debug("risk parity at %d: %s", ts, w)
