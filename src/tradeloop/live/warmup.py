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

History comes from a venue-specific fetcher (:data:`FETCHERS`; OKX and FTX): the Gateway
contract has no candle query yet, so each venue's REST client is used directly. Other venues
warm up live (logged).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from tradeloop.engine.kernel import Kernel
from tradeloop.engine.strategy import Strategy
from tradeloop.model import Bar

log = logging.getLogger(__name__)

#: (gateway, instrument id, native symbol, period ns, bars, end ns) -> closed bars, oldest first
Fetcher = Callable[[Any, str, str, int, int, int], Awaitable[list[Bar]]]

_BLOCKED = ("target", "target_percent", "buy", "sell", "cancel")


def _okx_bar_name(period_ns: int) -> str:
    s = period_ns // 1_000_000_000
    for unit, n in (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)):
        if s % n == 0:
            return f"{s // n}{unit}"
    return f"{s}s"


async def okx_history(gw: Any, symbol: str, native: str, period_ns: int, n: int,
                      end_ns: int) -> list[Bar]:  # fmt: skip
    """OKX closed candles ending at or before ``end_ns``, oldest first (pages of 100)."""
    from tradeloop.venues.okx.gateway import okx_bar
    from tradeloop.venues.okx.parse import parse_candles

    bar = okx_bar(_okx_bar_name(period_ns))
    out: dict[int, Bar] = {}
    after: int | None = end_ns // 1_000_000 + 1
    for _ in range(max(1, n // 100 + 2)):
        rows = await gw.rest.candles(native, bar=bar, after=after, limit=100)
        if not rows:
            break
        for b in parse_candles(symbol, rows, bar):
            if b.ts <= end_ns and b.ts - b.start == period_ns:
                out[b.ts] = b
        oldest = min(int(r[0]) for r in rows)
        if len(out) >= n or after == oldest:
            break
        after = oldest
    bars = sorted(out.values(), key=lambda b: b.ts)
    return bars[-n:]


#: FTX candle resolutions (seconds) besides multiples of a day
FTX_RESOLUTIONS = (15, 60, 300, 900, 3600, 14400)


async def ftx_history(gw: Any, symbol: str, native: str, period_ns: int, n: int,
                      end_ns: int) -> list[Bar]:  # fmt: skip
    """FTX closed candles ending at or before ``end_ns``, oldest first. FTX reports candle
    volume in the quote currency; it is divided by the close to give a base-unit volume."""
    res = period_ns // 1_000_000_000
    if period_ns % 1_000_000_000 or not (res in FTX_RESOLUTIONS or res % 86_400 == 0):
        log.warning("warm-up: FTX has no %ss candles; %s warms up live", res, symbol)
        return []
    end_s = end_ns // 1_000_000_000
    rows = await gw.rest.request("GET", f"/api/markets/{native}/candles", {
        "resolution": res, "start_time": end_s - res * (n + 2), "end_time": end_s,
    })  # fmt: skip
    out: dict[int, Bar] = {}
    for r in rows or ():
        start = int(float(r["time"])) * 1_000_000
        ts = start + period_ns
        if ts > end_ns:
            continue  # the period still open
        close = float(r["close"])
        vol = float(r.get("volume") or 0.0) / close if close > 0 else 0.0
        out[ts] = Bar(ts, symbol, start, float(r["open"]), float(r["high"]), float(r["low"]),
                      close, vol)  # fmt: skip
    return sorted(out.values(), key=lambda b: b.ts)[-n:]


FETCHERS: dict[str, Fetcher] = {"OKX": okx_history, "FTX": ftx_history}


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
