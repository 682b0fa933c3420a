"""BitMEX JSON -> tradeloop model (instruments, orders, executions, positions, margin).

Contracts map onto :class:`Instrument` by what BitMEX says about them, not by name:

* ``isInverse`` (XBTUSD): ``inverse=True``, one contract is ``|multiplier| / 1e8`` USD (1 USD
  for XBTUSD's -100,000,000); margin and PnL in the base (BTC), which is also ``settle``;
* ``isQuanto`` (ETHUSD): a fixed ``multiplier`` satoshi per USD of price per contract, i.e.
  linear with ``contract_value = multiplier / 1e8`` BTC, settled in BTC;
* otherwise linear (XBTUSDT): one contract is ``1 / underlyingToPositionMultiplier`` base
  units, settled in the quote (``USDt`` -> USDT).

Money arrives in minor units (``XBt`` satoshi, ``USDt`` micro-USDT); :func:`major` converts.
Event timestamps are the gateway clock's (``now``), as every connector does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tradeloop.model import (
    BalanceUpdate,
    Bar,
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
from tradeloop.venues.bitmex import constants as C
from tradeloop.venues.parsing import VenueIds, iso_ns

Json = dict[str, Any]
#: ``XBTUSD`` <-> ``XBTUSD.BITMEX``
IDS = VenueIds(C.VENUE)
symbol_id, native = IDS.symbol_id, IDS.native
STATUS = {
    "New": OrderStatus.ACCEPTED,
    "PartiallyFilled": OrderStatus.PARTIALLY_FILLED,
    "Filled": OrderStatus.FILLED,
    "Canceled": OrderStatus.CANCELED,
    "Rejected": OrderStatus.REJECTED,
    "Expired": OrderStatus.EXPIRED,
    "DoneForDay": OrderStatus.CANCELED,
    "Stopped": OrderStatus.ACCEPTED,
    "PendingNew": OrderStatus.SUBMITTED,
}


TERMINAL = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)


def iso(ms: int) -> str:
    """A table query's ``startTime`` (ISO 8601, milliseconds, UTC)."""
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def f(value: Any) -> float:
    """A JSON number, ``null`` as 0.0."""
    return 0.0 if value is None or value == "" else float(value)


def unified(code: Any) -> str:
    text = str(code or "")
    return C.UNIFIED.get(text, text.upper())


def major(code: Any, amount: Any) -> float:
    """A minor-unit money amount of BitMEX currency ``code`` in whole units."""
    scale = C.CURRENCIES.get(str(code), ("", 1))[1]
    if str(code) == "XBT":  # executions name the currency XBT but count satoshi
        scale = 100_000_000
    return f(amount) / scale


def side_of(text: Any) -> Side:
    return Side.BUY if text == "Buy" else Side.SELL


# -- instruments -------------------------------------------------------------------------------
def parse_instrument(d: Json) -> Instrument | None:
    """One ``GET /instrument`` row; None for what tradeloop does not trade (indices, spot
    pairs sized in minor units, options, rows missing a size rule)."""
    typ = str(d.get("typ") or "")
    if not (typ.startswith("FF") and d.get("tickSize") and d.get("lotSize")):
        return None
    sym = str(d["symbol"])
    root = unified(d.get("rootSymbol") or d.get("underlying"))
    quote = unified(d.get("quoteCurrency"))
    settle = unified(d.get("settlCurrency"))
    inverse = bool(d.get("isInverse"))
    mult = f(d.get("multiplier"))
    if inverse:
        cv = abs(mult) / 1e8 if mult else 1.0
    elif d.get("isQuanto"):
        cv = abs(mult) / 1e8
    else:
        u2p = f(d.get("underlyingToPositionMultiplier"))
        cv = 1.0 / u2p if u2p else 1.0
    lot = f(d["lotSize"])
    return Instrument.of(
        sym,
        C.VENUE,
        root,
        quote,
        tick_size=f(d["tickSize"]),
        lot_size=lot,
        min_size=lot,
        contract_value=cv,
        maker_fee=f(d.get("makerFee")),
        taker_fee=f(d.get("takerFee")),
        kind=InstrumentKind.SWAP if typ == "FFWCSX" else InstrumentKind.FUTURE,
        settle=settle,
        inverse=inverse,
        # BitMEX books each execution's PnL in whole minor units (XBt, USDt): so do we
        settle_per_unit=C.CURRENCIES.get(str(d.get("settlCurrency")), ("", 0))[1],
    )


def parse_instruments(rows: list[Json]) -> dict[str, Instrument]:
    out = {}
    for d in rows:
        inst = parse_instrument(d)
        if inst is not None and d.get("state") in (None, "Open"):
            out[inst.symbol] = inst
    return out


# -- orders and executions ----------------------------------------------------------------------
def parse_order(d: Json, now: int, client_order_id: str) -> OrderReport:
    status = STATUS.get(str(d.get("ordStatus")), OrderStatus.ACCEPTED)
    reason = ""
    if status in (OrderStatus.CANCELED, OrderStatus.REJECTED):
        reason = str(d.get("ordRejReason") or d.get("text") or "")
    return OrderReport(
        now,
        client_order_id,
        str(d.get("orderID", "")),
        symbol_id(str(d["symbol"])),
        status,
        f(d.get("cumQty")),
        f(d.get("avgPx")),
        reason,
    )


def parse_execution(d: Json, now: int, client_order_id: str) -> Fill | None:
    """An ``execution`` row that traded (``execType`` Trade) as a Fill; None otherwise
    (New, Canceled, Replaced, Funding ... carry no fill)."""
    if d.get("execType") != "Trade" or not f(d.get("lastQty")):
        return None
    ccy = d.get("settlCurrency") or "XBt"
    maker = d.get("lastLiquidityInd") == "AddedLiquidity"
    return Fill(
        now,
        client_order_id,
        str(d.get("orderID", "")),
        str(d["execID"]),
        symbol_id(str(d["symbol"])),
        side_of(d.get("side")),
        f(d.get("lastPx")),
        f(d.get("lastQty")),
        major(ccy, d.get("execComm")),
        unified(ccy),
        Liquidity.MAKER if maker else Liquidity.TAKER,
        exec_ts=time_ns(d.get("transactTime") or d.get("timestamp"), 0),
    )


def time_ns(text: Any, default: int) -> int:
    """A row's ISO 8601 time (``2026-12-05T04:00:00.000Z``) in ns; ``default`` if absent."""
    return iso_ns(text) or default


def parse_funding(d: Json, now: int) -> FundingPaid:
    """A ``Funding`` execution as the payment it is: ``execComm`` > 0 is what we paid, in the
    settle currency's minor units; ``commission`` is the rate, ``lastQty`` the position's size,
    ``execID`` the id that books it once."""
    ccy = d.get("settlCurrency") or d.get("currency") or "XBt"
    return FundingPaid(
        time_ns(d.get("transactTime") or d.get("timestamp"), now),
        symbol_id(str(d["symbol"])),
        major(ccy, d.get("execComm")),
        unified(ccy),
        str(d["execID"]),
        f(d.get("commission")),
        f(d.get("lastQty")),
        C.VENUE,
    )


def funding_text(d: Json) -> str:
    """A ``Funding`` execution in words for the log: who paid how much (``execComm`` > 0: we
    paid) at what rate (``commission``) on which position. Funding moves the wallet, not a
    position, and no order of ours caused it: it is never a Fill."""
    ccy = d.get("settlCurrency") or d.get("currency") or "XBt"
    amount = major(ccy, d.get("execComm"))
    verb = "paid" if amount >= 0 else "received"
    return (f"{verb} {abs(amount):.8f} {unified(ccy)} on {d.get('symbol')} "
            f"({f(d.get('lastQty')):g} contracts, rate {f(d.get('commission')):g}, "
            f"execID {d.get('execID')})")  # fmt: skip


def is_liquidation(d: Json) -> bool:
    """An execution BitMEX made itself to close a position (``text`` "Liquidation", no
    clOrdID): the venue's trade, not an order of ours and not another client's."""
    return not d.get("clOrdID") and str(d.get("text") or "").startswith("Liquidation")


def parse_executions(rows: list[Json], now: int, client_id: Callable[[Json], str]) -> list[Fill]:
    """The fills among ``execution`` rows (a REST listing), in their order (``client_id``: a
    row's tradeloop client id), each stamped with the time it executed (``transactTime``):
    fills found after the fact -- at a start, after a reconnect -- then take their place
    among the funding payments settled meanwhile, which carry the venue's time too."""
    fills = (parse_execution(d, time_ns(d.get("transactTime"), now), client_id(d)) for d in rows)
    return [fill for fill in fills if fill is not None]


# -- account -----------------------------------------------------------------------------------
def parse_positions(rows: list[Json], now: int) -> list[PositionUpdate]:
    out = []
    for d in rows:
        if "currentQty" not in d or "symbol" not in d:
            continue
        out.append(
            PositionUpdate(
                now,
                symbol_id(str(d["symbol"])),
                f(d.get("currentQty")),
                f(d.get("avgEntryPrice")),
                major(d.get("currency"), d.get("unrealisedPnl")),
            )
        )
    return out


def parse_margins(rows: list[Json], now: int) -> list[BalanceUpdate]:
    """``user/margin`` rows (or ``margin`` pushes carrying the wallet) as balances: total =
    ``walletBalance``, free = ``availableMargin``."""
    out = []
    for d in rows:
        if "walletBalance" not in d or "currency" not in d:
            continue
        ccy = d["currency"]
        total = major(ccy, d.get("walletBalance"))
        free = major(ccy, d.get("availableMargin", d.get("walletBalance")))
        out.append(BalanceUpdate(now, unified(ccy), total, free, C.VENUE))
    return out


# -- market data -------------------------------------------------------------------------------
def parse_quote(d: Json, now: int) -> QuoteTick:
    return QuoteTick(
        now,
        symbol_id(str(d["symbol"])),
        f(d.get("bidPrice")),
        f(d.get("bidSize")),
        f(d.get("askPrice")),
        f(d.get("askSize")),
    )


def parse_bin(d: Json, now: int, period_ns: int = 60 * 1_000_000_000) -> Bar:
    """A ``tradeBin1m`` row as a Bar: BitMEX stamps a bin with its close (``timestamp`` is
    the end of the minute), which is the Bar's ``ts``; volume in contracts."""
    end = time_ns(d.get("timestamp"), now)
    sym = symbol_id(str(d["symbol"]))
    ohlcv = (f(d.get("open")), f(d.get("high")), f(d.get("low")), f(d.get("close")))
    return Bar(end, sym, end - period_ns, *ohlcv, f(d.get("volume")))


def parse_trade(d: Json, now: int) -> TradeTick:
    return TradeTick(
        now,
        symbol_id(str(d["symbol"])),
        f(d.get("price")),
        f(d.get("size")),
        side_of(d.get("side")),
        str(d.get("trdMatchID", "")),
    )
