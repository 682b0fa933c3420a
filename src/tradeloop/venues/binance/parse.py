"""Binance JSON -> tradeloop model events (instruments, orders, fills, balances).

Identity: the venue symbol ``BTCUSDT`` is the instrument id ``BTCUSDT.BINANCE``. Order status
words map to tradeloop's (``NEW`` -> ACCEPTED, ``EXPIRED``/``EXPIRED_IN_MATCH`` -> EXPIRED,
...). Numbers arrive as strings and are read once with ``float``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tradeloop.model import (
    BalanceUpdate,
    Fill,
    Instrument,
    InstrumentKind,
    Liquidity,
    OrderReport,
    OrderStatus,
    Side,
)
from tradeloop.venues.binance.constants import VENUE

STATUS = {
    "NEW": OrderStatus.ACCEPTED,
    "PENDING_NEW": OrderStatus.SUBMITTED,
    "PARTIALLY_FILLED": OrderStatus.PARTIALLY_FILLED,
    "FILLED": OrderStatus.FILLED,
    "CANCELED": OrderStatus.CANCELED,
    "PENDING_CANCEL": OrderStatus.PENDING_CANCEL,
    "REJECTED": OrderStatus.REJECTED,
    "EXPIRED": OrderStatus.EXPIRED,
    "EXPIRED_IN_MATCH": OrderStatus.EXPIRED,
}


def symbol_id(native: str) -> str:
    return f"{native}.{VENUE}"


def native(symbol: str) -> str:
    return symbol.removesuffix("." + VENUE)


def f(x: Any) -> float:
    return float(x) if x not in (None, "") else 0.0


def instrument(s: dict[str, Any], symbol: str, native: str, **market: Any) -> Instrument:
    """One ``exchangeInfo`` symbol (spot's or the futures host's): tick and lot from its
    ``PRICE_FILTER`` and ``LOT_SIZE`` filters (1e-8 when absent); ``market`` is what differs
    between the two (kind, fees, settlement currency)."""
    flt = {x["filterType"]: x for x in s.get("filters", [])}
    price, lot = flt.get("PRICE_FILTER", {}), flt.get("LOT_SIZE", {})
    return Instrument(
        symbol=symbol,
        base=s["baseAsset"],
        quote=s["quoteAsset"],
        tick_size=f(price.get("tickSize")) or 1e-8,
        lot_size=f(lot.get("stepSize")) or 1e-8,
        min_size=f(lot.get("minQty")),
        venue=VENUE,
        native=native,
        **market,
    )


def parse_instruments(info: dict[str, Any]) -> dict[str, Instrument]:
    """``exchangeInfo`` -> instruments by id (TRADING spot symbols only)."""
    out = {}
    for s in info.get("symbols", []):
        if s.get("status") != "TRADING":
            continue
        inst = instrument(s, symbol_id(s["symbol"]), s["symbol"], kind=InstrumentKind.SPOT,
                          maker_fee=0.001, taker_fee=0.001, settle=s["quoteAsset"])  # fmt: skip
        out[inst.symbol] = inst
    return out


def report(
    now_ns: int, client_order_id: str, order_id: Any, symbol: str, status: Any, filled: float,
    avg_price: float, reason: str = "",
) -> OrderReport:  # fmt: skip
    """An order report from the fields every Binance order object has under its own names
    (REST spot and futures, executionReport, ORDER_TRADE_UPDATE); an unknown status word is
    ACCEPTED."""
    return OrderReport(
        ts=now_ns,
        client_order_id=client_order_id,
        venue_order_id=str(order_id),
        symbol=symbol,
        status=STATUS.get(str(status), OrderStatus.ACCEPTED),
        filled_qty=filled,
        avg_price=avg_price,
        reason=reason,
    )


def parse_order(d: dict[str, Any], now_ns: int, client_order_id: str) -> OrderReport:
    """A REST/WS API order object (``GET /api/v3/order``, order.place RESULT/FULL)."""
    filled = f(d.get("executedQty"))
    quote = f(d.get("cummulativeQuoteQty"))
    return report(now_ns, client_order_id, d.get("orderId", ""),
                  symbol_id(str(d.get("symbol", ""))), d.get("status"), filled,
                  quote / filled if filled else 0.0)  # fmt: skip


def report_from_execution(ev: dict[str, Any], now_ns: int, client_order_id: str) -> OrderReport:
    filled = f(ev.get("z"))
    quote = f(ev.get("Z"))
    reason = str(ev.get("r", "")) if ev.get("r") not in (None, "NONE") else ""
    return report(now_ns, client_order_id, ev.get("i", ""), symbol_id(str(ev.get("s", ""))),
                  ev.get("X"), filled, quote / filled if filled else 0.0, reason)  # fmt: skip


def fill_from_execution(
    ev: dict[str, Any], now_ns: int, client_order_id: str, ids: Callable[[str], str] = symbol_id
) -> Fill | None:
    """The fill in a ``TRADE`` executionReport (None for any other execution type); the
    futures ``ORDER_TRADE_UPDATE`` order has the same fields (``ids``: :func:`.futures.perp_id`)."""
    if ev.get("x") != "TRADE":
        return None
    return Fill(
        ts=now_ns,
        client_order_id=client_order_id,
        venue_order_id=str(ev.get("i", "")),
        trade_id=str(ev.get("t", "")),
        symbol=ids(str(ev.get("s", ""))),
        side=Side.BUY if ev.get("S") == "BUY" else Side.SELL,
        price=f(ev.get("L")),
        qty=f(ev.get("l")),
        fee=f(ev.get("n")),
        fee_ccy=str(ev.get("N") or ""),
        liquidity=Liquidity.MAKER if ev.get("m") else Liquidity.TAKER,
        exec_ts=int(ev.get("T") or 0) * 1_000_000,
    )


def trade_fill(d: dict[str, Any], client_order_id: str, symbol: str, side: Side, maker: bool
               ) -> Fill:  # fmt: skip
    """A spot ``myTrades`` or futures ``userTrades`` row (the same fields but for how each
    names the side and the maker flag)."""
    return Fill(
        ts=int(d.get("time", 0)) * 1_000_000,
        client_order_id=client_order_id,
        venue_order_id=str(d.get("orderId", "")),
        trade_id=str(d.get("id", "")),
        symbol=symbol,
        side=side,
        price=f(d.get("price")),
        qty=f(d.get("qty")),
        fee=f(d.get("commission")),
        fee_ccy=str(d.get("commissionAsset") or ""),
        liquidity=Liquidity.MAKER if maker else Liquidity.TAKER,
        exec_ts=int(d.get("time", 0)) * 1_000_000,
    )


def fill_from_trade(d: dict[str, Any], client_order_id: str) -> Fill:
    """A ``myTrades`` row."""
    side = Side.BUY if d.get("isBuyer") else Side.SELL
    return trade_fill(d, client_order_id, symbol_id(str(d.get("symbol", ""))), side,
                      bool(d.get("isMaker")))  # fmt: skip


def parse_balances(
    rows: list[dict[str, Any]],
    now_ns: int,
    free: str = "free",
    locked: str = "locked",
    asset: str = "asset",
) -> list[BalanceUpdate]:
    """``account.balances`` (or ``outboundAccountPosition.B`` with ``a``/``f``/``l``)."""
    return [
        BalanceUpdate(
            ts=now_ns,
            asset=str(r[asset]),
            total=f(r.get(free)) + f(r.get(locked)),
            free=f(r.get(free)),
            venue=VENUE,
        )
        for r in rows
    ]
