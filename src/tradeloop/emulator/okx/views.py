"""OKX JSON shapes for market data. Every number is a string, as OKX sends it; price text comes
from the instrument's tick grid so the same price is always the same string."""

from __future__ import annotations

from typing import Any

from tradeloop.emulator.funding_clock import next_funding_ms
from tradeloop.emulator.market import Candle, PublicTrade, SymbolMarket
from tradeloop.emulator.okx.bars import DAY, HOUR


def num(x: float, decimals: int = 8) -> str:
    """Plain decimal text without float noise or exponent (``12.5``, ``0``)."""
    s = f"{x:.{decimals}f}"
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s in ("", "-0") else s


def inst_type(symbol: str) -> str:
    return "SWAP" if symbol.endswith("-SWAP") else "SPOT"


def num_orders(ticks: int) -> str:
    """A stable per-price order count for the 4th level field."""
    return str(1 + ticks % 7)


def level(m: SymbolMarket, ticks: int, size: str) -> list[str]:
    return [m.px(ticks), size, "0", "0" if size == "0" else num_orders(ticks)]


def book_levels(m: SymbolMarket, depth: int) -> tuple[list[list[str]], list[list[str]]]:
    """(asks ascending, bids descending), ``depth`` per side."""
    asks = [level(m, p, s) for p, s in m.sorted_asks()[:depth]]
    bids = [level(m, p, s) for p, s in m.sorted_bids()[:depth]]
    return asks, bids


def ticker(m: SymbolMarket, now_ms: int) -> dict[str, Any]:
    inst = m.instrument
    bb, ba = m.best_bid(), m.best_ask()
    o, h, lo, vol, vol_quote = m.stats_24h(now_ms)
    swap = inst.symbol.endswith("-SWAP")
    fp = inst.format_price
    return {
        "instType": inst_type(inst.symbol),
        "instId": inst.symbol,
        "last": m.last_trade.price,
        "lastSz": m.last_trade.size,
        "askPx": m.px(ba),
        "askSz": m.asks[ba],
        "bidPx": m.px(bb),
        "bidSz": m.bids[bb],
        "open24h": fp(o),
        "high24h": fp(h),
        "low24h": fp(lo),
        # SPOT: vol24h in base, volCcy24h in quote; SWAP: vol24h in contracts, volCcy24h base.
        "volCcy24h": num(vol * inst.contract_value if swap else vol_quote),
        "vol24h": num(vol),
        "sodUtc0": fp(m.start_of_day_open(now_ms, 0)),
        "sodUtc8": fp(m.start_of_day_open(now_ms, -8 * HOUR)),
        "ts": str(now_ms),
    }


def trade(t: PublicTrade, symbol: str) -> dict[str, str]:
    return {
        "instId": symbol,
        "side": t.side,
        "sz": t.size,
        "px": t.price,
        "tradeId": t.trade_id,
        "ts": str(t.ts),
    }


def candle(
    m: SymbolMarket, c: Candle, bar_ms: int, now_ms: int, closed: bool | None = None
) -> list[str]:
    """``[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]``. SPOT: ``vol`` base,
    ``volCcy`` quote; SWAP: ``vol`` contracts, ``volCcy`` base; ``volCcyQuote`` is quote for
    both. ``closed`` states ``confirm`` outright (the WS publisher knows which bar it is
    closing); left out, a bar counts as closed once ``now_ms`` is past its end (REST)."""
    inst = m.instrument
    swap = inst.symbol.endswith("-SWAP")
    fp = inst.format_price
    if closed is None:
        closed = c.start + bar_ms <= now_ms
    return [
        str(c.start),
        fp(c.open),
        fp(c.high),
        fp(c.low),
        fp(c.close),
        num(c.vol),
        num(c.vol_ccy if swap else c.vol_quote),
        num(c.vol_quote),
        "1" if closed else "0",
    ]


def funding_row(m: SymbolMarket, rate: float, now_ms: int) -> dict[str, Any]:
    """``public/funding-rate`` row (also the ``funding-rate`` channel push)."""
    inst_id = m.instrument.symbol
    r = num(rate, 10)
    interval = m.funding_interval_ms
    nxt = next_funding_ms(now_ms, interval)
    return {
        "formulaType": "noRate",
        "fundingRate": r,
        "fundingTime": str(nxt),
        "impactValue": "",
        "instId": inst_id,
        "instType": "SWAP",
        "interestRate": "0",
        "maxFundingRate": "0.0075",
        "method": "current_period",
        "minFundingRate": "-0.0075",
        "nextFundingRate": "",
        "nextFundingTime": str(nxt + interval),
        "premium": r,
        "settFundingRate": r,
        "settState": "settled",
        "ts": str(now_ms),
    }


def mark_price_row(m: SymbolMarket, now_ms: int) -> dict[str, str]:
    sym = m.instrument.symbol
    return {
        "instType": inst_type(sym),
        "instId": sym,
        "markPx": m.instrument.format_price(m.mid()),
        "ts": str(now_ms),
    }


__all__ = ["DAY", "book_levels", "candle", "inst_type", "level", "num", "ticker", "trade"]
