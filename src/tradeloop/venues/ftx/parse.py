"""FTX JSON -> tradeloop model objects, shared by the REST and WS paths so both yield the same
events. FTX sends JSON numbers (``null`` where not applicable); ``ts`` arguments are the engine
time (ns) at which the data became known. An FTX market name (``BTC-PERP``, ``BTC/USD``) is the
native symbol; model objects carry the instrument id ``name + ".FTX"``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tradeloop.core.log import get_logger
from tradeloop.model import (
    BalanceUpdate,
    Fill,
    Instrument,
    InstrumentKind,
    Liquidity,
    OrderReport,
    OrderStatus,
    PositionUpdate,
    QuoteTick,
    Side,
    TradeTick,
)
from tradeloop.venues.ftx.constants import FEES, VENUE

log = get_logger(__name__)

Json = Mapping[str, Any]
SUFFIX = "." + VENUE


def symbol_id(name: str) -> str:
    return name + SUFFIX


def native(symbol: str) -> str:
    return symbol[: -len(SUFFIX)] if symbol.endswith(SUFFIX) else symbol


def f(value: Any) -> float:
    return 0.0 if value is None else float(value)


def text(value: float) -> str:
    """A number in Python's float notation, which is how FTX writes it in its book checksum:
    the local book keeps this text, so the checksum sums exactly what FTX summed."""
    return repr(float(value))


def parse_markets(rows: Iterable[Json]) -> dict[str, Instrument]:
    """``GET /markets`` -> instruments by id: spot (``BTC/USD``) and linear USD-margined
    futures (``-PERP`` perpetuals, dated ones FUTURE); others and disabled ones are left out."""
    out: dict[str, Instrument] = {}
    for d in rows:
        name, kind = str(d.get("name")), d.get("type")
        if kind == "spot":
            base, quote, ik = d.get("baseCurrency"), d.get("quoteCurrency"), InstrumentKind.SPOT
        else:
            perp = name.endswith("-PERP")
            base, quote = d.get("underlying"), "USD"
            ik = InstrumentKind.SWAP if perp else InstrumentKind.FUTURE
        if kind not in ("spot", "future") or not base or not quote or d.get("enabled") is False:
            continue
        try:
            inst = Instrument.of(
                name, VENUE, str(base), str(quote),
                tick_size=f(d["priceIncrement"]), lot_size=f(d["sizeIncrement"]),
                min_size=f(d.get("minProvideSize")), maker_fee=FEES[0], taker_fee=FEES[1],
                kind=ik, settle=str(quote),
            )  # fmt: skip
        except (KeyError, ValueError, TypeError) as exc:
            log.warning("skipping malformed FTX market %s: %s", name, exc)
            continue
        out[inst.symbol] = inst
    return out


def parse_trade(symbol: str, d: Json, ts: int) -> TradeTick:
    """A ``trades`` push item (``side`` is the taker's)."""
    return TradeTick(ts, symbol, float(d["price"]), float(d["size"]), Side(d["side"]),
                     str(d.get("id", "")))  # fmt: skip


def parse_ticker(symbol: str, d: Json, ts: int) -> QuoteTick:
    return QuoteTick(ts, symbol, f(d.get("bid")), f(d.get("bidSize")), f(d.get("ask")),
                     f(d.get("askSize")))  # fmt: skip


def order_status(d: Json) -> OrderStatus:
    """FTX says only ``new``, ``open`` and ``closed``: a closed order whose whole size traded
    is FILLED, any other closed one CANCELED."""
    status, filled = d.get("status"), f(d.get("filledSize"))
    if status == "closed":
        full = filled > 0 and filled >= f(d.get("size")) * (1 - 1e-9)
        return OrderStatus.FILLED if full else OrderStatus.CANCELED
    if status in ("new", "open"):
        return OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.ACCEPTED
    raise ValueError(f"unknown FTX order status {status!r}")


def parse_order(d: Json, ts: int, client_order_id: str | None = None) -> OrderReport:
    """An order (REST or push); ``client_order_id`` replaces ``clientId`` when the gateway
    maps tradeloop ids to the ones it sent."""
    cid = client_order_id if client_order_id is not None else str(d.get("clientId") or "")
    return OrderReport(ts, cid, str(d["id"]), symbol_id(str(d["market"])), order_status(d),
                       f(d.get("filledSize")), f(d.get("avgFillPrice")))  # fmt: skip


def parse_fill(d: Json, ts: int, client_order_id: str = "") -> Fill:
    """A fill (REST row or push). Its ``id`` is our trade id (``tradeId`` is shared with the
    counterparty); ``fee`` is positive when paid, as in ``Fill``."""
    maker = d.get("liquidity") == "maker"
    return Fill(
        ts, client_order_id, str(d["orderId"]), str(d["id"]), symbol_id(str(d["market"])),
        Side(d["side"]), float(d["price"]), float(d["size"]), f(d.get("fee")),
        str(d.get("feeCurrency") or ""), Liquidity.MAKER if maker else Liquidity.TAKER,
    )  # fmt: skip


def parse_balances(rows: Iterable[Json], ts: int) -> list[BalanceUpdate]:
    return [BalanceUpdate(ts, str(d["coin"]), f(d.get("total")), f(d.get("free")), VENUE)
            for d in rows]  # fmt: skip


def parse_positions(rows: Iterable[Json], ts: int) -> list[PositionUpdate]:
    """Open positions only (FTX lists every future traded, most at ``netSize`` 0)."""
    out = []
    for d in rows:
        if d.get("netSize"):
            sym, pnl = symbol_id(str(d["future"])), f(d.get("unrealizedPnl"))
            out.append(PositionUpdate(ts, sym, f(d["netSize"]), f(d.get("entryPrice")), pnl))
    return out
