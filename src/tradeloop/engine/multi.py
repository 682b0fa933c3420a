"""Many instruments, many bar periods, one deterministic backtest.

Every input becomes a *stream* of rows with a time ``ts`` (when the row is known): each
instrument's bars at the data's own period (they also go to the simulated venue, which fills
orders on them), the coarser periods strategies asked for (resampled in the engine from those
same bars: ``data.resample``), mark-price bars and funding payments. The streams are merged
into one time-ordered sequence, once, with numpy; the replay then walks it in chunks, so no
whole-column Python lists are ever built (memory stays at the columns' own size).

**Tie rule** (rows with the same ``ts``): mark prices first, then bars — finer periods before
coarser ones (the 1m bar that completes an hour comes before that hour's bar), instruments in
the order the run lists them — then funding payments (which see the position after that
time's fills). Within one stream rows keep their order. So a run's event order is a function
of its inputs only.

Equity is sampled by a clock timer (at most ``sample_points`` times, on bar boundaries, plus
once at the end) — the account's, each strategy's and each instrument's PnL — which keeps
per-bar cost out of the replay loop.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from tradeloop.core.clock import SimClock
from tradeloop.core.ids import IdGenerator
from tradeloop.data.funding import FundingSeries
from tradeloop.data.resample import resample_bars
from tradeloop.data.series import BarSeries
from tradeloop.engine.backtest import ProgressFn, _quiet_gc
from tradeloop.engine.kernel import Kernel
from tradeloop.engine.oms import ExecConfig
from tradeloop.engine.risk import RiskConfig
from tradeloop.engine.strategy import Strategy
from tradeloop.model import Bar, Fill, Instrument
from tradeloop.sim.config import SimConfig
from tradeloop.sim.exchange import FundingPayment
from tradeloop.sim.margin import Liquidator, MarginRule
from tradeloop.venues.sim.client import SimExecutionClient

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

#: stream kinds, also their tie rank (lower first at an equal ts)
MARK, BARS, FUNDING = 0, 1, 2
CHUNK = 1 << 16


@dataclass(slots=True)
class Feed:
    """One instrument of a run and its data. ``bars`` are at the data's own period; the
    venue fills on them. ``margin`` turns on liquidation (derivatives)."""

    instrument: Instrument
    bars: BarSeries
    funding: FundingSeries | None = None
    mark: BarSeries | None = None
    margin: MarginRule | None = None
    leverage: float = 1.0


@dataclass(slots=True)
class StrategyRun:
    """A strategy and how it is wired: the instrument names it trades (None: its class's
    ``symbols``), the bar periods it sees per name (None: every bar of its instruments at the
    data's period), its capital (None: an equal share of what is not assigned)."""

    strategy: Strategy
    symbols: tuple[str, ...] | None = None
    bar_periods: Mapping[str, tuple[int, ...]] | None = None
    capital: float | None = None
    file: str = ""


@dataclass(frozen=True, slots=True)
class MultiConfig:
    cash: float = 10_000.0
    currency: str | None = None
    risk: RiskConfig = field(default_factory=RiskConfig)
    execution: ExecConfig = field(default_factory=ExecConfig)
    sim: SimConfig = field(default_factory=SimConfig)
    sample_points: int = 4_000
    #: called with the kernel after strategies are added, before the replay (allocators)
    setup: Callable[[Kernel], None] | None = None


@dataclass(slots=True)
class MultiResult:
    kernel: Kernel
    fills: list[Fill]
    ts: I64
    equity: F64
    strategy_equity: dict[str, F64]
    instrument_pnl: dict[str, F64]
    positions: dict[str, F64]
    events: int
    bars: dict[str, int]
    elapsed_s: float
    initial_cash: float
    funding: list[FundingPayment]
    liquidations: list[Fill]
    #: CPU time of the replay (the wall ``elapsed_s`` also counts other processes' load)
    cpu_s: float = 0.0

    @property
    def final_equity(self) -> float:
        return self.kernel.portfolio.equity()


@dataclass(slots=True)
class _Streams:
    ts: I64
    sid: I64
    start: I64
    cols: tuple[F64, F64, F64, F64, F64]
    symbols: list[str]
    kinds: list[int]
    to_venue: list[bool]
    #: each bar stream's bus topic when all its bars share one period (see ``kernel.bar_topic``)
    topics: list[tuple[str, int] | None]


def _periods_wanted(runs: Sequence[StrategyRun], kernel: Kernel) -> dict[str, set[int]]:
    out: dict[str, set[int]] = {}
    for r in runs:
        for name, periods in (r.bar_periods or {}).items():
            out.setdefault(kernel.symbol_of(name), set()).update(periods)
    return out


def build_streams(feeds: Sequence[Feed], periods: Mapping[str, set[int]]) -> _Streams:
    """Every stream of the run merged into one time-ordered table (see the tie rule)."""
    # (rank, data, symbol, kind, goes to the venue); streams are then numbered in rank order,
    # so sorting rows by (ts, stream number) is the whole tie rule
    parts: list[tuple[tuple[int, int, int], BarSeries | FundingSeries, str, int, bool]] = []
    for order, f in enumerate(feeds):
        sym = f.instrument.symbol
        base = f.bars
        parts.append(((BARS, base.interval_ns, order), base, sym, BARS, True))
        for p in sorted(set(periods.get(sym, ())) - {base.interval_ns}):
            parts.append(((BARS, p, order), resample_bars(base, p), sym, BARS, False))
        if f.mark is not None:
            parts.append(((MARK, 0, order), f.mark, sym, MARK, False))
        if f.funding is not None and len(base):
            # paid only while the instrument has data (a payment needs a mark)
            fs = f.funding
            keep = (fs.ts >= base.start[0]) & (fs.ts <= base.end[-1])
            fs = FundingSeries(fs.ts[keep], fs.rate[keep], fs.source)
            parts.append(((FUNDING, 0, order), fs, sym, FUNDING, False))
    parts.sort(key=lambda x: x[0])
    topics: list[tuple[str, int] | None] = []
    for _rank, data, sym, _kind, _venue in parts:
        period = data.uniform_period() if isinstance(data, BarSeries) else None
        topics.append((sym, period) if period is not None else None)
    ts_l: list[I64] = []
    st_l: list[I64] = []
    sid_l: list[I64] = []
    cols_l: list[list[F64]] = [[], [], [], [], []]
    for k, (_rank, data, _sym, _kind, _venue) in enumerate(parts):
        if isinstance(data, FundingSeries):
            z = np.zeros(len(data))
            ts_l.append(data.ts)
            st_l.append(data.ts)
            row: tuple[F64, ...] = (data.rate, z, z, z, z)
        else:
            ts_l.append(data.end)
            st_l.append(data.start)
            row = (data.open, data.high, data.low, data.close, data.volume)
        for i, c in enumerate(row):
            cols_l[i].append(c)
        sid_l.append(np.full(len(data), k, dtype=np.int64))
    ts = np.concatenate(ts_l)
    sid = np.concatenate(sid_l)
    idx = np.lexsort((sid, ts))
    o, h, lo, c, v = (np.concatenate(col)[idx] for col in cols_l)
    return _Streams(
        ts[idx],
        sid[idx],
        np.concatenate(st_l)[idx],
        (o, h, lo, c, v),
        [p[2] for p in parts],
        [p[3] for p in parts],
        [p[4] for p in parts],
        topics,
    )


def run_multi_backtest(
    feeds: Sequence[Feed],
    runs: Sequence[StrategyRun],
    config: MultiConfig = MultiConfig(),
    progress: ProgressFn | None = None,
) -> MultiResult:
    """Replay every feed through one kernel and one simulated venue (module docstring)."""
    instruments = [f.instrument for f in feeds]
    start = min(int(f.bars.start[0]) for f in feeds if len(f.bars))
    clock = SimClock(start)
    ccy = config.currency or instruments[0].settle
    client = SimExecutionClient(instruments, {ccy: config.cash}, clock, config.sim)
    exchange = client.exchange
    kernel = Kernel(
        instruments, config.cash, client, clock, config.risk, config.execution,
        IdGenerator("bt"), currency=ccy,
    )  # fmt: skip
    rules: dict[str, MarginRule] = {}
    for f in feeds:
        sym = f.instrument.symbol
        if f.instrument.is_derivative:
            if f.leverage != 1.0 and not exchange.set_leverage(sym, f.leverage):
                raise ValueError(f"{sym}: leverage {f.leverage} refused")
            if f.margin is not None:
                rules[sym] = f.margin
    liq = Liquidator(exchange, rules) if rules else None
    for r in runs:
        if r.capital is not None:
            r.strategy.capital = r.capital
        periods = None
        if r.bar_periods is not None:
            periods = {n: ps for n, ps in r.bar_periods.items()}
        kernel.add_strategy(r.strategy, r.symbols, periods)
    fills: list[Fill] = []
    kernel.record(fills)
    streams = build_streams(feeds, _periods_wanted(runs, kernel))
    if config.setup is not None:
        config.setup(kernel)
    kernel.start()
    sampler = _Sampler(kernel, feeds, clock, config.sample_points, streams)
    n = int(streams.ts.shape[0])
    t0, c0 = time.perf_counter(), time.process_time()
    with _quiet_gc():
        _replay(streams, kernel, clock, exchange.on_bar, liq, exchange, progress)
    kernel.stop()
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    sampler.sample("final", clock.now())
    ts, eq, per_strat, per_inst, pos = sampler.arrays()
    return MultiResult(
        kernel, fills, ts, eq, per_strat, per_inst, pos, n,
        {f.instrument.symbol: len(f.bars) for f in feeds}, elapsed,
        kernel.portfolio.initial_cash, exchange.funding_payments(), exchange.liquidations(), cpu,
    )  # fmt: skip


def _replay(
    s: _Streams,
    kernel: Kernel,
    clock: SimClock,
    venue_bar: Callable[[Bar], None],
    liq: Liquidator | None,
    exchange: Any,
    progress: ProgressFn | None,
) -> None:
    """The hot loop: one pass over the merged table, a chunk of rows at a time."""
    publish = kernel.bus.publish
    portfolio = kernel.portfolio
    heap = clock._heap
    syms, kinds, venue, topics = s.symbols, s.kinds, s.to_venue, s.topics
    has_mark = {syms[k] for k, kind in enumerate(kinds) if kind == MARK}
    watch = [liq is not None and kinds[k] == BARS and venue[k] and syms[k] in liq.rules
             and syms[k] not in has_mark for k in range(len(kinds))]  # fmt: skip
    # what each stream's rows do, decided once: 0 venue + engine bars, 1 engine-only bars
    # (resampled periods), 2 venue bars watched for liquidation, 3 mark prices, 4 funding
    modes = [
        (2 if watch[k] else 0 if venue[k] else 1) if kind == BARS else 3 if kind == MARK else 4
        for k, kind in enumerate(kinds)
    ]
    check = liq.check if liq is not None else None
    n = int(s.ts.shape[0])
    o_, h_, l_, c_, v_ = s.cols
    for a in range(0, n, CHUNK):
        b = min(a + CHUNK, n)
        rows = zip(
            s.ts[a:b].tolist(), s.sid[a:b].tolist(), s.start[a:b].tolist(), o_[a:b].tolist(),
            h_[a:b].tolist(), l_[a:b].tolist(), c_[a:b].tolist(), v_[a:b].tolist(), strict=True,
        )  # fmt: skip
        for ts, k, st, o, h, lo, c, v in rows:
            if heap and heap[0].due <= ts:
                clock.advance_to(ts)
            else:
                clock._now = ts
            mode = modes[k]
            # published with its topic, (instrument, period) as kernel.bar_topic names it
            # (the stream's own when all its bars share a period): the bus then needs no call
            # to find the bar's readers
            if mode == 0:
                bar = Bar(ts, syms[k], st, o, h, lo, c, v)
                venue_bar(bar)
                publish(bar, topics[k] or (syms[k], ts - st))
            elif mode == 1:
                publish(Bar(ts, syms[k], st, o, h, lo, c, v), topics[k] or (syms[k], ts - st))
            elif mode == 2:  # a derivative watched for liquidation on its own bars
                bar = Bar(ts, syms[k], st, o, h, lo, c, v)
                venue_bar(bar)
                assert check is not None
                check(syms[k], o, h, lo, c, ts)
                publish(bar, topics[k] or (syms[k], ts - st))
            elif mode == 3:
                if check is not None:
                    check(syms[k], o, h, lo, c, ts)
            else:  # FUNDING: o is the rate; valued at the latest mark
                sym = syms[k]
                mark = (liq.marks.get(sym) if liq is not None else None) or portfolio.marks.get(sym)
                if mark:
                    paid = exchange.apply_funding(sym, o, mark, ts)
                    portfolio.apply_funding(sym, paid)
        if progress is not None:
            progress(b, n)


class _Sampler:
    """Equity of the account, each strategy and each instrument, on a clock timer."""

    def __init__(
        self, kernel: Kernel, feeds: Sequence[Feed], clock: SimClock, points: int, s: _Streams
    ) -> None:
        self.kernel = kernel
        self.rows: list[tuple[int, float, list[float], list[float], list[float]]] = []
        self.sids = [st.id for st in kernel.strategies]
        self.syms = [f.instrument.symbol for f in feeds]
        finest = min(f.bars.interval_ns for f in feeds)
        if s.ts.shape[0]:
            span = int(s.ts[-1]) - int(s.ts[0])
            step = max(finest, -(-span // max(points, 1)))
            step = -(-step // finest) * finest
            first = (int(s.ts[0]) // step + 1) * step
            clock.set_timer("tradeloop.sample", step, self.sample, first)

    def sample(self, _name: str, ts: int) -> None:
        p = self.kernel.portfolio
        strat = [p.strategy_equity(sid) for sid in self.sids]
        inst, pos = [], []
        for sym in self.syms:
            q = p.positions[sym]
            m = p.marks.get(sym, q.avg_price)
            funding = p.funding.get(sym, 0.0)
            inst.append(q.realized_pnl + q.unrealized(m) - q.fees - funding)
            pos.append(q.qty)
        self.rows.append((ts, p.equity(), strat, inst, pos))

    def arrays(self) -> tuple[I64, F64, dict[str, F64], dict[str, F64], dict[str, F64]]:
        rows = self.rows
        ts = np.array([r[0] for r in rows], dtype=np.int64)
        eq = np.array([r[1] for r in rows])
        strat = {sid: np.array([r[2][i] for r in rows]) for i, sid in enumerate(self.sids)}
        inst = {sym: np.array([r[3][i] for r in rows]) for i, sym in enumerate(self.syms)}
        pos = {sym: np.array([r[4][i] for r in rows]) for i, sym in enumerate(self.syms)}
        return ts, eq, strat, inst, pos
