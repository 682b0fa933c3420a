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
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

from tradeloop.emulator.market import Candle, PublicTrade, SymbolMarket
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


def next_funding_ms(now_ms: int, interval_ms: int, offset_ms: int) -> int:
    """The first time after ``now_ms`` on the grid ``offset + k * interval`` (BitMEX: 8 h
    from 04:00 UTC); a time on the grid is already past, so the next one is returned."""
    off = offset_ms % interval_ms
    return ((now_ms - off) // interval_ms + 1) * interval_ms + off


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
    o24, hi, lo, vol, vol_quote = m.stats_24h(now_ms)
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
        "volume24h": round(vol),
        "turnover24h": round(vol_quote),
        "homeNotional24h": vol_quote / float(last) if float(last) else 0.0,
        "foreignNotional24h": vol_quote,
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
    px, sz = float(t.price), float(t.size)
    home = sz / px if inst.inverse else sz * inst.contract_value
    return {
        "timestamp": iso(t.ts),
        "symbol": inst.symbol,
        "side": "Buy" if t.side == "buy" else "Sell",
        "size": num(t.size),
        "price": num(t.price),
        "tickDirection": "PlusTick" if t.side == "buy" else "MinusTick",
        "trdMatchID": f"00000000-0000-0000-0000-{int(t.trade_id or 0):012d}",
        "grossValue": to_minor(inst.settle, inst.settle_value(sz, px)),
        "homeNotional": home,
        "foreignNotional": sz if inst.inverse else sz * px * inst.contract_value,
        "trdType": "Regular",
    }


def bin_row(m: SymbolMarket, c: Candle, bar_ms: int) -> dict[str, Any]:
    """One ``tradeBin`` row (REST ``trade/bucketed`` and the ``tradeBin1m`` table): BitMEX
    stamps a bin with its close."""
    fp = m.instrument.format_price
    return {
        "timestamp": iso(c.start + bar_ms),
        "symbol": m.instrument.symbol,
        "open": num(fp(c.open)),
        "high": num(fp(c.high)),
        "low": num(fp(c.low)),
        "close": num(fp(c.close)),
        "trades": 0,
        "volume": round(c.vol),
        "turnover": round(c.vol_quote),
        "homeNotional": c.vol_ccy,
        "foreignNotional": c.vol_quote,
    }
