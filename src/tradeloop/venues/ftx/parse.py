"""FTX JSON -> tradeloop model objects.

Pure functions over decoded JSON, shared by the REST and WS paths so both yield identical
events. FTX sends numbers as JSON numbers (``null`` where not applicable). ``ts`` arguments
are the engine time (ns) at which the data became known.

Symbols: an FTX market name (``BTC-PERP``, ``BTC/USD``) is the native symbol; every model
object carries the instrument id ``name + ".FTX"``.
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
_SIDES = {"buy": Side.BUY, "sell": Side.SELL}


def symbol_id(name: str) -> str:
    """FTX market name -> instrument id (``BTC-PERP`` -> ``BTC-PERP.FTX``)."""
    return name + SUFFIX


def native(symbol: str) -> str:
    """Instrument id -> FTX market name (anything else is returned unchanged)."""
    return symbol[: -len(SUFFIX)] if symbol.endswith(SUFFIX) else symbol


def f(value: Any) -> float:
    """A JSON number, ``null`` as 0.0."""
    return 0.0 if value is None or value == "" else float(value)


def text(value: Any) -> str:
    """A received number as FTX writes it in its checksum (Python's float notation): the
    book keeps this text, so the checksum is computed from exactly what FTX summed."""
    return repr(float(value))


# -- instruments -------------------------------------------------------------------------------
def parse_market(d: Json) -> Instrument | None:
    """A ``GET /markets`` row: spot (``BTC/USD``) or a linear USD-margined future
    (``BTC-PERP`` perpetual, dated ones FUTURE); others (disabled, MOVE, prediction) -> None."""
    name = str(d["name"])
    if d.get("enabled") is False:
        return None
    if d.get("type") == "spot":
        base, quote = str(d.get("baseCurrency") or ""), str(d.get("quoteCurrency") or "")
        kind = InstrumentKind.SPOT
    elif d.get("type") == "future" and d.get("underlying"):
        base, quote = str(d["underlying"]), "USD"
        kind = InstrumentKind.SWAP if name.endswith("-PERP") else InstrumentKind.FUTURE
    else:
        return None
    if not base or not quote:
        return None
    maker, taker = FEES
    return Instrument.of(
        name,
        VENUE,
        base,
        quote,
        tick_size=f(d["priceIncrement"]),
        lot_size=f(d["sizeIncrement"]),
        min_size=f(d.get("minProvideSize")),
        maker_fee=maker,
        taker_fee=taker,
        kind=kind,
        settle=quote,
    )


def parse_markets(rows: Iterable[Json]) -> dict[str, Instrument]:
    """Instruments keyed by instrument id; malformed rows are skipped with a warning."""
    out: dict[str, Instrument] = {}
    for d in rows:
        try:
            inst = parse_market(d)
        except (KeyError, ValueError, TypeError) as exc:
            log.warning("skipping malformed FTX market %s: %s", d.get("name"), exc)
            continue
        if inst is not None:
            out[inst.symbol] = inst
    return out


# -- market data -------------------------------------------------------------------------------
def parse_trade(symbol: str, d: Json, ts: int) -> TradeTick:
    """A ``trades`` push item (``side`` is the taker's)."""
    side = _SIDES[str(d["side"])]
    return TradeTick(ts, symbol, float(d["price"]), float(d["size"]), side, str(d.get("id", "")))


def parse_ticker(symbol: str, d: Json, ts: int) -> QuoteTick:
    return QuoteTick(ts, symbol, f(d.get("bid")), f(d.get("bidSize")), f(d.get("ask")),
                     f(d.get("askSize")))  # fmt: skip


# -- orders and fills --------------------------------------------------------------------------
def order_status(d: Json) -> OrderStatus:
    """FTX has ``new``, ``open`` and ``closed``; a closed order is FILLED when its whole size
    traded and CANCELED otherwise (FTX says no more)."""
    status, filled, size = d.get("status"), f(d.get("filledSize")), f(d.get("size"))
    if status == "closed":
        full = filled > 0 and filled >= size * (1 - 1e-9)
        return OrderStatus.FILLED if full else OrderStatus.CANCELED
    if status in ("new", "open"):
        return OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.ACCEPTED
    raise ValueError(f"unknown FTX order status {status!r}")


def parse_order(d: Json, ts: int, client_order_id: str | None = None) -> OrderReport:
    """An order (REST or ``orders`` push); ``client_order_id`` replaces FTX's ``clientId``
    when the gateway maps tradeloop ids to the ones it sent."""
    cid = client_order_id if client_order_id is not None else str(d.get("clientId") or "")
    return OrderReport(
        ts, cid, str(d["id"]), symbol_id(str(d["market"])), order_status(d),
        f(d.get("filledSize")), f(d.get("avgFillPrice")),
    )  # fmt: skip


def parse_fill(d: Json, ts: int, client_order_id: str = "") -> Fill:
    """A fill (REST ``/fills`` row or ``fills`` push). FTX's fill ``id`` is the trade id we
    de-duplicate by (``tradeId`` is shared with the counterparty); ``fee`` is positive when
    paid, as ``Fill.fee``."""
    return Fill(
        ts,
        client_order_id,
        str(d["orderId"]),
        str(d["id"]),
        symbol_id(str(d["market"])),
        _SIDES[str(d["side"])],
        float(d["price"]),
        float(d["size"]),
        f(d.get("fee")),
        str(d.get("feeCurrency") or ""),
        Liquidity.MAKER if d.get("liquidity") == "maker" else Liquidity.TAKER,
    )


# -- account -----------------------------------------------------------------------------------
def parse_balances(rows: Iterable[Json], ts: int) -> list[BalanceUpdate]:
    return [BalanceUpdate(ts, str(d["coin"]), f(d.get("total")), f(d.get("free")), VENUE)
            for d in rows]  # fmt: skip


def parse_positions(rows: Iterable[Json], ts: int) -> list[PositionUpdate]:
    """Open positions only (FTX lists every future ever traded, most at ``netSize`` 0)."""
    out = []
    for d in rows:
        qty = f(d.get("netSize"))
        if qty:
            avg = f(d.get("entryPrice") or d.get("recentAverageOpenPrice"))
            pnl = f(d.get("unrealizedPnl"))
            out.append(PositionUpdate(ts, symbol_id(str(d["future"])), qty, avg, pnl))
    return out
