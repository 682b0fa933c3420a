"""Bitfinex's side of the order lifecycle: the kit's
:class:`~tradeloop.venues.execution.VenueHooks`.

Orders go over the authenticated WebSocket (channel 0: ``on`` / ``oc`` / ``ou``, answered by an
``n`` notification), as the seed script trades; when that socket is down they go over REST
(``w/order/submit`` ...). The client key is Bitfinex's ``cid`` (an integer) plus ``cid_date``
(the UTC day the order was placed): a tradeloop client id maps to a stable cid (digits as they
are, anything else hashed to 45 bits), so a restarted process finds its orders again.

Bitfinex does not refuse a repeated cid, so a placement is never blindly re-sent: a lost answer
is an unknown outcome that the lifecycle resolves by looking the cid up (open orders, then
history) -- never two orders for one client id.

Trigger orders (stop, stop-limit, trailing, OCO) map to Bitfinex's types in
:mod:`~tradeloop.venues.bitfinex.triggers`; an OCO is two venue orders under one cid, looked up
together. Leverage on perpetuals is per order on Bitfinex (``lev``): :meth:`set_leverage`
stores it and every later order on that perpetual carries it. Brackets (``Order.attached``)
are refused: Bitfinex has no order that places another when it fills.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from tradeloop.core.errors import RateLimited, VenueError
from tradeloop.model import Fill, Instrument, InstrumentKind, Order, OrderReport, RejectReason
from tradeloop.model.enums import FOK, IOC, MARKET, POST_ONLY
from tradeloop.venues.bitfinex import constants as C
from tradeloop.venues.bitfinex import parse as P
from tradeloop.venues.bitfinex import triggers as T
from tradeloop.venues.bitfinex.rest import BitfinexRestClient
from tradeloop.venues.bitfinex.ws import BitfinexStream
from tradeloop.venues.execution import (
    ErrorKind,
    ListedHooks,
    OrderIds,
    OrderTrack,
    PlaceAck,
    Verdict,
    spend_size,
)
from tradeloop.venues.http import outcome_unknown

MAX_CID = 2**45
MAX_LEV = 100
UNSUPPORTED = T.UNSUPPORTED
MAX_REMEMBERED = 20_000
NOT_FOUND = "not_found"  # our code for "no order under that cid/id"
MIN_SIZE = "minimum size"  # our code for "spends less than a lot"


def bitfinex_cid(client_order_id: str) -> str:
    """A tradeloop client id as Bitfinex's integer ``cid`` (as text)."""
    if client_order_id.isdigit() and 0 < int(client_order_id) < MAX_CID:
        return str(int(client_order_id))
    digest = int(hashlib.sha1(client_order_id.encode()).hexdigest()[:16], 16)
    return str(digest % (MAX_CID - 1) + 1)


def day(ms: float | None = None) -> str:
    t = time.time() if ms is None else ms / 1000
    return datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%d")


def reject_reason(text: str) -> RejectReason:
    low = text.lower()
    return next((r for t, r in C.REJECT_REASONS.items() if t in low), RejectReason.OTHER)


def classify(exc: VenueError) -> Verdict:
    """What a Bitfinex error means for the order it was about."""
    if isinstance(exc, RateLimited):
        return Verdict(ErrorKind.RATE_LIMITED, retry_after=exc.retry_after)
    code = exc.code.lower()
    if code == NOT_FOUND or "not found" in code:
        return Verdict(ErrorKind.NOT_FOUND)
    if exc.code in (C.ERR_NONCE, C.ERR_MAINTENANCE) or code == "maintenance":
        return Verdict(ErrorKind.TRANSIENT)  # refused before it ran
    if outcome_unknown(exc):
        return Verdict(ErrorKind.UNKNOWN_OUTCOME)
    return Verdict(ErrorKind.PERMANENT, reject_reason(exc.code))


def order_type(order: Order, inst: Instrument) -> tuple[str, int]:
    """(Bitfinex type, flags) for an order: ``EXCHANGE`` types on spot, margin types on
    derivatives; post-only is LIMIT + flag 4096, reduce-only flag 1024."""
    if order.order_type is MARKET:
        kind = "MARKET"
    else:
        kind = {FOK: "FOK", IOC: "IOC"}.get(order.tif, "LIMIT")
    flags = C.FLAG_POST_ONLY if order.tif is POST_ONLY and order.order_type is not MARKET else 0
    spot = inst.kind is InstrumentKind.SPOT
    if order.reduce_only and not spot:
        flags |= C.FLAG_REDUCE_ONLY
    return ("EXCHANGE " + kind if spot else kind), flags


class BitfinexOrderHooks(ListedHooks):
    """Order requests for the lifecycle: channel 0 when the private socket is up, else REST.
    Identity hooks are the kit's, but for the client id (Bitfinex's integer ``cid``) and the
    error reading (Bitfinex's texts, matched by substring)."""

    venue = C.VENUE
    ids = P.IDS
    rest: BitfinexRestClient

    def __init__(self, rest: BitfinexRestClient, instruments: Mapping[str, Instrument],
                 private: Callable[[], BitfinexStream | None],
                 now_ns: Callable[[], int] = time.time_ns) -> None:  # fmt: skip
        super().__init__(rest, instruments, lambda: self._ws() is not None, now_ns)
        self._private = private
        #: cid -> cid_date of orders placed or seen (``order_ids``: venue order id -> cid)
        self.cid_days: OrderedDict[str, str] = OrderedDict()
        self.order_ids = OrderIds(MAX_REMEMBERED)
        #: cid -> venue order id of orders working at the venue (from ``os`` / ``on`` / ``oc``)
        self.working: dict[str, str] = {}
        self.ws_orders = self.rest_orders = 0
        #: native perpetual -> the ``lev`` its orders carry (``set_leverage``)
        self.leverage: dict[str, int] = {}
        #: venue client ids placed as OCOs (two venue orders: looked up by cid, both legs)
        self.oco_cids: set[str] = set()

    def set_leverage(self, symbol: str, level: int) -> None:
        """Leverage for a perpetual's later orders (Bitfinex sets it per order, 1-100)."""
        inst = self.instruments.get(symbol)
        if inst is None or inst.kind is InstrumentKind.SPOT:
            raise VenueError(f"{P.native(symbol)}: leverage is for perpetuals (spot trades the "
                             "exchange wallet, unleveraged)", UNSUPPORTED)  # fmt: skip
        if not 1 <= level <= MAX_LEV:
            raise VenueError(f"Bitfinex leverage is 1-{MAX_LEV}, not {level}", UNSUPPORTED)
        self.leverage[inst.native] = level

    def remember(self, cid: str, order_id: str = "", cid_day: str = "") -> None:
        if cid_day:
            self.cid_days[cid] = cid_day
            while len(self.cid_days) > MAX_REMEMBERED:
                self.cid_days.popitem(last=False)
        if order_id:
            self.order_ids.remember(order_id, cid)

    def fill_client_id(self, d: list[Any]) -> str:
        """The venue client id a trade array (``tu``, REST trades) belongs to: its CID, else
        the cid remembered for its order id."""
        oid = str(d[3])
        return str(d[11]) if len(d) > 11 and d[11] else self.order_ids.get(oid, f"id{oid}")

    def remember_row(self, d: list[Any]) -> str:
        """Note an ORDER array's ids; returns the venue client id it belongs to."""
        oid = str(d[0])
        cid = str(d[2]) if d[2] else self.order_ids.get(oid, f"id{oid}")
        self.remember(cid, oid, day(P.f(d[4])) if d[2] and d[4] else "")
        return cid

    # -- ids --------------------------------------------------------------------------------
    def venue_client_id(self, client_order_id: str) -> str:
        return bitfinex_cid(client_order_id)

    def classify(self, exc: VenueError) -> Verdict:
        return classify(exc)

    def _ws(self) -> BitfinexStream | None:
        s = self._private()
        return s if s is not None and s.connected else None

    # -- requests ---------------------------------------------------------------------------
    def note_state(self, cid: str, order_id: str, working: bool) -> None:
        if working:
            self.working[cid] = order_id
        else:
            self.working.pop(cid, None)

    async def place(self, order: Order, track: OrderTrack) -> PlaceAck:
        """Bitfinex does not refuse a repeated cid, so an order already working under this
        cid (seen in the ``os`` snapshot of this session's auth, or pushed since) is not
        placed again: it is the same order (a restarted process re-submitting it)."""
        if order.attached is not None:
            raise VenueError("Bitfinex: brackets (an order placing another when it fills) are "
                             "not supported; place the protective order after the fill",
                             UNSUPPORTED)  # fmt: skip
        known = self.working.get(track.venue_client_id)
        if known is not None:
            return PlaceAck(known, existing=True)
        inst = self.instruments[order.symbol]
        spot = inst.kind is InstrumentKind.SPOT
        extra: dict[str, Any] = {}
        if order.trigger is not None:
            kind, flags, extra = T.trigger_fields(order, inst)
            if order.tif is POST_ONLY:
                flags |= C.FLAG_POST_ONLY
            if order.reduce_only and not spot:
                flags |= C.FLAG_REDUCE_ONLY
            kind = "EXCHANGE " + kind if spot else kind
            if flags & T.FLAG_OCO:
                self.oco_cids.add(track.venue_client_id)
        else:
            kind, flags = order_type(order, inst)
        if order.order_type is MARKET and order.quote_qty > 0 and order.qty <= 0:
            # sized in the base currency at the best ask, fresh from REST
            asks = [r for r in await self.rest.book(inst.native, 25) if P.f(r[2]) < 0]
            qty = spend_size(inst, order.quote_qty, P.f(asks[0][0]) if asks else 0.0, MIN_SIZE)
        else:
            qty = inst.format_qty(order.qty)
        amount = qty if order.side.value == "buy" else "-" + qty
        body: dict[str, Any] = {"cid": int(track.venue_client_id), "type": kind,
                                "symbol": inst.native, "amount": amount}  # fmt: skip
        if order.order_type is not MARKET and order.trigger is None:
            body["price"] = inst.format_price(order.price)
        body.update(extra)
        if flags:
            body["flags"] = flags
        if not spot and inst.native in self.leverage:
            body["lev"] = self.leverage[inst.native]
        self.remember(track.venue_client_id, cid_day=day())
        ws = self._ws()
        if ws is not None:
            self.ws_orders += 1
            row = await ws.order_op("on", body)
        else:
            self.rest_orders += 1
            row = await self.rest.submit(body)
        self.remember(track.venue_client_id, str(row[0]))
        return PlaceAck(str(row[0]))

    def _ref(self, track: OrderTrack) -> dict[str, Any]:
        if track.venue_order_id.isdigit():
            return {"id": int(track.venue_order_id)}
        cid = track.venue_client_id
        if not cid.isdigit():
            raise VenueError(f"{cid}: no Bitfinex id known", NOT_FOUND)
        return {"cid": int(cid), "cid_date": self.cid_days.get(cid, day())}

    async def cancel(self, track: OrderTrack) -> None:
        ref = self._ref(track)
        ws = self._ws()
        if ws is not None:
            await ws.order_op("oc", ref)
        else:
            await self.rest.cancel(ref)

    async def amend(self, track: OrderTrack, qty: float | None, price: float | None) -> None:
        inst = self.instruments.get(track.symbol)
        if inst is None or not track.venue_order_id.isdigit():
            raise VenueError(f"{track.venue_client_id}: no Bitfinex order id yet", NOT_FOUND)
        body: dict[str, Any] = {"id": int(track.venue_order_id)}
        if price is not None:
            body["price"] = inst.format_price(price)
        if qty is not None:
            q = inst.format_qty(qty)
            body["amount"] = q if track.side.value == "buy" else "-" + q
        ws = self._ws()
        if ws is not None:
            await ws.order_op("ou", body)
        else:
            await self.rest.update(body)

    async def find_row(self, track: OrderTrack) -> list[Any]:
        """The ORDER array of ``track`` (by id when known, else by cid + day), open or not.
        An OCO is found by cid (both its orders) and answered by the one that says most."""
        if track.venue_client_id in self.oco_cids:
            return list(T.best_row(await self._oco_rows(track)))
        oid = track.venue_order_id
        ids = [int(oid)] if oid.isdigit() else None
        cid = int(track.venue_client_id) if track.venue_client_id.isdigit() else None
        days = {self.cid_days.get(track.venue_client_id, day())}
        days.add(day((time.time() - 86_400) * 1000))

        def mine(d: list[Any]) -> bool:
            if ids:
                return str(d[0]) == oid
            return cid is not None and d[2] == cid and (not d[4] or day(P.f(d[4])) in days)

        for rows in (await self.rest.open_orders(ids), await self.rest.order_history(ids)):
            found = [d for d in rows if mine(d)]
            if found:
                return found[0]
        raise VenueError(f"{track.venue_client_id}: Order not found", NOT_FOUND)

    async def _oco_rows(self, track: OrderTrack) -> list[list[Any]]:
        """Both orders of an OCO (open or closed) by its cid and day."""
        cid = int(track.venue_client_id)
        days = {self.cid_days.get(track.venue_client_id, day())}
        rows = [d for d in await self.rest.open_orders() + await self.rest.order_history()
                if d[2] == cid and (not d[4] or day(P.f(d[4])) in days)]  # fmt: skip
        if not rows:
            raise VenueError(f"{track.venue_client_id}: Order not found", NOT_FOUND)
        return rows

    async def fetch_order(self, track: OrderTrack) -> OrderReport:
        d = await self.find_row(track)
        self.remember(track.venue_client_id, str(d[0]))
        return P.parse_order(d, self.now_ns(), track.client_order_id)

    async def fetch_fills(self, track: OrderTrack) -> list[Fill]:
        native = P.native(track.symbol)
        if track.venue_client_id in self.oco_cids:
            ids = {str(d[0]) for d in await self._oco_rows(track)}
            rows = [r for i in sorted(ids) for r in await self.rest.order_trades(native, i)]
        elif not track.venue_order_id:
            return []
        else:
            rows = await self.rest.order_trades(native, track.venue_order_id)
        now = self.now_ns()
        fills = [P.parse_fill(r, now, track.client_order_id) for r in rows]
        return sorted(fills, key=lambda fl: int(fl.trade_id) if fl.trade_id.isdigit() else 0)
