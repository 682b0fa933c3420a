"""A scripted :class:`VenueHooks` for the lifecycle's unit tests: each request answers from a
script (a value to return or an error to raise), and every call is recorded.

The double maps ids the way a real venue does (client ids get a prefix, the instrument id
loses its ``.TEST`` suffix on the wire), so a lifecycle that leaked a venue id to the engine,
or an instrument id to the wire, would show up in the assertions.
"""

from __future__ import annotations

import asyncio
from typing import Any

from tradeloop.core.errors import VenueError
from tradeloop.model import (
    Fill,
    Instrument,
    Liquidity,
    Order,
    OrderReport,
    OrderStatus,
    OrderType,
    Side,
)
from tradeloop.venues.execution import (
    ErrorKind,
    OrderLifecycle,
    OrderTrack,
    PlaceAck,
    RecoveryPolicy,
    Retention,
    VenueHooks,
    Verdict,
)
from tradeloop.venues.retry import RetryConfig

VENUE = "TEST"
INST = Instrument.of("BTC-USD", VENUE, "BTC", "USD", tick_size=0.5, lot_size=0.001)
SYM = INST.symbol  # BTC-USD.TEST

FAST = RecoveryPolicy(
    cancel_backoff=RetryConfig(max_attempts=0, base=0.001, cap=0.002),
    cancel_deadline_s=5.0,
    lookup_backoff=RetryConfig(max_attempts=4, base=0.001, cap=0.002),
    reconcile_backoff=RetryConfig(max_attempts=0, base=0.001, cap=0.002),
    reconcile_deadline_s=0.2,
)


class Err(VenueError):
    """A venue error whose meaning the double's ``classify`` reads off directly."""

    def __init__(self, kind: ErrorKind, retry_after: float = 0.0) -> None:
        super().__init__(f"scripted {kind.value}", code=kind.value)
        self.kind = kind
        self.retry_after = retry_after


def err(kind: str, retry_after: float = 0.0) -> Err:
    return Err(ErrorKind(kind), retry_after)


class ScriptedHooks(VenueHooks):
    venue = VENUE

    def __init__(self) -> None:
        self.places: list[Any] = []
        self.cancels: list[Any] = []
        self.amends: list[Any] = []
        self.lookups: list[Any] = []  # OrderStatus / (status, filled) / an error
        self.fill_rows: list[tuple[str, float]] = []  # (trade id, qty), oldest first
        self.calls: list[str] = []
        self.wire: list[tuple[str, str, str]] = []  # (request, venue client id, native)
        self.up = True
        self.place_gate: asyncio.Event | None = None
        self.cancel_gate: asyncio.Event | None = None

    @staticmethod
    def _next(script: list[Any], default: Any) -> Any:
        item = script.pop(0) if script else default
        if isinstance(item, BaseException):
            raise item
        return item

    # -- ids ----------------------------------------------------------------------------------
    def instrument(self, symbol: str) -> Instrument | None:
        return INST if symbol == SYM else None

    def venue_client_id(self, client_order_id: str) -> str:
        return "v" + client_order_id

    def native_symbol(self, symbol: str) -> str:
        return symbol.removesuffix("." + VENUE)

    def symbol_id(self, native: str) -> str:
        return f"{native}.{VENUE}"

    def streaming(self) -> bool:
        return self.up

    def classify(self, exc: VenueError) -> Verdict:
        assert isinstance(exc, Err)
        return Verdict(exc.kind, retry_after=exc.retry_after)

    # -- requests -----------------------------------------------------------------------------
    def _note(self, what: str, track: OrderTrack) -> None:
        self.calls.append(what)
        self.wire.append((what, track.venue_client_id, self.native_symbol(track.symbol)))

    async def place(self, order: Order, track: OrderTrack) -> PlaceAck:
        self._note("place", track)
        if self.place_gate is not None:
            await self.place_gate.wait()
        ack: PlaceAck = self._next(self.places, PlaceAck("V1"))
        return ack

    async def cancel(self, track: OrderTrack) -> None:
        self._note("cancel", track)
        if self.cancel_gate is not None:
            await self.cancel_gate.wait()
        self._next(self.cancels, None)

    async def amend(self, track: OrderTrack, qty: float | None, price: float | None) -> None:
        self._note("amend", track)
        self._next(self.amends, None)

    async def fetch_order(self, track: OrderTrack) -> OrderReport:
        self._note("fetch_order", track)
        item = self._next(self.lookups, OrderStatus.ACCEPTED)
        status, filled = item if isinstance(item, tuple) else (item, 0.0)
        return OrderReport(0, track.client_order_id, "V1", track.symbol, status, filled)

    async def fetch_fills(self, track: OrderTrack) -> list[Fill]:
        self._note("fetch_fills", track)
        return [
            Fill(0, track.client_order_id, "V1", tid, track.symbol, track.side, 100.0, qty, 0.0,
                 "USD", Liquidity.MAKER)
            for tid, qty in self.fill_rows
        ]  # fmt: skip


class Sink:
    """Records what reaches the engine, in order."""

    def __init__(self) -> None:
        self.log: list[OrderReport | Fill] = []

    def on_order_report(self, report: OrderReport) -> None:
        self.log.append(report)

    def on_fill(self, fill: Fill) -> None:
        self.log.append(fill)

    def reports(self) -> list[OrderReport]:
        return [x for x in self.log if isinstance(x, OrderReport)]

    def statuses(self) -> list[OrderStatus]:
        return [r.status for r in self.reports()]

    def fills(self) -> list[Fill]:
        return [x for x in self.log if isinstance(x, Fill)]


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(
    hooks: ScriptedHooks | None = None,
    policy: RecoveryPolicy = FAST,
    retention: Retention = Retention(),
    monotonic: FakeMonotonic | None = None,
) -> tuple[OrderLifecycle, ScriptedHooks, Sink, list[Any]]:
    """A lifecycle over the double; the last item collects VenueStatus events."""
    hooks = hooks or ScriptedHooks()
    status: list[Any] = []
    kit = OrderLifecycle(
        hooks,
        recovery=policy,
        retention=retention,
        monotonic=monotonic or FakeMonotonic(),
        on_status=status.append,
    )
    sink = Sink()
    kit.bind(sink)
    return kit, hooks, sink, status


def limit(cid: str = "c1", qty: float = 2.0, price: float = 100.0) -> Order:
    return Order(cid, SYM, Side.BUY, qty, OrderType.LIMIT, price)


async def working(kit: OrderLifecycle, cid: str = "c1") -> Order:
    """An order placed through the lifecycle and acknowledged (ACCEPTED)."""
    order = limit(cid)
    kit.submit(order)
    await kit.drain()
    order.status = OrderStatus.ACCEPTED
    return order
