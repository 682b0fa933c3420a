"""The backtest half of a sweep's command line: data, instrument and backtest config, built
exactly as ``tradeloop backtest`` builds them, once, in the driver.

``tradeloop backtest`` assembles these inline in its ``run()``, so this module repeats that
assembly from the same public helpers (``load_data``, ``split_symbol``, ``infer_tick``).
The sweep tests compare a sweep row with a real ``tradeloop backtest`` run (same trades
fingerprint), so a change to one side that is not made to the other fails loudly. A public
``build_backtest(args)`` in ``engine/cli_backtest.py`` would remove the copy.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tradeloop.core.errors import ConfigError, StrategyLoadError
from tradeloop.engine.backtest import BacktestConfig
from tradeloop.engine.cli_backtest import infer_tick, load_data, split_symbol
from tradeloop.engine.oms import ExecAlgo, ExecConfig
from tradeloop.engine.risk import RiskConfig
from tradeloop.model import Instrument
from tradeloop.sweep.runner import RunContext


def build_context(args: argparse.Namespace) -> RunContext:
    """Load the data and describe the account once; raises ``UserError`` on bad input."""
    path = Path(args.strategy)
    if not path.is_file():
        raise StrategyLoadError(f"{path}: strategy file not found")
    source = path.read_bytes()
    symbol = args.symbol.upper()
    base, quote = split_symbol(symbol)
    bars = load_data(args, symbol)
    if len(bars) < 2:
        raise ConfigError(f"{bars.source}: need at least 2 bars, got {len(bars)}")
    tick = args.tick or infer_tick(bars.close)
    instrument = Instrument(
        symbol,
        base,
        quote,
        tick_size=tick,
        lot_size=args.lot,
        maker_fee=args.fee,
        taker_fee=args.fee,
    )
    risk = RiskConfig(
        daily_loss_limit=args.daily_loss_limit,
        max_order_notional=args.max_order_notional,
        max_position_qty=args.max_position,
    )
    config = BacktestConfig(cash=args.cash, risk=risk, execution=ExecConfig(ExecAlgo(args.algo)))
    return RunContext(bars, instrument, config, str(path), source)
