"""FMZ's order methods over a Gateway: ``trade``, ``cancel``, ``order``, ``orders``,
``historyorders`` (the generic adapter's half that touches orders; :mod:`.adapter` has the rest).

Placing and canceling go through the key's gateway and its order lifecycle
(:class:`~tradeloop.fmz.keyed.KeyedGateway`): the docker's order becomes a tradeloop
:class:`~tradeloop.model.Order` (sizes and prices checked against the instrument's lot and tick
first, so what goes upstream is ``Instrument.format_*`` of them), and the request waits for the
report that answers it. A cancel of an order the bridge did not place (another session, a
restart) adopts it by its client id, so the lifecycle's cancel rules apply to it too; one with
no client id (placed on the venue's web site) is canceled by venue id through the venue's
query. Reads use the venue's :class:`~tradeloop.fmz.conventions.Queries` when it has them, else
what the contract offers: open orders (``fetch_open_orders``) completed by what the bridge knows
of the orders it placed.
"""

from __future__ import annotations

import time
from abc import abstractmethod
from decimal import Decimal
from typing import Any
from uuid import uuid4

from tradeloop.fmz import shapes
from tradeloop.fmz.conventions import Conventions, OrderInfo, Queries
from tradeloop.fmz.keyed import KeyedGateway
from tradeloop.fmz.protocol import Credentials, FmzError, Reply
from tradeloop.fmz.symbols import FmzSymbol
from tradeloop.fmz.venue import FmzVenue, OrderRequest
from tradeloop.model import (
    NS_PER_MS,
    Instrument,
    InstrumentKind,
    Order,
    OrderReport,
    OrderStatus,
    OrderType,
    RejectReason,
    Side,
)
from tradeloop.model.identity import native_of

#: an unknown instrument triggers at most one instrument reload per this many seconds
RELOAD_EVERY = 10.0
_SIDES = {"buy": Side.BUY, "sell": Side.SELL, "closebuy": Side.SELL, "closesell": Side.BUY}


class OrderMethods(FmzVenue):
    """The order half of :class:`~tradeloop.fmz.adapter.GatewayVenue`."""

    conv: Conventions
    q: Queries

    @abstractmethod
    async def _key(self, creds: Credentials) -> KeyedGateway: ...

    @abstractmethod
    def _id(self, symbol: FmzSymbol) -> str: ...

    @abstractmethod
    def _fmz(self, symbol_id: str) -> str: ...

    @abstractmethod
    def _need(self, query: str, method: str) -> None: ...

    @abstractmethod
    def _learn(self, gw: Any) -> None: ...

    async def _instrument(self, kg: KeyedGateway, symbol_id: str) -> Instrument | None:
        """``symbol_id`` among the key's gateway's instruments (what its order checks use),
        reloading them once if the key's last reload is older than :data:`RELOAD_EVERY` (a
        listing since start)."""
        inst = kg.gw.instruments().get(symbol_id)
        if inst is None and time.monotonic() - kg.reloaded_at > RELOAD_EVERY:
            kg.reloaded_at = time.monotonic()
            if await self.conv.reload_instruments(kg.gw):
                self._learn(kg.gw)
                inst = kg.gw.instruments().get(symbol_id)
        return inst

    async def trade(self, creds: Credentials, order: OrderRequest) -> Reply:
        kg = await self._key(creds)
        sid = self._id(order.symbol)
        inst = await self._instrument(kg, sid)
        if inst is None:
            raise FmzError(f"{self.label}: unknown instrument {native_of(sid)}")
        o = _new_order(order, sid, inst)
        with kg.writing():
            report = await kg.place(o)
        if report.status is OrderStatus.REJECTED or not report.venue_order_id:
            code = f" [{report.code.value}]" if report.code is not RejectReason.NONE else ""
            raise FmzError(f"{self.label}: order rejected{code}: {report.reason or 'no reason'}")
        return Reply({"id": self.conv.order_id(sid, report.venue_order_id)})

    async def orders(self, creds: Credentials, symbol: FmzSymbol | None) -> Reply:
        kg = await self._key(creds)
        sid = self._id(symbol) if symbol is not None else None
        if self.q.has("open_orders"):
            infos, raw = await self.q.open_orders(kg.gw, sid)
        else:
            reports = await kg.gw.fetch_open_orders()
            infos = [_info(r, kg.watch.get(r.client_order_id)) for r in reports]
            raw = None
        return Reply([self._shape(i, kg) for i in infos if sid is None or i.symbol == sid], raw)

    def _shape(self, info: OrderInfo, kg: KeyedGateway) -> dict[str, Any]:
        name = self._fmz(info.symbol)
        return shapes.order(info, self.conv.order_id(info.symbol, info.venue_order_id), name)

    def _split(self, order_id: str, symbol: FmzSymbol | None) -> tuple[str, str]:
        fallback = self._id(symbol) if symbol is not None else None
        return self.conv.split_order_id(order_id, fallback)

    async def order(self, creds: Credentials, order_id: str, symbol: FmzSymbol | None) -> Reply:
        kg = await self._key(creds)
        sid, vid = self._split(order_id, symbol)
        if self.q.has("order"):
            info, raw = await self.q.order(kg.gw, sid, vid)
            return Reply(self._shape(info, kg), raw)
        info = await self._known_order(kg, sid, vid)
        return Reply(self._shape(info, kg))

    async def _known_order(self, kg: KeyedGateway, sid: str, vid: str) -> OrderInfo:
        """Contract-only lookup: an order this bridge placed, else an open one."""
        mine = kg.watch.by_venue_id(vid)
        if mine is not None:
            return _info(None, mine)
        for r in await kg.gw.fetch_open_orders():
            if r.venue_order_id == vid and r.symbol == sid:
                return _info(r, kg.watch.get(r.client_order_id))
        raise FmzError(f"{self.label}: order {vid} not found (this venue's gateway can only "
                       "look up open orders and those placed through the bridge)")  # fmt: skip

    async def history_orders(
        self, creds: Credentials, symbol: FmzSymbol | None, since_ms: int, limit: int
    ) -> Reply:
        kg = await self._key(creds)
        sid = self._id(symbol) if symbol is not None else None
        raw: Any = None
        if self.q.has("history_orders"):
            infos, raw = await self.q.history_orders(kg.gw, sid, since_ms, limit)
        else:  # what this bridge placed since it started (the contract has no history)
            infos = [_info(None, o) for o in kg.watch.orders()
                     if o.is_terminal and o.status is not OrderStatus.REJECTED]  # fmt: skip
        rows = [i for i in infos if (sid is None or i.symbol == sid) and i.time_ms >= since_ms]
        rows.sort(key=lambda i: i.time_ms)
        return Reply([self._shape(i, kg) for i in rows[-limit:]], raw)

    async def cancel(self, creds: Credentials, order_id: str, symbol: FmzSymbol | None) -> Reply:
        kg = await self._key(creds)
        sid, vid = self._split(order_id, symbol)
        o = kg.watch.by_venue_id(vid)
        if o is None:
            found = await self._adoptable(kg, sid, vid)
            if isinstance(found, Reply):
                return found
            o = found
        if o.is_terminal:
            raise FmzError(f"{self.label}: order {order_id[:60]} is already "
                           f"{shapes.status(o.status, o.filled_qty)}")  # fmt: skip
        with kg.writing():
            report = await kg.cancel(o)
        if report.status in (OrderStatus.CANCELED, OrderStatus.EXPIRED):
            return Reply(True)
        if report.status.is_terminal:
            raise FmzError(f"{self.label}: order {order_id[:60]} is already "
                           f"{shapes.status(report.status, report.filled_qty)}")  # fmt: skip
        raise FmzError(f"{self.label}: {report.reason or 'cancel failed'}")

    async def _adoptable(self, kg: KeyedGateway, sid: str, vid: str) -> Order | Reply:
        """An order the bridge did not place (another session, a restart) as an Order the
        gateway can adopt by its client id; one without a client id is canceled by venue id
        (a Reply)."""
        if self.q.has("order"):
            info, _ = await self.q.order(kg.gw, sid, vid)
        else:
            info = await self._known_order(kg, sid, vid)
        if not info.client_order_id and not info.status.is_terminal:
            self._need("cancel", "cancel of an order without a client id")
            with kg.writing():
                raw = await self.q.cancel(kg.gw, sid, vid)
            return Reply(True, raw)
        o = Order(
            info.client_order_id, sid, info.side or Side.BUY, info.amount,
            OrderType.MARKET if info.price is None else OrderType.LIMIT, info.price or 0.0,
            status=OrderStatus.ACCEPTED if not info.status.is_terminal else info.status,
            venue_order_id=vid, filled_qty=info.filled, avg_price=info.avg_price,
            ts_created=info.time_ms * NS_PER_MS,
        )  # fmt: skip
        if not o.is_terminal:
            kg.watch.add(o)
        return o


def _new_order(req: OrderRequest, sid: str, inst: Instrument) -> Order:
    """The tradeloop order for a ``trade`` call, refusing sizes and prices that round to 0 at
    the instrument's lot/tick (what goes upstream is ``Instrument.format_*`` of these)."""
    side = _SIDES[req.side]
    spot = inst.kind is InstrumentKind.SPOT
    quote_sized = req.price is None and spot and side is Side.BUY
    size = inst.format_quote(req.amount) if quote_sized else inst.format_qty(req.amount)
    if size == "0":
        step = inst.quote_step if quote_sized else inst.lot_size
        raise FmzError(f"amount {req.amount} rounds to 0 at lot size {step:g}")
    price = inst.format_price(req.price) if req.price is not None else None
    if price == "0":
        raise FmzError(f"price {req.price} rounds to 0 at tick {inst.tick_size:g}")
    amount = float(Decimal(size))
    return Order(
        client_order_id="fmz" + uuid4().hex[:29],
        symbol=sid,
        side=side,
        qty=0.0 if quote_sized else amount,
        quote_qty=amount if quote_sized else 0.0,
        order_type=OrderType.MARKET if req.price is None else OrderType.LIMIT,
        price=0.0 if price is None else float(Decimal(price)),
        reduce_only=req.side.startswith("close"),
        ts_created=time.time_ns(),
    )


def _info(report: OrderReport | None, order: Order | None) -> OrderInfo:
    """What the contract says about an order (its report) completed by what the bridge knows
    (the order it placed): side, size, price and creation time exist only in the latter."""
    if order is None:
        assert report is not None
        return OrderInfo(report.symbol, report.venue_order_id, report.client_order_id, None,
                         0.0, 0.0, report.status, report.filled_qty, report.avg_price,
                         report.ts // NS_PER_MS)  # fmt: skip
    market = order.order_type is OrderType.MARKET
    status = report.status if report is not None else order.status
    filled = max(order.filled_qty, report.filled_qty if report is not None else 0.0)
    return OrderInfo(
        order.symbol, order.venue_order_id, order.client_order_id, order.side,
        order.quote_qty or order.qty, None if market else order.price, status, filled,
        (report.avg_price if report is not None else 0.0) or order.avg_price,
        order.ts_created // NS_PER_MS, order.reduce_only,
    )  # fmt: skip
