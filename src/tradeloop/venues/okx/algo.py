"""OKX algo orders: how tradeloop's trigger orders and brackets travel on OKX's wire.

A trigger order (``Order.trigger``: stop, take-profit, trailing stop, OCO) is an OKX *algo
order* (``POST /api/v5/trade/order-algo``, ``ordType`` ``conditional`` / ``oco`` /
``move_order_stop``) whose ``algoClOrdId`` is the order's venue client id; a bracket's
protective order (``Order.attached``) rides on its entry as ``attachAlgoOrds`` with
``attachAlgoClOrdId``. Untriggered, an algo order is not an order at OKX: it lives on the
``orders-algo`` channel and ``orders-algo-pending``. When it fires OKX places a *child* order with
an ``ordId`` of its own; the child's pushes on ``orders`` carry ``algoId`` / ``algoClOrdId``,
and :meth:`AlgoBook.owner_of_child` maps them back to the algo's track, so the child's fills are
the original client order's (the model's "a trigger order turns into its child").

State mapping (:data:`ALGO_STATES`): ``live`` / ``pause`` → ACCEPTED (working, cancelable);
``effective`` / ``partially_effective`` → ACCEPTED (fired: the child's own reports carry the
fills and the end); ``canceled`` → CANCELED; ``order_failed`` / ``partially_failed`` →
CANCELED with the reason "triggered, not placed" (as the simulator reports a child the account
cannot pay for).

This module holds the wire knowledge (fields, endpoints, states) and :class:`OkxAlgoOrders`, the
algo half of :class:`~tradeloop.venues.okx.orders.OkxOrderHooks`; the gateway routes the
``orders-algo`` pushes and keeps the :class:`AlgoBook`.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from tradeloop.core.errors import VenueError
from tradeloop.core.log import get_logger
from tradeloop.model import (
    Fill,
    FundingPaid,
    Instrument,
    InstrumentKind,
    Order,
    OrderReport,
    OrderStatus,
    OrderType,
    Side,
)
from tradeloop.model.enums import TriggerKind
from tradeloop.model.instrument import plain_decimal
from tradeloop.model.order import Trigger
from tradeloop.venues.base import ExecutionSink
from tradeloop.venues.execution import OrderTrack
from tradeloop.venues.okx import constants as C
from tradeloop.venues.okx import parse as P
from tradeloop.venues.okx.rest import OkxRestClient

log = get_logger(__name__)

ORDER_ALGO = "/api/v5/trade/order-algo"
CANCEL_ALGOS = "/api/v5/trade/cancel-algos"
ALGOS_PENDING = "/api/v5/trade/orders-algo-pending"
ALGOS_HISTORY = "/api/v5/trade/orders-algo-history"
#: the private channel of algo order changes (on ``/business`` at OKX)
ALGO_CHANNEL = "orders-algo"
#: ``ordType`` values one pending/history request may ask for (OKX takes several types in one
#: request only for ``conditional,oco``)
LOOKUP_TYPES = ("conditional,oco", "move_order_stop", "trigger")
#: history requests without an algoId must name a state
_DONE_STATES = ("effective", "canceled", "order_failed")
#: what cancel-algos answers for an algo order it does not have (the emulator says 51000
#: "algoId"; OKX's order-not-found is 51603)
_ALGO_NOT_FOUND = frozenset({"51000", C.ORDER_NOT_FOUND})

S = OrderStatus
K = TriggerKind
ALGO_STATES: dict[str, OrderStatus] = {
    "live": S.ACCEPTED,
    "pause": S.ACCEPTED,
    "effective": S.ACCEPTED,
    "partially_effective": S.ACCEPTED,
    "canceled": S.CANCELED,
    "order_failed": S.CANCELED,
    "partially_failed": S.CANCELED,
}
_FIRED = frozenset({"effective", "partially_effective"})


# -- request fields ---------------------------------------------------------------------------
#: the step a callback ratio is rounded to on the wire (0.0001 % of the price): fine enough
#: for any trailing distance, coarse enough that float artefacts (0.1 + 0.2) never reach OKX
RATIO_STEP = Decimal("1e-8")


def ratio_str(value: float) -> str:
    """A callback ratio as a plain decimal string rounded to :data:`RATIO_STEP`; a ratio
    that rounds to nothing is refused before it is sent (OKX would trail at zero distance
    or answer a bare 51000)."""
    d = Decimal(repr(value)).quantize(RATIO_STEP, ROUND_HALF_EVEN)
    if d <= 0:
        raise VenueError(f"OKX trailing stop: callback ratio {value!r} rounds to 0 "
                         f"(smallest {RATIO_STEP})", "51000")  # fmt: skip
    return plain_decimal(d.normalize())


def _px(value: float, inst: Instrument, what: str) -> str:
    """A price-like field rounded to the tick; one below half a tick is refused, not sent
    as ``0`` (a stop at 0 never fires; a spread of 0 trails at the price itself)."""
    text = inst.format_price(value)
    if Decimal(text) <= 0:
        raise VenueError(f"OKX {what} {value!r} is below the tick {inst.tick_size!r} of "
                         f"{inst.native}", "51000")  # fmt: skip
    return text


def _child_px(order_type: OrderType, price: float, inst: Instrument) -> str:
    """A leg's order price: ``-1`` = a market child, else the limit."""
    return "-1" if order_type is OrderType.MARKET else _px(price, inst, "limit price")


def trigger_fields(
    trigger: Trigger, order_type: OrderType, price: float, inst: Instrument
) -> dict[str, str]:
    """The ``ordType`` and trigger/leg prices of one trigger order (wire strings)."""
    t = trigger
    if t.kind is K.TRAILING:
        f = {"ordType": "move_order_stop"}
        if t.callback_rate > 0:
            f["callbackRatio"] = ratio_str(t.callback_rate)
        else:
            f["callbackSpread"] = _px(t.callback_amount, inst, "trailing stop: callback amount")
        if t.price > 0:
            f["activePx"] = _px(t.price, inst, "trailing stop: activation price")
        return f
    px = _child_px(order_type, price, inst)
    trig = _px(t.price, inst, "trigger price")
    if t.kind is K.STOP:
        return {"ordType": "conditional", "slTriggerPx": trig, "slOrdPx": px}
    if t.kind is K.TAKE_PROFIT:
        return {"ordType": "conditional", "tpTriggerPx": trig, "tpOrdPx": px}
    tp_px = _px(t.tp_limit, inst, "take-profit limit") if t.tp_limit > 0 else "-1"
    return {"ordType": "oco", "slTriggerPx": trig, "slOrdPx": px,
            "tpTriggerPx": _px(t.tp_price, inst, "take-profit trigger"),
            "tpOrdPx": tp_px}  # fmt: skip


def lookup_types(trigger: Trigger | None) -> tuple[str, ...]:
    """The ``ordType`` filters to find an algo order of this trigger by (all when unknown)."""
    if trigger is None:
        return LOOKUP_TYPES
    return ("move_order_stop",) if trigger.kind is K.TRAILING else ("conditional,oco",)


def algo_params(order: Order, inst: Instrument, okx_id: str, td_mode: str) -> dict[str, Any]:
    """``order-algo`` body of a trigger order sent under ``algoClOrdId`` ``okx_id``."""
    assert order.trigger is not None
    spot = inst.kind is InstrumentKind.SPOT
    body: dict[str, Any] = {
        "instId": inst.native,
        "tdMode": td_mode,
        "side": order.side.value,
        "sz": inst.format_qty(order.qty),
        "algoClOrdId": okx_id,
        **trigger_fields(order.trigger, order.order_type, order.price, inst),
    }
    if spot and order.side is Side.BUY:
        body["tgtCcy"] = "base_ccy"  # OKX sizes a spot market buy in quote unless told
    if not spot and order.reduce_only:
        body["reduceOnly"] = True
    return body


def attach_params(child: Order, inst: Instrument, okx_id: str) -> dict[str, str]:
    """One ``attachAlgoOrds`` item: a bracket's protective stop-loss / take-profit / both."""
    t = child.trigger
    if t is None or t.kind is K.TRAILING:
        raise VenueError("OKX attaches only stop-loss / take-profit legs to an entry "
                         "(place a trailing stop once the entry has filled)")  # fmt: skip
    fields = trigger_fields(t, child.order_type, child.price, inst)
    del fields["ordType"]
    return {"attachAlgoClOrdId": okx_id, **fields}


# -- answers ----------------------------------------------------------------------------------
def algo_status(state: str) -> OrderStatus:
    try:
        return ALGO_STATES[state]
    except KeyError:
        raise ValueError(f"unknown OKX algo order state {state!r}") from None


def parse_algo_report(d: Mapping[str, Any], ts: int, client_order_id: str) -> OrderReport:
    """An ``orders-algo`` push or pending/history row as a report of the trigger order. A
    fired algo says ACCEPTED: what its child does (fills, end) comes on the ``orders``
    channel under the same client id."""
    state = str(d["state"])
    status = algo_status(state)
    reason = ""
    if state in ("order_failed", "partially_failed"):
        code = str(d.get("failCode") or d.get("sCode") or "")
        reason = f"triggered, not placed: OKX {state} {code}".rstrip()
    elif state in _FIRED:
        reason = f"triggered ({d.get('actualSide') or 'fired'} at {d.get('actualPx') or '?'})"
    return OrderReport(
        ts=ts,
        client_order_id=client_order_id,
        venue_order_id=str(d.get("ordId") or d.get("algoId") or ""),
        symbol=P.symbol_id(str(d["instId"])),
        status=status,
        reason=reason,
    )


# -- what we know of our algo orders ----------------------------------------------------------
@dataclass(slots=True)
class AlgoState:
    """One algo order of ours, by venue client id (its ``algoClOrdId``)."""

    venue_client_id: str
    inst_id: str
    types: tuple[str, ...] = LOOKUP_TYPES
    algo_id: str = ""
    #: the child order's ordId once it fired
    ord_id: str = ""
    #: a bracket attachment: its entry's venue client id, and whether that entry has ended
    entry: str = ""
    entry_done: bool = False


class AlgoBook:
    """The algo orders this gateway knows: algoClOrdId ↔ algoId ↔ the child's ordId.
    Entries go when their order ends (:meth:`forget`), so a long run stays bounded; which
    client id an algoId stood for is kept longer (the last :attr:`ALGO_IDS_KEPT`), so a late
    or repeated push naming a finished algo by its algoId alone still finds its order (and
    its fill is recognised as one already booked) instead of looking like a stranger's."""

    ALGO_IDS_KEPT = 10_000

    def __init__(self) -> None:
        self._states: dict[str, AlgoState] = {}
        self._by_algo_id: OrderedDict[str, str] = OrderedDict()
        self._by_entry: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._states)

    def get(self, vcid: str) -> AlgoState | None:
        return self._states.get(vcid)

    def add(self, state: AlgoState) -> AlgoState:
        old = self._states.get(state.venue_client_id)
        if old is not None:
            return old
        self._states[state.venue_client_id] = state
        if state.entry:
            self._by_entry[state.entry] = state.venue_client_id
        return state

    def attached_to(self, entry_vcid: str) -> AlgoState | None:
        vcid = self._by_entry.get(entry_vcid)
        return self._states.get(vcid) if vcid is not None else None

    def forget(self, vcid: str) -> None:
        st = self._states.pop(vcid, None)
        if st is None:
            return
        if st.entry:
            self._by_entry.pop(st.entry, None)

    def note(self, d: Mapping[str, Any]) -> str:
        """Learn the ids an algo row or push carries; returns its venue client id
        (``algoClOrdId``, else the one known for its algoId, else the algoId)."""
        algo_id = str(d.get("algoId") or "")
        vcid = str(d.get("algoClOrdId") or "") or self._by_algo_id.get(algo_id, "") or algo_id
        st = self._states.get(vcid)
        if st is not None:
            if algo_id and not st.algo_id:
                st.algo_id = algo_id
                self._by_algo_id[algo_id] = vcid
                if len(self._by_algo_id) > self.ALGO_IDS_KEPT:
                    self._by_algo_id.popitem(last=False)
            if d.get("ordId") and str(d.get("state")) in _FIRED:
                st.ord_id = str(d["ordId"])
        return vcid

    def owner_of_child(self, d: Mapping[str, Any]) -> str | None:
        """The venue client id of the algo order an ``orders`` push belongs to, when the
        order is a fired algo's child (it carries ``algoId`` / ``algoClOrdId``); None for a
        plain order."""
        algo_cl, algo_id = str(d.get("algoClOrdId") or ""), str(d.get("algoId") or "")
        if not algo_cl and not algo_id:
            return None
        vcid = algo_cl or self._by_algo_id.get(algo_id, "") or algo_id
        st = self._states.get(vcid)
        if st is not None and d.get("ordId"):
            st.ord_id = str(d["ordId"])
        return vcid


# -- requests ---------------------------------------------------------------------------------
class OkxAlgoOrders:
    """The algo half of the OKX order hooks: place, cancel and look up algo orders, and the
    child a fired one became. ``ready`` is awaited before each request that needs the
    ``orders-algo`` pushes (the gateway subscribes on first use)."""

    def __init__(
        self,
        rest: OkxRestClient,
        book: AlgoBook,
        ready: Callable[[], Awaitable[None]] | None = None,
        now_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.rest = rest
        self.book = book
        self._ready = ready
        self.now_ns = now_ns

    async def ready(self) -> None:
        if self._ready is not None:
            await self._ready()

    async def _rows(self, path: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        data = await self.rest.request("GET", path, params, True)
        return [d for d in data if isinstance(d, dict)] if isinstance(data, list) else []

    def state(self, track: OrderTrack) -> AlgoState:
        st = self.book.get(track.venue_client_id)
        if st is None:
            st = self.book.add(AlgoState(track.venue_client_id, P.native(track.symbol)))
        return st

    async def place(self, order: Order, inst: Instrument, okx_id: str, td_mode: str) -> str:
        """Send a trigger order; returns the algoId. A retry meeting our own algoClOrdId is
        answered 51016, which the lifecycle resolves by looking the order up."""
        await self.ready()
        self.book.add(AlgoState(okx_id, inst.native, lookup_types(order.trigger)))
        body = algo_params(order, inst, okx_id, td_mode)
        data = await self.rest.request("POST", ORDER_ALGO, body, True, retry_safe=True)
        algo_id = str(data[0].get("algoId") or "") if data else ""
        self.book.note({"algoClOrdId": okx_id, "algoId": algo_id})
        return algo_id

    async def cancel(self, track: OrderTrack) -> None:
        """Cancel the algo order, or the child it became once it fired."""
        await self.ready()
        st = self.state(track)
        if st.ord_id:
            await self.rest.cancel_order(st.inst_id, ord_id=st.ord_id)
            return
        item = {"instId": st.inst_id}
        item.update({"algoId": st.algo_id} if st.algo_id else {"algoClOrdId": st.venue_client_id})
        try:
            await self.rest.request("POST", CANCEL_ALGOS, [item], True, retry_safe=True)
        except VenueError as exc:
            if exc.code in _ALGO_NOT_FOUND:
                raise VenueError(f"cancel-algos: {exc}", C.ORDER_NOT_FOUND) from exc
            raise

    async def find(self, st: AlgoState) -> dict[str, Any] | None:
        """The algo order's row: pending first, then history (by algoId when known)."""
        key = {"algoId": st.algo_id} if st.algo_id else {"algoClOrdId": st.venue_client_id}
        for types in st.types:
            rows = await self._rows(ALGOS_PENDING, {"ordType": types, **key})
            if rows:
                return dict(rows[0])
        states: tuple[str | None, ...] = (None,) if st.algo_id else _DONE_STATES
        for types in st.types:
            for state in states:
                params = {"ordType": types, **key, **({"state": state} if state else {})}
                rows = await self._rows(ALGOS_HISTORY, params)
                mine = [r for r in rows if _is(r, st)]
                if mine:
                    return dict(mine[0])
        return None

    async def fetch_order(self, track: OrderTrack) -> OrderReport:
        """The trigger order's state: the algo's, or its child's once it fired (fills and
        the end come from the child)."""
        await self.ready()
        st = self.state(track)
        now = self.now_ns()
        row = await self.find(st)
        if row is None:
            if st.entry and not st.entry_done:
                # a bracket's protection, not placed before its entry fills
                return OrderReport(now, track.client_order_id, "", track.symbol, S.SUBMITTED)
            raise VenueError(f"OKX has no algo order {st.venue_client_id}", C.ORDER_NOT_FOUND)
        self.book.note(row)
        if st.ord_id and str(row.get("state")) in _FIRED:
            child = await self.rest.get_order(st.inst_id, ord_id=st.ord_id)
            return P.parse_order_report(child, now, track.client_order_id)
        return parse_algo_report(row, now, track.client_order_id)

    async def pending_reports(
        self, client_id: Callable[[str], str | None], inst_type: str | None = None
    ) -> list[OrderReport]:
        """Every untriggered algo order at OKX (of ``inst_type``, when given), as reports
        (tradeloop ids where known)."""
        now = self.now_ns()
        out: list[OrderReport] = []
        kind = {"instType": inst_type} if inst_type else {}
        for types in LOOKUP_TYPES:
            for d in await self._rows(ALGOS_PENDING, {"ordType": types, **kind}):
                vcid = self.book.note(d)
                out.append(parse_algo_report(d, now, client_id(vcid) or vcid))
        return out

    async def child_owners(self) -> dict[str, str]:
        """ordId → algoClOrdId of every fired algo order OKX still lists (fills of a child
        carry no client id of ours)."""
        owners: dict[str, str] = {}
        for types in LOOKUP_TYPES:
            for state in ("effective", "partially_effective"):
                params = {"ordType": types, "state": state}
                for d in await self._rows(ALGOS_HISTORY, params):
                    if d.get("ordId") and d.get("algoClOrdId") and str(d.get("state")) == state:
                        owners[str(d["ordId"])] = str(d["algoClOrdId"])
        return owners


def _is(row: Mapping[str, Any], st: AlgoState) -> bool:
    if st.algo_id:
        return str(row.get("algoId")) == st.algo_id
    return str(row.get("algoClOrdId")) == st.venue_client_id


# -- brackets ---------------------------------------------------------------------------------
class BracketWatch:
    """Sits between the order lifecycle and the engine (an ``ExecutionSink``): passes
    everything on, and acts on an order's end — a bracket's entry that ended without a fill
    means OKX never places its attachment (the OMS ends that one itself; ``end_quietly`` ends
    its track here without a second report); any finished algo order leaves the book."""

    def __init__(
        self,
        sink: ExecutionSink,
        book: AlgoBook,
        venue_client_id: Callable[[str], str],
        end_quietly: Callable[[str], None],
    ) -> None:
        self.sink = sink
        self.book = book
        self.venue_client_id = venue_client_id
        self.end_quietly = end_quietly

    def on_fill(self, fill: Fill) -> None:
        self.sink.on_fill(fill)

    def on_funding(self, payment: FundingPaid) -> None:
        self.sink.on_funding(payment)

    def on_order_report(self, report: OrderReport) -> None:
        self.sink.on_order_report(report)
        if not report.status.is_terminal:
            return
        vcid = self.venue_client_id(report.client_order_id)
        att = self.book.attached_to(vcid)
        if att is not None:
            att.entry_done = True
            if report.filled_qty <= 0:
                self.end_quietly(att.venue_client_id)
                self.book.forget(att.venue_client_id)
        self.book.forget(vcid)
