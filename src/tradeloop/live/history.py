"""History candles for warm-up, one fetcher per venue (:data:`FETCHERS`).

The Gateway contract has no candle query, so each fetcher calls its venue's REST client
directly (a named method where the client has one, else the client's generic request) and
returns the *closed* bars of one period ending at or before ``end_ns``, oldest first, as
:class:`~tradeloop.model.Bar` (``ts`` = the bar's close, volume in base units). A period the
venue does not serve is a WARNING and no bars: the strategy then warms up on live bars.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from tradeloop.core.timefmt import iso_ms
from tradeloop.model import Bar

log = logging.getLogger(__name__)

#: (gateway, instrument id, native symbol, period ns, bars, end ns) -> closed bars, oldest first
Fetcher = Callable[[Any, str, str, int, int, int], Awaitable[list[Bar]]]
MS = 1_000_000


def _okx_bar_name(period_ns: int) -> str:
    s = period_ns // 1_000_000_000
    for unit, n in (("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)):
        if s % n == 0:
            return f"{s // n}{unit}"
    return f"{s}s"


#: OKX candle periods (seconds): 1s, 1m, 3m, 5m, 15m, 30m, 1H, 2H, 4H, 6H, 12H, 1D, 2D, 3D, 1W
OKX_BAR_SECONDS = frozenset((1, 60, 180, 300, 900, 1800, 3600, 7200, 14400, 21600, 43200,
                             86400, 172800, 259200, 604800))  # fmt: skip


async def okx_history(gw: Any, symbol: str, native: str, period_ns: int, n: int,
                      end_ns: int) -> list[Bar]:  # fmt: skip
    """OKX closed candles ending at or before ``end_ns``, oldest first (pages of 100). OKX's
    ``candles`` serves the latest 1,440 bars; older ones come from ``history-candles``."""
    from tradeloop.venues.okx.gateway import okx_bar
    from tradeloop.venues.okx.parse import parse_candles

    if period_ns % 1_000_000_000 or period_ns // 1_000_000_000 not in OKX_BAR_SECONDS:
        log.warning("warm-up: OKX has no %gs candles; %s warms up live", period_ns / 1e9, symbol)
        return []
    bar = okx_bar(_okx_bar_name(period_ns))
    out: dict[int, Bar] = {}
    after: int | None = end_ns // 1_000_000 + 1
    fetch = gw.rest.candles
    for _ in range(max(1, n // 100 + 4)):
        rows = await fetch(native, bar=bar, after=after, limit=100)
        oldest = min((int(r[0]) for r in rows), default=after)
        if not rows or after == oldest:
            if fetch == gw.rest.history_candles:
                break
            fetch = gw.rest.history_candles  # past the recent window
            continue
        for b in parse_candles(symbol, rows, bar):
            if b.ts <= end_ns and b.ts - b.start == period_ns:
                out[b.ts] = b
        if len(out) >= n:
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


def _interval(venue: str, names: Mapping[str, int], period_ns: int, symbol: str) -> str | None:
    """The venue's name for a period (``names``: name -> ms), or None (logged)."""
    for name, ms in names.items():
        if ms * MS == period_ns:
            return name
    log.warning("warm-up: %s has no %gs candles; %s warms up live", venue, period_ns / 1e9, symbol)
    return None


def _bar(symbol: str, start_ms: int, period_ns: int, ohlcv: tuple[Any, ...]) -> Bar:
    o, h, lo, c, v = (float(x) for x in ohlcv)
    start = start_ms * MS
    return Bar(start + period_ns, symbol, start, o, h, lo, c, v)


def _closed(bars: dict[int, Bar], end_ns: int, n: int) -> list[Bar]:
    return sorted((b for b in bars.values() if b.ts <= end_ns), key=lambda b: b.ts)[-n:]


_M = 60_000
BINANCE_INTERVALS = {
    "1s": 1_000, "1m": _M, "3m": 3 * _M, "5m": 5 * _M, "15m": 15 * _M, "30m": 30 * _M,
    "1h": 60 * _M, "2h": 120 * _M, "4h": 240 * _M, "6h": 360 * _M, "8h": 480 * _M,
    "12h": 720 * _M, "1d": 1440 * _M, "3d": 3 * 1440 * _M, "1w": 7 * 1440 * _M,
}  # fmt: skip


async def binance_history(gw: Any, symbol: str, native: str, period_ns: int, n: int,
                          end_ns: int) -> list[Bar]:  # fmt: skip
    """Binance klines (spot ``/api/v3``, USD-M futures ``/fapi/v1`` when the client talks to
    that host), paged backwards 1,000 at a time. ``endTime`` bounds the *open* time, so the
    last closed bar is the one opening one period before ``end_ns``."""
    interval = _interval("Binance", BINANCE_INTERVALS, period_ns, symbol)
    if interval is None:
        return []
    futures = str(getattr(gw.rest, "time_path", "")).startswith("/fapi")
    path = "/fapi/v1/klines" if futures else "/api/v3/klines"
    out: dict[int, Bar] = {}
    last_open_ms = (end_ns - period_ns) // MS
    while len(out) < n:
        rows = await gw.rest.call("GET", path, {
            "symbol": native, "interval": interval, "endTime": last_open_ms,
            "limit": min(n - len(out) + 1, 1000),
        })  # fmt: skip
        rows = [r for r in rows or () if int(r[0]) <= last_open_ms]
        for r in rows:
            b = _bar(symbol, int(r[0]), period_ns, (r[1], r[2], r[3], r[4], r[5]))
            out[b.ts] = b
        if not rows:
            break
        last_open_ms = min(int(r[0]) for r in rows) - 1
    return _closed(out, end_ns, n)


BITMEX_BINS = {"1m": _M, "5m": 5 * _M, "1h": 60 * _M, "1d": 1440 * _M}


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


async def bitmex_history(gw: Any, symbol: str, native: str, period_ns: int, n: int,
                         end_ns: int) -> list[Bar]:  # fmt: skip
    """BitMEX ``/trade/bucketed`` (1m, 5m, 1h, 1d), newest first, pages of up to 1,000. A bucket
    is stamped with its *close*; ``volume`` counts contracts, so the base-unit volume is
    ``homeNotional`` when the venue gives it."""
    bin_size = _interval("BitMEX", BITMEX_BINS, period_ns, symbol)
    if bin_size is None:
        return []
    out: dict[int, Bar] = {}
    end_ms = end_ns // MS
    while len(out) < n:
        rows = await gw.rest.request("GET", "/api/v1/trade/bucketed", {
            "binSize": bin_size, "symbol": native, "partial": "false", "reverse": "true",
            "endTime": _iso(end_ms), "count": min(n - len(out), 1000),
        })  # fmt: skip
        if not rows:
            break
        for r in rows:
            close_ms = iso_ms(str(r["timestamp"]))
            vol = r.get("homeNotional")
            if vol is None:
                vol = r.get("volume") or 0.0
            b = _bar(symbol, close_ms - period_ns // MS, period_ns,
                     (r["open"], r["high"], r["low"], r["close"], vol))  # fmt: skip
            out[b.ts] = b
        oldest = min(iso_ms(str(r["timestamp"])) for r in rows)
        if oldest >= end_ms:
            break
        end_ms = oldest - 1
    return _closed(out, end_ns, n)


BITFINEX_FRAMES = {
    "1m": _M, "5m": 5 * _M, "15m": 15 * _M, "30m": 30 * _M, "1h": 60 * _M, "3h": 180 * _M,
    "6h": 360 * _M, "12h": 720 * _M, "1D": 1440 * _M, "1W": 7 * 1440 * _M,
}  # fmt: skip


async def bitfinex_history(gw: Any, symbol: str, native: str, period_ns: int, n: int,
                           end_ns: int) -> list[Bar]:  # fmt: skip
    """Bitfinex ``/v2/candles/trade:TF:SYMBOL/hist``: rows ``[MTS, OPEN, CLOSE, HIGH, LOW,
    VOLUME]`` (close before high/low), ``MTS`` the open time, newest first, up to 10,000."""
    frame = _interval("Bitfinex", BITFINEX_FRAMES, period_ns, symbol)
    if frame is None:
        return []
    out: dict[int, Bar] = {}
    last_open_ms = (end_ns - period_ns) // MS
    while len(out) < n:
        rows = await gw.rest.get(f"/v2/candles/trade:{frame}:{native}/hist", {
            "end": last_open_ms, "limit": min(n - len(out), 10_000), "sort": -1,
        })  # fmt: skip
        rows = [r for r in rows or () if int(r[0]) <= last_open_ms]
        for r in rows:
            b = _bar(symbol, int(r[0]), period_ns, (r[1], r[3], r[4], r[2], r[5]))
            out[b.ts] = b
        if not rows:
            break
        last_open_ms = min(int(r[0]) for r in rows) - 1
    return _closed(out, end_ns, n)


FETCHERS: dict[str, Fetcher] = {
    "OKX": okx_history,
    "FTX": ftx_history,
    "BINANCE": binance_history,
    "BITMEX": bitmex_history,
    "BITFINEX": bitfinex_history,
}
