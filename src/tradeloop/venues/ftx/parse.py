"""FTX JSON -> tradeloop model objects, shared by the REST and WS paths so both yield the same
events. FTX sends JSON numbers (``null`` where not applicable: :func:`f`); ``ts`` arguments are
the engine time (ns) at which the data became known. An FTX market name (``BTC-PERP``,
``BTC/USD``) is the native symbol; model objects carry the instrument id ``name + ".FTX"``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from tradeloop.model import (
    BalanceUpdate,
    Fill,
    FundingPaid,
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
from tradeloop.venues.parsing import (
    VenueIds,
    balance_rows,
    float_text,
    instruments_by_id,
    iso_ns,
    num,
)

Json = Mapping[str, Any]
IDS = VenueIds(VENUE)
symbol_id, native, f = IDS.symbol_id, IDS.native, num
#: FTX writes its book checksum over numbers in Python's float notation
text = float_text


def parse_market(d: Json) -> Instrument | None:
    """One ``GET /markets`` row: spot (``BTC/USD``) or a linear USD-margined future
    (``-PERP`` perpetuals, dated ones FUTURE); None for other kinds and disabled ones."""
    name, kind = str(d.get("name")), d.get("type")
    if kind == "spot":
        base, quote, ik = d.get("baseCurrency"), d.get("quoteCurrency"), InstrumentKind.SPOT
    else:
        perp = name.endswith("-PERP")
        base, quote = d.get("underlying"), "USD"
        ik = InstrumentKind.SWAP if perp else InstrumentKind.FUTURE
    if kind not in ("spot", "future") or not base or not quote or d.get("enabled") is False:
        return None
    return Instrument.of(
        name,
        VENUE,
        str(base),
        str(quote),
        tick_size=f(d["priceIncrement"]),
        lot_size=f(d["sizeIncrement"]),
        min_size=f(d.get("minProvideSize")),
        maker_fee=FEES[0],
        taker_fee=FEES[1],
        kind=ik,
        settle=str(quote),
    )


def parse_markets(rows: Iterable[Json]) -> dict[str, Instrument]:
    """``GET /markets`` -> instruments by id (malformed rows logged and left out)."""
    return instruments_by_id(rows, parse_market, VENUE, "name")


def parse_trade(symbol: str, d: Json, ts: int) -> TradeTick:
    """A ``trades`` push item (``side`` is the taker's)."""
    price, size, side = float(d["price"]), float(d["size"]), Side(d["side"])
    return TradeTick(ts, symbol, price, size, side, str(d.get("id", "")))


def parse_ticker(symbol: str, d: Json, ts: int) -> QuoteTick:
    bid, bid_size, ask, ask_size = (f(d.get(k)) for k in ("bid", "bidSize", "ask", "askSize"))
    return QuoteTick(ts, symbol, bid, bid_size, ask, ask_size)


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
    filled, avg, sym = f(d.get("filledSize")), f(d.get("avgFillPrice")), symbol_id(str(d["market"]))
    return OrderReport(ts, cid, str(d["id"]), sym, order_status(d), filled, avg)


def parse_fill(d: Json, ts: int, client_order_id: str = "") -> Fill:
    """A fill (REST row or push). Its ``id`` is our trade id (``tradeId`` is shared with the
    counterparty); ``fee`` is positive when paid, as in ``Fill``."""
    ids = client_order_id, str(d["orderId"]), str(d["id"]), symbol_id(str(d["market"]))
    side, price, size = Side(d["side"]), float(d["price"]), float(d["size"])
    fee, fee_ccy = f(d.get("fee")), str(d.get("feeCurrency") or "")
    liq = Liquidity.MAKER if d.get("liquidity") == "maker" else Liquidity.TAKER
    return Fill(ts, *ids, side, price, size, fee, fee_ccy, liq, exec_ts=iso_ns(d.get("time")))


def parse_balances(rows: Iterable[Json], ts: int) -> list[BalanceUpdate]:
    return balance_rows(rows, ts, VENUE)


def parse_positions(rows: Iterable[Json], ts: int) -> list[PositionUpdate]:
    """Open positions only (FTX lists every future traded, most at ``netSize`` 0)."""
    out = []
    for d in rows:
        if d.get("netSize"):
            sym, pnl = symbol_id(str(d["future"])), f(d.get("unrealizedPnl"))
            out.append(PositionUpdate(ts, sym, f(d["netSize"]), f(d.get("entryPrice")), pnl))
    return out


def parse_funding(d: Json, ccy: str = "USD") -> FundingPaid:
    """A ``GET /funding_payments`` row ``{future, id, payment, rate, time}``: ``payment`` > 0
    is what the account paid (FTX's sign is ``FundingPaid``'s), in the perpetual's settle
    currency (USD); ``id`` books it once. FTX does not say the position's size."""
    ts = iso_ns(d.get("time"))
    if not ts:  # booked on the holdings at its time: a payment without one is not guessed
        raise ValueError(f"funding payment without a time: {d.get('time')!r}")
    return FundingPaid(ts, symbol_id(str(d["future"])), f(d.get("payment")),
                       ccy, str(d["id"]), f(d.get("rate")), 0.0, VENUE)  # fmt: skip
