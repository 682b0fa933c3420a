"""``tradeloop backtest CONFIG.toml``: a multi-instrument, multi-timeframe run from a config.

Prints the run's instruments (kind, quote/settle currency, data) before replaying, then writes
result.json (account, per strategy, per instrument: PnL, fees, funding), trades.csv,
equity.csv (account, strategy and instrument curves) and report.html into ``--out``.
``--tick-filter K`` turns the abnormal-tick filter on for every instrument with ``k = K`` (over
the file's ``[filter]`` table, whose per-instrument overrides still apply).
"""

from __future__ import annotations

import argparse
import csv
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from tradeloop.core.errors import ConfigError
from tradeloop.core.outdir import writable_dir
from tradeloop.data.tickfilter import FilterConfig
from tradeloop.engine.backtest import (
    dump_json,
    trades_fingerprint,
    write_outputs,
    write_trades_csv,
)
from tradeloop.engine.loader import strategy_errors
from tradeloop.engine.multi import MultiResult, run_multi_backtest
from tradeloop.engine.runbuild import BuiltRun, build_run, describe
from tradeloop.engine.runconfig import RunConfig, load_run_config


def run_config(args: argparse.Namespace, progress: Any = None) -> int:
    writable_dir(args.out)  # before the run: a bad --out must not cost its results
    cfg = with_tick_filter(load_run_config(args.strategy), getattr(args, "tick_filter", None))
    built = build_run(cfg)
    print(f"run {cfg.source}: {len(built.feeds)} instrument(s), {len(built.runs)} strategy(ies)")
    for line in describe(built):
        print(line)
    report = not getattr(args, "no_report", False)
    annotations = None
    if report:  # Strategy.mark/line/plot, drawn on the report's price charts
        from tradeloop.report.pricechart import AnnotationLog

        annotations = AnnotationLog()
        for r in built.runs:
            r.strategy.on_annotation = annotations
    with strategy_errors(*built.files):
        result = run_multi_backtest(built.feeds, built.runs, built.config, progress)
    out = Path(args.out)
    summary = summary_json(result, built, cfg)
    files: dict[str, Callable[[Path], None]] = {
        "trades.csv": lambda p: write_trades_csv(p, result.fills),
        "equity.csv": lambda p: write_equity_csv(p, result),
        "result.json": lambda p: dump_json(p, summary),
    }
    if report:
        from tradeloop.report.multi import write_multi_report
        from tradeloop.report.pricechart import bars_chart_data

        charts = [
            bars_chart_data(f.instrument.symbol, f.bars, result.fills, annotations)
            for f in built.feeds
        ]
        files["report.html"] = lambda p: write_multi_report(p, result, summary, charts)
    write_outputs(out, files)
    ccy = result.kernel.portfolio.currency
    rate = result.events / result.elapsed_s if result.elapsed_s else 0.0
    print(
        f"{result.events:,} events in {result.elapsed_s:.2f}s ({rate:,.0f}/s), "
        f"{len(result.fills)} fills, final equity {result.final_equity:,.8g} {ccy} -> {out}/"
    )
    return 0


def with_tick_filter(cfg: RunConfig, k: float | None) -> RunConfig:
    """``cfg`` with the filter on at ``k`` (``--tick-filter K``); unchanged when ``k`` is None."""
    if k is None:
        return cfg
    if not k > 0:
        raise ConfigError(f"--tick-filter: K must be > 0, got {k:g}")
    return replace(cfg, tick_filter=replace(cfg.tick_filter or FilterConfig(), k=k, enabled=True))


def summary_json(result: MultiResult, built: BuiltRun, cfg: RunConfig) -> dict[str, Any]:
    p = result.kernel.portfolio
    strategies = []
    for r in built.runs:
        sid = r.strategy.id
        re, un, fe = p.strategy_pnl(sid)
        book = p.books[sid]
        strategies.append({
            "strategy": sid, "file": r.file, "instruments": list(r.symbols or ()),
            "params": vars(r.strategy.p), "capital": book.capital, "realized": re,
            "unrealized": un, "fees": fe, "funding": book.funding, "total": re + un - fe,
            "fills": book.fills,
        })  # fmt: skip
    instruments = []
    for f in built.feeds:
        i = f.instrument
        pos = p.positions[i.symbol]
        instruments.append({
            "instrument": i.symbol, "kind": built.kinds[i.symbol].describe(), "quote": i.quote,
            "settle": i.settle, "bars": len(f.bars), "position": pos.qty,
            "realized": pos.realized_pnl, "fees": p.fees_by_symbol.get(i.symbol, 0.0),
            "funding": p.funding.get(i.symbol, 0.0),
            "pnl": float(result.instrument_pnl[i.symbol][-1]) if result.ts.size else 0.0,
            "liquidations": sum(1 for x in result.liquidations if x.symbol == i.symbol),
        })  # fmt: skip
    return {
        "config": cfg.source,
        "currency": p.currency,
        "final_equity": result.final_equity,
        "initial_cash": result.initial_cash,
        "fills": len(result.fills),
        "trades_fingerprint": trades_fingerprint(result.fills),
        "events": result.events,
        "elapsed_s": round(result.elapsed_s, 6),
        "fees_paid": p.fees_paid,
        "funding_paid": sum(p.funding.values()),
        "liquidations": len(result.liquidations),
        "strategies": strategies,
        "instruments": instruments,
    }


def write_equity_csv(path: Path, result: MultiResult) -> None:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        sids = list(result.strategy_equity)
        syms = list(result.instrument_pnl)
        w.writerow(["ts_ns", "equity", *(f"strategy:{s}" for s in sids),
                    *(f"pnl:{s}" for s in syms), *(f"position:{s}" for s in syms)])  # fmt: skip
        for i, ts in enumerate(result.ts.tolist()):
            w.writerow([ts, repr(float(result.equity[i])),
                        *(repr(float(result.strategy_equity[s][i])) for s in sids),
                        *(repr(float(result.instrument_pnl[s][i])) for s in syms),
                        *(repr(float(result.positions[s][i])) for s in syms)])  # fmt: skip
