"""The one-file ``tradeloop backtest`` when it needs more than the spot fast path: a derivative
(``--symbol BTC-USDT-SWAP``: leverage, margin, funding, liquidation) or a strategy bar period
coarser than the data (``--data 1m.csv --interval 15m``). Such a run is a one-instrument run
config and goes through ``engine.multi``; plain spot runs keep ``run_backtest`` (unchanged
results). Also: which symbol a run trades when ``--symbol`` is omitted.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tradeloop.core.errors import ConfigError
from tradeloop.data.intervals import parse_interval
from tradeloop.engine.cli_inputs import (
    DEFAULT_INTERVAL,
    DEFAULT_SYMBOL,
    load_data,
    parse_symbol,
)
from tradeloop.engine.oms import ExecAlgo, ExecConfig
from tradeloop.engine.risk import RiskConfig
from tradeloop.engine.runbuild import BuiltRun, describe, infer_tick
from tradeloop.engine.strategy import Strategy
from tradeloop.engine.symbols import Kind, infer_kind, pair_from_filename
from tradeloop.model import Instrument, InstrumentKind
from tradeloop.sim.config import SimConfig
from tradeloop.sim.margin import MarginRule


def resolve_symbol(args: argparse.Namespace) -> str:
    """``--symbol`` as given; else the pair the data file's name names (``XRP_ETH-1m.feather``
    -> ``XRP-ETH``); else BTC-USDT. The CLI prints the choice either way."""
    if args.symbol is not DEFAULT_SYMBOL or not args.data:
        return str(args.symbol)
    from tradeloop.data.loaders import default_symbol

    guess = pair_from_filename(default_symbol(Path(args.data)))
    return guess or str(args.symbol)


def needs_multi(args: argparse.Namespace, native: str) -> Kind | None:
    """The instrument's kind when this run needs the multi path, else None."""
    kind = infer_kind(native)
    derivative = kind is not None and kind.kind is not InstrumentKind.SPOT
    extras = any(getattr(args, k) is not None for k in ("leverage", "margin", "funding"))
    if extras and not derivative:
        raise ConfigError(f"--symbol {native}: --leverage/--margin/--funding apply to "
                          "derivatives (e.g. BTC-USDT-SWAP)")  # fmt: skip
    resample = bool(args.data) and not args.trades and args.interval is not DEFAULT_INTERVAL
    if derivative or resample:
        if kind is None:
            raise ConfigError(f"--symbol {native!r}: expected BASE-QUOTE[-SWAP|-YYMMDD]")
        return kind
    return None


def run_simple_multi(
    args: argparse.Namespace, strategies: list[Strategy], kind: Kind, progress: Any
) -> int:
    from tradeloop.engine.cli_multi import summary_json
    from tradeloop.engine.multi import Feed, MultiConfig, StrategyRun
    from tradeloop.engine.runconfig import parse_run_config

    native, venue = parse_symbol(args.symbol)
    bars = load_data(args, f"{native}.{venue}")
    if len(bars) < 2:
        raise ConfigError(f"{bars.source}: need at least 2 bars, got {len(bars)}")
    inst = Instrument.of(
        native, venue, kind.base, kind.quote, tick_size=args.tick or infer_tick(bars.close),
        lot_size=args.lot, maker_fee=args.fee, taker_fee=args.fee, kind=kind.kind,
        inverse=kind.inverse,
    )  # fmt: skip
    derivative = inst.is_derivative
    funding = None
    if derivative and args.funding is not None:
        from tradeloop.data.funding import FundingSeries, load_funding

        try:
            rate = float(args.funding)
        except ValueError:
            funding = load_funding(args.funding)
        else:
            start, end = int(bars.start[0]), int(bars.end[-1])
            funding = FundingSeries.constant(rate, start, end, parse_interval("8h"))
    margin = MarginRule(args.margin or "cross", args.maintenance_margin or 0.005)
    feed = Feed(inst, bars, funding, None, margin if derivative else None, args.leverage or 1.0)
    period = bars.interval_ns
    if args.data and not args.trades and args.interval is not DEFAULT_INTERVAL:
        period = parse_interval(args.interval)
    runs = [StrategyRun(s, (inst.symbol,), {inst.symbol: (period,)}) for s in strategies]
    risk = RiskConfig(
        daily_loss_limit=args.daily_loss_limit,
        max_order_notional=args.max_order_notional,
        max_position_qty=args.max_position,
    )
    sim = SimConfig(
        latency_ns=parse_interval(args.latency) if args.latency else 0,
        slippage_bps=args.slippage_bps or 0.0,
        max_volume_fraction=args.max_volume_share,
    )
    mc = MultiConfig(args.cash, None, risk, ExecConfig(ExecAlgo(args.algo)), sim)
    built = BuiltRun([feed], runs, mc, {inst.symbol: kind}, [str(args.strategy)])
    for line in describe(built):
        print(line)
    from tradeloop.engine.backtest import dump_json, write_outputs, write_trades_csv
    from tradeloop.engine.cli_multi import write_equity_csv
    from tradeloop.engine.loader import strategy_errors
    from tradeloop.engine.multi import run_multi_backtest

    prog, stop = progress
    try:
        with strategy_errors(args.strategy):
            result = run_multi_backtest([feed], runs, mc, prog)
    finally:
        stop()
    cfg = parse_run_config(
        {"instrument": [{"symbol": args.symbol}], "strategy": [{"file": str(args.strategy)}]},
        str(args.strategy),
    )
    summary = summary_json(result, built, cfg)
    out = Path(args.out)
    files = {
        "trades.csv": lambda p: write_trades_csv(p, result.fills),
        "equity.csv": lambda p: write_equity_csv(p, result),
        "result.json": lambda p: dump_json(p, summary),
    }
    if not args.no_report:
        from tradeloop.report.multi import write_multi_report

        files["report.html"] = lambda p: write_multi_report(p, result, summary)
    write_outputs(out, files)
    print(
        f"{len(bars):,} bars in {result.elapsed_s:.2f}s, {len(result.fills)} fills, "
        f"{len(result.liquidations)} liquidations, funding paid {summary['funding_paid']:.8g}, "
        f"final equity {result.final_equity:,.8g} {inst.settle} -> {out}/"
    )
    return 0
