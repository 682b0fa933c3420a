"""From a :class:`~tradeloop.engine.runconfig.RunConfig` to the objects a backtest runs:
instruments (kinds inferred and checked), loaded data, strategies with their instruments,
bar periods, capital, multipliers and execution algos.

Everything the user could get wrong is checked here, before any bar is replayed, and said in
one line: a data file that does not exist, a bar period finer than the data, a strategy that
wants an instrument the run does not have, two strategies asking for different algos on one
instrument (the OMS trades one netted target per instrument, so it has one algo).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tradeloop.core.errors import ConfigError
from tradeloop.data.funding import FundingSeries, load_funding
from tradeloop.data.intervals import format_interval, parse_interval
from tradeloop.data.resample import check_period
from tradeloop.data.series import BarSeries
from tradeloop.data.tickfilter import filter_series
from tradeloop.engine.accounts import unfundable
from tradeloop.engine.loader import build_strategy
from tradeloop.engine.multi import Feed, MultiConfig, StrategyRun
from tradeloop.engine.oms import AlgoSpec, ExecAlgo, ExecConfig
from tradeloop.engine.risk import RiskConfig
from tradeloop.engine.runconfig import InstrumentSpec, RunConfig, StrategySpec
from tradeloop.engine.symbols import Kind, resolve_kind
from tradeloop.model import Instrument, InstrumentId, native_of, venue_of
from tradeloop.sim.config import SimConfig
from tradeloop.sim.margin import MarginRule

BACKTEST_VENUE = "SIM"

log = logging.getLogger(__name__)


@dataclass(slots=True)
class BuiltRun:
    feeds: list[Feed]
    runs: list[StrategyRun]
    config: MultiConfig
    kinds: dict[str, Kind]
    files: list[str]
    #: per instrument with a tick filter: (bars before, {reason: bars dropped})
    filtered: dict[str, tuple[int, dict[str, int]]] = field(default_factory=dict)


def infer_tick(close: np.ndarray) -> float:
    """The finest decimal step used by the first prices (1e-8 at most), as a default tick."""
    decimals = 0
    for x in close[:2000].tolist():
        s = f"{x:.10f}".rstrip("0")
        decimals = max(decimals, len(s.split(".")[1]) if "." in s else 0)
    return float(f"1e-{min(max(decimals, 0), 8)}") if decimals else 1.0


def split_id(text: str, default_venue: str = BACKTEST_VENUE) -> tuple[str, str]:
    """``BTC-USDT`` -> (BTC-USDT, SIM); ``BTC-USDT.OKX`` -> (BTC-USDT, OKX)."""
    t = text.strip()
    venue = venue_of(t)
    return (native_of(t) if venue else t).upper(), venue or default_venue


def make_instrument(spec: InstrumentSpec, bars: BarSeries | None) -> tuple[Instrument, Kind]:
    native, venue = split_id(spec.symbol)
    try:
        kind = resolve_kind(native, spec.kind, spec.base, spec.quote, spec.inverse)
    except ConfigError as exc:
        raise ConfigError(f"[[instrument]] {spec.symbol!r}: {exc}") from None
    tick = spec.tick or (infer_tick(bars.close) if bars is not None else 0.01)
    inst = Instrument.of(
        native, venue, kind.base, kind.quote, tick_size=tick, lot_size=spec.lot,
        min_size=spec.min_size, contract_value=spec.contract_value, maker_fee=spec.maker_fee,
        taker_fee=spec.taker_fee, kind=kind.kind, inverse=kind.inverse,
    )  # fmt: skip
    return inst, kind


def load_feed_bars(cfg: RunConfig, spec: InstrumentSpec, symbol: str) -> BarSeries:
    if spec.data is None:
        raise ConfigError(f"{cfg.source}: instrument {spec.symbol!r} has no data file")
    path = cfg.path(spec.data)
    if not path.is_file():
        raise ConfigError(f"{cfg.source}: instrument {spec.symbol!r}: data file {path} not found")
    if spec.trades:
        from tradeloop.data.aggregate import EmptyBarPolicy, resample_trades
        from tradeloop.data.loaders import load_trades

        trades = load_trades(path, symbol=symbol)
        interval = parse_interval(spec.interval or "1m")
        return resample_trades(trades, interval, EmptyBarPolicy.CARRY)
    from tradeloop.data.loaders import load_bars

    return load_bars(path, symbol=symbol, interval=spec.interval)


def _funding(cfg: RunConfig, spec: InstrumentSpec, bars: BarSeries) -> FundingSeries | None:
    if spec.funding is None:
        return None
    if isinstance(spec.funding, float):
        every = parse_interval(spec.funding_interval)
        return FundingSeries.constant(spec.funding, int(bars.start[0]), int(bars.end[-1]), every)
    path = cfg.path(spec.funding)
    if not path.is_file():
        raise ConfigError(f"{cfg.source}: instrument {spec.symbol!r}: funding file {path} "
                          "not found")  # fmt: skip
    return load_funding(path)


def build_run(cfg: RunConfig) -> BuiltRun:
    """Load and check everything a config describes (see the module docstring)."""
    feeds: list[Feed] = []
    kinds: dict[str, Kind] = {}
    filtered: dict[str, tuple[int, dict[str, int]]] = {}
    for spec in cfg.instruments:
        native, venue = split_id(spec.symbol)
        sym = str(InstrumentId.of(native, venue))
        bars = load_feed_bars(cfg, spec, sym)
        fcfg = cfg.filter_for(spec.symbol)
        if fcfg is not None and fcfg.enabled:
            # the live runtime's rules: abnormal bars never reach a strategy here either
            kept, tf = filter_series(bars, fcfg)
            filtered[sym] = (len(bars), {why: n for (_s, why), n in sorted(tf.counts.items())})
            bars = kept
        if len(bars) < 2:
            raise ConfigError(f"{bars.source}: need at least 2 bars, got {len(bars)}")
        inst, kind = make_instrument(spec, bars)
        kinds[inst.symbol] = kind
        derivative = inst.is_derivative
        for what in ("funding", "mark"):
            if getattr(spec, what) is not None and not derivative:
                raise ConfigError(f"{cfg.source}: {spec.symbol!r} is {kind.describe()}: "
                                  f"{what} applies to derivatives only")  # fmt: skip
        mark = None
        if spec.mark is not None:
            from tradeloop.data.loaders import load_bars

            mark = load_bars(cfg.path(spec.mark), symbol=sym)
        feeds.append(Feed(
            inst, bars, _funding(cfg, spec, bars) if derivative else None, mark,
            MarginRule(spec.margin, spec.maintenance_margin) if derivative else None,
            spec.leverage if derivative else 1.0,
        ))  # fmt: skip
    _check_currencies(cfg, feeds)
    by_name = _names(feeds)
    runs, algos, files = _strategies(cfg, feeds, by_name)
    for r, c in zip(runs, allocate_capital(cfg.strategies, cfg.allocation.method, cfg.cash),
                    strict=True):  # fmt: skip
        r.capital = c
    risk = RiskConfig(
        daily_loss_limit=cfg.risk.daily_loss_limit,
        max_order_notional=cfg.risk.max_order_notional,
        max_position_qty=cfg.risk.max_position,
    )
    execution = ExecConfig(
        per_symbol=algos, max_gross=cfg.allocation.max_gross, max_net=cfg.allocation.max_net
    )
    sim = SimConfig(
        latency_ns=parse_interval(cfg.execution.latency) if cfg.execution.latency else 0,
        slippage_bps=cfg.execution.slippage_bps,
        max_volume_fraction=cfg.execution.max_volume_share,
    )
    setup = None
    if cfg.allocation.method == "risk_parity":
        from tradeloop.engine.allocation import RiskParity

        rp = RiskParity.of({r.strategy.id: tuple(r.symbols or ()) for r in runs}, cfg.allocation)
        setup = rp.install
    mc = MultiConfig(cfg.cash, cfg.currency, risk, execution, sim, setup=setup)
    return BuiltRun(feeds, runs, mc, kinds, files, filtered)


def _check_currencies(cfg: RunConfig, feeds: list[Feed]) -> None:
    """A backtest's cash is one amount in the reporting currency (``[run] currency``, else
    the first instrument's settle currency, as the sim account takes it): an instrument
    settling in a currency it can neither value nor fund would trade nothing, silently."""
    insts = {f.instrument.symbol: f.instrument for f in feeds}
    currency = cfg.currency or feeds[0].instrument.settle
    bad = unfundable(insts, currency, (currency,))
    if bad:
        i = bad[0]
        raise ConfigError(
            f"{cfg.source}: instrument {i.symbol} settles in {i.settle}, which this run can "
            f"neither fund (its cash is {currency}) nor value in {currency} (no instrument "
            f"prices {i.settle} against {currency}): add one (e.g. {i.settle}-{currency}) "
            f"or run it with [run] currency = {i.settle!r}"
        )
    for i in insts.values():
        if i.settle != currency:
            # valued, so not refused; but the sim account holds only the run's cash currency
            log.warning("%s settles in %s and the run's cash is %s: it trades only with %s "
                        "the run acquires", i.symbol, i.settle, currency, i.settle)  # fmt: skip


def allocate_capital(specs: Sequence[StrategySpec], method: str, cash: float) -> list[float]:
    """Each strategy's starting capital out of ``cash``, in ``specs`` order: fixed weights
    (``weight``, normalised), or equal shares for ``equal`` and ``risk_parity`` (whose first
    rebalance then sets the weights). Backtest and live both call this, so one config splits
    its capital the same way in both; all weights 0 means equal shares."""
    weights = [s.weight for s in specs]
    total = sum(weights)
    if method in ("equal", "risk_parity") or not total:
        weights = [1.0] * len(weights)
        total = float(len(weights))
    return [cash * w / total for w in weights]


def strategy_multipliers(
    spec: StrategySpec, ids: Sequence[str], instrument_mult: Mapping[str, float]
) -> dict[str, float] | None:
    """The target multiplier per instrument: the strategy's times the instrument's
    (``[[instrument]] multiplier``); None when all are 1 (the strategy then has none)."""
    mults = {sym: spec.multiplier * instrument_mult.get(sym, 1.0) for sym in ids}
    return mults if any(m != 1.0 for m in mults.values()) else None


def _names(feeds: list[Feed]) -> dict[str, str]:
    """Every name a config may use for an instrument -> its id (bare native when unique)."""
    out: dict[str, str] = {}
    natives: dict[str, list[str]] = {}
    for f in feeds:
        i = f.instrument
        out[i.symbol.upper()] = i.symbol
        natives.setdefault(i.native.upper(), []).append(i.symbol)
    for n, ids in natives.items():
        if len(ids) == 1:
            out.setdefault(n, ids[0])
    return out


def _strategies(
    cfg: RunConfig, feeds: list[Feed], by_name: dict[str, str]
) -> tuple[list[StrategyRun], dict[str, AlgoSpec], list[str]]:
    runs: list[StrategyRun] = []
    algos: dict[str, AlgoSpec] = {}
    algo_owner: dict[str, str] = {}
    files: list[str] = []
    bars_of = {f.instrument.symbol: f.bars for f in feeds}
    mult_of = {f.instrument.symbol: s.multiplier for f, s in zip(feeds, cfg.instruments,
                                                                   strict=True)}  # fmt: skip
    for i, spec in enumerate(cfg.strategies, 1):
        where = f"{cfg.source}: [[strategy]] #{i} ({spec.id or spec.file})"
        path = cfg.path(spec.file)
        files.append(str(path))
        strategy = build_strategy(path, spec.cls, spec.params, spec.id)
        if any(r.strategy.id == strategy.id for r in runs):
            raise ConfigError(f"{where}: strategy id {strategy.id!r} is used twice (give each "
                              "[[strategy]] its own id)")  # fmt: skip
        names = spec.instruments or tuple(strategy.symbols) or tuple(by_name[k] for k in by_name
                                                                       if "." in k)  # fmt: skip
        ids = []
        for n in names:
            sym = by_name.get(n.upper())
            if sym is None:
                have = ", ".join(f.instrument.symbol for f in feeds)
                raise ConfigError(f"{where}: wants instrument {n!r}, which this run does not "
                                  f"have (it has: {have})")  # fmt: skip
            ids.append(sym)
        periods: dict[str, tuple[int, ...]] = {}
        for sym in ids:
            ps = tuple(parse_interval(b) for b in spec.bars) or (bars_of[sym].interval_ns,)
            for p in ps:
                try:
                    check_period(bars_of[sym], p)
                except ConfigError as exc:
                    raise ConfigError(f"{where}: {exc}") from None
            periods[sym] = ps
        mults = strategy_multipliers(spec, ids, mult_of)
        if mults is not None:
            strategy.multipliers = mults
        algo = _algo_spec(spec.algo, dict(spec.algo_params), where)
        for sym in ids:
            prev = algos.get(sym)
            if prev is not None and prev != algo:
                other = algo_owner[sym]
                raise ConfigError(f"{where}: algo {spec.algo!r} on {sym} conflicts with "
                                  f"strategy {other}'s (one algo per instrument)")  # fmt: skip
            algos[sym] = algo
            algo_owner[sym] = strategy.id
        runs.append(StrategyRun(strategy, tuple(ids), periods, None, str(path)))
    return runs, algos, files


def _algo_spec(name: str, params: dict[str, object], where: str) -> AlgoSpec:
    kw: dict[str, object] = {}
    for key, value in params.items():
        if key == "interval" and isinstance(value, str):
            kw["interval_ns"] = parse_interval(value)
        elif key in ("slices", "participation", "display"):
            kw[key] = value
        else:
            raise ConfigError(f"{where}: algo_params: unknown key {key!r} "
                              "(slices, interval, participation, display)")  # fmt: skip
    try:
        return AlgoSpec(ExecAlgo(name), **kw)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: algo_params: {exc}") from None


def describe(built: BuiltRun) -> list[str]:
    """One line per instrument: id, kind, quote/settle currency, data period and rows."""
    lines = []
    for f in built.feeds:
        i = f.instrument
        k = built.kinds[i.symbol]
        extra = ""
        if i.is_derivative:
            extra = f", settle {i.settle}, leverage {f.leverage:g}"
            if f.margin is not None:
                extra += f", {f.margin.mode} margin (maintenance {f.margin.maintenance:g})"
            if f.funding is not None:
                extra += f", funding {f.funding.source} ({len(f.funding)} payments)"
        lines.append(
            f"  {i.symbol}: {k.describe()}, quote {i.quote}{extra}; "
            f"{len(f.bars):,} bars of {format_interval(f.bars.interval_ns)} from "
            f"{Path(f.bars.source).name if f.bars.source else 'synthetic'}"
        )
        if i.symbol in built.filtered:
            total, why = built.filtered[i.symbol]
            detail = ", ".join(f"{n} {r}" for r, n in why.items())
            lines.append(f"    tick filter: {total - len(f.bars)} of {total:,} bars dropped"
                         f"{f' ({detail})' if detail else ''}")  # fmt: skip
    return lines
