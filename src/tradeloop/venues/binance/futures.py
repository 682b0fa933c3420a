"""Binance USD-M perpetuals: identity, order fields and JSON -> tradeloop events (pure functions).

Identity: a perpetual has the same venue name as its spot pair (``BTCUSDT``), so its
instrument id says which market it is: ``BTCUSDT-PERP.BINANCE`` (kind SWAP, linear, sizes in
the base asset, margin and PnL in USDT). ``Instrument.native`` is ``BTCUSDT-PERP`` (an id is
always ``native.VENUE``); :func:`wire` drops the suffix for the ``/fapi`` wire, the futures
host being what says "perpetual" there. Futures order objects differ from spot's:
``avgPrice`` and ``cumQuote`` instead of ``cummulativeQuoteQty``, ``reduceOnly``, ``GTX``
for post-only; user data arrives as ``ORDER_TRADE_UPDATE`` (the order under ``o``) and
``ACCOUNT_UPDATE`` (wallet ``B`` and positions ``P`` under ``a``).
"""

from __future__ import annotations

from typing import Any

from tradeloop.model import (
    BalanceUpdate,
    Fill,
    Instrument,
    InstrumentKind,
    Order,
    OrderReport,
    OrderType,
    PositionUpdate,
    Side,
    TimeInForce,
)
from tradeloop.venues.binance.constants import VENUE
from tradeloop.venues.binance.parse import (
    f,
    fill_from_execution,
    instrument,
    report,
    trade_fill,
)

PERP = "-PERP"
MAKER_FEE, TAKER_FEE = 0.0002, 0.0005
#: ``BalanceUpdate.wallet`` of the USD-M futures wallet (spot's is the main wallet, ``""``)
WALLET = "usdm"


def perp_id(native: str) -> str:
    """``BTCUSDT`` -> ``BTCUSDT-PERP.BINANCE``."""
    return f"{native}{PERP}.{VENUE}"


def is_perp_id(symbol: str) -> bool:
    return symbol.endswith(PERP + "." + VENUE) or symbol.endswith(PERP)


def wire(native: str) -> str:
    """``BTCUSDT-PERP`` -> ``BTCUSDT``, the name on the futures host (spot names unchanged)."""
    return native.removesuffix(PERP)


def parse_instruments(info: dict[str, Any]) -> dict[str, Instrument]:
    """``/fapi/v1/exchangeInfo`` -> the TRADING perpetuals by id (delivery contracts are not
    traded here)."""
    out = {}
    for s in info.get("symbols", []):
        if s.get("status") != "TRADING" or s.get("contractType") != "PERPETUAL":
            continue
        inst = instrument(s, perp_id(s["symbol"]), s["symbol"] + PERP, maker_fee=MAKER_FEE,
                          taker_fee=TAKER_FEE, kind=InstrumentKind.SWAP,
                          settle=s.get("marginAsset") or s["quoteAsset"])  # fmt: skip
        out[inst.symbol] = inst
    return out


def order_params(order: Order, inst: Instrument, client_id: str) -> dict[str, Any]:
    """``POST /fapi/v1/order`` fields (exact decimal strings)."""
    p: dict[str, Any] = {
        "symbol": wire(inst.native),
        "side": "BUY" if order.side is Side.BUY else "SELL",
        "newClientOrderId": client_id,
        "quantity": inst.format_qty(order.qty),
        "newOrderRespType": "RESULT",
    }
    if order.reduce_only:
        p["reduceOnly"] = "true"
    if order.order_type is OrderType.MARKET:
        p["type"] = "MARKET"
        return p
    p["type"] = "LIMIT"
    p["price"] = inst.format_price(order.price)
    p["timeInForce"] = {TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK",
                        TimeInForce.POST_ONLY: "GTX"}.get(order.tif, "GTC")  # fmt: skip
    return p


def parse_order(d: dict[str, Any], now_ns: int, client_order_id: str) -> OrderReport:
    """A ``/fapi/v1/order`` object."""
    return report(now_ns, client_order_id, d.get("orderId", ""),
                  perp_id(str(d.get("symbol", ""))), d.get("status"), f(d.get("executedQty")),
                  f(d.get("avgPrice")))  # fmt: skip


def fill_from_trade(d: dict[str, Any], client_order_id: str) -> Fill:
    """A ``/fapi/v1/userTrades`` row."""
    side = Side.BUY if d.get("side") == "BUY" else Side.SELL
    return trade_fill(d, client_order_id, perp_id(str(d.get("symbol", ""))), side,
                      bool(d.get("maker")))  # fmt: skip


def report_from_update(o: dict[str, Any], now_ns: int, client_order_id: str) -> OrderReport:
    """The order of an ``ORDER_TRADE_UPDATE`` (its ``o`` object)."""
    return report(now_ns, client_order_id, o.get("i", ""), perp_id(str(o.get("s", ""))),
                  o.get("X"), f(o.get("z")), f(o.get("ap")))  # fmt: skip


def fill_from_update(o: dict[str, Any], now_ns: int, client_order_id: str) -> Fill | None:
    """The fill of a ``TRADE`` ``ORDER_TRADE_UPDATE`` (None for other execution types)."""
    return fill_from_execution(o, now_ns, client_order_id, perp_id)


def positions(rows: list[dict[str, Any]], now_ns: int) -> list[PositionUpdate]:
    """``positionRisk`` rows -> the open positions (one-way mode: ``positionSide`` BOTH)."""
    return [
        PositionUpdate(
            now_ns,
            perp_id(str(r["symbol"])),
            f(r.get("positionAmt")),
            f(r.get("entryPrice")),
            f(r.get("unRealizedProfit")),
        )
        for r in rows
        if f(r.get("positionAmt")) != 0
    ]


def positions_from_account_update(ev: dict[str, Any], now_ns: int) -> list[PositionUpdate]:
    """``ACCOUNT_UPDATE.a.P`` -> position events (closed positions included, qty 0)."""
    return [
        PositionUpdate(now_ns, perp_id(str(p["s"])), f(p.get("pa")), f(p.get("ep")), f(p.get("up")))
        for p in (ev.get("a") or {}).get("P", [])
        if p.get("ps", "BOTH") == "BOTH"
    ]


def balances(rows: list[dict[str, Any]], now_ns: int) -> list[BalanceUpdate]:
    """``/fapi/v2/balance`` rows -> the futures wallet's balances: total = ``balance`` (the
    wallet balance: deposits, realised PnL, fees and funding; unrealised PnL is the
    positions'), free = ``availableBalance``."""
    out = []
    for r in rows:
        total, free = f(r.get("balance")), f(r.get("availableBalance"))
        out.append(BalanceUpdate(now_ns, str(r["asset"]), total, free, VENUE, WALLET))
    return out


def balances_from_account_update(ev: dict[str, Any], now_ns: int) -> list[BalanceUpdate]:
    """``ACCOUNT_UPDATE.a.B`` -> futures wallet balances. The push carries the wallet balance
    ``wb`` and the cross wallet balance ``cw`` but no available balance: ``cw`` stands in for
    free (REST's :func:`balances` is exact)."""
    return [
        BalanceUpdate(now_ns, str(b["a"]), f(b.get("wb")), f(b.get("cw")), VENUE, WALLET)
        for b in (ev.get("a") or {}).get("B", [])
    ]
