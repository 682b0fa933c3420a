"""OKX's side of the order lifecycle: the :class:`~tradeloop.venues.execution.VenueHooks`.

Only OKX knowledge lives here — place/cancel/amend/lookup over ``/api/v5/trade/*`` by
``clOrdId``, the order fields OKX wants, its clOrdId alphabet, and what its error codes mean.
When to retry, what to tell the engine and in which order is the lifecycle's business
(:mod:`tradeloop.venues.execution`). Trigger orders go to OKX's algo endpoints and brackets
carry ``attachAlgoOrds`` (:mod:`tradeloop.venues.okx.algo`); a track is an algo order's when
the :class:`~tradeloop.venues.okx.algo.AlgoBook` knows its client id.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from tradeloop.core.errors import VenueError
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
from tradeloop.venues.execution import (
    ErrorKind,
    ErrorTable,
    OrderTrack,
    PlaceAck,
    VenueHooks,
    Verdict,
    stable_client_id,
)
from tradeloop.venues.okx import constants as C
from tradeloop.venues.okx import parse as P
from tradeloop.venues.okx.algo import AlgoBook, OkxAlgoOrders, attach_params
from tradeloop.venues.okx.rest import OkxRestClient, is_valid_client_order_id
from tradeloop.venues.paging import page_all

_FILLS_PAGE = 100


def bill_cursor(page: Sequence[Mapping[str, Any]]) -> str | None:
    """Where the page after a full ``/trade/fills`` page starts: its last (oldest) billId."""
    return str(page[-1]["billId"]) if page[-1].get("billId") else None


#: OKX's codes for the kit's classifier (a 51016 inside an UnknownOutcome still means the
#: order exists).
ERRORS = ErrorTable(
    {
        C.DUPLICATE_CLORDID: ErrorKind.DUPLICATE_ID,
        C.ORDER_NOT_FOUND: ErrorKind.NOT_FOUND,
        **dict.fromkeys(C.ORDER_FINISHED_CODES, ErrorKind.FINISHED),
    },
    C.REJECT_REASONS,
)


def reject_reason(exc: VenueError) -> RejectReason:
    """The typed reason behind an OKX refusal: transient (rate limit, busy, 5xx) or not."""
    return ERRORS.reason(exc)


def classify(exc: VenueError) -> Verdict:
    """What an OKX error means for the order it was about (see ``ErrorKind``)."""
    return ERRORS.classify(exc)


def okx_client_id(client_order_id: str) -> str:
    """OKX wants clOrdId = 1–32 alphanumerics; other ids map to the kit's stable hash."""
    return stable_client_id(client_order_id, is_valid_client_order_id)


def order_params(
    order: Order,
    inst: Instrument,
    okx_id: str,
    spot_td_mode: str = "cash",
    derivative_td_mode: str = "cross",
) -> dict[str, Any]:
    """OKX place-order fields for a tradeloop order (wire strings via the Instrument; the
    native instId on the wire)."""
    spot = inst.kind is InstrumentKind.SPOT
    p: dict[str, Any] = {
        "inst_id": inst.native,
        "side": order.side.value,
        "td_mode": spot_td_mode if spot else derivative_td_mode,
        "cl_ord_id": okx_id,
    }
    if order.order_type is OrderType.MARKET:
        p["ord_type"] = "market"
    else:
        p["ord_type"] = {
            TimeInForce.GTC: "limit",
            TimeInForce.IOC: "ioc",
            TimeInForce.FOK: "fok",
            TimeInForce.POST_ONLY: "post_only",
        }[order.tif]
        p["px"] = inst.format_price(order.price)
    if spot and order.order_type is OrderType.MARKET and order.quote_qty > 0:
        p["sz"] = inst.format_quote(order.quote_qty)
        p["tgt_ccy"] = "quote_ccy"
    else:
        p["sz"] = inst.format_qty(order.qty)
        if spot and order.order_type is OrderType.MARKET:
            p["tgt_ccy"] = "base_ccy"
    if not spot and order.reduce_only:
        p["reduce_only"] = True
    return p


class OkxOrderHooks(VenueHooks):
    """OKX REST order requests for the lifecycle. ``instruments`` is the gateway's own dict
    (keyed by id, filled by ``load_instruments``); ``streaming`` says whether the private
    ``orders`` channel is up; ``algo_ready`` is awaited before algo requests (the gateway
    subscribes to ``orders-algo`` on first use) and ``algos`` is the gateway's algo book."""

    venue = C.VENUE

    def __init__(
        self,
        rest: OkxRestClient,
        instruments: Mapping[str, Instrument],
        streaming: Callable[[], bool],
        *,
        spot_td_mode: str = "cash",
        derivative_td_mode: str = "cross",
        now_ns: Callable[[], int] = time.time_ns,
        algos: AlgoBook | None = None,
        algo_ready: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.rest = rest
        self.algo_book = algos if algos is not None else AlgoBook()
        self.algos = OkxAlgoOrders(rest, self.algo_book, algo_ready, now_ns)
        self.instruments = instruments
        self._streaming = streaming
        self.spot_td_mode = spot_td_mode
        self.derivative_td_mode = derivative_td_mode
        self.now_ns = now_ns

    # -- ids ------------------------------------------------------------------------------
    def instrument(self, symbol: str) -> Instrument | None:
        return self.instruments.get(symbol)

    def venue_client_id(self, client_order_id: str) -> str:
        return okx_client_id(client_order_id)

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
    def order_params(self, order: Order, inst: Instrument, okx_id: str) -> dict[str, Any]:
        return order_params(order, inst, okx_id, self.spot_td_mode, self.derivative_td_mode)

    def td_mode(self, inst: Instrument) -> str:
        spot = inst.kind is InstrumentKind.SPOT
        return self.spot_td_mode if spot else self.derivative_td_mode

    def is_algo(self, track: OrderTrack) -> bool:
        return self.algo_book.get(track.venue_client_id) is not None

    async def place(self, order: Order, track: OrderTrack) -> PlaceAck:
        inst = self.instruments[order.symbol]  # the lifecycle checked it is there
        if order.trigger is not None:
            vcid = track.venue_client_id
            return PlaceAck(await self.algos.place(order, inst, vcid, self.td_mode(inst)))
        params = self.order_params(order, inst, track.venue_client_id)
        if order.attached is not None:
            await self.algos.ready()  # the attachment's news comes on orders-algo
            child = order.attached
            attach = attach_params(child, inst, okx_client_id(child.client_order_id))
            params["extra"] = {"attachAlgoOrds": [attach]}
        res = await self.rest.place_order(**params)
        return PlaceAck(str(res.get("ordId", "")), existing=isinstance(res.get("existing"), dict))

    async def cancel(self, track: OrderTrack) -> None:
        if self.is_algo(track):
            await self.algos.cancel(track)
            return
        inst_id = self.native_symbol(track.symbol)
        await self.rest.cancel_order(inst_id, cl_ord_id=track.venue_client_id)

    async def amend(self, track: OrderTrack, qty: float | None, price: float | None) -> None:
        if self.is_algo(track):
            raise VenueError("amending OKX algo orders is not supported: cancel and place "
                             "a new one")  # fmt: skip
        inst = self.instruments.get(track.symbol)
        if inst is None:
            raise VenueError(f"unknown OKX instrument {track.symbol}", C.INSTRUMENT_NOT_FOUND)
        await self.rest.amend_order(
            inst.native,
            cl_ord_id=track.venue_client_id,
            new_sz=inst.format_qty(qty) if qty is not None else None,
            new_px=inst.format_price(price) if price is not None else None,
        )

    async def fetch_order(self, track: OrderTrack) -> OrderReport:
        """By clOrdId; an order this process did not place (a restart) that OKX does not
        know as a plain order is looked for among the algo orders."""
        if self.is_algo(track):
            return await self.algos.fetch_order(track)
        inst_id = self.native_symbol(track.symbol)
        try:
            d = await self.rest.get_order(inst_id, cl_ord_id=track.venue_client_id)
        except VenueError as exc:
            if not track.adopted or classify(exc).kind is not ErrorKind.NOT_FOUND:
                raise
            try:
                return await self.algos.fetch_order(track)  # known from here on when found
            except VenueError:
                self.algo_book.forget(track.venue_client_id)
                raise exc from None
        return P.parse_order_report(d, self.now_ns(), track.client_order_id)

    async def fetch_fills(self, track: OrderTrack) -> list[Fill]:
        """Every fill of the order, paging ``/trade/fills`` (newest first) back to its first."""
        inst_id, ord_id = self.native_symbol(track.symbol), track.venue_order_id
        rows = await page_all(
            lambda after: self.rest.fills(inst_id=inst_id, ord_id=ord_id, after=after),
            bill_cursor,
            limit=_FILLS_PAGE,
        )
        now = self.now_ns()
        return [P.parse_fill_row(r, now, track.client_order_id) for r in reversed(rows)]
