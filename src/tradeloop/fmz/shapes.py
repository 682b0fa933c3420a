"""FMZ reply shapes built from tradeloop's model objects and the query records (docs/fmz.md).

No I/O and no venue knowledge: every venue's answers pass through the same functions, so a
``ticker`` or an ``Order`` looks the same whichever exchange is behind the label. Where the
guide's examples use strings (ticker, accounts) numbers are written as their shortest exact
decimal text (``2955``, ``0.2482982056277609``, never ``2955.0`` or ``1e-05``), which is the
text the venue sent for every value it sends in plain notation; elsewhere they are JSON numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from tradeloop.fmz.conventions import Balance, Funding, OrderInfo, PositionInfo, Ticker
from tradeloop.model import NS_PER_MS, BalanceUpdate, Instrument, OrderStatus, Side, TradeTick
from tradeloop.model.instrument import plain_decimal

S = OrderStatus
_WORKING = frozenset({S.CREATED, S.SUBMITTED, S.ACCEPTED, S.PENDING_CANCEL, S.PENDING_AMEND})


def text(x: float) -> str:
    """A float as plain decimal text, shortest exact form (``3000.0`` -> ``"3000"``,
    ``1e-05`` -> ``"0.00001"``)."""
    r = repr(float(x))
    if "e" in r or "n" in r:  # exponent (or inf/nan, which Decimal spells out)
        return plain_decimal(Decimal(r))
    return r[:-2] if r.endswith(".0") else r


def ms(ts_ns: int) -> int:
    return ts_ns // NS_PER_MS


# -- market data --------------------------------------------------------------------------------
def ticker(t: Ticker, fmz_symbol: str) -> dict[str, str]:
    """Exactly the guide's ticker keys, values as decimal text, ``time`` in ms."""
    return {
        "symbol": fmz_symbol,
        "buy": text(t.bid),
        "sell": text(t.ask),
        "high": text(t.high),
        "low": text(t.low),
        "open": text(t.open),
        "last": text(t.last),
        "vol": text(t.volume),
        "time": str(t.time_ms),
    }


def depth(
    time_ms: int, bids: Sequence[Sequence[float]], asks: Sequence[Sequence[float]], limit: int
) -> dict[str, Any]:
    """``{"time", "asks" ascending, "bids" descending}``; levels are ``[price, amount]`` (the
    model's (price, size) pairs, which encode as JSON arrays)."""
    return {"time": time_ms, "asks": asks[:limit], "bids": bids[:limit]}


def trades(ticks: Iterable[TradeTick]) -> list[dict[str, Any]]:
    """Oldest first, as ``GetTrades`` requires (venues answer newest first)."""
    out = [
        {
            "id": t.trade_id,
            "time": ms(t.ts),
            "price": t.price,
            "amount": t.qty,
            "type": "buy" if t.side is Side.BUY else "sell",
        }
        for t in ticks
    ]
    out.sort(key=lambda x: x["time"])
    return out


def market(inst: Instrument, fmz_symbol: str) -> dict[str, Any]:
    """FMZ ``Market`` fields in the protocol's snake case. Limits the instrument model does
    not carry (maximum size and notional) are omitted, as the guide asks of unknown fields."""
    linear_ccy = inst.quote if inst.inverse else inst.base
    return {
        "symbol": fmz_symbol,
        "base_asset": inst.base,
        "quote_asset": inst.quote,
        "tick_size": inst.tick_size,
        "amount_size": inst.lot_size,
        "price_precision": inst.price_precision,
        "amount_precision": inst.qty_precision,
        "min_qty": inst.min_size,
        "min_notional": 0,
        "ct_val": inst.contract_value if inst.is_derivative else 1.0,
        "ct_val_ccy": linear_ccy if inst.is_derivative else inst.base,
    }


def funding(f: Funding, fmz_symbol: str) -> dict[str, Any]:
    return {"symbol": fmz_symbol, "rate": f.rate, "interval": f.interval_ms, "time": f.time_ms}


# -- account ------------------------------------------------------------------------------------
def balance(b: Balance) -> dict[str, str]:
    return {"currency": b.currency, "free": text(b.free), "frozen": text(b.frozen)}


def balance_of(u: BalanceUpdate) -> Balance:
    """A contract balance (total, free) as FMZ's (free, frozen): frozen = total - free, exact
    in decimal (no ``0.30000000000000004``), never negative."""
    frozen = Decimal(repr(float(u.total))) - Decimal(repr(float(u.free)))
    return Balance(u.asset, u.free, float(max(frozen, Decimal(0))))


def status(s: OrderStatus, filled: float) -> str:
    """Order state + fill -> the guide's status words (spec B.8)."""
    if s is S.FILLED:
        return "filled"
    if s is S.PARTIALLY_FILLED or (s in _WORKING and filled > 0):
        return "partial-filled"
    if s in _WORKING:
        return "pending"
    return "partial-canceled" if filled > 0 else "canceled"  # canceled, expired, rejected


def order(o: OrderInfo, order_id: str, fmz_symbol: str) -> dict[str, Any]:
    """FMZ ``Order``; contracts also carry ``offset`` and ``contract_type``. ``type`` is left
    out when the source did not say the side (never guessed)."""
    out: dict[str, Any] = {
        "id": order_id,
        "symbol": fmz_symbol,
        "amount": o.amount,
        "price": -1 if o.price is None else o.price,
        "deal_amount": o.filled,
        "avg_price": o.avg_price,
        "status": status(o.status, o.filled),
        "time": o.time_ms,
    }
    if o.side is not None:
        out["type"] = "buy" if o.side is Side.BUY else "sell"
    _, dot, contract = fmz_symbol.partition(".")
    if dot:
        out["offset"] = "close" if o.reduce_only else "open"
        out["contract_type"] = contract
    return out


def position(p: PositionInfo, fmz_symbol: str) -> dict[str, Any]:
    """FMZ ``Position``: ``type`` 0 long / 1 short, ``amount`` in contracts."""
    return {
        "symbol": fmz_symbol,
        "margin_level": p.leverage,
        "amount": abs(p.qty),
        "frozen_amount": p.frozen,
        "price": p.avg_price,
        "profit": p.upl,
        "type": 1 if p.qty < 0 else 0,
        "contract_type": fmz_symbol.partition(".")[2],
        "margin": p.margin,
    }
