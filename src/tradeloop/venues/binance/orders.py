"""Binance's side of the order lifecycle: the :class:`~tradeloop.venues.execution.VenueHooks`.

Orders go over the WS API session when it is up (one round trip on an open socket, no new
TLS/HTTP request), else over REST; lookups and fills use REST. Everything is keyed by
``newClientOrderId`` / ``origClientOrderId``. Binance only refuses a *duplicate* client id
while the first order is still open (``-2010 Duplicate order sent.``), so the lifecycle's
idempotency relies on looking an order up before re-sending it -- which it does: a placement
in doubt is resolved by ``GET /api/v3/order?origClientOrderId=`` and never blindly re-sent.

Binance spot cannot amend size or price in place; :meth:`amend` raises a permanent error (the
engine cancels and re-places instead).

USD-M perpetuals (instruments of kind SWAP, :mod:`.futures`) are placed, canceled and amended
over the futures WS API (``/ws-fapi/v1``: ``order.place``, ``order.cancel``, ``order.modify``)
when that session is up, else over the futures host's REST (``/fapi/v1/order``) -- the same
choice, made by the same :meth:`BinanceOrderHooks._send`, as for spot; lookups and fills use
``/fapi`` REST. Never the spot WS API.

Trigger orders: a spot STOP / TAKE_PROFIT trigger is Binance's ``STOP_LOSS(_LIMIT)`` /
``TAKE_PROFIT(_LIMIT)`` with ``stopPrice`` (same ids, same lookups). Everything else that
would trade differently from what it looks like -- trailing and OCO triggers, brackets, and
any trigger on a perpetual (Binance takes those through its Algo Order API, whose ids and
events differ) -- is refused before it is sent, permanently: sent as a plain order, a stop
would trade at once.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Mapping
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
from tradeloop.model.enums import TriggerKind
from tradeloop.venues.binance import constants as C
from tradeloop.venues.binance import futures as F
from tradeloop.venues.binance import parse as P
from tradeloop.venues.binance.rest import BinanceRestClient
from tradeloop.venues.execution import ErrorKind, ListedHooks, OrderTrack, PlaceAck, Verdict
from tradeloop.venues.execution.errors import stable_client_id
from tradeloop.venues.http import outcome_unknown
from tradeloop.venues.parsing import VenueIds

_CLIENT_ID = re.compile(r"[.A-Z:/a-z0-9_-]{1,36}")
#: sends a WS API request (method, params) and returns its ``result``; None: session down
WsCall = Callable[[str, dict[str, Any]], Awaitable[Any]] | None


def binance_client_id(client_order_id: str) -> str:
    """Binance takes ``^[.A-Z:/a-z0-9_-]{1,36}$``; other ids map to the kit's stable hash."""
    return stable_client_id(client_order_id, _CLIENT_ID.fullmatch)


def classify(exc: VenueError) -> Verdict:
    code, text = exc.code, str(exc)
    if isinstance(exc, RateLimited) or code in (C.TOO_MANY_REQUESTS, C.TOO_MANY_ORDERS):
        return Verdict(ErrorKind.RATE_LIMITED, retry_after=getattr(exc, "retry_after", 0.0))
    if (code == C.NEW_ORDER_REJECTED and C.DUPLICATE_ORDER_MSG in text) or (
        code == C.F_DUPLICATE_ID
    ):
        return Verdict(ErrorKind.DUPLICATE_ID)
    if code == C.NO_SUCH_ORDER or (code == C.CANCEL_REJECTED and "Unknown order" in text):
        return Verdict(ErrorKind.NOT_FOUND)
    if code == C.TIMEOUT or outcome_unknown(exc):
        return Verdict(ErrorKind.UNKNOWN_OUTCOME)
    if code == C.INVALID_TIMESTAMP:
        return Verdict(ErrorKind.TRANSIENT)
    if code == C.NEW_ORDER_REJECTED:
        if C.INSUFFICIENT_MSG in text:
            return Verdict(ErrorKind.PERMANENT, RejectReason.INSUFFICIENT_FUNDS)
        if C.WOULD_TAKE_MSG in text:
            return Verdict(ErrorKind.PERMANENT, RejectReason.POST_ONLY_WOULD_TAKE)
    if code in C.FUTURES_REFUSALS:
        return Verdict(ErrorKind.PERMANENT, C.FUTURES_REFUSALS[code])
    if code == C.FILTER_FAILURE:
        reason = RejectReason.INVALID_PRICE if "PRICE" in text else RejectReason.INVALID_SIZE
        return Verdict(ErrorKind.PERMANENT, reason)
    return Verdict(ErrorKind.PERMANENT, C.REJECT_REASONS.get(code, RejectReason.OTHER))


def _refuse_unsupported(order: Order, inst: Instrument) -> None:
    """The orders the connector cannot express (module docstring): permanent, never sent."""
    t = order.trigger
    if order.attached is not None:
        raise VenueError("brackets (attached orders) are not supported by the Binance "
                         "connector", "unsupported order type")  # fmt: skip
    if t is not None and (inst.is_derivative or t.kind not in _STOP_TYPES):
        what = "perpetuals" if inst.is_derivative else f"{t.kind.value} triggers"
        raise VenueError(f"trigger orders on {what} are not supported by the Binance connector",
                         "unsupported order type")  # fmt: skip


_STOP_TYPES = {TriggerKind.STOP: "STOP_LOSS", TriggerKind.TAKE_PROFIT: "TAKE_PROFIT"}


def order_params(order: Order, inst: Instrument, client_id: str) -> dict[str, Any]:
    """``order.place`` / ``POST /api/v3/order`` fields (exact decimal strings)."""
    _refuse_unsupported(order, inst)
    p: dict[str, Any] = {
        "symbol": inst.native,
        "side": "BUY" if order.side.value == "buy" else "SELL",
        "newClientOrderId": client_id,
        "newOrderRespType": "RESULT",
    }
    if order.trigger is not None:
        stop = _STOP_TYPES[order.trigger.kind]
        p["stopPrice"] = inst.format_price(order.trigger.price)
        if Decimal(p["stopPrice"]) <= 0:  # a stop at 0 would never fire: not sent
            raise VenueError(f"Filter failure: PRICE_FILTER (stop price {order.trigger.price!r}"
                             f" is below the tick {inst.tick_size!r}; not sent)",
                             C.FILTER_FAILURE)  # fmt: skip
        p["quantity"] = inst.format_qty(order.qty)
        if order.order_type is OrderType.MARKET:
            p["type"] = stop
            return p
        p["type"] = stop + "_LIMIT"
        p["price"] = inst.format_price(order.price)
        p["timeInForce"] = {TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK"}.get(order.tif, "GTC")
        return p
    if order.order_type is OrderType.MARKET:
        p["type"] = "MARKET"
        if order.quote_qty > 0 and order.side.value == "buy":
            p["quoteOrderQty"] = inst.format_quote(order.quote_qty)
        else:
            p["quantity"] = inst.format_qty(order.qty)
        return p
    p["quantity"] = inst.format_qty(order.qty)
    p["price"] = inst.format_price(order.price)
    if order.tif is TimeInForce.POST_ONLY:
        p["type"] = "LIMIT_MAKER"
    else:
        p["type"] = "LIMIT"
        p["timeInForce"] = {TimeInForce.IOC: "IOC", TimeInForce.FOK: "FOK"}.get(order.tif, "GTC")
    return p


class BinanceOrderHooks(ListedHooks):
    """The kit's identity hooks (instrument lookup, client ids, ``BTCUSDT.BINANCE`` ids,
    streaming); Binance's own: perpetuals' wire symbols, its error codes, and the requests."""

    venue = C.VENUE
    ids = VenueIds(C.VENUE)
    client_ids = _CLIENT_ID

    def __init__(
        self,
        rest: BinanceRestClient,
        instruments: Mapping[str, Instrument],
        streaming: Callable[[], bool],
        ws_call: Callable[[], WsCall],
        now_ns: Callable[[], int] = time.time_ns,
        frest: BinanceRestClient | None = None,
        fws_call: Callable[[], WsCall] = lambda: None,
    ) -> None:
        super().__init__(rest, instruments, streaming, now_ns)
        self.rest: BinanceRestClient = rest
        #: the USD-M futures host's client (None: spot only)
        self.frest = frest
        self._ws_call = ws_call
        #: the futures WS API session's call (None while it is down)
        self._fws_call = fws_call

    def native_symbol(self, symbol: str) -> str:
        # a perpetual's native ``BTCUSDT-PERP`` goes on the wire as ``BTCUSDT``
        return F.wire(super().native_symbol(symbol))

    def _futures(self, symbol: str) -> BinanceRestClient | None:
        """The futures client when ``symbol`` is a perpetual."""
        inst = self.instruments.get(symbol)
        if inst is None or not inst.is_derivative:
            return None
        if self.frest is None:
            raise VenueError(f"{symbol}: no USD-M futures client", "no-futures")
        return self.frest

    def classify(self, exc: VenueError) -> Verdict:
        return classify(exc)

    async def _send(self, symbol: str, method: str, rest_method: str, p: dict[str, Any]) -> Any:
        """One order write: over the market's WS API session when it is up (``method``), else
        over its REST host (``rest_method`` on ``/api/v3/order`` or ``/fapi/v1/order``), never
        retried blindly (the lifecycle resolves a lost answer by client id)."""
        fut = self._futures(symbol)
        call = (self._fws_call if fut is not None else self._ws_call)()
        if call is not None:
            return await call(method, p)
        rest, path = (fut, "/fapi/v1/order") if fut is not None else (self.rest, "/api/v3/order")
        return await rest.call(rest_method, path, p, signed=True, retry_safe=False)

    async def place(self, order: Order, track: OrderTrack) -> PlaceAck:
        inst = self.instruments[order.symbol]
        if inst.is_derivative:
            _refuse_unsupported(order, inst)
            p = F.order_params(order, inst, track.venue_client_id)
        else:
            p = order_params(order, inst, track.venue_client_id)
        res = await self._send(order.symbol, "order.place", "POST", p)
        return PlaceAck(str(res.get("orderId", "")))

    async def cancel(self, track: OrderTrack) -> None:
        p = {"symbol": self.native_symbol(track.symbol), "origClientOrderId": track.venue_client_id}
        await self._send(track.symbol, "order.cancel", "DELETE", p)

    async def amend(self, track: OrderTrack, qty: float | None, price: float | None) -> None:
        """USD-M: ``order.modify`` / ``PUT /fapi/v1/order`` (price and total quantity both
        required: the one not changing is read from the order first). Spot cannot amend in
        place."""
        fut = self._futures(track.symbol)
        if fut is None:
            raise VenueError("Binance spot cannot amend an order in place", "amend-unsupported")
        inst = self.instruments[track.symbol]
        p: dict[str, Any] = {"symbol": self.native_symbol(track.symbol),
                             "origClientOrderId": track.venue_client_id}  # fmt: skip
        if qty is None or price is None:
            cur = await fut.call("GET", "/fapi/v1/order", p, signed=True)
            qty = P.f(cur.get("origQty")) if qty is None else qty
            price = P.f(cur.get("price")) if price is None else price
        p.update(side="BUY" if track.side.value == "buy" else "SELL",
                 quantity=inst.format_qty(qty), price=inst.format_price(price))  # fmt: skip
        await self._send(track.symbol, "order.modify", "PUT", p)

    async def fetch_order(self, track: OrderTrack) -> OrderReport:
        p = {"symbol": self.native_symbol(track.symbol), "origClientOrderId": track.venue_client_id}
        fut = self._futures(track.symbol)
        if fut is not None:
            d = await fut.call("GET", "/fapi/v1/order", p, signed=True)
            return F.parse_order(d, self.now_ns(), track.client_order_id)
        d = await self.rest.call("GET", "/api/v3/order", p, signed=True)
        return P.parse_order(d, self.now_ns(), track.client_order_id)

    async def fetch_fills(self, track: OrderTrack) -> list[Fill]:
        p = {"symbol": self.native_symbol(track.symbol), "orderId": track.venue_order_id}
        fut = self._futures(track.symbol)
        if fut is not None:
            rows = await fut.call("GET", "/fapi/v1/userTrades", p, signed=True)
            return [F.fill_from_trade(r, track.client_order_id) for r in rows]
        rows = await self.rest.call("GET", "/api/v3/myTrades", p, signed=True)
        return [P.fill_from_trade(r, track.client_order_id) for r in rows]
