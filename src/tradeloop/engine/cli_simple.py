"""Whether a one-file ``tradeloop backtest`` needs more than the spot fast path: a derivative
(``--symbol BTC-USDT-SWAP``: leverage, margin, funding, liquidation) or a strategy bar period
coarser than the data (``--data 1m.csv --interval 15m``). Such a run is a one-instrument run
through ``engine.multi`` (``cli_backtest.build_backtest`` builds it); plain spot runs keep
``run_backtest`` (unchanged results). Also: which symbol a run trades when ``--symbol`` is
omitted.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tradeloop.core.errors import ConfigError
from tradeloop.engine.cli_inputs import (
    DEFAULT_INTERVAL,
    DEFAULT_SYMBOL,
)
from tradeloop.engine.symbols import Kind, infer_kind, pair_from_filename
from tradeloop.model import InstrumentKind


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
