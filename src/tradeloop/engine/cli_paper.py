"""``tradeloop paper STRATEGY.py --venue okx --url URL ...``: run a strategy through the live
plugs against a venue — normally the local emulator — with the exact same strategy code as a
backtest. The venues and the environment variables their keys are read from come from
``venues.registry`` (e.g. ``TRADELOOP_OKX_API_KEY``); keys are never logged."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from pathlib import Path

from tradeloop.core.argtypes import positive
from tradeloop.core.errors import ConfigError
from tradeloop.core.log import register_secret
from tradeloop.core.outdir import writable_dir
from tradeloop.engine.backtest import dump_json, trades_fingerprint, write_outputs, write_trades_csv
from tradeloop.engine.cli_backtest import parse_params
from tradeloop.engine.live import LiveConfig, run_live
from tradeloop.engine.loader import build_strategies, strategy_errors
from tradeloop.engine.oms import ExecAlgo, ExecConfig
from tradeloop.engine.risk import RiskConfig
from tradeloop.venues import registry
from tradeloop.venues.base import ExecutionClient


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("strategy", help="strategy file")
    p.add_argument("--venue", choices=registry.cli_choices(), default="okx")
    p.add_argument("--url", default="http://127.0.0.1:8100", help="venue REST base URL")
    p.add_argument("--ws-url", help="WebSocket base (default: derived from --url)")
    keys = p.add_argument_group(
        "credentials (prefer the environment: TRADELOOP_<VENUE>_API_KEY, ..._API_SECRET, "
        "..._PASSPHRASE; flag values show in ps)"
    )
    keys.add_argument("--api-key", default="")
    keys.add_argument("--api-secret", default="")
    keys.add_argument("--passphrase", default="")
    p.add_argument("--simulated", action="store_true", help="send x-simulated-trading: 1")
    p.add_argument("--symbol", action="append", default=[], help="instrument (repeatable)")
    p.add_argument("--cash", type=positive, default=10_000.0, help="capital for the strategies")
    p.add_argument("--bar", default="1m", help="bar interval for on_bar (e.g. 1s, 1m)")
    p.add_argument("--duration", type=positive, help="stop after N seconds (default: Ctrl-C)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--algo", choices=[a.value for a in ExecAlgo], default="market")
    p.add_argument("--daily-loss-limit", type=positive)
    p.add_argument("--max-order-notional", type=positive)
    p.add_argument("--out", default="out/paper", help="where result.json and trades.csv go")


def build_gateway(args: argparse.Namespace) -> ExecutionClient:
    spec = registry.get(args.venue)
    given = {"api_key": args.api_key, "secret": args.api_secret, "passphrase": args.passphrase}
    for secret in given.values():
        register_secret(secret)
    creds = spec.credentials_from({k: v for k, v in given.items() if k in spec.credentials})
    missing = spec.missing_credentials(creds)
    if missing:
        raise ConfigError(f"paper trading on {spec.name} needs {', '.join(missing)} set")
    options = {"simulated": True} if args.simulated else {}
    return spec.build(url=args.url, ws_url=args.ws_url, credentials=creds, **options)


def run(args: argparse.Namespace) -> int:
    writable_dir(args.out)  # before the run: a bad --out must not cost its results
    strategies = build_strategies(args.strategy, parse_params(args.param))
    # ids (BTC-USDT.OKX) or the venue's own symbols, as the venue spells them
    symbols = tuple(s.strip() for s in (args.symbol or ["BTC-USDT"]))
    config = LiveConfig(
        symbols=symbols,
        cash=args.cash,
        bar_interval=args.bar,
        duration_s=args.duration,
        risk=RiskConfig(
            daily_loss_limit=args.daily_loss_limit, max_order_notional=args.max_order_notional
        ),
        execution=ExecConfig(ExecAlgo(args.algo)),
    )
    gateway = build_gateway(args)

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        with strategy_errors(args.strategy):
            result = await run_live(strategies, gateway, config, stop)
        p = result.kernel.portfolio
        summary = {
            "venue": args.venue,
            "url": args.url,
            "symbols": list(result.kernel.instruments),
            "bars": result.bars,
            "fills": len(result.fills),
            "orders": len(result.kernel.oms.orders),
            "trades_fingerprint": trades_fingerprint(result.fills),
            "equity": p.equity(),
            "fees_paid": p.fees_paid,
            "strategies": {
                s.id: dict(
                    zip(("realized", "unrealized", "fees"), p.strategy_pnl(s.id), strict=True)
                )
                for s in result.kernel.strategies
            },
        }
        write_outputs(
            Path(args.out),
            {
                "trades.csv": lambda f: write_trades_csv(f, result.fills),
                "result.json": lambda f: dump_json(f, summary),
            },
        )
        print(
            f"paper: {result.bars} bars, {len(result.fills)} fills, "
            f"equity {p.equity():,.2f} -> {args.out}/"
        )
        return 0

    return asyncio.run(main())
