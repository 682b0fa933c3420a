"""The ``tradeloop`` command.

Each subcommand lives in its own module exposing ``add_arguments(parser)`` and ``run(args) ->
int``; this file only wires them, importing lazily so ``tradeloop --help`` stays fast and one
broken plug cannot take the others down. ``UserError``s become one clear line on stderr and
exit code 2 — never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from tradeloop.core.errors import UserError

#: subcommand -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "backtest": ("tradeloop.engine.cli_backtest", "backtest a strategy file on data or synthetic"),
    "paper": ("tradeloop.live.cli_paper", "run a strategy live against a venue (or emulator)"),
    "live": ("tradeloop.live.cli", "run a deployment from a TOML config (journal, reconcile)"),
    "emulator": ("tradeloop.emulator.cli", "run a local wire-compatible exchange emulator"),
    "fmz": ("tradeloop.fmz.cli", "serve the FMZ custom-protocol bridge"),
    "sweep": ("tradeloop.sweep.cli_sweep", "backtest a grid or random set of parameters"),
    "walkforward": ("tradeloop.sweep.cli_walkforward", "walk-forward: pick in sample, run out"),
    "record": ("tradeloop.store.cli_record", "record venues' market data into the store"),
    "data": ("tradeloop.store.cli_data", "the market data store: list, query, import, resample"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tradeloop", description=__doc__.splitlines()[0])
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING ...")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        p.set_defaults(_module=module)
        try:
            importlib.import_module(module).add_arguments(p)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            p.set_defaults(_missing=True)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from tradeloop.core.log import setup_logging

    setup_logging(args.log_level)
    if getattr(args, "_missing", False):
        print(f"tradeloop: '{args.command}' is not available in this build", file=sys.stderr)
        return 2
    try:
        rc: int = importlib.import_module(args._module).run(args)
        return rc
    except UserError as exc:
        print(f"tradeloop {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
