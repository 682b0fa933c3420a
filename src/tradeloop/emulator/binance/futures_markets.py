"""Binance USD-M perpetuals (``/fapi``): symbols, filters and the JSON shapes of their market data.

A USD-M perpetual shares its name with the spot pair (``BTCUSDT``) but is another market with
its own book, filters and wallet, so the emulator keeps it in a second driver and account
(:mod:`.futures`). Sizes are in the base asset (one contract = 1 BTC, linear), margin and PnL
in USDT. Futures write numbers at the symbol's own precision (``"60000.10"``, ``"0.001"``), not
padded to eight decimals as spot does. The filters are built by :func:`filters_for` once and
read by both ``exchangeInfo`` and the order checks, exactly as spot's.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

from tradeloop.emulator.binance.markets import Filters, market_instrument, split
from tradeloop.emulator.funding_clock import next_funding_ms
from tradeloop.emulator.market import Candle, PublicTrade, SymbolMarket
from tradeloop.model.enums import InstrumentKind
from tradeloop.model.instrument import Instrument

DEFAULT_FUTURES = ("BTCUSDT",)
#: symbol -> (tickSize, stepSize, minNotional) as Binance lists them; others get a generic spec
SPECS: dict[str, tuple[str, str, str]] = {
    "BTCUSDT": ("0.10", "0.001", "100"),
    "ETHUSDT": ("0.01", "0.001", "20"),
    "BNBUSDT": ("0.010", "0.01", "5"),
    "SOLUSDT": ("0.0100", "1", "5"),
}
MAKER_FEE, TAKER_FEE = 0.0002, 0.0005
#: the funding rate every period pays (longs pay shorts when positive); Binance's base rate
FUNDING_RATE = "0.00010000"
FUNDING_INTERVAL_MS = 8 * 3600 * 1000
ORDER_TYPES = ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET"]
TIFS = ["GTC", "IOC", "FOK", "GTX"]


def filters_for(symbol: str) -> Filters:
    tick, step, notional = SPECS.get(symbol, ("0.01", "0.001", "5"))
    return Filters(
        tick=Decimal(tick),
        min_price=Decimal(tick),
        max_price=Decimal("4529764"),
        step=Decimal(step),
        min_qty=Decimal(step),
        max_qty=Decimal("1000"),
        market_max_qty=Decimal("120"),
        min_notional=Decimal(notional),
        max_notional=Decimal(0),
    )


def instrument(symbol: str) -> Instrument:
    """The perpetual ``symbol`` as the emulator keys it (bare native name, kind SWAP)."""
    base, quote = split(symbol)
    name = base + quote
    if quote not in ("USDT", "USDC"):
        raise ValueError(f"{symbol!r} is not a USD-M perpetual (BTCUSDT, ETHUSDT ...)")
    return market_instrument(base, quote, filters_for(name), InstrumentKind.SWAP, MAKER_FEE,
                             TAKER_FEE)  # fmt: skip


def fmt(d: Decimal) -> str:
    """A decimal at its own precision (``Decimal("0.10")`` stays ``"0.10"``)."""
    return f"{d:f}"


def symbol_row(inst: Instrument, f: Filters) -> dict[str, Any]:
    """One ``/fapi/v1/exchangeInfo`` ``symbols[]`` entry."""
    price_dp = max(0, -f.tick.normalize().as_tuple().exponent)  # type: ignore[operator]
    qty_dp = max(0, -f.step.normalize().as_tuple().exponent)  # type: ignore[operator]
    return {
        "symbol": inst.symbol, "pair": inst.symbol, "contractType": "PERPETUAL",
        "deliveryDate": 4133404800000, "onboardDate": 1569398400000, "status": "TRADING",
        "maintMarginPercent": "2.5000", "requiredMarginPercent": "5.0000",
        "baseAsset": inst.base, "quoteAsset": inst.quote, "marginAsset": inst.settle,
        "pricePrecision": price_dp, "quantityPrecision": qty_dp, "baseAssetPrecision": 8,
        "quotePrecision": 8, "underlyingType": "COIN", "underlyingSubType": [],
        "settlePlan": 0, "triggerProtect": "0.0500", "liquidationFee": "0.012500",
        "marketTakeBound": "0.05",
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": fmt(f.min_price),
             "maxPrice": fmt(f.max_price), "tickSize": fmt(f.tick)},
            {"filterType": "LOT_SIZE", "minQty": fmt(f.min_qty), "maxQty": fmt(f.max_qty),
             "stepSize": fmt(f.step)},
            {"filterType": "MARKET_LOT_SIZE", "minQty": fmt(f.min_qty),
             "maxQty": fmt(f.market_max_qty), "stepSize": fmt(f.step)},
            {"filterType": "MAX_NUM_ORDERS", "limit": f.max_orders},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
            {"filterType": "MIN_NOTIONAL", "notional": fmt(f.min_notional)},
            {"filterType": "PERCENT_PRICE", "multiplierUp": "1.0500",
             "multiplierDown": "0.9500", "multiplierDecimal": "4"},
        ],
        "orderTypes": ORDER_TYPES, "timeInForce": TIFS,
    }  # fmt: skip


def levels(m: SymbolMarket, limit: int) -> tuple[list[list[str]], list[list[str]]]:
    """(bids best first, asks best first) at the market's own precision."""
    bids = [[m.px(p), s] for p, s in m.sorted_bids()[:limit]]
    asks = [[m.px(p), s] for p, s in m.sorted_asks()[:limit]]
    return bids, asks


def trade_row(t: PublicTrade) -> dict[str, Any]:
    """A ``GET /fapi/v1/trades`` row."""
    return {"id": int(t.trade_id), "price": t.price, "qty": t.size,
            "quoteQty": fmt(Decimal(t.price) * Decimal(t.size)), "time": t.ts,
            "isBuyerMaker": t.side == "sell"}  # fmt: skip


def kline_row(inst: Instrument, c: Candle, bar_ms: int) -> list[Any]:
    fp = inst.format_price
    return [c.start, fp(c.open), fp(c.high), fp(c.low), fp(c.close), inst.format_qty(c.vol),
            c.start + bar_ms - 1, f"{c.vol_quote:.4f}", 0, "0", "0", "0"]  # fmt: skip


def mark_price(m: SymbolMarket) -> str:
    """The mark price: the mid on the tick (the emulator has no index basket)."""
    return m.instrument.format_price(m.mid())


def rate_text(rate: float) -> str:
    """A funding rate as Binance writes it: 8 decimals (``0.00010000``)."""
    return f"{rate:.8f}"


def premium_index(
    m: SymbolMarket, now_ms: int, interval_ms: int, rate: float = float(FUNDING_RATE)
) -> dict[str, Any]:
    mark = mark_price(m)
    return {"symbol": m.instrument.symbol, "markPrice": mark, "indexPrice": mark,
            "estimatedSettlePrice": mark, "lastFundingRate": rate_text(rate),
            "interestRate": "0.00010000", "nextFundingTime": next_funding_ms(now_ms, interval_ms),
            "time": now_ms}  # fmt: skip


def funding_history(
    m: SymbolMarket,
    now_ms: int,
    limit: int,
    interval_ms: int,
    rate: float = float(FUNDING_RATE),
) -> list[dict[str, Any]]:
    """The last ``limit`` periods, oldest first (every one at ``rate``)."""
    last = next_funding_ms(now_ms, interval_ms) - interval_ms
    times = [last - k * interval_ms for k in range(limit)][::-1]
    mark = mark_price(m)
    return [{"symbol": m.instrument.symbol, "fundingTime": t, "fundingRate": rate_text(rate),
             "markPrice": mark} for t in times]  # fmt: skip


def wall_ms() -> int:
    return int(time.time() * 1000)
