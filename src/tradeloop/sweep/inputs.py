"""The backtest half of a sweep's command line: data, instrument and backtest config, built
as ``tradeloop backtest`` builds them, once, in the driver.

``tradeloop backtest`` assembles the account and config inline in its ``run()``; this module
repeats that assembly from the same public helpers (``parse_symbol``, ``load_data``,
``backtest_instrument``). Two guards keep the copy honest: the sweep tests compare a sweep row
with a real ``tradeloop backtest`` run (same trades fingerprint), and a backtest option this
module does not pass on is refused with one line rather than silently ignored — the backtest's
options grow while other work goes on. A public ``build_backtest(args)`` in
``engine/cli_backtest.py`` would remove the copy.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tradeloop.core.errors import ConfigError, StrategyLoadError
from tradeloop.engine.backtest import BacktestConfig
from tradeloop.engine.cli_backtest import backtest_instrument, load_data, parse_symbol, split_symbol
from tradeloop.engine.oms import ExecAlgo, ExecConfig
from tradeloop.engine.risk import RiskConfig
from tradeloop.sweep.runner import RunContext

#: backtest options this module passes on (the rest of the command line is the sweep's own)
HONOURED = {
    "strategy", "data", "symbol", "cash", "fee", "tick", "lot", "param", "out", "bars",
    "seed", "interval", "trades", "empty_bars", "algo", "daily_loss_limit",
    "max_order_notional", "max_position", "no_report", "progress",
}  # fmt: skip


def refuse_unsupported(args: argparse.Namespace, backtest_options: dict[str, object]) -> None:
    """One error line for a backtest option given a non-default value that a sweep would not
    apply (``backtest_options``: dest -> default, as the backtest declares them)."""
    for dest, default in backtest_options.items():
        if dest not in HONOURED and getattr(args, dest, default) != default:
            flag = "--" + dest.replace("_", "-")
            raise ConfigError(f"{flag} is not supported by sweeps yet")


def build_context(args: argparse.Namespace) -> RunContext:
    """Load the data and describe the account once; raises ``UserError`` on bad input."""
    refuse_unsupported(args, getattr(args, "_backtest_options", {}))
    path = Path(args.strategy)
    if not path.is_file():
        raise StrategyLoadError(f"{path}: strategy file not found")
    source = path.read_bytes()
    native, _ = parse_symbol(args.symbol)
    split_symbol(native)  # a bad --symbol is reported before any data is read
    bars = load_data(args, native)
    if len(bars) < 2:
        raise ConfigError(f"{bars.source}: need at least 2 bars, got {len(bars)}")
    instrument = backtest_instrument(args, bars)
    risk = RiskConfig(
        daily_loss_limit=args.daily_loss_limit,
        max_order_notional=args.max_order_notional,
        max_position_qty=args.max_position,
    )
    config = BacktestConfig(cash=args.cash, risk=risk, execution=ExecConfig(ExecAlgo(args.algo)))
    return RunContext(bars, instrument, config, str(path), source)
