"""Re-export of :mod:`tradeloop.data.tickfilter` (the filter moved down a layer so backtests
and the store can use it); kept so existing ``tradeloop.live.tickfilter`` imports still work."""

from tradeloop.data.tickfilter import (
    CROSSED,
    JUMP,
    NON_POSITIVE,
    OUT_OF_ORDER,
    FilterConfig,
    TickFilter,
    filter_bars,
    filter_series,
)

__all__ = [
    "CROSSED",
    "JUMP",
    "NON_POSITIVE",
    "OUT_OF_ORDER",
    "FilterConfig",
    "TickFilter",
    "filter_bars",
    "filter_series",
]
