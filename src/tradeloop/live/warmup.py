"""Warm-up: feed a strategy the venue's history bars through ``on_bar`` before it goes live.

A 40-bar indicator on 1m bars would otherwise trade only after 40 minutes. A strategy declares
``lookback`` (class attribute, in bars of its period); before the first live bar the runtime
fetches that many *closed* bars ending at the current period boundary and publishes them on the
kernel's bus, so they reach ``on_bar`` exactly as live bars do. The live aggregator then
publishes the bar that started at that boundary: no gap, no duplicate (its first bar only
holds the trades seen since start-up).

While warming up a strategy cannot trade: its order and target calls are swallowed (counted),
and the kernel's risk clock is parked so that historical timestamps cannot move the daily-loss
baseline. Afterwards the strategy's "unchanged target" memory is cleared, so the first live
bar's target is acted on even when it equals the last warm-up one.

History comes from a venue-specific fetcher (:data:`tradeloop.live.history.FETCHERS`: OKX,
FTX, Binance, BitMEX, Bitfinex): the Gateway contract has no candle query yet, so each venue's
REST client is used directly. A venue without one warms up live (logged).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from tradeloop.engine.kernel import Kernel
from tradeloop.engine.strategy import Strategy
from tradeloop.live.history import FETCHERS

log = logging.getLogger(__name__)

_BLOCKED = ("target", "target_percent", "buy", "sell", "cancel")


@contextmanager
def suppressed_orders(strategies: Sequence[Strategy], kernel: Kernel) -> Iterator[list[int]]:
    """Inside: the strategies' trading calls do nothing (counted in the yielded cell) and the
    risk clock is parked; afterwards both are back and target memory is cleared."""
    swallowed = [0]

    def noop(*_a: Any, **_k: Any) -> None:
        swallowed[0] += 1

    for s in strategies:
        for name in _BLOCKED:
            setattr(s, name, noop)
    risk = kernel.risk
    parked = risk.next_check_ns
    risk.next_check_ns = 1 << 62
    try:
        yield swallowed
    finally:
        risk.next_check_ns = parked
        for s in strategies:
            for name in _BLOCKED:
                vars(s).pop(name, None)
            s._last_qty.clear()
            s._last_pct.clear()


async def warm_up(
    kernel: Kernel,
    gateway: Any,
    venue: str,
    symbol: str,
    period_ns: int,
    lookback: int,
    end_ns: int,
) -> int:
    """Publish up to ``lookback`` history bars of ``symbol`` ending at ``end_ns``; returns how
    many were fed. A venue without a fetcher, or a failed fetch, is a WARNING, not a stop: the
    strategy then warms up on live bars as before."""
    fetch = FETCHERS.get(venue)
    if fetch is None or lookback <= 0:
        if lookback > 0:
            log.warning("warm-up: no history source for %s; %s warms up live", venue, symbol)
        return 0
    native = kernel.instruments[symbol].native
    try:
        bars = await fetch(gateway, symbol, native, period_ns, lookback, end_ns)
    except Exception as exc:
        log.warning("warm-up of %s failed (%s); it warms up on live bars", symbol, exc)
        return 0
    for b in bars:
        kernel.on_market_data(b)
    return len(bars)
