"""Binance spot symbols, their filters, and the JSON shapes of public market data.

Binance names a spot market by gluing base and quote (``BTCUSDT``), so the split needs a list
of quote assets. Each symbol's trading rules are *filters* (``PRICE_FILTER``, ``LOT_SIZE``,
``MARKET_LOT_SIZE``, ``NOTIONAL``, ``MAX_NUM_ORDERS``): :class:`Filters` holds them once, as
exact decimals, and both ``exchangeInfo`` and the order checks read that one object -- so the
emulator refuses exactly what it advertises. Numbers go out as Binance writes them: strings
with eight decimals (``"0.01000000"``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tradeloop.emulator.market import Candle, PublicTrade, SymbolMarket
from tradeloop.model.enums import InstrumentKind
from tradeloop.model.instrument import Instrument

VENUE = "BINANCE"
DEFAULT_SYMBOLS = ("BTCUSDT", "ETHUSDT")
#: Quote assets recognised when splitting a symbol, longest first (``FDUSD`` before ``USD``).
QUOTES = ("FDUSD", "USDT", "USDC", "TUSD", "BUSD", "EUR", "TRY", "BTC", "ETH", "BNB")
#: symbol -> (tickSize, stepSize, minNotional) as Binance lists them; others get a generic spec.
SPECS: dict[str, tuple[str, str, str]] = {
    "BTCUSDT": ("0.01", "0.00001", "5"),
    "ETHUSDT": ("0.01", "0.0001", "5"),
    "BNBUSDT": ("0.01", "0.001", "5"),
    "SOLUSDT": ("0.01", "0.001", "5"),
    "XRPUSDT": ("0.0001", "0.1", "5"),
    "ETHBTC": ("0.00001", "0.0001", "0.0001"),
}
MAKER_FEE, TAKER_FEE = 0.001, 0.001
MAX_NUM_ORDERS = 200
ORDER_TYPES = ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT",
               "TAKE_PROFIT_LIMIT"]  # fmt: skip
_E8 = Decimal("0.00000001")


def split(symbol: str) -> tuple[str, str]:
    """``BTCUSDT`` -> (``BTC``, ``USDT``); ValueError when no known quote ends it."""
    s = symbol.strip().upper()
    for q in QUOTES:
        if s.endswith(q) and len(s) > len(q) and s[: -len(q)].isalnum():
            return s[: -len(q)], q
    raise ValueError(f"{symbol!r} is not a Binance spot symbol (BTCUSDT, ETHBTC ...)")


def e8(x: Decimal | float | str) -> str:
    """A number as Binance writes it: fixed point, eight decimals."""
    d = x if isinstance(x, Decimal) else Decimal(str(x))
    return f"{d.quantize(_E8):f}" if d.is_finite() else "0.00000000"


def pad8(text: str) -> str:
    """Wire text from the market's tick grid (``"60000.5"``) padded to eight decimals."""
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac:0<8}" if len(frac) <= 8 else text


@dataclass(frozen=True)
class Filters:
    """One symbol's trading rules, exact (0 disables a bound, as on Binance)."""

    tick: Decimal
    min_price: Decimal
    max_price: Decimal
    step: Decimal
    min_qty: Decimal
    max_qty: Decimal
    market_max_qty: Decimal
    min_notional: Decimal
    max_notional: Decimal
    max_orders: int = MAX_NUM_ORDERS

    def render(self) -> list[dict[str, Any]]:
        """``symbols[].filters`` as exchangeInfo lists them."""
        return [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": e8(self.min_price),
                "maxPrice": e8(self.max_price),
                "tickSize": e8(self.tick),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": e8(self.min_qty),
                "maxQty": e8(self.max_qty),
                "stepSize": e8(self.step),
            },
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": "0.00000000",
                "maxQty": e8(self.market_max_qty),
                "stepSize": "0.00000000",
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": e8(self.min_notional),
                "applyMinToMarket": True,
                "maxNotional": e8(self.max_notional),
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
            {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": self.max_orders},
        ]


def filters_for(symbol: str) -> Filters:
    tick, step, notional = SPECS.get(symbol, ("0.01", "0.001", "5"))
    return Filters(
        tick=Decimal(tick),
        min_price=Decimal(tick),
        max_price=Decimal("1000000"),
        step=Decimal(step),
        min_qty=Decimal(step),
        max_qty=Decimal("9000"),
        market_max_qty=Decimal("100"),
        min_notional=Decimal(notional),
        max_notional=Decimal("9000000"),
    )


def instrument(symbol: str) -> Instrument:
    """The :class:`Instrument` for a spot symbol (its native name is the symbol itself)."""
    base, quote = split(symbol)
    return market_instrument(base, quote, filters_for(base + quote), InstrumentKind.SPOT,
                             MAKER_FEE, TAKER_FEE)  # fmt: skip


def market_instrument(base: str, quote: str, f: Filters, kind: InstrumentKind, maker_fee: float,
                      taker_fee: float) -> Instrument:  # fmt: skip
    """A spot or USD-M market as the emulator keys it: the bare native name (``BTCUSDT``),
    tick and lot from its filters, settled in the quote."""
    name = base + quote
    return Instrument(symbol=name, base=base, quote=quote, tick_size=float(f.tick),
                      lot_size=float(f.step), min_size=float(f.min_qty), maker_fee=maker_fee,
                      taker_fee=taker_fee, kind=kind, settle=quote, venue=VENUE,
                      native=name)  # fmt: skip


def symbol_row(inst: Instrument, f: Filters) -> dict[str, Any]:
    """One ``exchangeInfo.symbols[]`` entry."""
    return {
        "symbol": inst.symbol,
        "status": "TRADING",
        "baseAsset": inst.base,
        "baseAssetPrecision": 8,
        "quoteAsset": inst.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ORDER_TYPES,
        "icebergAllowed": False,
        "ocoAllowed": False,
        "otoAllowed": False,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": False,
        "amendAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": f.render(),
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "NONE",
        "allowedSelfTradePreventionModes": ["NONE"],
    }


def depth(m: SymbolMarket, limit: int) -> tuple[list[list[str]], list[list[str]]]:
    """(bids best first, asks best first) as ``[price, qty]`` strings, ``limit`` per side."""
    bids = [[pad8(m.px(p)), pad8(s)] for p, s in m.sorted_bids()[:limit]]
    asks = [[pad8(m.px(p)), pad8(s)] for p, s in m.sorted_asks()[:limit]]
    return bids, asks


def trade_row(t: PublicTrade) -> dict[str, Any]:
    """A ``GET /api/v3/trades`` row (``isBuyerMaker``: the taker sold)."""
    px, qty = Decimal(t.price), Decimal(t.size)
    return {
        "id": int(t.trade_id),
        "price": pad8(t.price),
        "qty": pad8(t.size),
        "quoteQty": e8(px * qty),
        "time": t.ts,
        "isBuyerMaker": t.side == "sell",
        "isBestMatch": True,
    }


def agg_row(t: PublicTrade) -> dict[str, Any]:
    """A ``GET /api/v3/aggTrades`` row: every trade is its own aggregate here."""
    tid = int(t.trade_id)
    return {
        "a": tid,
        "p": pad8(t.price),
        "q": pad8(t.size),
        "f": tid,
        "l": tid,
        "T": t.ts,
        "m": t.side == "sell",
        "M": True,
    }


def kline_row(inst: Instrument, c: Candle, bar_ms: int) -> list[Any]:
    fp = inst.format_price
    return [
        c.start,
        pad8(fp(c.open)),
        pad8(fp(c.high)),
        pad8(fp(c.low)),
        pad8(fp(c.close)),
        e8(c.vol),
        c.start + bar_ms - 1,
        e8(c.vol_quote),
        0,
        "0.00000000",
        "0.00000000",
        "0",
    ]


def ticker_24h(m: SymbolMarket, now_ms: int, mini: bool = False) -> dict[str, Any]:
    """``GET /api/v3/ticker/24hr`` (FULL, or MINI without the book and change fields)."""
    inst = m.instrument
    o, h, lo, v, vq = m.stats_24h(now_ms)
    last = Decimal(m.last_trade.price)
    op = Decimal(inst.format_price(o))
    row: dict[str, Any] = {"symbol": inst.symbol}
    if not mini:
        change = last - op
        pct = (change / op * 100) if op else Decimal(0)
        bb, ba = m.best_bid(), m.best_ask()
        row.update(
            priceChange=e8(change),
            priceChangePercent=f"{pct:.3f}",
            weightedAvgPrice=e8(vq / v if v else float(last)),
            prevClosePrice=e8(op),
            lastPrice=pad8(m.last_trade.price),
            lastQty=pad8(m.last_trade.size),
            bidPrice=pad8(m.px(bb)),
            bidQty=pad8(m.bids[bb]),
            askPrice=pad8(m.px(ba)),
            askQty=pad8(m.asks[ba]),
        )
    else:
        row["lastPrice"] = pad8(m.last_trade.price)
    first = int(m.trades[0].trade_id) if m.trades else -1
    last_id = int(m.trades[-1].trade_id) if m.trades else -1
    row.update(
        openPrice=e8(op),
        highPrice=pad8(inst.format_price(h)),
        lowPrice=pad8(inst.format_price(lo)),
        volume=e8(v),
        quoteVolume=e8(vq),
        openTime=now_ms - 86_400_000,
        closeTime=now_ms,
        firstId=first,
        lastId=last_id,
        count=len(m.trades),
    )
    return row


def book_ticker(m: SymbolMarket) -> dict[str, Any]:
    bb, ba = m.best_bid(), m.best_ask()
    return {
        "symbol": m.instrument.symbol,
        "bidPrice": pad8(m.px(bb)),
        "bidQty": pad8(m.bids[bb]),
        "askPrice": pad8(m.px(ba)),
        "askQty": pad8(m.asks[ba]),
    }
