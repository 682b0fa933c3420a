"""Market data: columnar bar/trade series, file loaders, bar aggregation, synthetic markets.

Import from here; submodules are implementation detail.
"""

from tradeloop.data.aggregate import (
    EmptyBarPolicy,
    TickBarAggregator,
    TimeBarAggregator,
    VolumeBarAggregator,
    aggregate_stream,
    resample_trades,
)
from tradeloop.data.intervals import format_interval, parse_interval
from tradeloop.data.loaders import load_bars, load_trades
from tradeloop.data.replay import merge_streams, replay
from tradeloop.data.series import BarSeries, TradeSeries, validate_bars, validate_trades
from tradeloop.data.synthetic import synthetic_bars, synthetic_trades

__all__ = [
    "BarSeries",
    "EmptyBarPolicy",
    "TickBarAggregator",
    "TimeBarAggregator",
    "TradeSeries",
    "VolumeBarAggregator",
    "aggregate_stream",
    "format_interval",
    "load_bars",
    "load_trades",
    "merge_streams",
    "parse_interval",
    "replay",
    "resample_trades",
    "synthetic_bars",
    "synthetic_trades",
    "validate_bars",
    "validate_trades",
]
