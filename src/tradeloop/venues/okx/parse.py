"""OKX v5 JSON → tradeloop model objects.

Pure functions over decoded JSON (dicts / lists of strings, as OKX sends numbers as strings),
shared by the REST and WS paths so both yield identical events. ``ts`` arguments are the engine
time (ns) at which the data became known; venue timestamps are kept where the model has a slot
for them (bar start).

Symbols: OKX's ``instId`` is the native symbol; every model object carries the instrument id
``instId + ".OKX"`` (:func:`symbol_id`). Functions that take a ``symbol`` argument put it in the
event as given (callers pass the id, computed once per subscription).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from tradeloop.model import (
    NS_PER_MS,
    BalanceUpdate,
    Bar,
    BookLevels,
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
from tradeloop.venues.okx.constants import SPOT_FEES, SWAP_FEES, VENUE
from tradeloop.venues.parsing import instruments_by_id

#: What turns an OKX instId into an instrument id.
SUFFIX = "." + VENUE
_SUFFIX_LEN = len(SUFFIX)


def symbol_id(inst_id: str) -> str:
    """OKX instId -> instrument id (``BTC-USDT`` -> ``BTC-USDT.OKX``)."""
    return inst_id + SUFFIX


def native(symbol: str) -> str:
    """Instrument id -> OKX instId; anything without the ``.OKX`` suffix is returned as is
    (it is then not an OKX instrument, and lookups by id will say so)."""
    return symbol[:-_SUFFIX_LEN] if symbol.endswith(SUFFIX) else symbol


Json = Mapping[str, Any]

ORDER_STATES: dict[str, OrderStatus] = {
    "live": OrderStatus.ACCEPTED,
    "partially_filled": OrderStatus.PARTIALLY_FILLED,
    "filled": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "mmp_canceled": OrderStatus.CANCELED,
}
_KINDS = {
    "SPOT": InstrumentKind.SPOT,
    "SWAP": InstrumentKind.SWAP,
    "FUTURES": InstrumentKind.FUTURE,
}
_SIDES = {"buy": Side.BUY, "sell": Side.SELL}


def f(value: Any) -> float:
    """OKX number string → float; ``""``/None (OKX's "not applicable") → 0.0."""
    if value is None or value == "":
        return 0.0
    return float(value)


def ms_to_ns(value: Any) -> int:
    return int(value) * NS_PER_MS if value not in (None, "") else 0


# -- instruments -------------------------------------------------------------------------------
def parse_instrument(d: Json) -> Instrument | None:
    """Instrument from ``/public/instruments`` (SPOT, SWAP, FUTURES); other types → None.

    tick = ``tickSz``, lot = ``lotSz``, min = ``minSz``; derivatives size in contracts of
    ``ctVal`` (``ctValCcy`` units: the base currency for linear contracts, the quote currency
    for inverse ones, ``ctType == "inverse"``, which settle in the base). Fees are OKX's regular
    tier (account rates need ``/account/trade-fee``). Keyed by id, ``native`` = instId.
    """
    kind = _KINDS.get(str(d.get("instType", "")))
    if kind is None:
        return None
    inst_id = str(d["instId"])
    if kind is InstrumentKind.SPOT:
        base, quote = str(d.get("baseCcy", "")), str(d.get("quoteCcy", ""))
        ct_val = 1.0
        maker, taker = SPOT_FEES
    else:
        family = str(d.get("instFamily") or d.get("uly") or inst_id)
        base, _, quote = family.partition("-")
        ct_val = f(d.get("ctVal")) or 1.0
        maker, taker = SWAP_FEES
    if not base or not quote:
        parts = inst_id.split("-")
        base, quote = parts[0], parts[1] if len(parts) > 1 else ""
    inverse = kind is not InstrumentKind.SPOT and d.get("ctType") == "inverse"
    return Instrument.of(
        inst_id,
        VENUE,
        base,
        quote,
        tick_size=f(d["tickSz"]),
        lot_size=f(d["lotSz"]),
        min_size=f(d.get("minSz")),
        contract_value=ct_val,
        maker_fee=maker,
        taker_fee=taker,
        kind=kind,
        settle=str(d.get("settleCcy") or (base if inverse else quote)),
        inverse=inverse,
    )


def parse_instruments(data: Iterable[Json]) -> dict[str, Instrument]:
    """Instruments keyed by instrument id (``BTC-USDT.OKX``)."""
    return instruments_by_id(data, parse_instrument, VENUE, "instId")


# -- market data -------------------------------------------------------------------------------
def parse_trade(d: Json, ts: int) -> TradeTick:
    """``trades`` push / ``/market/trades`` row; ``side`` is the taker's."""
    return TradeTick(
        ts=ts,
        symbol=symbol_id(str(d["instId"])),
        price=float(d["px"]),
        qty=float(d["sz"]),
        side=_SIDES[str(d["side"])],
        trade_id=str(d.get("tradeId", "")),
    )


def parse_ticker(d: Json, ts: int) -> QuoteTick:
    """Top of book from ``tickers`` push / ``/market/ticker``."""
    return QuoteTick(
        ts=ts,
        symbol=symbol_id(str(d["instId"])),
        bid=f(d.get("bidPx")),
        bid_qty=f(d.get("bidSz")),
        ask=f(d.get("askPx")),
        ask_qty=f(d.get("askSz")),
    )


def parse_bbo(symbol: str, d: Json, ts: int) -> QuoteTick:
    """``bbo-tbt`` / ``books5`` item (levels ``[px, sz, "0", orders]``)."""
    bids, asks = d.get("bids") or [], d.get("asks") or []
    bid, bid_qty = (float(bids[0][0]), float(bids[0][1])) if bids else (0.0, 0.0)
    ask, ask_qty = (float(asks[0][0]), float(asks[0][1])) if asks else (0.0, 0.0)
    return QuoteTick(ts=ts, symbol=symbol, bid=bid, bid_qty=bid_qty, ask=ask, ask_qty=ask_qty)


def float_levels(levels: Sequence[Sequence[str]]) -> list[tuple[float, float]]:
    return [(float(lv[0]), float(lv[1])) for lv in levels]


def parse_book_levels(symbol: str, d: Json, snapshot: bool, ts: int) -> BookLevels:
    """A ``books`` push item (or ``/market/books``, ``snapshot=True``) as a model event."""
    seq = d.get("seqId")
    return BookLevels(
        ts=ts,
        symbol=symbol,
        bids=float_levels(d.get("bids") or []),
        asks=float_levels(d.get("asks") or []),
        snapshot=snapshot,
        sequence=int(seq) if seq is not None else 0,
    )


_BAR_UNITS_NS = {"m": 60 * 10**9, "H": 3600 * 10**9, "D": 86400 * 10**9, "W": 7 * 86400 * 10**9}


def bar_duration_ns(bar: str, start_ns: int = 0) -> int:
    """Length of an OKX ``bar`` (``1m``, ``4H``, ``1Dutc``, ``1M`` ...) starting at
    ``start_ns``; months are calendar months, so the start matters for them."""
    b = bar.removesuffix("utc")
    n, unit = int(b[:-1]), b[-1]
    if unit == "M":
        dt = datetime.fromtimestamp(start_ns / 1e9, tz=UTC)
        months = dt.month - 1 + n
        year, month = dt.year + months // 12, months % 12 + 1
        day = min(dt.day, calendar.monthrange(year, month)[1])
        end = dt.replace(year=year, month=month, day=day)
        return int((end - dt).total_seconds()) * 10**9
    if unit == "s":
        return n * 10**9
    return n * _BAR_UNITS_NS[unit]


def parse_candle(symbol: str, row: Sequence[str], bar: str) -> Bar | None:
    """``[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]`` → Bar, only when confirmed
    (``confirm == "1"``): an in-progress candle would be a bar that later changes. ``ts`` of
    the Bar is its close time, start + duration."""
    if len(row) > 8 and row[8] != "1":
        return None
    start = int(row[0]) * NS_PER_MS
    return Bar(
        ts=start + bar_duration_ns(bar, start),
        symbol=symbol,
        start=start,
        open=float(row[1]),
        high=float(row[2]),
        low=float(row[3]),
        close=float(row[4]),
        volume=float(row[5]),
    )


def parse_candles(symbol: str, rows: Iterable[Sequence[str]], bar: str) -> list[Bar]:
    """Confirmed bars in ascending time (OKX REST returns newest first)."""
    bars = [b for b in (parse_candle(symbol, r, bar) for r in rows) if b is not None]
    bars.sort(key=lambda b: b.start)
    return bars


# -- orders and fills --------------------------------------------------------------------------
def order_status(state: str) -> OrderStatus:
    try:
        return ORDER_STATES[state]
    except KeyError:
        raise ValueError(f"unknown OKX order state {state!r}") from None


def parse_order_report(d: Json, ts: int, client_order_id: str | None = None) -> OrderReport:
    """An order from the ``orders`` channel or ``/trade/order``. ``client_order_id``
    overrides ``clOrdId`` when the gateway maps tradeloop ids to OKX-safe ones."""
    return OrderReport(
        ts=ts,
        client_order_id=client_order_id
        if client_order_id is not None
        else str(d.get("clOrdId", "")),
        venue_order_id=str(d.get("ordId", "")),
        symbol=symbol_id(str(d["instId"])),
        status=order_status(str(d["state"])),
        filled_qty=f(d.get("accFillSz")),
        avg_price=f(d.get("avgPx")),
        reason=str(d.get("msg") or d.get("cancelSourceReason") or ""),
    )


def _fee_paid(raw_fee: Any) -> float:
    """OKX fees are negative when charged, positive for rebates; ``Fill.fee`` is the
    opposite (positive = paid)."""
    fee = f(raw_fee)
    return -fee if fee else 0.0


def parse_order_fill(
    d: Json, ts: int, client_order_id: str | None = None, prev_cum_fee: float = 0.0
) -> Fill | None:
    """The execution carried by an ``orders`` push (``fillSz``/``fillPx``/``tradeId``), or
    None when the push is not a fill. The per-fill fee is ``fillFee``; pushes without it (some
    feeds only carry the cumulative ``fee``) use ``fee - prev_cum_fee``."""
    fill_sz = f(d.get("fillSz"))
    trade_id = str(d.get("tradeId") or "")
    if fill_sz <= 0.0 or not trade_id or trade_id == "0":
        return None
    if d.get("fillFee") not in (None, ""):
        fee = _fee_paid(d["fillFee"])
        fee_ccy = str(d.get("fillFeeCcy") or d.get("feeCcy") or "")
    else:
        fee = _fee_paid(d.get("fee")) - prev_cum_fee
        fee_ccy = str(d.get("feeCcy") or "")
    return Fill(
        ts=ts,
        client_order_id=client_order_id
        if client_order_id is not None
        else str(d.get("clOrdId", "")),
        venue_order_id=str(d.get("ordId", "")),
        trade_id=trade_id,
        symbol=symbol_id(str(d["instId"])),
        side=_SIDES[str(d["side"])],
        price=float(d["fillPx"]),
        qty=fill_sz,
        fee=fee,
        fee_ccy=fee_ccy,
        liquidity=Liquidity.MAKER if d.get("execType") == "M" else Liquidity.TAKER,
        exec_ts=ms_to_ns(d.get("fillTime") or d.get("ts")),
    )


def parse_fill_row(d: Json, ts: int, client_order_id: str | None = None) -> Fill:
    """A ``/trade/fills`` row (``fee`` is per fill there)."""
    return Fill(
        ts=ts,
        client_order_id=client_order_id
        if client_order_id is not None
        else str(d.get("clOrdId", "")),
        venue_order_id=str(d.get("ordId", "")),
        trade_id=str(d["tradeId"]),
        symbol=symbol_id(str(d["instId"])),
        side=_SIDES[str(d["side"])],
        price=float(d["fillPx"]),
        qty=float(d["fillSz"]),
        fee=_fee_paid(d.get("fee")),
        fee_ccy=str(d.get("feeCcy", "")),
        liquidity=Liquidity.MAKER if d.get("execType") == "M" else Liquidity.TAKER,
        exec_ts=ms_to_ns(d.get("fillTime") or d.get("ts")),
    )


# -- account -----------------------------------------------------------------------------------
def parse_balances(data: Iterable[Json], ts: int) -> list[BalanceUpdate]:
    """``/account/balance`` data or an ``account`` push: one update per currency detail."""
    out = []
    for acct in data:
        for det in acct.get("details") or []:
            total = f(det.get("eq")) or f(det.get("cashBal"))
            free = (
                f(det.get("availBal"))
                if det.get("availBal") not in (None, "")
                else f(det.get("availEq"))
            )
            out.append(BalanceUpdate(ts, str(det["ccy"]), total, free, VENUE))
    return out


def parse_position(d: Json, ts: int) -> PositionUpdate:
    """Signed quantity: ``long`` +, ``short`` −, ``net`` as sent."""
    pos = f(d.get("pos"))
    side = d.get("posSide", "net")
    qty = abs(pos) if side == "long" else -abs(pos) if side == "short" else pos
    return PositionUpdate(
        ts=ts,
        symbol=symbol_id(str(d["instId"])),
        qty=qty,
        avg_price=f(d.get("avgPx")),
        unrealized_pnl=f(d.get("upl")),
    )


def parse_positions(data: Iterable[Json], ts: int) -> list[PositionUpdate]:
    return [parse_position(d, ts) for d in data]


def is_funding_bill(d: Json) -> bool:
    """A funding bill (``type`` 8) on an instrument: what :func:`parse_funding_bill` reads."""
    return str(d.get("type")) == "8" and bool(d.get("instId")) and bool(d.get("billId"))


def parse_funding_bill(d: Json, now: int) -> FundingPaid:
    """A funding bill (``/account/bills`` ``type`` 8) as the payment it is. OKX's bills sign
    money as the balance sees it (negative: the account paid, ``subType`` 173; positive:
    received, 174), so the amount paid is the negation of the first non-zero of ``pnl``
    (where OKX's docs say a funding bill's payment is), ``balChg`` (the account's balance
    change) and ``posBalChg`` (an isolated position's margin, which funding may move
    instead). ``sz`` is the position in contracts (always positive), ``billId`` the id that
    books it once, ``ts`` the settlement time. A bill does not say the rate (its sign would
    need the position's side, which the bill does not carry)."""
    change = next((c for c in (f(d.get(k)) for k in ("pnl", "balChg", "posBalChg")) if c), 0.0)
    return FundingPaid(
        ts=ms_to_ns(d.get("ts")) or now,
        symbol=symbol_id(str(d["instId"])),
        amount=-change + 0.0,
        ccy=str(d.get("ccy") or ""),
        payment_id=str(d["billId"]),
        position=abs(f(d.get("sz"))),
        venue=VENUE,
    )
