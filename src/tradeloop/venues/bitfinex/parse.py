"""Bitfinex arrays -> tradeloop model objects, shared by the REST and WS paths so both yield the
same events. Bitfinex sends positional arrays (new fields may be appended: never rely on a
length); ``ts`` arguments are the engine time (ns) at which the data became known. A Bitfinex
symbol (``tBTCUSD``, ``tBTCF0:USTF0``) is the native symbol; ids are ``tBTCUSD.BITFINEX``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from typing import Any

from tradeloop.core.log import get_logger
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
    RejectReason,
    Side,
    TradeTick,
)
from tradeloop.venues.bitfinex.constants import VENUE
from tradeloop.venues.parsing import VenueIds, num

log = get_logger(__name__)

Row = Sequence[Any]
#: ``tBTCUSD`` <-> ``tBTCUSD.BITFINEX``
IDS = VenueIds(VENUE)
symbol_id, native = IDS.symbol_id, IDS.native
#: a JSON number, ``null`` as 0.0
f = num
FEES = {False: (0.001, 0.002), True: (0.0002, 0.00065)}  # base tier (spot, derivatives)


def split(sym: str) -> tuple[str, str]:
    """``tBTCUSD`` -> (BTC, USD); ``tBTCF0:USTF0`` -> (BTCF0, USTF0)."""
    pair = sym[1:]
    base, sep, quote = pair.partition(":")
    return (base, quote) if sep else (pair[:3], pair[3:])


def tick_for(price: float) -> float:
    """Bitfinex prices have 5 significant digits: the tick at ``price``."""
    if price <= 0:
        return 1e-8
    return float(f"1e{math.floor(math.log10(price)) - 4}")


def parse_pairs(
    spot: Iterable[Row], perps: Iterable[Row], prices: dict[str, float]
) -> dict[str, Instrument]:
    """``pub:info:pair`` / ``pub:info:pair:futures`` rows (``[PAIR, [_, _, _, MIN, MAX, ...]]``)
    -> instruments by id; ``prices`` (last price by symbol) set the tick (5 significant
    digits at today's price)."""
    out: dict[str, Instrument] = {}
    for rows, perp in ((spot, False), (perps, True)):
        for row in rows:
            try:
                sym = "t" + str(row[0])
                base, quote = split(sym)
                info = row[1]
                inst = Instrument.of(
                    sym, VENUE, base.removesuffix("F0") if perp else base, quote,
                    tick_size=tick_for(prices.get(sym, 0.0)), lot_size=1e-8,
                    min_size=f(info[3]) if len(info) > 3 else 0.0,
                    maker_fee=FEES[perp][0], taker_fee=FEES[perp][1],
                    kind=InstrumentKind.SWAP if perp else InstrumentKind.SPOT, settle=quote,
                )  # fmt: skip
            except (IndexError, ValueError, TypeError) as exc:
                log.warning("skipping malformed Bitfinex pair %r: %s", row, exc)
                continue
            out[inst.symbol] = inst
    return out


def parse_ticker(symbol: str, d: Row, ts: int) -> QuoteTick:
    return QuoteTick(ts, symbol, f(d[0]), f(d[1]), f(d[2]), f(d[3]))


def parse_trade(symbol: str, d: Row, ts: int) -> TradeTick:
    """``[ID, MTS, AMOUNT, PRICE]``: the taker's side is the amount's sign."""
    amount = f(d[2])
    return TradeTick(ts, symbol, f(d[3]), abs(amount), Side.BUY if amount > 0 else Side.SELL,
                     str(d[0]))  # fmt: skip


def order_status(d: Row) -> tuple[OrderStatus, float, RejectReason]:
    """(status, filled, code) of an ORDER array. ``AMOUNT`` is what is left, ``AMOUNT_ORIG``
    the order's size (both signed); STATUS is ``ACTIVE``, ``PARTIALLY FILLED @ ...``,
    ``EXECUTED @ ...``, ``CANCELED [was: ...]``, ``POSTONLY CANCELED``, ``IOC CANCELED`` ..."""
    filled = round(abs(f(d[7])) - abs(f(d[6])), 12)
    text = str(d[13] or "")
    head = text.split(" @")[0].split(" was:")[0]
    if text.startswith("EXECUTED"):
        return OrderStatus.FILLED, filled, RejectReason.NONE
    if text.startswith("ACTIVE") or text.startswith("PARTIALLY FILLED"):
        st = OrderStatus.PARTIALLY_FILLED if filled > 0 else OrderStatus.ACCEPTED
        return st, filled, RejectReason.NONE
    if head == "POSTONLY CANCELED" and filled <= 0:
        return OrderStatus.REJECTED, 0.0, RejectReason.POST_ONLY_WOULD_TAKE
    if "INSUFFICIENT" in head and filled <= 0:
        return OrderStatus.REJECTED, 0.0, RejectReason.INSUFFICIENT_FUNDS
    if head in ("IOC CANCELED", "FILLORKILL CANCELED"):
        return OrderStatus.EXPIRED, filled, RejectReason.NONE
    return OrderStatus.CANCELED, filled, RejectReason.NONE


def parse_order(d: Row, ts: int, client_order_id: str) -> OrderReport:
    status, filled, code = order_status(d)
    reason = str(d[13] or "") if code is not RejectReason.NONE else ""
    return OrderReport(ts, client_order_id, str(d[0]), symbol_id(str(d[3])), status, filled,
                       f(d[17]), reason=reason, code=code)  # fmt: skip


def order_side(d: Row) -> Side:
    return Side.BUY if f(d[7]) > 0 else Side.SELL


def parse_fill(d: Row, ts: int, client_order_id: str) -> Fill:
    """``[ID, SYMBOL, MTS, ORDER_ID, EXEC_AMOUNT, EXEC_PRICE, ORDER_TYPE, ORDER_PRICE, MAKER,
    FEE, FEE_CURRENCY, CID]`` (a ``tu`` or a REST trade: the fee is known; Bitfinex writes a
    charged fee as a negative number)."""
    amount = f(d[4])
    return Fill(ts, client_order_id, str(d[3]), str(d[0]), symbol_id(str(d[1])),
                Side.BUY if amount > 0 else Side.SELL, f(d[5]), abs(amount), -f(d[9]),
                str(d[10] or ""), Liquidity.MAKER if f(d[8]) > 0 else Liquidity.TAKER,
                exec_ts=int(f(d[2])) * 1_000_000)  # fmt: skip


def parse_wallet(d: Row, ts: int) -> BalanceUpdate:
    """``[WALLET_TYPE, CURRENCY, BALANCE, UNSETTLED_INTEREST, AVAILABLE_BALANCE, ...]``; an
    unknown available balance (null, as Bitfinex sends in some updates) counts as all free."""
    total = f(d[2])
    free = total if len(d) < 5 or d[4] is None else f(d[4])
    return BalanceUpdate(ts, str(d[1]), total, free, VENUE)


def parse_wallets(rows: Iterable[Row], ts: int) -> list[BalanceUpdate]:
    """Trading wallets (``exchange``, ``margin``); the ``funding`` wallet does not trade."""
    return [parse_wallet(r, ts) for r in rows if r and r[0] in ("exchange", "margin")]


def parse_position(d: Row, ts: int) -> PositionUpdate:
    """``[SYMBOL, STATUS, AMOUNT, BASE_PRICE, _, _, PL, ...]``; a CLOSED one is flat."""
    qty = 0.0 if d[1] == "CLOSED" else f(d[2])
    return PositionUpdate(ts, symbol_id(str(d[0])), qty, f(d[3]), f(d[6]))


#: ``Funding Event BTCF0:USTF0 (0.5) on wallet margin``: the pair (with or without its ``t``)
#: and the position's amount; a ``wu``'s description is the same text without the wallet
FUNDING_EVENT = re.compile(r"^Funding Event (t?)([A-Za-z0-9:]+) \((-?[0-9.eE+-]+)\)")


def is_funding_text(text: Any) -> bool:
    """Whether a ledger / ``wu`` description is a derivatives funding payment."""
    return isinstance(text, str) and FUNDING_EVENT.match(text) is not None


def parse_funding(d: Row) -> FundingPaid | None:
    """A ledger entry ``[ID, CURRENCY, null, MTS, null, AMOUNT, BALANCE, null, DESCRIPTION]``
    as the funding payment it is, else None. ``AMOUNT`` is the wallet's change, so what the
    account paid is its negation; ``ID`` (the ledger id) books it once; Bitfinex says no
    rate."""
    m = FUNDING_EVENT.match(str(d[8] or "")) if len(d) > 8 else None
    if m is None:
        return None
    return FundingPaid(int(f(d[3])) * 1_000_000, symbol_id("t" + m.group(2)), -f(d[5]),
                       str(d[1]), str(d[0]), 0.0, abs(float(m.group(3))), VENUE)  # fmt: skip
