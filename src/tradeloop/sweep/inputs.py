"""The backtest half of a sweep's command line: ``tradeloop backtest``'s own builder
(``engine.cli_backtest.build_backtest``) run once in the driver, so every single-instrument
backtest flag (leverage, margin, funding, slippage, latency, resampling, ...) means exactly
what it means in ``tradeloop backtest``, and the data is loaded once.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tradeloop.core.errors import ConfigError, StrategyLoadError
from tradeloop.engine.cli_backtest import build_backtest
from tradeloop.sweep.runner import RunContext


def build_context(args: argparse.Namespace) -> RunContext:
    """Load the data and describe the account once; raises ``UserError`` on bad input."""
    path = Path(args.strategy)
    if not path.is_file():
        raise StrategyLoadError(f"{path}: strategy file not found")
    source = path.read_bytes()
    return RunContext(build_backtest(args), str(path), source)


def refuse_run_config(path: Path, cfg: dict[str, object]) -> None:
    """A multi-instrument run config (``[[instrument]]``/``[[strategy]]`` tables, as
    ``tradeloop backtest CONFIG.toml`` takes) is not a sweep config: one line saying so."""
    if "instrument" in cfg or ("strategy" in cfg and not isinstance(cfg["strategy"], str)):
        raise ConfigError(
            f"{path}: multi-instrument run configs are not supported by sweeps; give a "
            'strategy file, or a sweep config with strategy = "file.py" and a [param] table'
        )
