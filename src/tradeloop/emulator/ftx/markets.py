"""FTX markets and their JSON shapes (REST and WS alike: FTX sends numbers, not strings).

Names are FTX's: ``BTC-PERP`` (a linear USD-margined perpetual) and ``BTC/USD`` (spot).
Prices come from the market's tick grid, so the float sent for a price is always the same
float, and the orderbook checksum a client computes from what it received matches ours.
"""

from __future__ import annotations

import re
from typing import Any

from tradeloop.emulator.api import iso
from tradeloop.emulator.market import MINUTE_MS, Candle, PublicTrade, SymbolMarket
from tradeloop.model.enums import InstrumentKind
from tradeloop.model.instrument import Instrument

DEFAULT_SYMBOLS = ("BTC-PERP", "ETH-PERP", "BTC/USD")
#: name -> (priceIncrement, sizeIncrement) as FTX listed them; others get a generic spec.
SPECS: dict[str, tuple[float, float]] = {
    "BTC-PERP": (1.0, 0.0001),
    "ETH-PERP": (0.1, 0.001),
    "SOL-PERP": (0.0025, 0.01),
    "BTC/USD": (1.0, 0.0001),
    "ETH/USD": (0.1, 0.001),
    "SOL/USD": (0.0025, 0.01),
}
#: FTX's base fee tier.
MAKER_FEE, TAKER_FEE = 0.0002, 0.0007
_COIN = re.compile(r"[A-Z0-9]{1,16}")


def instrument(name: str) -> Instrument:
    """The :class:`Instrument` for an FTX market name; ValueError if it is not one."""
    name = name.strip().upper()
    perp = name.endswith("-PERP")
    base, _, quote = (name[: -len("-PERP")], "", "USD") if perp else name.partition("/")
    if not (_COIN.fullmatch(base) and _COIN.fullmatch(quote)):
        raise ValueError(f"{name!r} is not an FTX market (BTC-PERP, BTC/USD ...)")
    tick, lot = SPECS.get(name, (0.01, 0.001))
    return Instrument(
        symbol=name,
        base=base,
        quote=quote,
        tick_size=tick,
        lot_size=lot,
        min_size=lot,
        maker_fee=MAKER_FEE,
        taker_fee=TAKER_FEE,
        kind=InstrumentKind.SWAP if perp else InstrumentKind.SPOT,
        settle=quote,
        venue="FTX",
    )


def market_row(m: SymbolMarket, now_ms: int) -> dict[str, Any]:
    """One ``GET /markets`` row."""
    inst = m.instrument
    perp = inst.is_derivative
    bid, ask = float(m.px(m.best_bid())), float(m.px(m.best_ask()))
    last = float(m.last_trade.price)
    o24, _, _, _, vol_quote = m.stats_24h(now_ms)
    change = {
        "change1h": m.open_since(now_ms - 60 * MINUTE_MS),
        "change24h": o24,
        "changeBod": m.start_of_day_open(now_ms, 0),
    }
    return {
        "name": inst.symbol,
        "enabled": True,
        "postOnly": False,
        "priceIncrement": inst.tick_size,
        "sizeIncrement": inst.lot_size,
        "minProvideSize": inst.min_size,
        "last": last,
        "bid": bid,
        "ask": ask,
        "price": sorted((bid, ask, last))[1],
        "type": "future" if perp else "spot",
        "baseCurrency": None if perp else inst.base,
        "quoteCurrency": None if perp else inst.quote,
        "underlying": inst.base if perp else None,
        "restricted": False,
        "highLeverageFeeExempt": False,
        **{k: (last / v - 1.0 if v else 0.0) for k, v in change.items()},
        "quoteVolume24h": vol_quote,
        "volumeUsd24h": vol_quote,
    }


def ticker(m: SymbolMarket, now_ms: int) -> dict[str, float]:
    bb, ba = m.best_bid(), m.best_ask()
    return {
        "bid": float(m.px(bb)),
        "ask": float(m.px(ba)),
        "bidSize": float(m.bids[bb]),
        "askSize": float(m.asks[ba]),
        "last": float(m.last_trade.price),
        "time": now_ms / 1000,
    }


def trade(t: PublicTrade) -> dict[str, Any]:
    return {
        "id": int(t.trade_id),
        "price": float(t.price),
        "size": float(t.size),
        "side": t.side,
        "liquidation": False,
        "time": iso(t.ts),
    }


def candle(m: SymbolMarket, c: Candle) -> dict[str, Any]:
    """``volume`` is in the quote currency (USD), as FTX reports it."""
    fp = m.instrument.format_price
    return {
        "startTime": iso(c.start),
        "time": float(c.start),
        "open": float(fp(c.open)),
        "high": float(fp(c.high)),
        "low": float(fp(c.low)),
        "close": float(fp(c.close)),
        "volume": c.vol_quote,
    }
