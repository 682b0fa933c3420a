"""BitMEX contracts, currency units and the instrument/quote/trade JSON shapes.

Why a table and not a parser: BitMEX symbols (``XBTUSD``, ``ETHUSD``, ``XBTUSDT``) do not say
what a contract is. Each one maps onto the simulator's one :class:`Instrument` model:

* ``XBTUSD`` -- inverse perpetual: 1 contract = 1 USD, margin/PnL in BTC (``inverse=True``);
* ``ETHUSD`` -- quanto perpetual: PnL = qty x price move x 100 satoshi, i.e. linear with a
  fixed ``contract_value`` of 1e-6 BTC per USD of price, settled in BTC;
* ``XBTUSDT`` -- linear perpetual: 1 contract = 1e-6 BTC, margin/PnL in USDT.

Money on BitMEX's wire is in minor units: ``XBt`` (satoshi, 1e-8 BTC) and ``USDt`` (1e-6
USDT). The simulator keeps major units (BTC, USDT); :func:`to_minor` / :func:`from_minor`
convert at the edge, rounding to a whole minor unit as BitMEX reports it.

The money of the public tape (a trade's ``grossValue`` / ``homeNotional`` / ``foreignNotional``,
a bin's ``trades`` / ``turnover``, the instrument's 24 h figures) is BitMEX's, not the shared
market's quote-currency sums, which mean nothing for an inverse contract: a :class:`Tape`
attached to each market adds up every print per minute in the settle currency's minor units
(:func:`gross_value`).
"""

from __future__ import annotations

import weakref
from bisect import bisect_left
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

from tradeloop.emulator.market import MINUTE_MS, Candle, PublicTrade, SymbolMarket
from tradeloop.model.enums import InstrumentKind
from tradeloop.model.instrument import Instrument
from tradeloop.model.position import exact, minor_value

VENUE = "BITMEX"
DEFAULT_SYMBOLS = ("XBTUSD", "ETHUSD", "XBTUSDT")


@dataclass(frozen=True, slots=True)
class Spec:
    """What BitMEX lists for one contract (the fields its instrument rows are built from)."""

    root: str  # BitMEX's root symbol (XBT, ETH)
    base: str  # unified base currency (BTC, ETH)
    quote: str  # quote currency (USD, USDT)
    settl: str  # BitMEX settle currency code (XBt, USDt)
    tick: float
    lot: float
    contract_value: float
    inverse: bool
    multiplier: int  # BitMEX's ``multiplier`` field
    underlying_to_position: int | None
    maint: float = 0.005
    init: float = 0.01
    maker_fee: float = -0.0001
    taker_fee: float = 0.00075


SPECS: dict[str, Spec] = {
    "XBTUSD": Spec("XBT", "BTC", "USD", "XBt", 0.5, 100, 1.0, True, -100_000_000, None),
    "ETHUSD": Spec("ETH", "ETH", "USD", "XBt", 0.05, 1, 1e-6, False, 100, None),
    "XBTUSDT": Spec("XBT", "BTC", "USDT", "USDt", 0.5, 1000, 1e-6, False, 1, 1_000_000),
}
#: BitMEX currency code -> (unified currency, minor units per major unit)
CURRENCIES: dict[str, tuple[str, int]] = {"XBt": ("BTC", 100_000_000), "USDt": ("USDT", 1_000_000)}
UNIFIED: dict[str, str] = {ccy: code for code, (ccy, _) in CURRENCIES.items()}
#: accepted spellings of a balance flag (``--balance XBt=100000000`` is in satoshi)
_MAJOR_NAMES = {"BTC": "BTC", "XBT": "BTC", "USDT": "USDT"}


def instrument(symbol: str) -> Instrument:
    """The simulator's :class:`Instrument` for a BitMEX symbol; ValueError when unknown."""
    sym = symbol.strip().upper()
    spec = SPECS.get(sym)
    if spec is None:
        raise ValueError(
            f"{symbol!r} is not a BitMEX contract the emulator lists ({', '.join(SPECS)})"
        )
    settle = CURRENCIES[spec.settl][0]
    return Instrument(
        symbol=sym,
        base=spec.base,
        quote=spec.quote,
        tick_size=spec.tick,
        lot_size=spec.lot,
        min_size=spec.lot,
        contract_value=spec.contract_value,
        maker_fee=spec.maker_fee,
        taker_fee=spec.taker_fee,
        kind=InstrumentKind.SWAP,
        settle=settle,
        venue=VENUE,
        native=sym,
        inverse=spec.inverse,
        settle_per_unit=CURRENCIES[spec.settl][1],
    )


def balances_major(flags: dict[str, float]) -> dict[str, float]:
    """``{"XBt": 1e8, "USDt": 1e10}`` (BitMEX minor units) or major codes -> simulator
    balances ``{"BTC": 1.0, "USDT": 10000.0}``."""
    out: dict[str, float] = {}
    for code, amount in flags.items():
        if code in CURRENCIES:
            ccy, scale = CURRENCIES[code]
            out[ccy] = out.get(ccy, 0.0) + amount / scale
        elif code.upper() in _MAJOR_NAMES:
            ccy = _MAJOR_NAMES[code.upper()]
            out[ccy] = out.get(ccy, 0.0) + amount
        else:
            raise ValueError(f"unknown BitMEX currency {code!r} (XBt, USDt)")
    return out


def to_minor(ccy: str, amount: float) -> int:
    """A major-unit amount of unified ``ccy`` as BitMEX's whole minor units."""
    code = UNIFIED.get(ccy, "")
    scale = CURRENCIES[code][1] if code else 1
    return round(amount * scale)


def value_minor(inst: Instrument, qty: Fraction, price: Fraction) -> int:
    """What ``qty`` contracts at ``price`` are worth in whole minor units of the settle
    currency (``execCost``'s magnitude): exact arithmetic, one rounding (halves to even) --
    the same rule the engine's positions book by (``model.position.minor_value``)."""
    scale = CURRENCIES[UNIFIED[inst.settle]][1]
    return minor_value(qty, price, exact(inst.contract_value), inst.inverse, scale)


def from_minor(code: str, amount: float) -> float:
    ccy_scale = CURRENCIES.get(code)
    return amount / ccy_scale[1] if ccy_scale else amount


def settl_code(inst: Instrument) -> str:
    return UNIFIED.get(inst.settle, inst.settle)


def iso(ms: float) -> str:
    """BitMEX timestamps: ISO 8601, milliseconds, ``Z``."""
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(ms) % 1000:03d}Z"


def parse_iso(text: str) -> float | None:
    """ms of an ISO timestamp as BitMEX's table queries accept it (None: not one)."""
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp() * 1000


def level_id(index: int, ticks: int) -> int:
    """The orderBookL2 ``id`` of a level: unique per (symbol, price), decreasing with price
    as BitMEX's are, so a client can only key levels by it (never derive the price)."""
    return (88 + index) * 1_000_000_000 - ticks


def num(price: str) -> float | int:
    """A price/size wire string as the JSON number BitMEX sends (an int when whole)."""
    f = float(price)
    return int(f) if f.is_integer() and abs(f) < 2**53 else f


#: BitMEX writes a duration as that much time after 2000-01-01T00:00:00Z (its epoch in ms)
DURATION_EPOCH_MS = 946_684_800_000


def funding_interval(interval_ms: int) -> str:
    """``fundingInterval`` as BitMEX spells it: 8 h is ``2000-01-01T08:00:00.000Z``."""
    return iso(DURATION_EPOCH_MS + interval_ms)


def instrument_row(
    m: SymbolMarket,
    now_ms: int,
    funding_rate: float,
    next_funding_ms: int,
    mark: float,
    funding_interval_ms: int = 8 * 3_600_000,
) -> dict[str, Any]:
    """One ``GET /instrument`` row (BitMEX field names; prices as numbers)."""
    inst = m.instrument
    spec = SPECS[inst.symbol]
    bid, ask = num(m.px(m.best_bid())), num(m.px(m.best_ask()))
    last = num(m.last_trade.price)
    o24, hi, lo, _, _ = m.stats_24h(now_ms)
    day = tape(m).day(now_ms)
    return {
        "symbol": inst.symbol,
        "rootSymbol": spec.root,
        "state": "Open",
        "typ": "FFWCSX",
        "listing": "2016-05-13T12:00:00.000Z",
        "front": "2016-05-13T12:00:00.000Z",
        "expiry": None,
        "positionCurrency": "USD" if spec.inverse else ("" if spec.quote == "USD" else spec.root),
        "underlying": spec.root,
        "quoteCurrency": spec.quote,
        "underlyingSymbol": f"{spec.root}=",
        "reference": "BMEX",
        "referenceSymbol": f".B{spec.root}",
        "maxOrderQty": 10_000_000,
        "maxPrice": 1_000_000,
        "lotSize": num(inst.format_qty(spec.lot)),
        "tickSize": spec.tick,
        "multiplier": spec.multiplier,
        "settlCurrency": spec.settl,
        "underlyingToPositionMultiplier": spec.underlying_to_position,
        "underlyingToSettleMultiplier": -100_000_000 if spec.inverse else None,
        "quoteToSettleMultiplier": 1_000_000 if spec.settl == "USDt" else None,
        "isQuanto": inst.symbol == "ETHUSD",
        "isInverse": spec.inverse,
        "initMargin": spec.init,
        "maintMargin": spec.maint,
        "makerFee": spec.maker_fee,
        "takerFee": spec.taker_fee,
        "fundingTimestamp": iso(next_funding_ms),
        "fundingInterval": funding_interval(funding_interval_ms),
        "fundingRate": funding_rate,
        "indicativeFundingRate": funding_rate,
        "prevPrice24h": num(inst.format_price(o24)) if o24 else last,
        "highPrice": num(inst.format_price(hi)) if hi else last,
        "lowPrice": num(inst.format_price(lo)) if lo else last,
        "lastPrice": last,
        "bidPrice": bid,
        "askPrice": ask,
        "midPrice": (float(bid) + float(ask)) / 2,
        "markPrice": mark,
        "fairPrice": mark,
        "markMethod": "FairPrice",
        "indicativeSettlePrice": mark,
        "lastChangePcnt": round(float(last) / o24 - 1, 4) if o24 else 0.0,
        "vwap": day.vwap(inst),
        "volume24h": round(day.volume),
        "turnover24h": day.turnover,
        "homeNotional24h": day.home(inst),
        "foreignNotional24h": day.foreign(inst),
        "openInterest": 0,
        "hasLiquidity": True,
        "timestamp": iso(now_ms),
    }


def quote_row(m: SymbolMarket, ts_ms: int) -> dict[str, Any]:
    bb, ba = m.best_bid(), m.best_ask()
    return {
        "timestamp": iso(ts_ms),
        "symbol": m.instrument.symbol,
        "bidSize": num(m.bids[bb]),
        "bidPrice": num(m.px(bb)),
        "askPrice": num(m.px(ba)),
        "askSize": num(m.asks[ba]),
    }


def trade_row(m: SymbolMarket, t: PublicTrade) -> dict[str, Any]:
    inst = m.instrument
    gross = gross_value(inst, Fraction(t.size), Fraction(t.price))
    one = Money(1, float(t.size), gross)
    return {
        "timestamp": iso(t.ts),
        "symbol": inst.symbol,
        "side": "Buy" if t.side == "buy" else "Sell",
        "size": num(t.size),
        "price": num(t.price),
        "tickDirection": "PlusTick" if t.side == "buy" else "MinusTick",
        "trdMatchID": f"00000000-0000-0000-0000-{int(t.trade_id or 0):012d}",
        "grossValue": gross,
        "homeNotional": one.home(inst),
        "foreignNotional": one.foreign(inst),
        "trdType": "Regular",
    }


def bin_row(m: SymbolMarket, c: Candle, bar_ms: int) -> dict[str, Any]:
    """One ``tradeBin`` row (REST ``trade/bucketed`` and the ``tradeBin1m`` table): BitMEX
    stamps a bin with its close; the money is the :class:`Tape`'s over the bin's minutes."""
    inst = m.instrument
    fp = inst.format_price
    money = tape(m).between(c.start, c.start + bar_ms)
    return {
        "timestamp": iso(c.start + bar_ms),
        "symbol": inst.symbol,
        "open": num(fp(c.open)),
        "high": num(fp(c.high)),
        "low": num(fp(c.low)),
        "close": num(fp(c.close)),
        "trades": money.trades,
        "volume": round(money.volume),
        "vwap": money.vwap(inst),
        "lastSize": round(money.last_size) if money.trades else None,
        "turnover": money.turnover,
        "homeNotional": money.home(inst),
        "foreignNotional": money.foreign(inst),
    }


# -- the tape's money ----------------------------------------------------------------------
def gross_value(inst: Instrument, size: Fraction, price: Fraction) -> int:
    """A print's ``grossValue`` in minor units of the settle currency, as BitMEX computes it.

    Inverse (XBTUSD): the satoshi value of one lot at the price, rounded, times the lots --
    every XBTUSD print of the recorded capture (captures/BITMEX.ws.1.0, lot 100) and the 2020
    fixture (lot 1: 8 @ 11584 is 8 x 8633 = 69064, not 69061) agree, so ``homeNotional`` =
    ``grossValue`` / 1e8 is a little off ``size / price``. A size that is not whole lots (none
    on the wire) is valued in one rounding. Linear / quanto: exact, one rounding."""
    if not inst.inverse or price <= 0:
        return value_minor(inst, size, price)
    lots = size / Fraction(inst.lot_size).limit_denominator(10**9)
    if lots.denominator != 1:
        return value_minor(inst, size, price)
    return int(lots) * value_minor(inst, exact(inst.lot_size), price)


@dataclass(slots=True)
class Money:
    """The prints of a span: how many, their contracts, ``grossValue`` sum (minor units),
    Σ size x price x contract value (for the VWAP) and the last print's size."""

    trades: int = 0
    volume: float = 0.0
    turnover: int = 0
    quote: float = 0.0
    last_size: float = 0.0

    def add(self, other: Money) -> None:
        if other.trades:
            self.last_size = other.last_size
        self.trades += other.trades
        self.volume += other.volume
        self.turnover += other.turnover
        self.quote += other.quote

    def home(self, inst: Instrument) -> float:
        """``homeNotional``: BTC for XBTUSD (the turnover in BTC) and XBTUSDT (contracts x
        1e-6 BTC); for the ETHUSD quanto the contracts x its 1e-6 contract value."""
        if inst.inverse:
            return self.turnover / inst.settle_per_unit
        return float(exact(self.volume) * exact(inst.contract_value))

    def vwap(self, inst: Instrument) -> float | None:
        """The volume-weighted price (None: no prints): USD over BTC for the inverse XBTUSD
        (the harmonic mean a contract's BTC value implies), Σ size x price / Σ size else."""
        if not self.volume:
            return None
        if inst.inverse:
            home = self.home(inst)
            return self.foreign(inst) / home if home else None
        return self.quote / (self.volume * inst.contract_value)

    def foreign(self, inst: Instrument) -> float:
        """``foreignNotional``: USD for XBTUSD (one USD a contract), the settle currency's
        major units (USDT for XBTUSDT) for the linear ones."""
        if inst.inverse:
            return float(exact(self.volume) * exact(inst.contract_value))
        return self.turnover / inst.settle_per_unit


def print_money(inst: Instrument, size: float, price: float) -> Money:
    """One print as :class:`Money` (the float size / price are the wire strings' values)."""
    gross = gross_value(inst, Fraction(repr(size)), Fraction(repr(price)))
    return Money(1, size, gross, size * price * inst.contract_value, size)


class _TappedTrades(deque[PublicTrade]):
    """The market's trade deque, also telling the :class:`Tape` of every print: both the
    synthetic flow and ``record_trade`` (users' taker fills, a replay) append here."""

    def __init__(self, old: Iterable[PublicTrade], maxlen: int | None, tape: Tape) -> None:
        super().__init__(old, maxlen)
        self.tape = tape

    def append(self, trade: PublicTrade) -> None:
        super().append(trade)
        self.tape.record(trade)


class Tape:
    """Per-minute :class:`Money` of one market's prints, kept as long as its 1m candles.

    A minute's money is what was recorded plus, when the candle holds volume the tape never
    saw (the seeded back-history, or prints that left the 500-deep deque before the tape was
    attached), that remainder as one print at the rest's VWAP -- so ``volume`` always equals
    the candle's and every bin with volume has ``trades`` >= 1."""

    def __init__(self, m: SymbolMarket) -> None:
        self.m = m
        self.inst = m.instrument
        self.minutes: dict[int, Money] = {}
        self._day_key: tuple[int, int] | None = None
        self._day = Money()
        old = m.trades
        for t in old:
            self._add(t.ts // MINUTE_MS * MINUTE_MS, t)
        m.trades = _TappedTrades(old, old.maxlen, self)

    def record(self, t: PublicTrade) -> None:
        """A new print lands in the candle the market books it in (the market's clock never
        goes back, so a print stamped before its latest candle is counted in that one)."""
        self._add(max(self.m.candles[-1].start, t.ts // MINUTE_MS * MINUTE_MS), t)
        first = self.m.candles[0].start
        if len(self.minutes) > 2 * len(self.m.candles):
            self.minutes = {k: v for k, v in self.minutes.items() if k >= first}

    def _add(self, minute: int, t: PublicTrade) -> None:
        one = print_money(self.inst, float(t.size), float(t.price))
        self.minutes.setdefault(minute, Money()).add(one)

    def minute(self, c: Candle) -> Money:
        """The stored 1m candle ``c``'s money (see the class docstring)."""
        seen = self.minutes.get(c.start)
        out = Money()
        if seen is not None:
            out.add(seen)
        rest = c.vol - out.volume
        if rest > self.inst.lot_size * 1e-6:
            rest_quote = max(c.vol_quote - out.quote, 0.0)
            cv = self.inst.contract_value
            price = rest_quote / (rest * cv) if rest_quote > 0 else c.close
            out.add(print_money(self.inst, rest, price))
            out.last_size = seen.last_size if seen is not None and seen.trades else rest
        return out

    def between(self, start: int, end: int) -> Money:
        """The money of the 1m candles starting in [start, end)."""
        cs = self.m.candles
        out = Money()
        for i in range(bisect_left(cs, start, key=lambda c: c.start), len(cs)):
            if cs[i].start >= end:
                break
            out.add(self.minute(cs[i]))
        return out

    def day(self, now_ms: int) -> Money:
        """The last 24 h (the same candles ``SymbolMarket.stats_24h`` uses); the closed
        minutes are summed once a minute, the current one every time."""
        cs = self.m.candles
        cutoff = now_ms - 1440 * MINUTE_MS
        key = (cs[-1].start, cutoff // MINUTE_MS)
        if self._day_key != key:
            self._day = self.between(max(cutoff, cs[0].start), cs[-1].start)
            self._day_key = key
        out = Money()
        out.add(self._day)
        out.add(self.minute(cs[-1]))
        return out


_TAPES: weakref.WeakKeyDictionary[SymbolMarket, Tape] = weakref.WeakKeyDictionary()


def tape(m: SymbolMarket) -> Tape:
    """``m``'s :class:`Tape`, attached on first use. Attached before the market's first 500
    prints have passed (the deque's depth) it has seen every print; prints that left the
    deque earlier count as their candle's remainder (see :class:`Tape`)."""
    t = _TAPES.get(m)
    if t is None:
        t = _TAPES[m] = Tape(m)
    return t
