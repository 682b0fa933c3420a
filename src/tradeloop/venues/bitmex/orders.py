"""BitMEX's side of the order lifecycle: the :class:`~tradeloop.venues.execution.VenueHooks`.

Only BitMEX knowledge lives here -- place / amend / cancel / look up over ``/api/v1/order`` by
``clOrdID``, the order fields BitMEX wants (``orderQty`` in contracts, ``execInst`` for
post-only and reduce-only), and what its error texts mean. ``clOrdID`` is the idempotency key:
a retried placement that meets the first attempt's order is answered "Duplicate clOrdID",
which the lifecycle resolves by looking the order up.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from tradeloop.core.errors import RateLimited, VenueError
from tradeloop.model import Fill, Instrument, Order, OrderReport, OrderType, TimeInForce
from tradeloop.venues.bitmex import constants as C
from tradeloop.venues.bitmex import parse as P
from tradeloop.venues.bitmex.rest import BitmexRestClient
from tradeloop.venues.execution import (
    ErrorKind,
    ErrorTable,
    ListedHooks,
    OrderTrack,
    PlaceAck,
    Verdict,
    stable_client_id,
)

_CL_ORD_ID = re.compile(r"[A-Za-z0-9_.:/+=-]{1,36}")
TIF = {
    TimeInForce.GTC: "GoodTillCancel",
    TimeInForce.IOC: "ImmediateOrCancel",
    TimeInForce.FOK: "FillOrKill",
    TimeInForce.POST_ONLY: "GoodTillCancel",
}
#: BitMEX's messages are its codes; refusal reasons match as prefixes.
ERRORS = ErrorTable(
    {C.DUPLICATE_ID: ErrorKind.DUPLICATE_ID, C.NOT_FOUND: ErrorKind.NOT_FOUND},
    C.REJECT_REASONS,
    prefix=True,
)
#: message prefixes the exact-code table cannot hold (the messages go on with details)
_PREFIX_KINDS = (
    ((C.CANCEL_STATE, C.INVALID_STATUS), ErrorKind.FINISHED),
    ((C.OVERLOADED,), ErrorKind.TRANSIENT),  # the request did not reach the engine
)


def classify(exc: VenueError) -> Verdict:
    """What a BitMEX error means for the order it was about (see ``ErrorKind``): the kit's
    table, after the prefixes that say "already finished" or "overloaded, not run"."""
    if not isinstance(exc, RateLimited) and exc.code not in ERRORS.kinds:
        kind = next((k for texts, k in _PREFIX_KINDS if exc.code.startswith(texts)), None)
        if kind is not None:
            return Verdict(kind)
    return ERRORS.classify(exc)


def bitmex_client_id(client_order_id: str) -> str:
    """BitMEX takes a clOrdID of up to 36 characters; longer or odd ids map to the kit's
    stable hash (stable so a restarted process finds its orders again)."""
    return stable_client_id(client_order_id, _CL_ORD_ID.fullmatch)


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


class BitmexOrderHooks(ListedHooks):
    """BitMEX REST order requests for the lifecycle over the gateway's instruments (by id)."""

    venue = C.VENUE
    ids = P.IDS
    errors = ERRORS
    client_ids = _CL_ORD_ID
    rest: BitmexRestClient

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
        return P.parse_executions(rows, self.now_ns(), lambda _: track.client_order_id)
