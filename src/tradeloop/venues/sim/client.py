"""In-process Gateway over the ``sim/`` matching engine, for backtests and contract tests.

It adds nothing to the venue's behaviour: it stamps requests with the engine clock and forwards
the venue's reports to the OMS, exactly as a real connector forwards its private stream. The
rest of the :class:`~tradeloop.venues.base.Gateway` contract is answered from the
:class:`~tradeloop.sim.exchange.SimExchange` itself — queries, amend outcomes, book and quote —
so the conformance suite can run the same checks against it as against a venue over the wire.
The submit/cancel path stays exactly as thin as before: backtests call it once per order.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from tradeloop.core.clock import Clock, SimClock
from tradeloop.model import (
    BalanceUpdate,
    BookLevels,
    Fill,
    FundingPaid,
    Instrument,
    Order,
    OrderReport,
    OrderStatus,
    OrderType,
    PositionUpdate,
    QuoteTick,
    RejectReason,
)
from tradeloop.model.checks import order_problem
from tradeloop.sim.config import SimConfig
from tradeloop.sim.exchange import SimExchange
from tradeloop.venues.base import ExecutionSink, Gateway, MarketDataSink
from tradeloop.venues.execution.checks import amend_problem

_LIVE = (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED)
log = logging.getLogger(__name__)


class SimExecutionClient(Gateway):
    """``venue`` is the instruments' common venue (``SIM`` when they have none in common), so
    the client can stand in for any venue in a backtest."""

    venue = "SIM"

    def __init__(
        self,
        instruments: Iterable[Instrument],
        balances: dict[str, float],
        clock: Clock,
        config: SimConfig | None = None,
    ) -> None:
        self._instruments = {i.symbol: i for i in instruments}
        venues = {i.venue for i in self._instruments.values()}
        if len(venues) == 1:
            self.venue = venues.pop()
        self._clock = clock
        self._sink: ExecutionSink | None = None
        self._data_sink: MarketDataSink | None = None
        self.subscriptions: dict[str, set[str]] = {}
        self._submitted: set[str] = set()
        self.exchange = SimExchange(
            self._instruments.values(), balances, self, config or SimConfig()
        )

    # -- lifecycle: nothing to open or wait for ----------------------------------------------
    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def drain(self, timeout: float = 30.0) -> None:
        return None

    def bind(self, sink: ExecutionSink) -> None:
        self._sink = sink

    def bind_data(self, sink: MarketDataSink) -> None:
        self._data_sink = sink

    def instruments(self) -> dict[str, Instrument]:
        return self._instruments

    def forget_finished(self, keep: int) -> int:
        """:meth:`SimExchange.forget_finished`, then the duplicate-id set down to the orders
        the venue still knows (the OMS never re-sends an id it finished with)."""
        gone = self.exchange.forget_finished(keep)
        if len(self._submitted) >= 2 * keep:
            self._submitted = {cid for cid in self._submitted if self.exchange.knows(cid)}
        return gone

    # -- orders --------------------------------------------------------------------------------
    def submit_order(self, order: Order) -> None:
        """Rules 3 and 5 as cheaply as a backtest needs (float fast paths, once per order): a
        repeated client id is ignored, a size or price that rounds to nothing is refused, and
        an off-tick limit price goes to the venue rounded to the tick."""
        cid = order.client_order_id
        if cid in self._submitted:
            log.warning("SIM: %s already submitted; ignoring the duplicate", cid)
            return
        self._submitted.add(cid)
        inst = self._instruments.get(order.symbol)
        if inst is not None:
            refusal = self._refusal(order, inst)
            if refusal is not None:
                self.on_order_report(OrderReport(self._clock.now(), cid, "", order.symbol,
                                                 OrderStatus.REJECTED, reason=refusal[1],
                                                 code=refusal[0]))  # fmt: skip
                return
            if order.order_type is OrderType.LIMIT:
                px = inst.round_price(order.price)
                if px != order.price:
                    order = dataclasses.replace(order, price=px)
        self.exchange.submit(order, self._clock.now())

    @staticmethod
    def _refusal(order: Order, inst: Instrument) -> tuple[RejectReason, str] | None:
        problem = order_problem(order)
        if problem is not None:
            return problem
        # plain comparisons, not the rounding itself: a size floors to 0 lots below one lot
        # (less the rounding's 1e-9-lot tolerance), a price rounds half-even to 0 ticks at or
        # below half a tick
        if not order.quote_qty and order.qty < inst.lot_size * (1.0 - 1e-9):
            return RejectReason.INVALID_SIZE, f"size {order.qty} rounds to 0 lots"
        if order.order_type is OrderType.LIMIT and order.price <= inst.tick_size * 0.5:
            return RejectReason.INVALID_PRICE, f"price {order.price} rounds to 0 ticks"
        return None

    def cancel_order(self, order: Order) -> None:
        if self.exchange.cancel(order.client_order_id, self._clock.now()) or order.is_terminal:
            return
        if self.exchange.last_refusal is RejectReason.ORDER_NOT_FOUND:
            # The venue never had it: say so (rule 6) rather than leave the engine waiting.
            # (A finished order needs nothing: its final report was already delivered.)
            self._tell(order, "cancel failed: order not found", RejectReason.CANCEL_FAILED)

    def amend_order(
        self, order: Order, qty: float | None = None, price: float | None = None
    ) -> None:
        cid = order.client_order_id
        problem = amend_problem(qty, price, self._instruments.get(order.symbol))
        if problem is not None:
            self._tell(order, f"amend failed: {problem[1]}", problem[0])
        elif self.exchange.amend(cid, qty, price, self._clock.now()):
            self._tell(order, f"amended qty={qty} price={price}", RejectReason.NONE)
        else:
            code = self.exchange.last_refusal
            rec = self.exchange.order(cid)
            if code is RejectReason.ORDER_CLOSED or (rec is not None and rec.status.is_terminal):
                return  # it ended first; that report was already delivered
            self._tell(order, f"amend failed: {code.value}", code)

    def _tell(self, order: Order, reason: str, code: RejectReason) -> None:
        """A cancel/amend outcome: the order's working state repeated with why (rule 6)."""
        rec = self.exchange.order(order.client_order_id)
        filled = rec.filled_qty if rec is not None else order.filled_qty
        status = rec.status if rec is not None and rec.status in _LIVE else OrderStatus.ACCEPTED
        vid = rec.venue_order_id if rec is not None else order.venue_order_id
        self.on_order_report(
            OrderReport(self._clock.now(), order.client_order_id, vid, order.symbol, status,
                        filled, rec.avg_price if rec is not None else 0.0, reason, code)
        )  # fmt: skip

    # venue -> engine
    def on_order_report(self, report: OrderReport) -> None:
        if self._sink is not None:
            self._sink.on_order_report(report)

    def on_fill(self, fill: Fill) -> None:
        if self._sink is not None:
            self._sink.on_fill(fill)

    def on_funding(self, payment: FundingPaid) -> None:
        if self._sink is not None:
            self._sink.on_funding(payment)

    # -- market data: the sim has no feed of its own (the backtest replays into it) ------------
    async def subscribe(self, symbol: str, channels: tuple[str, ...]) -> None:
        if symbol not in self._instruments:
            raise ValueError(f"unknown {self.venue} instrument {symbol!r}")
        self.subscriptions.setdefault(symbol, set()).update(channels)

    async def unsubscribe(self, symbol: str, channels: tuple[str, ...]) -> None:
        self.subscriptions.get(symbol, set()).difference_update(channels)

    def book(self, symbol: str, depth: int = 20) -> BookLevels | None:
        if symbol not in self._instruments:
            return None
        bids, asks = self.exchange.book_levels(symbol, depth)
        if not bids and not asks:
            return None
        return BookLevels(self._clock.now(), symbol, bids, asks, True)

    def quote(self, symbol: str) -> QuoteTick | None:
        top = self.book(symbol, 1)
        if top is None:
            return None
        bid, bid_qty = top.bids[0] if top.bids else (0.0, 0.0)
        ask, ask_qty = top.asks[0] if top.asks else (0.0, 0.0)
        return QuoteTick(top.ts, symbol, bid, bid_qty, ask, ask_qty)

    # -- queries ---------------------------------------------------------------------------------
    async def fetch_balances(self) -> list[BalanceUpdate]:
        now = self._clock.now()
        return [
            BalanceUpdate(now, b.asset, b.total, b.free, self.venue)
            for b in self.exchange.balances().values()
        ]

    async def fetch_positions(self) -> list[PositionUpdate]:
        now = self._clock.now()
        return [
            PositionUpdate(now, p.symbol, p.qty, p.avg_price, self.exchange.unrealized_pnl(s))
            for s, p in self.exchange.positions().items()
            if p.qty
        ]

    async def fetch_open_orders(self) -> list[OrderReport]:
        now = self._clock.now()
        return [
            OrderReport(now, r.client_order_id, r.venue_order_id, r.symbol, r.status,
                        r.filled_qty, r.avg_price)
            for r in self.exchange.open_orders()
        ]  # fmt: skip

    async def fetch_fills(self, since_ns: int = 0) -> list[Fill]:
        return [f for f in self.exchange.fills() if f.ts >= since_ns]


def create(
    *,
    url: str = "",
    ws_url: str | None = None,
    credentials: Mapping[str, str] | None = None,
    instruments: Iterable[Instrument] = (),
    balances: dict[str, float] | None = None,
    clock: Clock | None = None,
    config: SimConfig | None = None,
    **options: Any,
) -> SimExecutionClient:
    """The registry's factory (``venues.registry``): no URL, no credentials; the simulated
    venue lists ``instruments`` and holds ``balances``, on ``clock`` (a fresh SimClock)."""
    if options:
        raise TypeError(f"unknown SIM options: {', '.join(sorted(options))}")
    return SimExecutionClient(instruments, dict(balances or {}), clock or SimClock(), config)
