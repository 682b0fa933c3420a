"""Market data: columnar bar/trade series, file loaders, bar aggregation, synthetic markets.

Import from here; submodules are implementation detail.
"""

from tradeloop.data.intervals import format_interval, parse_interval
from tradeloop.data.loaders import load_bars, load_trades
from tradeloop.data.series import BarSeries, TradeSeries, validate_bars, validate_trades
from tradeloop.data.synthetic import synthetic_bars, synthetic_trades

__all__ = [
    "BarSeries",
    "TradeSeries",
    "format_interval",
    "load_bars",
    "load_trades",
    "parse_interval",
    "synthetic_bars",
    "synthetic_trades",
    "validate_bars",
    "validate_trades",
]
