"""BitMEX's side of the order lifecycle: the :class:`~tradeloop.venues.execution.VenueHooks`.

Only BitMEX knowledge lives here -- place / amend / cancel / look up over ``/api/v1/order`` by
``clOrdID``, the order fields BitMEX wants (``orderQty`` in contracts, ``execInst`` for
post-only and reduce-only), and what its error texts mean. ``clOrdID`` is the idempotency key:
a retried placement that meets the first attempt's order is answered "Duplicate clOrdID",
which the lifecycle resolves by looking the order up.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from tradeloop.core.errors import RateLimited, VenueError
from tradeloop.model import (
    Fill,
    Instrument,
    Order,
    OrderReport,
    OrderType,
    RejectReason,
    TimeInForce,
)
from tradeloop.venues.bitmex import constants as C
from tradeloop.venues.bitmex import parse as P
from tradeloop.venues.bitmex.rest import BitmexRestClient
from tradeloop.venues.execution import ErrorKind, OrderTrack, PlaceAck, VenueHooks, Verdict
from tradeloop.venues.http import outcome_unknown

_CL_ORD_ID = re.compile(r"[A-Za-z0-9_.:/+=-]{1,36}")
TIF = {
    TimeInForce.GTC: "GoodTillCancel",
    TimeInForce.IOC: "ImmediateOrCancel",
    TimeInForce.FOK: "FillOrKill",
    TimeInForce.POST_ONLY: "GoodTillCancel",
}


def reject_reason(code: str) -> RejectReason:
    for text, reason in C.REJECT_REASONS.items():
        if code.startswith(text):
            return reason
    return RejectReason.OTHER


def classify(exc: VenueError) -> Verdict:
    """What a BitMEX error means for the order it was about (see ``ErrorKind``)."""
    code = exc.code
    if isinstance(exc, RateLimited):
        return Verdict(ErrorKind.RATE_LIMITED, retry_after=exc.retry_after)
    if code == C.DUPLICATE_ID:
        return Verdict(ErrorKind.DUPLICATE_ID)
    if code == C.NOT_FOUND:
        return Verdict(ErrorKind.NOT_FOUND)
    if code.startswith((C.CANCEL_STATE, C.INVALID_STATUS)):
        return Verdict(ErrorKind.FINISHED)
    if code.startswith(C.OVERLOADED):  # BitMEX: the request did not reach the engine
        return Verdict(ErrorKind.TRANSIENT)
    if outcome_unknown(exc):  # timeout, dropped connection, 5xx
        return Verdict(ErrorKind.UNKNOWN_OUTCOME)
    if exc.retryable:
        return Verdict(ErrorKind.TRANSIENT)
    return Verdict(ErrorKind.PERMANENT, reject_reason(code))


def bitmex_client_id(client_order_id: str) -> str:
    """BitMEX takes a clOrdID of up to 36 characters; longer or odd ids map to a stable hash
    (stable so a restarted process finds its orders again)."""
    if _CL_ORD_ID.fullmatch(client_order_id):
        return client_order_id
    return "tl" + hashlib.sha1(client_order_id.encode()).hexdigest()[:30]


def order_fields(order: Order, inst: Instrument, cl_ord_id: str) -> dict[str, Any]:
    """``POST /order`` fields for a tradeloop order; numbers are exact decimals (sent as
    JSON numbers in the instrument's own notation, never float noise)."""
    f: dict[str, Any] = {
        "symbol": inst.native,
        "side": "Buy" if order.side.value == "buy" else "Sell",
        "orderQty": Decimal(inst.format_qty(order.qty)),
        "clOrdID": cl_ord_id,
    }
    inst_flags = []
    if order.order_type is OrderType.MARKET:
        f["ordType"] = "Market"
    else:
        f["ordType"] = "Limit"
        f["price"] = Decimal(inst.format_price(order.price))
        f["timeInForce"] = TIF[order.tif]
        if order.tif is TimeInForce.POST_ONLY:
            inst_flags.append("ParticipateDoNotInitiate")
    if order.reduce_only:
        inst_flags.append("ReduceOnly")
    if inst_flags:
        f["execInst"] = ",".join(inst_flags)
    return f


class BitmexOrderHooks(VenueHooks):
    """BitMEX REST order requests for the lifecycle (``instruments``: the gateway's dict)."""

    venue = C.VENUE

    def __init__(
        self,
        rest: BitmexRestClient,
        instruments: Mapping[str, Instrument],
        streaming: Callable[[], bool],
        now_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.rest = rest
        self.instruments = instruments
        self._streaming = streaming
        self.now_ns = now_ns

    def instrument(self, symbol: str) -> Instrument | None:
        return self.instruments.get(symbol)

    def venue_client_id(self, client_order_id: str) -> str:
        return bitmex_client_id(client_order_id)

    def native_symbol(self, symbol: str) -> str:
        inst = self.instruments.get(symbol)
        return inst.native if inst is not None else P.native(symbol)

    def symbol_id(self, native: str) -> str:
        return P.symbol_id(native)

    def streaming(self) -> bool:
        return self._streaming()

    def classify(self, exc: VenueError) -> Verdict:
        return classify(exc)

    async def place(self, order: Order, track: OrderTrack) -> PlaceAck:
        inst = self.instruments[order.symbol]
        res = await self.rest.place_order(order_fields(order, inst, track.venue_client_id))
        return PlaceAck(str(res.get("orderID", "")))

    async def cancel(self, track: OrderTrack) -> None:
        rows = await self.rest.cancel_order(track.venue_client_id)
        for row in rows:
            err = row.get("error")
            if err:  # BitMEX answers 200 with the order and why it could not be canceled
                raise VenueError(f"BitMEX cancel {track.venue_client_id}: {err}", str(err))

    async def amend(self, track: OrderTrack, qty: float | None, price: float | None) -> None:
        inst = self.instruments.get(track.symbol)
        if inst is None:
            raise VenueError(f"unknown BitMEX instrument {track.symbol}", "Unknown symbol")
        fields: dict[str, Any] = {"origClOrdID": track.venue_client_id}
        if qty is not None:
            fields["orderQty"] = Decimal(inst.format_qty(qty))
        if price is not None:
            fields["price"] = Decimal(inst.format_price(price))
        await self.rest.amend_order(fields)

    async def fetch_order(self, track: OrderTrack) -> OrderReport:
        rows = await self.rest.orders({"clOrdID": track.venue_client_id},
                                      self.native_symbol(track.symbol), count=1)  # fmt: skip
        if not rows:
            raise VenueError(f"BitMEX: no order {track.venue_client_id}", C.NOT_FOUND)
        return P.parse_order(rows[0], self.now_ns(), track.client_order_id)

    async def fetch_fills(self, track: OrderTrack) -> list[Fill]:
        rows = await self.rest.all_executions({"orderID": track.venue_order_id})
        now = self.now_ns()
        out = []
        for r in rows:
            fill = P.parse_execution(r, now, track.client_order_id)
            if fill is not None:
                out.append(fill)
        return out
