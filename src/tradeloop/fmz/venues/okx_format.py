"""Pure conversions between OKX v5 JSON and the FMZ protocol shapes (see docs/fmz.md).

No I/O here, so every shape is unit-testable. OKX sends numbers as strings; where the guide's
examples use strings (ticker, accounts) we pass OKX's exact text through, elsewhere we emit JSON
numbers as the guide's examples do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tradeloop.fmz.protocol import FmzError
from tradeloop.fmz.symbols import FmzSymbol
from tradeloop.model import Instrument, InstrumentKind

JsonDict = Mapping[str, Any]

#: FMZ contract code -> OKX instId suffix
_CONTRACTS = {"swap": "SWAP"}
#: OKX bar sizes we use, in minutes -> ``bar`` value (UTC-aligned variants for 6h and up)
NATIVE_BARS: dict[int, str] = {
    1: "1m", 3: "3m", 5: "5m", 15: "15m", 30: "30m", 60: "1H", 120: "2H", 240: "4H",
    360: "6Hutc", 720: "12Hutc", 1440: "1Dutc", 10080: "1Wutc",
}  # fmt: skip


def inst_id(sym: FmzSymbol) -> str:
    """``BTC_USDT`` -> ``BTC-USDT``; ``BTC_USDT.swap`` -> ``BTC-USDT-SWAP``; an OKX expiry code
    after the dot (``BTC_USD.250328``) -> ``BTC-USD-250328``."""
    pair = f"{sym.base}-{sym.quote}"
    if sym.is_spot:
        return pair
    suffix = _CONTRACTS.get(sym.contract)
    if suffix is None:
        if sym.contract.isdigit() and len(sym.contract) == 6:
            suffix = sym.contract
        else:
            raise FmzError(
                f"OKX: unsupported contract type {sym.contract!r} (use .swap or an expiry YYMMDD)"
            )
    return f"{pair}-{suffix}"


def inst_type(inst: str) -> str:
    parts = inst.split("-")
    if len(parts) == 2:
        return "SPOT"
    return "SWAP" if parts[-1] == "SWAP" else "FUTURES"


def fmz_symbol(inst: str) -> str:
    """``BTC-USDT-SWAP`` -> ``BTC_USDT.swap`` (the strategy-facing name)."""
    parts = inst.split("-")
    if len(parts) < 2:
        return inst
    pair = f"{parts[0]}_{parts[1]}"
    if len(parts) == 2:
        return pair
    code = parts[2].lower()
    return f"{pair}.{code}"


def order_id(inst: str, ord_id: str) -> str:
    return f"{inst},{ord_id}"


def split_order_id(oid: str, fallback: FmzSymbol | None) -> tuple[str, str]:
    """``"BTC-USDT,123"`` -> (``BTC-USDT``, ``123``). A bare exchange id needs ``symbol``."""
    inst, sep, ord_id = oid.rpartition(",")
    if sep:
        inst, ord_id = inst.strip(), ord_id.strip()
        if not inst or not ord_id or inst.count("-") not in (1, 2):
            raise FmzError(f"invalid order id {oid[:60]!r}: expected INSTRUMENT,ORDERID")
        return inst.upper(), ord_id
    if fallback is None:
        raise FmzError(f"order id {oid[:60]!r} has no instrument: pass 'symbol' or use the id "
                       "returned by trade (e.g. BTC-USDT,123456)")  # fmt: skip
    return inst_id(fallback), oid.strip()


def num(text: Any, default: float = 0.0) -> float:
    if text is None or text == "":
        return default
    try:
        return float(text)
    except (TypeError, ValueError):
        return default


def _int(text: Any) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        return 0


# -- market data ----------------------------------------------------------------------------
def ticker(t: JsonDict) -> dict[str, Any]:
    """Exactly the guide's ticker keys, values as OKX's decimal strings."""
    return {
        "symbol": fmz_symbol(str(t.get("instId", ""))),
        "buy": str(t.get("bidPx", "")),
        "sell": str(t.get("askPx", "")),
        "high": str(t.get("high24h", "")),
        "low": str(t.get("low24h", "")),
        "open": str(t.get("open24h", "")),
        "last": str(t.get("last", "")),
        "vol": str(t.get("vol24h", "")),
        "time": str(t.get("ts", "")),
    }


def levels(rows: Sequence[Sequence[Any]], limit: int) -> list[list[float]]:
    return [[num(r[0]), num(r[1])] for r in rows[:limit]]


def depth(book: JsonDict, limit: int) -> dict[str, Any]:
    return {
        "time": _int(book.get("ts")),
        "asks": levels(book.get("asks") or [], limit),
        "bids": levels(book.get("bids") or [], limit),
    }


def trades(rows: Sequence[JsonDict]) -> list[dict[str, Any]]:
    """Oldest first, as ``GetTrades`` requires (OKX answers newest first)."""
    out = [
        {
            "id": str(r.get("tradeId", "")),
            "time": _int(r.get("ts")),
            "price": num(r.get("px")),
            "amount": num(r.get("sz")),
            "type": "buy" if r.get("side") == "buy" else "sell",
        }
        for r in rows
    ]
    out.sort(key=lambda x: x["time"])
    return out


def candles(rows: Sequence[Sequence[Any]]) -> list[tuple[int, float, float, float, float, float]]:
    """OKX candle rows (any order) -> ascending ``(ts_ms, o, h, l, c, vol)``."""
    out = [
        (_int(r[0]), num(r[1]), num(r[2]), num(r[3]), num(r[4]), num(r[5]))
        for r in rows
        if len(r) >= 6
    ]
    out.sort(key=lambda x: x[0])
    return out


def instrument(d: JsonDict) -> Instrument:
    inst = str(d.get("instId", ""))
    kind = {"SPOT": InstrumentKind.SPOT, "SWAP": InstrumentKind.SWAP}.get(
        str(d.get("instType", "")), InstrumentKind.FUTURE
    )
    parts = inst.split("-")
    base = str(d.get("baseCcy") or (parts[0] if parts else ""))
    quote = str(d.get("quoteCcy") or (parts[1] if len(parts) > 1 else ""))
    return Instrument(
        symbol=inst,
        base=base,
        quote=quote,
        tick_size=num(d.get("tickSz"), 0.01) or 0.01,
        lot_size=num(d.get("lotSz"), 1e-8) or 1e-8,
        min_size=num(d.get("minSz")),
        contract_value=num(d.get("ctVal"), 1.0) or 1.0,
        kind=kind,
        settle=str(d.get("settleCcy") or quote),
        venue="OKX",
    )


def market(d: JsonDict, inst: Instrument) -> dict[str, Any]:
    """FMZ ``Market`` fields in the protocol's lower snake case."""
    return {
        "symbol": fmz_symbol(inst.symbol),
        "base_asset": inst.base,
        "quote_asset": inst.quote,
        "tick_size": inst.tick_size,
        "amount_size": inst.lot_size,
        "price_precision": inst.price_precision,
        "amount_precision": inst.qty_precision,
        "min_qty": inst.min_size,
        "max_qty": num(d.get("maxLmtSz")),
        "min_notional": 0,
        "max_notional": num(d.get("maxLmtAmt")),
        "ct_val": num(d.get("ctVal"), 1.0) if inst.is_derivative else 1.0,
        "ct_val_ccy": str(d.get("ctValCcy") or (inst.base if not inst.is_derivative else "")),
    }


def funding(d: JsonDict) -> dict[str, Any]:
    t, nxt = _int(d.get("fundingTime")), _int(d.get("nextFundingTime"))
    return {
        "symbol": fmz_symbol(str(d.get("instId", ""))),
        "rate": num(d.get("fundingRate")),
        "interval": (nxt - t) if nxt > t else 8 * 3600 * 1000,
        "time": t,
    }


# -- account --------------------------------------------------------------------------------
def balances(data: Sequence[JsonDict]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for acct in data:
        for d in acct.get("details") or []:
            free = d.get("availBal") or d.get("availEq") or "0"
            frozen = d.get("frozenBal") or d.get("ordFrozen") or "0"
            out.append({"currency": str(d.get("ccy", "")), "free": str(free),
                        "frozen": str(frozen)})  # fmt: skip
    return out


def status(o: JsonDict) -> str:
    """OKX state + fill -> the guide's status words (spec B.8)."""
    state = str(o.get("state", ""))
    filled = num(o.get("accFillSz")) > 0
    if state == "live":
        return "partial-filled" if filled else "pending"
    if state == "partially_filled":
        return "partial-filled"
    if state == "filled":
        return "filled"
    if state in ("canceled", "mmp_canceled"):
        return "partial-canceled" if filled else "canceled"
    return state or "unknown"


def order(o: JsonDict) -> dict[str, Any]:
    inst = str(o.get("instId", ""))
    market_order = o.get("ordType") == "market"
    out: dict[str, Any] = {
        "id": order_id(inst, str(o.get("ordId", ""))),
        "symbol": fmz_symbol(inst),
        "amount": num(o.get("sz")),
        "price": -1 if market_order else num(o.get("px")),
        "deal_amount": num(o.get("accFillSz")),
        "avg_price": num(o.get("avgPx")),
        "type": "buy" if o.get("side") == "buy" else "sell",
        "status": status(o),
        "time": _int(o.get("cTime")),
    }
    if inst_type(inst) != "SPOT":
        reduce = str(o.get("reduceOnly", "")).lower() == "true"
        out["offset"] = "close" if reduce else "open"
        out["contract_type"] = fmz_symbol(inst).partition(".")[2]
    return out


def position(p: JsonDict) -> dict[str, Any] | None:
    """OKX position -> FMZ Position fields; None for a flat one. In net mode the sign of
    ``pos`` gives the side; in long/short mode ``posSide`` does."""
    pos = num(p.get("pos"))
    if pos == 0:
        return None
    side = str(p.get("posSide", "net"))
    short = side == "short" or (side == "net" and pos < 0)
    inst = str(p.get("instId", ""))
    return {
        "symbol": fmz_symbol(inst),
        "margin_level": num(p.get("lever"), 1.0),
        "amount": abs(pos),
        "frozen_amount": max(0.0, abs(pos) - abs(num(p.get("availPos"), abs(pos)))),
        "price": num(p.get("avgPx")),
        "profit": num(p.get("upl")),
        "type": 1 if short else 0,
        "contract_type": fmz_symbol(inst).partition(".")[2],
        "margin": num(p.get("margin")) or num(p.get("imr")),
    }
