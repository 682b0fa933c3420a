"""``tradeloop live CONFIG.toml``: run a deployment for real money (or ``--check`` it).

One TOML file declares accounts, strategies, risk limits and the journal
(:mod:`tradeloop.live.config`); keys come from environment variables or a key file named there.
Re-running the same command after a crash resumes from the deployment's journal: the runtime
restores its state and reconciles every account before any strategy starts. ``--check``
validates the file, the keys (a signed request per account) and the instruments without
trading or writing a journal. Problems are one line and exit code 2.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

from tradeloop.core.argtypes import positive
from tradeloop.core.errors import UserError
from tradeloop.live.config import load_live_config
from tradeloop.live.logs import use_json_logs
from tradeloop.live.runtime import LiveRuntime


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", help="run config (TOML) with [live] and [[account]] tables")
    p.add_argument("--check", action="store_true",
                   help="validate the config, keys and instruments; trade nothing")  # fmt: skip
    p.add_argument("--deployment", help="deployment name (default: [live] deployment, else "
                   "the config file's name); keys the journal and client ids")  # fmt: skip
    p.add_argument("--journal", help="journal path (default: the deployment's state file)")
    p.add_argument("--duration", type=positive, help="stop after N seconds (default: a signal)")
    p.add_argument(
        "--resume",
        action="store_true",
        help="clear a journaled HALTED state and accept the venue's positions (after "
        "checking the account)",
    )
    p.add_argument("--json-logs", action="store_true", help="one JSON object per log line")
    p.add_argument(
        "--dashboard",
        default="127.0.0.1:0",
        metavar="HOST:PORT",
        help="serve the live dashboard here (default: loopback, a free port)",
    )
    p.add_argument("--no-dashboard", action="store_true", help="do not serve the dashboard")


def add_dashboard(rt: LiveRuntime, args: argparse.Namespace) -> None:
    """Start the dashboard with the runtime unless ``--no-dashboard`` (imported lazily: it
    sits above this layer and pulls in the web server only when used)."""
    if args.no_dashboard:
        return
    from tradeloop.dashboard import DashboardOptions, hook, parse_bind, print_line

    host, port = parse_bind(args.dashboard)
    rt.start_hooks.append(hook(DashboardOptions(host, port, announce=print_line)))


async def check(rt: LiveRuntime) -> list[str]:
    """Start every account's gateway, make one signed request each, build the kernels (so a
    bad strategy file or instrument shows), stop. Nothing is sent, nothing is journaled."""
    lines = []
    try:
        await rt.start()
        for name, gw in rt.gateways.items():
            balances = await gw.fetch_balances()
            lines.append(f"account {name}: keys accepted, {len(balances)} balance(s)")
        for g in rt.groups:
            kind = "shadow" if g.shadow else "live"
            lines.append(f"group {g.key} ({kind}): " + ", ".join(s.id for s in g.strategies)
                         + " on " + ", ".join(g.kernel.instruments))  # fmt: skip
    finally:
        for gw in reversed(rt.started):
            with contextlib.suppress(Exception):
                await gw.stop()
        rt.started.clear()
        if rt.journal is not None:
            rt.journal.db.close()
            rt.journal = None
    return lines


def run(args: argparse.Namespace) -> int:
    cfg = load_live_config(args.config, args.deployment, ":memory:" if args.check else args.journal)
    if args.json_logs or cfg.live.json_logs:
        use_json_logs()
    rt = LiveRuntime(cfg, resume=args.resume)
    if not args.check:
        add_dashboard(rt, args)
        from tradeloop.store.sources import live_hook, read_sources

        sources = read_sources(args.config)  # the config's [[source]] tables (custom data)
        if sources:
            rt.start_hooks.append(live_hook(sources))

    async def main() -> int:
        if args.check:
            for line in await check(rt):
                print(line)
            print(f"live --check: {args.config} OK (deployment {cfg.live.deployment}, "
                  f"journal {cfg.live.journal})")  # fmt: skip
            return 0
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, stop.set)
        await rt.run(stop, args.duration)
        print(f"live: deployment {cfg.live.deployment} stopped; journal {cfg.live.journal}")
        return 0

    try:
        return asyncio.run(main())
    except UserError:
        raise
    except KeyboardInterrupt:
        print("live: interrupted", file=sys.stderr)
        return 130
