"""``tradeloop paper STRATEGY.py --venue okx --url URL ...`` on the live runtime.

The flags are the paper command's own (``engine.cli_paper``); they are turned into the same
run config ``tradeloop live`` reads, so paper trading journals, reconciles and warms up exactly
as a live deployment does. The deployment name — and so the journal, in the state folder — is
derived from the command's strategy file, venue, URL, symbols, bar and parameters: re-running
the same command after a crash resumes from the journal with no extra flag (``--deployment`` /
``--journal`` override it). ``result.json`` and ``trades.csv`` are written as before.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import signal
from pathlib import Path
from typing import Any

from tradeloop.core.errors import ConfigError
from tradeloop.core.outdir import writable_dir
from tradeloop.engine import cli_paper as flags
from tradeloop.engine.backtest import dump_json, trades_fingerprint, write_outputs, write_trades_csv
from tradeloop.engine.cli_backtest import parse_params
from tradeloop.engine.loader import build_strategies, strategy_errors
from tradeloop.live.cli import add_dashboard
from tradeloop.live.config import parse_live_config
from tradeloop.live.logs import use_json_logs
from tradeloop.live.runtime import LiveRuntime
from tradeloop.venues.base import Gateway


def add_arguments(p: argparse.ArgumentParser) -> None:
    flags.add_arguments(p)
    p.add_argument("--deployment", help="deployment name (default: derived from the command)")
    p.add_argument("--journal", help="journal path (default: the deployment's state file)")
    p.add_argument("--resume", action="store_true", help="clear a journaled HALTED state")
    p.add_argument("--json-logs", action="store_true", help="one JSON object per log line")
    p.add_argument(
        "--dashboard",
        default="127.0.0.1:0",
        metavar="HOST:PORT",
        help="serve the live dashboard here (default: loopback, a free port)",
    )
    p.add_argument("--no-dashboard", action="store_true", help="do not serve the dashboard")
    p.add_argument(
        "--sources", help="TOML file whose [[source]] tables (custom data) reach the strategy"
    )


def paper_deployment(args: argparse.Namespace, symbols: list[str]) -> str:
    key = "|".join([str(Path(args.strategy).resolve()), args.venue, args.url, ",".join(symbols),
                    args.bar, ",".join(sorted(args.param))])  # fmt: skip
    return f"paper-{Path(args.strategy).stem}-{hashlib.sha1(key.encode()).hexdigest()[:10]}"


def run(args: argparse.Namespace) -> int:
    writable_dir(args.out)  # before the run: a bad --out must not cost its results
    if args.json_logs:
        use_json_logs()
    params = parse_params(args.param)
    strategies = build_strategies(args.strategy, params)
    symbols = [s.strip() for s in (args.symbol or ["BTC-USDT"])]
    gateway = flags.build_gateway(args)
    if not isinstance(gateway, Gateway):
        raise ConfigError(f"{args.venue} has no live gateway")
    venue = gateway.venue or args.venue.upper()
    risk: dict[str, Any] = {}
    if args.daily_loss_limit is not None:
        risk["daily_loss_limit"] = args.daily_loss_limit
    if args.max_order_notional is not None:
        risk["max_order_notional"] = args.max_order_notional
    data = {
        "run": {"cash": args.cash},
        "instrument": [{"symbol": s if "." in s else f"{s}.{venue}"} for s in symbols],
        "strategy": [
            {"file": str(Path(args.strategy).resolve()), "algo": args.algo, "bar": args.bar}
        ],
        "risk": risk,
        "live": {"bar": args.bar, "status_interval": "60s"},
        "account": [
            {"name": args.venue, "venue": args.venue, "url": args.url, "capital": args.cash}
        ],
    }
    name = args.deployment or paper_deployment(args, symbols)
    cfg = parse_live_config(data, "tradeloop paper", Path("."), name, args.journal)
    rt = LiveRuntime(cfg, gateways={args.venue: gateway}, resume=args.resume,
                     prebuilt=strategies)  # fmt: skip
    add_dashboard(rt, args)
    if args.sources:
        from tradeloop.store.sources import live_hook, read_sources

        rt.start_hooks.append(live_hook(read_sources(args.sources)))

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        with strategy_errors(args.strategy):
            await rt.run(stop, args.duration)
        kernels = [g.kernel for g in rt.groups]
        p = kernels[0].portfolio
        summary = {
            "venue": args.venue,
            "url": args.url,
            "deployment": name,
            "journal": str(cfg.live.journal),
            "symbols": list(kernels[0].instruments),
            "bars": rt.feed.bars,
            "fills": len(rt.fills),
            "orders": sum(len(k.oms.orders) for k in kernels),
            "trades_fingerprint": trades_fingerprint(rt.fills),
            "equity": p.equity(),
            "fees_paid": p.fees_paid,
            "funding": dict(p.funding),
            "funding_payments": sum(
                a.funding_booked for g in rt.groups for a in g.accounts.values()
            ),
            "strategies": {
                s.id: dict(
                    zip(("realized", "unrealized", "fees"), p.strategy_pnl(s.id), strict=True)
                )
                for s in kernels[0].strategies
            },
        }
        write_outputs(
            Path(args.out),
            {
                "trades.csv": lambda f: write_trades_csv(f, rt.fills),
                "result.json": lambda f: dump_json(f, summary),
            },
        )
        print(f"paper: {rt.feed.bars} bars, {len(rt.fills)} fills, "
              f"equity {p.equity():,.2f} -> {args.out}/ (journal {cfg.live.journal})")  # fmt: skip
        return 0

    return asyncio.run(main())
