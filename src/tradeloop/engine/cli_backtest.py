"""``tradeloop backtest STRATEGY.py [--data FILE] ...``: run, then write result.json,
trades.csv and report.html into ``--out``."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tradeloop.core.argtypes import fee_rate, non_negative, positive, share
from tradeloop.core.errors import ConfigError
from tradeloop.core.outdir import writable_dir
from tradeloop.data.intervals import format_interval, parse_interval
from tradeloop.data.series import BarSeries
from tradeloop.engine.backtest import (
    BacktestConfig,
    BacktestResult,
    dump_json,
    result_json,
    run_backtest,
    write_outputs,
    write_trades_csv,
)
from tradeloop.engine.cli_inputs import (
    BACKTEST_VENUE,
    DEFAULT_INTERVAL,
    DEFAULT_SYMBOL,
    load_data,
    parse_symbol,
    split_symbol,
)
from tradeloop.engine.loader import build_strategies, strategy_errors
from tradeloop.engine.oms import ExecAlgo, ExecConfig
from tradeloop.engine.risk import RiskConfig
from tradeloop.model import Instrument
from tradeloop.sim.config import SimConfig

if TYPE_CHECKING:
    from tradeloop.engine.multi import Feed, MultiConfig, MultiResult
    from tradeloop.engine.strategy import Strategy
    from tradeloop.engine.symbols import Kind
    from tradeloop.report.pricechart import AnnotationLog

DEFAULT_SYNTHETIC_BARS = 100_000
#: the run inputs, importable from here as before
__all__ = [
    "BACKTEST_VENUE",
    "DEFAULT_INTERVAL",
    "DEFAULT_SYMBOL",
    "BuiltBacktest",
    "add_arguments",
    "backtest_instrument",
    "build_backtest",
    "load_data",
    "parse_symbol",
    "run",
    "split_symbol",
]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "strategy",
        help="strategy file (a Strategy subclass or create_strategies()), or a run config "
        "CONFIG.toml (many instruments, bar periods and strategies: engine/runconfig.py)",
    )
    p.add_argument("--data", help="OHLCV file (CSV/Parquet/feather/JSON); omit for synthetic")
    p.add_argument(
        "--symbol",
        default=DEFAULT_SYMBOL,
        help="instrument, BASE-QUOTE[-SWAP|-YYMMDD] or its id NATIVE.VENUE (default: the pair "
        "the --data file name names, else %(default)s; venue SIM)",
    )
    p.add_argument(
        "--cash", type=positive, default=10_000.0, help="starting cash in quote currency"
    )
    p.add_argument(
        "--fee", type=fee_rate, default=0.001, help="maker and taker fee (0.001 = 0.1%%)"
    )
    p.add_argument("--tick", type=positive, help="price tick (default: from the data's decimals)")
    p.add_argument("--lot", type=positive, default=1e-8, help="size step (default %(default)s)")
    p.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a strategy parameter (repeatable)",
    )
    p.add_argument("--out", default="out/backtest", help="output folder (default %(default)s)")
    p.add_argument(
        "--bars",
        type=int,
        default=DEFAULT_SYNTHETIC_BARS,
        help="synthetic bars when no --data (default %(default)s)",
    )
    p.add_argument("--seed", type=int, default=7, help="synthetic data seed")
    p.add_argument(
        "--interval",
        default=DEFAULT_INTERVAL,
        help="bar period: of synthetic data, of --trades aggregation, or the period the "
        "strategy sees (--data bars are resampled to it; finer than the data is an error)",
    )
    p.add_argument(
        "--trades",
        action="store_true",
        help="--data holds trades: aggregate them into time bars of --interval",
    )
    p.add_argument(
        "--empty-bars",
        choices=["carry", "skip"],
        default="carry",
        help="with --trades: intervals without trades give a flat bar (carry) or none",
    )
    p.add_argument(
        "--algo",
        choices=[a.value for a in ExecAlgo],
        default="market",
        help="how targets are traded",
    )
    p.add_argument("--daily-loss-limit", type=positive, help="risk: max loss per UTC day (quote)")
    p.add_argument("--max-order-notional", type=positive, help="risk: max notional per order")
    p.add_argument("--max-position", type=positive, help="risk: max absolute position size")
    p.add_argument("--leverage", type=positive, help="derivatives: leverage (default 1)")
    p.add_argument("--margin", choices=["cross", "isolated"], help="derivatives: margin mode")
    p.add_argument(
        "--maintenance-margin", type=float, help="derivatives: maintenance margin rate (0.005)"
    )
    p.add_argument(
        "--funding", help="perpetuals: a funding-rate file, or a constant rate per 8h (0.0001)"
    )
    p.add_argument(
        "--slippage-bps", type=non_negative, help="adverse slippage of taker fills (bps)"
    )
    p.add_argument("--latency", help="order latency to the venue, e.g. 50ms")
    p.add_argument(
        "--max-volume-share", type=share, help="max share of a bar's volume our orders take"
    )
    p.add_argument(
        "--tick-filter",
        type=float,
        nargs="?",
        const=12.0,
        metavar="K",
        help="drop abnormal bars before the run with the live runtime's filter (price jump "
        "beyond K x a robust rolling scale, default K 12; bad values; time out of order); "
        "a CONFIG.toml uses its [filter] table without this flag",
    )
    p.add_argument("--no-report", action="store_true", help="skip report.html")
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar (default: when stderr is a terminal)",
    )


def parse_params(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--param {item!r}: expected NAME=VALUE")
        out[name.strip()] = value.strip()
    return out


def infer_tick(close: np.ndarray) -> float:
    """The finest decimal step used by the first prices (1e-8 at most), as a default tick."""
    decimals = 0
    for x in close[:2000].tolist():
        s = f"{x:.10f}".rstrip("0")
        decimals = max(decimals, len(s.split(".")[1]) if "." in s else 0)
    return float(f"1e-{min(max(decimals, 0), 8)}") if decimals else 1.0


def backtest_instrument(args: argparse.Namespace, bars: BarSeries) -> Instrument:
    """The instrument of a single-symbol backtest, from ``--symbol``/``--tick``/``--lot``/
    ``--fee`` (the tick inferred from the data's decimals when not given)."""
    native, venue = parse_symbol(args.symbol)
    base, quote = split_symbol(native)
    return Instrument.of(
        native,
        venue,
        base,
        quote,
        tick_size=args.tick or infer_tick(bars.close),
        lot_size=args.lot,
        maker_fee=args.fee,
        taker_fee=args.fee,
    )


def _progress(enabled: bool | None) -> tuple[Callable[[int, int], None] | None, Callable[[], None]]:
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None, lambda: None
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(
        TextColumn("backtest"),
        BarColumn(),
        TextColumn("{task.completed:,}/{task.total:,} bars"),
        TimeRemainingColumn(),
        transient=True,
    )
    task = bar.add_task("bt", total=None)
    bar.start()

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    return update, bar.stop


@dataclass(frozen=True, eq=False)
class MultiSetup:
    """How a one-instrument run goes through ``engine.multi``: a derivative (leverage, margin,
    funding, liquidation) or bars resampled to a coarser ``--interval`` for the strategy."""

    feed: Feed
    config: MultiConfig
    period: int
    kind: Kind

    def runs(self, strategies: Sequence[Strategy], file: str = "") -> list[Any]:
        from tradeloop.engine.multi import StrategyRun

        sym = self.feed.instrument.symbol
        return [StrategyRun(s, (sym,), {sym: (self.period,)}, file=file) for s in strategies]


@dataclass(frozen=True, eq=False)
class BuiltBacktest:
    """A single-instrument backtest as the command line describes it, data loaded: what
    ``tradeloop backtest`` runs, and what a sweep builds once and ships to every worker, so
    every backtest flag means the same in both. ``multi`` is set when the run needs the
    multi path (see :class:`MultiSetup`); plain spot runs use ``run_backtest``."""

    bars: BarSeries
    instrument: Instrument
    config: BacktestConfig
    multi: MultiSetup | None = None

    def window(self, lo: int | None, hi: int | None) -> BuiltBacktest:
        """The same run on bars ``[lo, hi)`` (walk-forward windows)."""
        if lo is None and hi is None:
            return self
        bars = self.bars.slice(lo, hi)
        multi = self.multi
        if multi is not None:
            multi = dataclasses.replace(multi, feed=dataclasses.replace(multi.feed, bars=bars))
        return dataclasses.replace(self, bars=bars, multi=multi)

    def run(self, strategies: list[Strategy], progress: Any = None) -> BacktestResult | MultiResult:
        """Run ``strategies`` (fresh instances) on these inputs."""
        if self.multi is None:
            return run_backtest(strategies, self.bars, self.instrument, self.config, progress)
        from tradeloop.engine.multi import run_multi_backtest

        m = self.multi
        return run_multi_backtest([m.feed], m.runs(strategies), m.config, progress)


def build_backtest(args: argparse.Namespace) -> BuiltBacktest:
    """Everything but the strategies, from ``tradeloop backtest``'s flags (``add_arguments``):
    the data, the instrument and the run configuration. Raises ``UserError`` on bad input,
    before any data is read where it can. Sets ``args.symbol`` to the resolved symbol."""
    from tradeloop.engine.cli_simple import needs_multi, resolve_symbol

    args.symbol = resolve_symbol(args)
    native, venue = parse_symbol(args.symbol)
    kind = needs_multi(args, native)
    if kind is None:
        split_symbol(native)  # a bad --symbol is reported before any data is read
    latency = parse_interval(args.latency) if args.latency else 0
    sim = SimConfig(
        latency_ns=latency,
        slippage_bps=args.slippage_bps or 0.0,
        max_volume_fraction=args.max_volume_share,
    )
    risk = RiskConfig(
        daily_loss_limit=args.daily_loss_limit,
        max_order_notional=args.max_order_notional,
        max_position_qty=args.max_position,
    )
    execution = ExecConfig(ExecAlgo(args.algo))
    config = BacktestConfig(cash=args.cash, risk=risk, execution=execution, sim=sim)
    bars = load_data(args, native if kind is None else f"{native}.{venue}")
    if len(bars) < 2:
        raise ConfigError(f"{bars.source}: need at least 2 bars, got {len(bars)}")
    if kind is None:
        return BuiltBacktest(bars, backtest_instrument(args, bars), config)
    inst = Instrument.of(
        native, venue, kind.base, kind.quote, tick_size=args.tick or infer_tick(bars.close),
        lot_size=args.lot, maker_fee=args.fee, taker_fee=args.fee, kind=kind.kind,
        inverse=kind.inverse,
    )  # fmt: skip
    return BuiltBacktest(bars, inst, config, _multi_setup(args, bars, inst, kind, config))


def _multi_setup(
    args: argparse.Namespace, bars: BarSeries, inst: Instrument, kind: Kind, cfg: BacktestConfig
) -> MultiSetup:
    from tradeloop.engine.multi import Feed, MultiConfig
    from tradeloop.sim.margin import MarginRule

    funding = None
    if inst.is_derivative and args.funding is not None:
        from tradeloop.data.funding import FundingSeries, load_funding

        try:
            rate = float(args.funding)
        except ValueError:
            funding = load_funding(args.funding)
        else:
            start, end = int(bars.start[0]), int(bars.end[-1])
            funding = FundingSeries.constant(rate, start, end, parse_interval("8h"))
    margin = MarginRule(args.margin or "cross", args.maintenance_margin or 0.005)
    feed = Feed(
        inst, bars, funding, None, margin if inst.is_derivative else None, args.leverage or 1.0
    )
    period = bars.interval_ns
    if args.data and not args.trades and args.interval is not DEFAULT_INTERVAL:
        period = parse_interval(args.interval)
    mc = MultiConfig(cfg.cash, None, cfg.risk, cfg.execution, cfg.sim)
    return MultiSetup(feed, mc, period, kind)


def run(args: argparse.Namespace) -> int:
    writable_dir(args.out)  # before the run: a bad --out must not cost its results
    if str(args.strategy).lower().endswith(".toml"):
        from tradeloop.engine.cli_multi import run_config

        progress, stop_progress = _progress(args.progress)
        try:
            return run_config(args, progress)
        finally:
            stop_progress()
    params = parse_params(args.param)
    strategies = build_strategies(args.strategy, params)
    built = build_backtest(args)
    if built.multi is not None:
        return _run_multi(args, built, built.multi, strategies)
    bars, instrument, config = built.bars, built.instrument, built.config
    symbol = instrument.symbol
    print(
        f"instrument {symbol}: spot, quote {instrument.quote}; {len(bars):,} bars of "
        f"{format_interval(bars.interval_ns)} from {args.data or 'synthetic data'}"
    )
    annotations = None
    if not args.no_report:  # Strategy.mark/line/plot, drawn on the report's chart
        from tradeloop.report.pricechart import AnnotationLog

        annotations = AnnotationLog()
        for s in strategies:
            s.on_annotation = annotations
    progress, stop_progress = _progress(args.progress)
    try:
        with strategy_errors(args.strategy):
            result = run_backtest(strategies, bars, instrument, config, progress)
    finally:
        stop_progress()
    out = Path(args.out)
    extra = {
        "symbol": symbol,
        "data": str(args.data) if args.data else f"synthetic(seed={args.seed}, bars={len(bars)})",
        "strategy_file": str(args.strategy),
        "params": {s.id: vars(s.p) for s in strategies},
    }
    summary = result_json(result, extra)
    files: dict[str, Callable[[Path], None]] = {
        "trades.csv": lambda p: write_trades_csv(p, result.fills),
    }
    if not args.no_report:
        stats = _report_writer(result, bars, extra, summary, files, annotations)
        summary["stats"] = stats
    files["result.json"] = lambda p: dump_json(p, summary)
    write_outputs(out, files)
    from tradeloop.report.tables import fmt_amount

    ccy = result.kernel.portfolio.currency
    print(
        f"{len(bars):,} bars in {result.elapsed_s:.2f}s "
        f"({summary['bars_per_s'] or 0:,} bars/s), {len(result.fills)} fills, "
        f"final equity {fmt_amount(result.final_equity, ccy)} {ccy} -> {out}/"
    )
    return 0


def _run_multi(
    args: argparse.Namespace, built: BuiltBacktest, m: MultiSetup, strategies: list[Strategy]
) -> int:
    """The one-instrument multi path (derivative or resampled bars): run, write the files."""
    from tradeloop.engine.cli_multi import summary_json, write_equity_csv
    from tradeloop.engine.multi import run_multi_backtest
    from tradeloop.engine.runbuild import BuiltRun, describe
    from tradeloop.engine.runconfig import parse_run_config

    inst = built.instrument
    runs = m.runs(strategies)
    run_desc = BuiltRun([m.feed], runs, m.config, {inst.symbol: m.kind}, [str(args.strategy)])
    for line in describe(run_desc):
        print(line)
    prog, stop = _progress(args.progress)
    try:
        with strategy_errors(args.strategy):
            result = run_multi_backtest([m.feed], runs, m.config, prog)
    finally:
        stop()
    cfg = parse_run_config(
        {"instrument": [{"symbol": args.symbol}], "strategy": [{"file": str(args.strategy)}]},
        str(args.strategy),
    )
    summary = summary_json(result, run_desc, cfg)
    out = Path(args.out)
    files: dict[str, Callable[[Path], None]] = {
        "trades.csv": lambda p: write_trades_csv(p, result.fills),
        "equity.csv": lambda p: write_equity_csv(p, result),
        "result.json": lambda p: dump_json(p, summary),
    }
    if not args.no_report:
        from tradeloop.report.multi import write_multi_report

        files["report.html"] = lambda p: write_multi_report(p, result, summary)
    write_outputs(out, files)
    print(
        f"{len(built.bars):,} bars in {result.elapsed_s:.2f}s, {len(result.fills)} fills, "
        f"{len(result.liquidations)} liquidations, funding paid {summary['funding_paid']:.8g}, "
        f"final equity {result.final_equity:,.8g} {inst.settle} -> {out}/"
    )
    return 0


def _report_writer(
    result: BacktestResult,
    bars: BarSeries,
    extra: dict[str, Any],
    summary: dict[str, Any],
    files: dict[str, Callable[[Path], None]],
    annotations: AnnotationLog | None = None,
) -> dict[str, object]:
    from tradeloop.report.html import ReportData, write_report
    from tradeloop.report.pricechart import bars_chart_data
    from tradeloop.report.stats import compute_stats, round_trips

    multipliers = {s: i.contract_value for s, i in result.kernel.instruments.items()}
    trips = round_trips(result.fills, multipliers)
    stats = compute_stats(
        result.ts, result.equity, result.position, result.fills, trips, result.initial_cash
    )
    data = ReportData(
        title=f"{Path(str(extra['strategy_file'])).stem} on {extra['symbol']}",
        ts=result.ts,
        equity=result.equity,
        position=result.position,
        stats=stats,
        price_symbol=str(extra["symbol"]),
        price_ts=bars.end,
        price_close=bars.close,
        fills=result.fills,
        price_chart=bars_chart_data(str(extra["symbol"]), bars, result.fills, annotations),
        strategy_rows=result.strategy_rows(),
        currency=result.kernel.portfolio.currency,
        params={f"{sid}.{k}": v for sid, ps in extra["params"].items() for k, v in ps.items()},
        info={
            "data": extra["data"],
            "bars": result.bars,
            "elapsed_s": summary["elapsed_s"],
            "fingerprint": summary["trades_fingerprint"],
        },
    )
    files["report.html"] = lambda p: write_report(p, data)
    return stats.as_dict()
