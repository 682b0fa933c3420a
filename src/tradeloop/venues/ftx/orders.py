"""FTX's side of the order lifecycle: the kit's :class:`~tradeloop.venues.execution.VenueHooks`.

Only FTX knowledge: place / cancel / look up over ``/api/orders`` by ``clientId``, FTX's order
fields, and what its error texts mean. When to retry and what to tell the engine is the
lifecycle's business (:mod:`tradeloop.venues.execution`).

Amend is refused without a request: FTX's ``/orders/{id}/modify`` cancels the order and places
a new one under a new id (its docs warn both may fill), which breaks the one-order, one-id
identity every report relies on. The engine gets the kit's ``amend failed`` report and can
re-price by cancel + place.
"""

from __future__ import annotations

import re
from decimal import Decimal

from tradeloop.core.errors import VenueError
from tradeloop.model import Fill, InstrumentKind, Order, OrderReport
from tradeloop.model.enums import FOK, IOC, MARKET, POST_ONLY
from tradeloop.venues.execution import (
    ErrorKind,
    ErrorTable,
    ListedHooks,
    OrderTrack,
    PlaceAck,
    spend_size,
    stable_client_id,
)
from tradeloop.venues.ftx import constants as C
from tradeloop.venues.ftx import parse as P
from tradeloop.venues.ftx.rest import FtxRestClient

_PLAIN_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
#: FTX's error texts are its codes; refusal reasons match as prefixes ("No such market: X").
ERRORS = ErrorTable(
    {
        C.DUPLICATE_ID: ErrorKind.DUPLICATE_ID,
        C.NOT_FOUND: ErrorKind.NOT_FOUND,
        C.ALREADY_CLOSED: ErrorKind.FINISHED,
    },
    C.REJECT_REASONS,
    prefix=True,
)


#: What an FTX error means for the order it was about.
classify = ERRORS.classify


def ftx_client_id(client_order_id: str) -> str:
    """FTX takes clientIds up to 64 characters; others map to the kit's stable hash."""
    return stable_client_id(client_order_id, _PLAIN_ID.fullmatch)


class FtxOrderHooks(ListedHooks):
    """FTX REST order requests for the lifecycle over the gateway's instruments (by id)."""

    venue = C.VENUE
    ids = P.IDS
    errors = ERRORS
    client_ids = _PLAIN_ID
    rest: FtxRestClient

    async def place(self, order: Order, track: OrderTrack) -> PlaceAck:
        inst = self.instruments[order.symbol]  # the lifecycle checked it is listed
        if order.tif is FOK:
            raise VenueError("FTX has no fill-or-kill orders", "Invalid parameter type")
        spot = inst.kind is InstrumentKind.SPOT
        price = None if order.order_type is MARKET else Decimal(inst.format_price(order.price))
        if spot and order.order_type is MARKET and order.quote_qty > 0:
            # FTX sizes orders in the base currency: priced at the best ask, fresh from REST
            asks = (await self.rest.orderbook(inst.native, 1)).get("asks") or [[0.0]]
            size = Decimal(spend_size(inst, order.quote_qty, asks[0][0], "Size too small"))
        else:
            size = Decimal(inst.format_qty(order.qty))
        reduce, ioc, post = order.reduce_only and not spot, order.tif is IOC, order.tif is POST_ONLY
        res = await self.rest.place_order(
            inst.native,
            order.side.value,
            size,
            price,
            track.venue_client_id,
            reduceOnly=reduce,
            ioc=ioc,
            postOnly=post,
        )
        self.order_ids.remember(str(res["id"]), track.venue_client_id)
        return PlaceAck(str(res["id"]))

    async def cancel(self, track: OrderTrack) -> None:
        await self.rest.cancel_by_client_id(track.venue_client_id)

    async def amend(self, track: OrderTrack, qty: float | None, price: float | None) -> None:
        why = "FTX cannot amend in place (its modify re-places the order under a new id)"
        raise VenueError(why + "; cancel and place instead", C.AMEND_UNSUPPORTED)

    async def fetch_order(self, track: OrderTrack) -> OrderReport:
        d = await self.rest.order_by_client_id(track.venue_client_id)
        self.order_ids.remember(str(d["id"]), track.venue_client_id)
        return P.parse_order(d, self.now_ns(), track.client_order_id)

    async def fetch_fills(self, track: OrderTrack) -> list[Fill]:
        rows = await self.rest.fills(self.native_symbol(track.symbol), track.venue_order_id)
        now = self.now_ns()
        return [P.parse_fill(r, now, track.client_order_id) for r in reversed(rows)]
