"""A cheap, seeded synthetic market: one per symbol, venue-neutral.

Why synthetic: the emulator must show clients a live, plausible, *reproducible* market without
network access. Each :class:`SymbolMarket` keeps an L2 ladder on an integer tick grid (so price
text is exact and checksums are stable), random-walks its mid, re-sizes a few levels per step and
prints occasional public trades against the top of book. One-minute candles are kept (with a
seeded back-history) and aggregated to any bar on demand; one-second candles are kept from
start-up so second bars (and fast candle tests) work too.

Sizes are stored as the wire strings the front-end will send, so a book built client-side from
the pushes is byte-identical to ours.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from tradeloop.model.instrument import Instrument

MINUTE_MS = 60_000
SECOND_MS = 1_000
#: How many one-second candles to keep (OKX serves the latest 1440 rows of a bar).
SECONDS_KEPT = 1440
#: OKX settles perpetual funding every 8 hours (00:00, 08:00, 16:00 UTC).
DEFAULT_FUNDING_INTERVAL_MS = 8 * 3_600_000


@dataclass(frozen=True, slots=True)
class MarketParams:
    """Tuning knobs; defaults keep CPU low while looking alive."""

    tick_interval_ms: float = 150.0
    levels: int = 60
    trade_probability: float = 0.5
    resize_per_step: int = 3
    history_minutes: int = 1440
    spacing_bps: float = 0.1  # ladder spacing as a fraction of price, in basis points


@dataclass(slots=True)
class PublicTrade:
    trade_id: str
    price: str
    size: str
    side: str  # taker side, "buy" / "sell"
    ts: int  # ms


@dataclass(slots=True)
class Candle:
    """One bar: ``vol`` in the venue's size unit (base or contracts), ``vol_ccy`` in base
    currency, ``vol_quote`` in quote currency."""

    start: int
    open: float
    high: float
    low: float
    close: float
    vol: float = 0.0
    vol_ccy: float = 0.0
    vol_quote: float = 0.0


@dataclass(slots=True)
class BookChange:
    """One step's book delta (size ``"0"`` deletes) plus the trades printed in that step."""

    bids: dict[int, str] = field(default_factory=dict)
    asks: dict[int, str] = field(default_factory=dict)
    trades: list[PublicTrade] = field(default_factory=list)
    ts: int = 0

    @property
    def empty(self) -> bool:
        return not self.bids and not self.asks


class SymbolMarket:
    """The synthetic market for one instrument. ``step(now_ms)`` advances it one tick."""

    def __init__(
        self,
        instrument: Instrument,
        start_price: float,
        seed: int,
        params: MarketParams,
        now_ms: int,
        trade_id_base: int = 100_000_000,
    ) -> None:
        self.instrument = instrument
        self.params = params
        self.rng = random.Random(seed)
        self.tick = Decimal(repr(instrument.tick_size))
        self.spacing = max(1, round(start_price * params.spacing_bps / 1e4 / instrument.tick_size))
        self.grid = max(1, round(start_price / instrument.tick_size / self.spacing))
        self.bids: dict[int, str] = {}
        self.asks: dict[int, str] = {}
        self.trades: deque[PublicTrade] = deque(maxlen=500)
        self.next_trade_id = trade_id_base
        self.candles: list[Candle] = []
        self.seconds: deque[Candle] = deque(maxlen=SECONDS_KEPT)
        #: Funding period of a perpetual on this market; the venue front-end that settles
        #: funding sets it so the advertised next funding time is when settlement happens.
        self.funding_interval_ms = DEFAULT_FUNDING_INTERVAL_MS
        self._px_cache: dict[int, str] = {}
        self._build_history(start_price, now_ms)
        self._start_seconds()
        self._fill_ladder(self.bids, self._bid_grid(), {})
        self._fill_ladder(self.asks, self._ask_grid(), {})
        self.last_trade = PublicTrade("", self.px(self.best_bid()), "0", "buy", now_ms)
        self._stats_key: tuple[int, int] | None = None
        self._stats: tuple[float, float, float, float, float] = (0.0, 0.0, 0.0, 0.0, 0.0)

    # -- prices --------------------------------------------------------------------------
    def px(self, ticks: int) -> str:
        s = self._px_cache.get(ticks)
        if s is None:
            if len(self._px_cache) > 20_000:
                self._px_cache.clear()
            s = self.instrument.format_price(self.tick * ticks)
            self._px_cache[ticks] = s
        return s

    def to_ticks(self, price: float) -> int:
        return round(price / self.instrument.tick_size)

    def best_bid(self) -> int:
        return max(self.bids)

    def best_ask(self) -> int:
        return min(self.asks)

    def mid(self) -> float:
        return (self.best_bid() + self.best_ask()) / 2 * self.instrument.tick_size

    def sorted_bids(self) -> list[tuple[int, str]]:
        return sorted(self.bids.items(), reverse=True)

    def float_levels(self, depth: int) -> tuple[list[list[float]], list[list[float]]]:
        """(bids, asks) best first, ``depth`` per side, as ``[price, size]`` floats (for
        venues that send JSON numbers; prices on the tick grid are always the same float)."""
        bids = [[float(self.px(p)), float(s)] for p, s in self.sorted_bids()[:depth]]
        asks = [[float(self.px(p)), float(s)] for p, s in self.sorted_asks()[:depth]]
        return bids, asks

    def open_since(self, ts_ms: int) -> float:
        """The open of the first minute bar at or before ``ts_ms`` (the base of a change)."""
        for c in reversed(self.candles):
            if c.start <= ts_ms:
                return c.open
        return self.candles[0].open

    def sorted_asks(self) -> list[tuple[int, str]]:
        return sorted(self.asks.items())

    # -- ladder ---------------------------------------------------------------------------
    def _bid_grid(self) -> list[int]:
        top = self.grid * self.spacing
        return [
            top - i * self.spacing for i in range(self.params.levels) if top - i * self.spacing > 0
        ]

    def _ask_grid(self) -> list[int]:
        bottom = self.grid * self.spacing + 1
        return [bottom + i * self.spacing for i in range(self.params.levels)]

    def _random_size(self) -> str:
        inst = self.instrument
        notional = math.exp(self.rng.uniform(math.log(200.0), math.log(20_000.0)))
        price = self.grid * self.spacing * inst.tick_size
        qty = notional / (price * inst.contract_value)
        qty = max(qty, inst.min_size, inst.lot_size)
        s = inst.format_qty(qty)
        return s if s != "0" else inst.format_qty(inst.lot_size)

    def _fill_ladder(self, side: dict[int, str], grid: list[int], out: dict[int, str]) -> None:
        want = set(grid)
        for p in [p for p in side if p not in want]:
            del side[p]
            out[p] = "0"
        for p in grid:
            if p not in side:
                side[p] = out[p] = self._random_size()

    # -- one step -------------------------------------------------------------------------
    def step(self, now_ms: int) -> BookChange:
        """Random-walk the grid, re-size a few levels, maybe print a trade."""
        change = BookChange(ts=now_ms)
        move = round(self.rng.gauss(0.0, 0.6))
        if move:
            self.grid = max(self.params.levels + 1, self.grid + move)
        self._fill_ladder(self.bids, self._bid_grid(), change.bids)
        self._fill_ladder(self.asks, self._ask_grid(), change.asks)
        for _ in range(self.params.resize_per_step):
            side, out = (
                (self.bids, change.bids) if self.rng.random() < 0.5 else (self.asks, change.asks)
            )
            p = self.rng.choice(list(side))
            side[p] = out[p] = self._random_size()
        if self.rng.random() < self.params.trade_probability:
            change.trades.append(self._print_trade(now_ms, change))
        self._roll_candle(now_ms)
        return change

    def _print_trade(self, now_ms: int, change: BookChange) -> PublicTrade:
        inst = self.instrument
        buy = self.rng.random() < 0.5
        side, out = (self.asks, change.asks) if buy else (self.bids, change.bids)
        p = min(side) if buy else max(side)
        avail = Decimal(side[p])
        qty = inst.qty_decimal(float(avail) * self.rng.uniform(0.05, 1.0))
        if qty <= 0 or qty >= avail:
            qty_s = side[p]
            del side[p]
            out[p] = "0"
        else:
            qty_s = inst.format_qty(qty)
            side[p] = out[p] = inst.format_qty(avail - qty)
        self.next_trade_id += 1
        trade = PublicTrade(
            str(self.next_trade_id), self.px(p), qty_s, "buy" if buy else "sell", now_ms
        )
        self.trades.append(trade)
        self.last_trade = trade
        self._record_trade(float(trade.price), float(qty_s), now_ms)
        return trade

    def record_trade(self, price: str, size: str, side: str, now_ms: int) -> PublicTrade:
        """Print a trade that happened outside the synthetic flow (a user's taker fill) so
        the public tape, last price and candles include it, as on a real venue."""
        self.next_trade_id += 1
        trade = PublicTrade(str(self.next_trade_id), price, size, side, now_ms)
        self.trades.append(trade)
        self.last_trade = trade
        self._record_trade(float(price), float(size), now_ms)
        return trade

    # -- candles --------------------------------------------------------------------------
    def _build_history(self, start_price: float, now_ms: int) -> None:
        """Seeded 1m back-history ending at ``start_price`` so candle queries have content."""
        n = self.params.history_minutes
        first = (now_ms // MINUTE_MS - n) * MINUTE_MS
        closes = [start_price]
        for _ in range(n):
            closes.append(closes[-1] * math.exp(self.rng.gauss(0.0, 0.0005)))
        closes.reverse()  # the walk was generated backwards from the start price
        cv = self.instrument.contract_value
        tick = self.instrument.tick_size
        for i in range(n):
            o, c = closes[i], closes[i + 1]
            hi = max(o, c) * (1 + abs(self.rng.gauss(0, 0.0002)))
            lo = min(o, c) * (1 - abs(self.rng.gauss(0, 0.0002)))
            qty = self.rng.uniform(5_000, 200_000) / (c * cv)
            if self.instrument.lot_size >= 1:
                qty = float(round(qty))
            o, hi, lo, c = (round(x / tick) * tick for x in (o, hi, lo, c))
            self.candles.append(
                Candle(first + i * MINUTE_MS, o, hi, lo, c, qty, qty * cv, qty * cv * c)
            )
        self.candles.append(
            Candle(first + n * MINUTE_MS, closes[-1], closes[-1], closes[-1], closes[-1])
        )

    def _roll_candle(self, now_ms: int) -> None:
        start = now_ms // MINUTE_MS * MINUTE_MS
        last = self.candles[-1]
        while last.start < start:
            c = last.close
            last = Candle(min(last.start + MINUTE_MS, start), c, c, c, c)
            self.candles.append(last)
        excess = len(self.candles) - 2 * self.params.history_minutes
        if excess > 0:
            del self.candles[:excess]
        self._roll_seconds(now_ms)

    def _start_seconds(self) -> None:
        """One flat second at the start of the current minute. Not rolled up to "now": the
        driver's warm-up steps run in the recent past and must land in their own seconds."""
        c = self.candles[-1]
        self.seconds.append(Candle(c.start, c.close, c.close, c.close, c.close))

    def _roll_seconds(self, now_ms: int) -> None:
        """Open flat one-second candles up to ``now_ms`` (a quiet second is still a bar, as on
        a real venue); after a long pause only the seconds that are kept are created."""
        start = now_ms // SECOND_MS * SECOND_MS
        last = self.seconds[-1]
        if last.start >= start:
            return
        nxt = max(last.start + SECOND_MS, start - (SECONDS_KEPT - 1) * SECOND_MS)
        px = last.close
        while nxt <= start:
            self.seconds.append(Candle(nxt, px, px, px, px))
            nxt += SECOND_MS

    def _record_trade(self, price: float, qty: float, now_ms: int) -> None:
        self._roll_candle(now_ms)
        cv = self.instrument.contract_value
        for c in (self.candles[-1], self.seconds[-1]):
            c.high, c.low, c.close = max(c.high, price), min(c.low, price), price
            c.vol += qty
            c.vol_ccy += qty * cv
            c.vol_quote += qty * cv * price

    def _series(self, bar_ms: int) -> Sequence[Candle]:
        """The stored candles a bar is built from: seconds for sub-minute bars."""
        return self.candles if bar_ms % MINUTE_MS == 0 else self.seconds

    def aggregate(self, bar_ms: int, offset_ms: int = 0) -> list[Candle]:
        """Candles of ``bar_ms`` (bucket starts shifted by ``offset_ms``, e.g. -8h for OKX's
        UTC+8 daily bars), oldest first, built from the 1m (or 1s) series."""
        return _bucket(self._series(bar_ms), bar_ms, offset_ms)

    def since(self, bar_ms: int, offset_ms: int, start_ms: int) -> list[Candle]:
        """Bars of ``bar_ms`` from the one opening at ``start_ms`` up to the in-progress one,
        oldest first. Cheap: only the stored candles from ``start_ms`` on are walked, which is
        what a publisher needs to close the bars that ended since its last push."""
        series = self._series(bar_ms)
        tail: list[Candle] = []
        for c in reversed(series):
            if c.start < start_ms:
                break
            tail.append(c)
        tail.reverse()
        return _bucket(tail, bar_ms, offset_ms)

    def latest(self, bar_ms: int, offset_ms: int = 0) -> Candle:
        """Only the in-progress candle."""
        end = self._series(bar_ms)[-1].start
        return self.since(bar_ms, offset_ms, bucket_start(end, bar_ms, offset_ms))[-1]

    def stats_24h(self, now_ms: int) -> tuple[float, float, float, float, float]:
        """(open, high, low, vol, vol_quote) over the last 24h of 1m candles. The closed part
        is cached per minute because tickers are pushed many times a second."""
        cutoff = now_ms - 1440 * MINUTE_MS
        key = (self.candles[-1].start, cutoff // MINUTE_MS)
        if self._stats_key != key:
            closed = [c for c in self.candles[:-1] if c.start >= cutoff]
            self._stats = (
                closed[0].open if closed else self.candles[-1].open,
                max((c.high for c in closed), default=-math.inf),
                min((c.low for c in closed), default=math.inf),
                sum(c.vol for c in closed),
                sum(c.vol_quote for c in closed),
            )
            self._stats_key = key
        o, h, lo, v, vq = self._stats
        cur = self.candles[-1]
        return o, max(h, cur.high), min(lo, cur.low), v + cur.vol, vq + cur.vol_quote

    def start_of_day_open(self, now_ms: int, offset_ms: int) -> float:
        day = (now_ms - offset_ms) // 86_400_000 * 86_400_000 + offset_ms
        for c in self.candles:
            if c.start >= day:
                return c.open
        return self.candles[-1].close


def bucket_start(ts_ms: int, bar_ms: int, offset_ms: int = 0) -> int:
    """Start of the ``bar_ms`` bucket holding ``ts_ms`` (buckets shifted by ``offset_ms``)."""
    return (ts_ms - offset_ms) // bar_ms * bar_ms + offset_ms


def _bucket(series: Iterable[Candle], bar_ms: int, offset_ms: int) -> list[Candle]:
    """Merge consecutive stored candles into ``bar_ms`` buckets (new objects, so callers may
    keep them while the market moves on)."""
    out: list[Candle] = []
    for c in series:
        start = bucket_start(c.start, bar_ms, offset_ms)
        if out and out[-1].start == start:
            b = out[-1]
            b.high, b.low, b.close = max(b.high, c.high), min(b.low, c.low), c.close
            b.vol += c.vol
            b.vol_ccy += c.vol_ccy
            b.vol_quote += c.vol_quote
        else:
            out.append(Candle(start, c.open, c.high, c.low, c.close, c.vol, c.vol_ccy, c.vol_quote))
    return out


def default_start_price(symbol: str) -> float:
    """A plausible starting mid for common bases (the walk takes it from there)."""
    base = symbol.split("-")[0].upper()
    return {
        "BTC": 60_000.0,
        "ETH": 3_000.0,
        "SOL": 150.0,
        "OKB": 50.0,
        "XRP": 0.6,
        "DOGE": 0.15,
        "LTC": 80.0,
    }.get(base, 100.0)
