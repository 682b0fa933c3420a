"""Time-windowed history sources of the venues other than OKX, for ``tradeloop data download``.

Why one shape for four venues: each venue pages its public history differently (Binance and
Bitfinex and BitMEX oldest-first from a start time, FTX newest-first back from an end time;
ids that order or do not; different page sizes and window limits), but every one of them can
answer "at most ``limit`` bars / trades with ``lo <= time <= hi``, the oldest (forward) or the
newest (backward) of them". That is all :func:`tradeloop.store.download.download_window` needs
to page a range resumably. Each adapter reads through the venue's own REST client (its rate
limiter, retries, error types) and turns rows into :class:`Candle` / :class:`Trade`.

Served by: Binance ``/api/v3/klines`` and ``/api/v3/aggTrades`` (at most one hour per trades
window, as Binance allows), BitMEX ``/api/v1/trade/bucketed`` (stamped with the bin's close)
and ``/api/v1/trade``, Bitfinex ``/v2/candles/trade:TF:SYM/hist`` and ``/v2/trades/SYM/hist``
(``sort=1``), FTX ``/api/markets/NAME/candles`` and ``/trades`` (seconds, newest first).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple, Protocol

from tradeloop.core.errors import ConfigError

MIN = 60_000
HOUR = 60 * MIN
DAY = 24 * HOUR


class Candle(NamedTuple):
    start: int  # ms
    open: float
    high: float
    low: float
    close: float
    volume: float


class Trade(NamedTuple):
    ts: int  # ms
    trade_id: str
    price: float
    qty: float
    side: str  # "buy" | "sell" (the taker) | ""


class WindowSource(Protocol):
    """One venue's public history, by time window (see the module docstring)."""

    venue: str
    forward: bool  # pages run oldest-first from the start (else newest-first from the end)
    limit: int  # rows per request; a page this long may have more behind it
    trades_span_ms: int  # widest trades window one request may ask (0: any)
    bars: Mapping[int, str]  # bar length ms -> the venue's name for it

    async def candles(self, inst: str, bar_ms: int, lo: int, hi: int) -> list[Candle]: ...

    async def trades(self, inst: str, lo: int, hi: int) -> list[Trade]: ...

    async def close(self) -> None: ...


def _iso_ms(text: str) -> int:
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return round(dt.timestamp() * 1000)


def _iso(ms: int) -> str:
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


class BinanceHistory:
    venue = "BINANCE"
    forward = True
    limit = 1000
    trades_span_ms = HOUR - 1  # Binance: startTime..endTime of aggTrades under one hour
    bars = {60_000: "1m", 3 * MIN: "3m", 5 * MIN: "5m", 15 * MIN: "15m", 30 * MIN: "30m",
            HOUR: "1h", 2 * HOUR: "2h", 4 * HOUR: "4h", 6 * HOUR: "6h", 8 * HOUR: "8h",
            12 * HOUR: "12h", DAY: "1d", 3 * DAY: "3d", 7 * DAY: "1w"}  # fmt: skip

    def __init__(self, url: str | None) -> None:
        from tradeloop.venues.binance.rest import BinanceRestClient

        self.client = BinanceRestClient(url) if url else BinanceRestClient()

    async def candles(self, inst: str, bar_ms: int, lo: int, hi: int) -> list[Candle]:
        params = {"symbol": inst, "interval": self.bars[bar_ms], "startTime": lo,
                  "endTime": hi, "limit": self.limit}  # fmt: skip
        rows = await self.client.call("GET", "/api/v3/klines", params)
        return [Candle(int(r[0]), *(float(x) for x in r[1:6])) for r in rows]

    async def trades(self, inst: str, lo: int, hi: int) -> list[Trade]:
        params = {"symbol": inst, "startTime": lo, "endTime": hi, "limit": self.limit}
        rows = await self.client.call("GET", "/api/v3/aggTrades", params)
        return [
            Trade(int(r["T"]), str(r["a"]), float(r["p"]), float(r["q"]),
                  "sell" if r["m"] else "buy")  # the buyer was the maker: a taker sell
            for r in rows
        ]  # fmt: skip

    async def close(self) -> None:
        await self.client.close()


class BitmexHistory:
    venue = "BITMEX"
    forward = True
    limit = 1000
    trades_span_ms = 0
    bars = {MIN: "1m", 5 * MIN: "5m", HOUR: "1h", DAY: "1d"}

    def __init__(self, url: str | None) -> None:
        from tradeloop.venues.bitmex.rest import BitmexRestClient

        self.client = BitmexRestClient(url) if url else BitmexRestClient()

    async def candles(self, inst: str, bar_ms: int, lo: int, hi: int) -> list[Candle]:
        # a bin is stamped with its close: the window moves by one bar
        params = {"symbol": inst, "binSize": self.bars[bar_ms], "partial": "false",
                  "startTime": _iso(lo + bar_ms), "endTime": _iso(hi + bar_ms),
                  "count": self.limit, "reverse": "false"}  # fmt: skip
        rows = await self.client.request("GET", "/api/v1/trade/bucketed", params)
        return [
            Candle(_iso_ms(r["timestamp"]) - bar_ms, float(r["open"]), float(r["high"]),
                   float(r["low"]), float(r["close"]), float(r["volume"]))
            for r in rows
        ]  # fmt: skip

    async def trades(self, inst: str, lo: int, hi: int) -> list[Trade]:
        params = {"symbol": inst, "startTime": _iso(lo), "endTime": _iso(hi),
                  "count": self.limit, "reverse": "false"}  # fmt: skip
        rows = await self.client.request("GET", "/api/v1/trade", params)
        return [
            Trade(_iso_ms(r["timestamp"]), str(r["trdMatchID"]), float(r["price"]),
                  float(r["size"]), str(r["side"]).lower())
            for r in rows
        ]  # fmt: skip

    async def close(self) -> None:
        await self.client.close()


class BitfinexHistory:
    venue = "BITFINEX"
    forward = True
    limit = 1000
    trades_span_ms = 0
    bars = {MIN: "1m", 5 * MIN: "5m", 15 * MIN: "15m", 30 * MIN: "30m", HOUR: "1h",
            3 * HOUR: "3h", 4 * HOUR: "4h", 6 * HOUR: "6h", 12 * HOUR: "12h", DAY: "1D",
            7 * DAY: "1W"}  # fmt: skip

    def __init__(self, url: str | None) -> None:
        from tradeloop.venues.bitfinex.rest import BitfinexRestClient

        self.client = BitfinexRestClient(url) if url else BitfinexRestClient()

    async def candles(self, inst: str, bar_ms: int, lo: int, hi: int) -> list[Candle]:
        path = f"/v2/candles/trade:{self.bars[bar_ms]}:{inst}/hist"
        params = {"start": lo, "end": hi, "limit": self.limit, "sort": 1}
        rows = await self.client.get(path, params)
        # Bitfinex's order: MTS, OPEN, CLOSE, HIGH, LOW, VOLUME
        return [
            Candle(int(r[0]), float(r[1]), float(r[3]), float(r[4]), float(r[2]), float(r[5]))
            for r in rows
        ]

    async def trades(self, inst: str, lo: int, hi: int) -> list[Trade]:
        params = {"start": lo, "end": hi, "limit": self.limit, "sort": 1}
        rows = await self.client.get(f"/v2/trades/{inst}/hist", params)
        return [
            Trade(int(r[1]), str(r[0]), float(r[3]), abs(float(r[2])),
                  "buy" if float(r[2]) > 0 else "sell")
            for r in rows
        ]  # fmt: skip

    async def close(self) -> None:
        await self.client.close()


class FtxHistory:
    venue = "FTX"
    forward = False
    limit = 1000
    trades_span_ms = 0
    bars = {15_000: "15", MIN: "60", 5 * MIN: "300", 15 * MIN: "900", HOUR: "3600",
            4 * HOUR: "14400", DAY: "86400"}  # fmt: skip

    def __init__(self, url: str | None) -> None:
        from tradeloop.venues.ftx.rest import FtxRestClient

        self.client = FtxRestClient(url) if url else FtxRestClient()

    async def candles(self, inst: str, bar_ms: int, lo: int, hi: int) -> list[Candle]:
        params = {"resolution": self.bars[bar_ms], "start_time": lo / 1000,
                  "end_time": hi / 1000, "limit": self.limit}  # fmt: skip
        rows = await self.client.request("GET", f"/api/markets/{inst}/candles", params)
        return [
            Candle(int(r["time"]), float(r["open"]), float(r["high"]), float(r["low"]),
                   float(r["close"]), float(r["volume"]))
            for r in rows or []
        ]  # fmt: skip

    async def trades(self, inst: str, lo: int, hi: int) -> list[Trade]:
        params = {"start_time": lo / 1000, "end_time": hi / 1000, "limit": self.limit}
        rows = await self.client.request("GET", f"/api/markets/{inst}/trades", params)
        return [
            Trade(_iso_ms(r["time"]), str(r["id"]), float(r["price"]), float(r["size"]),
                  str(r["side"]))
            for r in rows or []
        ]  # fmt: skip

    async def close(self) -> None:
        await self.client.close()


SOURCES: Mapping[str, type[Any]] = {
    "binance": BinanceHistory,
    "bitmex": BitmexHistory,
    "bitfinex": BitfinexHistory,
    "ftx": FtxHistory,
}
#: every venue ``data download`` serves (OKX pages by id: ``download.OkxHistory``)
SUPPORTED = ("okx", *SOURCES)


def check_venue(venue: str) -> str:
    v = venue.lower()
    if v not in SUPPORTED:
        raise ConfigError(f"--venue {venue}: no history download (supported: "
                          f"{', '.join(SUPPORTED)})")  # fmt: skip
    return v


def bar_ms(src: WindowSource, bar: str) -> int:
    """``--bar`` as ms (tradeloop's ``1m`` / ``1h`` / ``1d``; ``1H`` / ``1D`` also read), one
    the venue serves."""
    from tradeloop.data.intervals import parse_interval

    text = bar[:-1] + bar[-1].lower() if bar[-1:] in ("H", "D", "W") else bar
    try:
        ms = parse_interval(text) // 1_000_000
    except ConfigError:
        ms = 0
    if ms not in src.bars:
        names = ", ".join(_name(m) for m in src.bars)
        raise ConfigError(f"--bar: {bar!r} is not a {src.venue} candle size (one of {names})")
    return ms


def _name(ms: int) -> str:
    for unit, size in (("w", 7 * DAY), ("d", DAY), ("h", HOUR), ("m", MIN), ("s", 1000)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"
