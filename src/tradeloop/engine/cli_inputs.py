"""What a backtest run is fed, shared by the single-symbol CLI (``cli_backtest``) and the
multi-instrument path (``cli_simple``): ``--symbol`` parsing and the bar data behind it."""

from __future__ import annotations

import argparse

from tradeloop.core.errors import ConfigError
from tradeloop.data.series import BarSeries
from tradeloop.model import native_of, venue_of


class _Default(str):
    """A default the user did not type (argparse keeps the object, so ``is`` tells)."""


DEFAULT_SYMBOL = _Default("BTC-USDT")
DEFAULT_INTERVAL = _Default("1m")


#: the venue of a backtest instrument given without one
BACKTEST_VENUE = "SIM"


def parse_symbol(text: str) -> tuple[str, str]:
    """``--symbol`` as (native, venue): ``BTC-USDT`` is on the simulated venue, an id such as
    ``BTC-USDT.OKX`` names its venue."""
    venue = venue_of(text.strip())
    native = native_of(text.strip()) if venue else text.strip()
    return native.upper(), venue or BACKTEST_VENUE


def split_symbol(symbol: str) -> tuple[str, str]:
    parts = symbol.upper().replace("/", "-").replace("_", "-").split("-")
    if len(parts) < 2 or not all(p.isalnum() for p in parts[:2]):  # "BTC-USDT." is a typo
        raise ConfigError(f"--symbol {symbol!r}: expected BASE-QUOTE, e.g. BTC-USDT")
    return parts[0], parts[1]


def load_data(args: argparse.Namespace, symbol: str) -> BarSeries:
    bars = _load_data(args, symbol)
    k = getattr(args, "tick_filter", None)
    if k is None:
        return bars
    from tradeloop.data.tickfilter import FilterConfig, filter_series

    if not k > 0:
        raise ConfigError(f"--tick-filter: K must be > 0, got {k:g}")
    kept, f = filter_series(bars, FilterConfig(k=k))
    dropped = ", ".join(f"{n} {why}" for (_s, why), n in sorted(f.counts.items()))
    print(f"tick filter (k={k:g}): {len(bars) - len(kept)} of {len(bars):,} bars dropped"
          f"{f' ({dropped})' if dropped else ''}")  # fmt: skip
    return kept


def _load_data(args: argparse.Namespace, symbol: str) -> BarSeries:
    if args.data and args.trades:
        from tradeloop.data.aggregate import EmptyBarPolicy, resample_trades
        from tradeloop.data.intervals import parse_interval
        from tradeloop.data.loaders import load_trades

        policy = EmptyBarPolicy.CARRY if args.empty_bars == "carry" else EmptyBarPolicy.SKIP
        trades = load_trades(args.data, symbol=symbol)
        return resample_trades(trades, parse_interval(args.interval), policy)
    if args.data:
        from tradeloop.data.loaders import load_bars

        return load_bars(args.data, symbol=symbol)
    from tradeloop.data.synthetic import synthetic_bars

    if args.bars < 2:
        raise ConfigError("--bars must be at least 2")
    return synthetic_bars(n=args.bars, symbol=symbol, interval=args.interval, seed=args.seed)
