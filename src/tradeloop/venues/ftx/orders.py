"""FTX's side of the order lifecycle: the :class:`~tradeloop.venues.execution.VenueHooks`.

Only FTX knowledge lives here — place / cancel / look up over ``/api/orders`` by ``clientId``,
the order fields FTX wants, and what its error texts mean. When to retry, what to tell the
engine and in which order is the lifecycle's business (:mod:`tradeloop.venues.execution`).

Amend is refused without a request: FTX's ``/orders/{id}/modify`` cancels the order and places
a new one under a new order id (its docs warn both can fill), which breaks the one-order,
one-id contract every report relies on. The engine gets the kit's ``amend failed`` report;
a strategy re-prices by cancel + place.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from decimal import Decimal

from tradeloop.core.errors import RateLimited, VenueError
from tradeloop.model import (
    Fill,
    Instrument,
    InstrumentKind,
    Order,
    OrderReport,
    OrderType,
    RejectReason,
    TimeInForce,
)
from tradeloop.venues.execution import ErrorKind, OrderTrack, PlaceAck, VenueHooks, Verdict
from tradeloop.venues.ftx import constants as C
from tradeloop.venues.ftx import parse as P
from tradeloop.venues.ftx.rest import FtxRestClient
from tradeloop.venues.http import outcome_unknown

_CLIENT_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
#: venue order ids remembered for routing ``fills`` pushes (which carry no clientId)
MAX_ORDER_IDS = 20_000


def reject_reason(code: str) -> RejectReason:
    """The typed reason behind an FTX refusal text (``No such market: X`` by its prefix)."""
    for text, reason in C.REJECT_REASONS.items():
        if code.startswith(text):
            return reason
    return RejectReason.OTHER


def classify(exc: VenueError) -> Verdict:
    """What an FTX error means for the order it was about (see ``ErrorKind``)."""
    code = exc.code
    if isinstance(exc, RateLimited):
        return Verdict(ErrorKind.RATE_LIMITED, retry_after=exc.retry_after)
    if code == C.DUPLICATE_ID:  # an earlier attempt of this placement landed
        return Verdict(ErrorKind.DUPLICATE_ID)
    if code == C.NOT_FOUND:
        return Verdict(ErrorKind.NOT_FOUND)
    if code == C.ALREADY_CLOSED:
        return Verdict(ErrorKind.FINISHED)
    if outcome_unknown(exc):  # timeout, dropped connection, 5xx, "Please retry request"
        return Verdict(ErrorKind.UNKNOWN_OUTCOME)
    if exc.retryable:
        return Verdict(ErrorKind.TRANSIENT)
    return Verdict(ErrorKind.PERMANENT, reject_reason(code))


def ftx_client_id(client_order_id: str) -> str:
    """FTX takes any clientId up to 64 characters; ids outside a plain alphabet map to a
    stable hash (stable so a restarted process finds its orders again)."""
    if _CLIENT_ID.fullmatch(client_order_id):
        return client_order_id
    return "tl" + hashlib.sha1(client_order_id.encode()).hexdigest()[:30]


class FtxOrderHooks(VenueHooks):
    """FTX REST order requests for the lifecycle. ``instruments`` is the gateway's dict (by
    id); ``streaming`` says whether the private socket is up; :attr:`order_ids` maps venue
    order ids to clientIds (bounded), for pushes that name only the order id."""

    venue = C.VENUE

    def __init__(
        self,
        rest: FtxRestClient,
        instruments: Mapping[str, Instrument],
        streaming: Callable[[], bool],
        now_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.rest = rest
        self.instruments = instruments
        self._streaming = streaming
        self.now_ns = now_ns
        self.order_ids: OrderedDict[str, str] = OrderedDict()

    def remember(self, venue_order_id: str, venue_client_id: str) -> None:
        if venue_order_id and venue_client_id:
            self.order_ids[venue_order_id] = venue_client_id
            if len(self.order_ids) > MAX_ORDER_IDS:
                self.order_ids.popitem(last=False)

    # -- ids ------------------------------------------------------------------------------
    def instrument(self, symbol: str) -> Instrument | None:
        return self.instruments.get(symbol)

    def venue_client_id(self, client_order_id: str) -> str:
        return ftx_client_id(client_order_id)

    def native_symbol(self, symbol: str) -> str:
        inst = self.instruments.get(symbol)
        return inst.native if inst is not None else P.native(symbol)

    def symbol_id(self, native: str) -> str:
        return P.symbol_id(native)

    def streaming(self) -> bool:
        return self._streaming()

    def classify(self, exc: VenueError) -> Verdict:
        return classify(exc)

    # -- requests -------------------------------------------------------------------------
    async def place(self, order: Order, track: OrderTrack) -> PlaceAck:
        inst = self.instruments[order.symbol]  # the lifecycle checked it is there
        if order.tif is TimeInForce.FOK:
            raise VenueError("FTX has no fill-or-kill orders", "Invalid parameter type")
        price = None
        if order.order_type is OrderType.LIMIT:
            price = Decimal(inst.format_price(order.price))
        spot = inst.kind is InstrumentKind.SPOT
        if spot and order.order_type is OrderType.MARKET and order.quote_qty > 0:
            size = await self._size_for_spend(inst, order.quote_qty)
        else:
            size = Decimal(inst.format_qty(order.qty))
        res = await self.rest.place_order(
            inst.native, order.side.value, size, price, track.venue_client_id,
            reduce_only=order.reduce_only and not spot,
            ioc=order.tif is TimeInForce.IOC,
            post_only=order.tif is TimeInForce.POST_ONLY,
        )  # fmt: skip
        oid = str(res.get("id") or "")
        self.remember(oid, track.venue_client_id)
        return PlaceAck(oid)

    async def _size_for_spend(self, inst: Instrument, spend: float) -> Decimal:
        """FTX sizes every order in the base currency: a "spend this much" market buy is
        sized at the best ask (fresh from REST), floored to the lot."""
        asks = (await self.rest.orderbook(inst.native, 1)).get("asks") or []
        if not asks:
            raise VenueError(f"no ask to size a {spend} spend on {inst.native}", "Size too small")
        size = Decimal(inst.format_qty(spend / float(asks[0][0])))
        if not size:
            raise VenueError(f"{spend} buys less than a lot of {inst.native}", "Size too small")
        return size

    async def cancel(self, track: OrderTrack) -> None:
        await self.rest.cancel_by_client_id(track.venue_client_id)

    async def amend(self, track: OrderTrack, qty: float | None, price: float | None) -> None:
        raise VenueError(
            "FTX cannot amend in place (its modify re-places the order under a new id); "
            "cancel and place instead",
            C.AMEND_UNSUPPORTED,
        )

    async def fetch_order(self, track: OrderTrack) -> OrderReport:
        d = await self.rest.order_by_client_id(track.venue_client_id)
        report = P.parse_order(d, self.now_ns(), track.client_order_id)
        self.remember(report.venue_order_id, track.venue_client_id)
        return report

    async def fetch_fills(self, track: OrderTrack) -> list[Fill]:
        market = self.native_symbol(track.symbol)
        rows = await self.rest.all_fills(market, track.venue_order_id)
        now = self.now_ns()
        return [P.parse_fill(r, now, track.client_order_id) for r in reversed(rows)]
