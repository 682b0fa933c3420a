"""Every order's life through the state machine: the order-keeping half of the OMS.

Explicit orders (checked by the risk engine, then sent), cancels and amends, the venue's
reports and fills — each fill booked exactly once, a replayed one ignored, a foreign one
counted and never charged to a strategy — brackets, and forgetting old finished orders. The
trade-to-target half (``engine.oms.OMS``) builds on this class: it sends target-driven orders
through the same path and is told here when one of them ends (``_target_order_done``).

Trigger orders (stops, take-profits, trailing stops, OCO) are explicit orders like any other:
the venue holds them and reports their fills under their own id. A bracket's protective order
(``Order.attached``) is registered here with the entry — SUBMITTED, so its later reports and
fills book to the strategy — and ended CANCELED here if the entry ends without a fill (the
venue never placed it). It cannot be canceled before the entry fills (cancel the entry).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from tradeloop.core.bus import EventBus
from tradeloop.core.clock import Clock
from tradeloop.core.ids import IdGenerator
from tradeloop.engine.execconfig import ExecConfig
from tradeloop.engine.funding import HoldingsTape, book_funding
from tradeloop.engine.portfolio import Portfolio
from tradeloop.engine.risk import RiskEngine
from tradeloop.model import (
    Fill,
    FundingPaid,
    IllegalTransition,
    Instrument,
    Order,
    OrderReport,
    OrderStatus,
    RejectReason,
)
from tradeloop.model.enums import (
    BUY,
    FILLED,
    PARTIALLY_FILLED,
    PENDING_CANCEL,
    REJECTED,
    SELL,
    SUBMITTED,
)
from tradeloop.venues.base import ExecutionClient

_ACCEPTED = OrderStatus.ACCEPTED
_TERMINAL = frozenset(s for s in OrderStatus if s.is_terminal)
_PENDING_AMEND = OrderStatus.PENDING_AMEND
_CANCEL_FAILED = RejectReason.CANCEL_FAILED

log = logging.getLogger("tradeloop.engine.oms")  # one logger for the whole OMS

OrderListener = Callable[[Order], None]
FillListener = Callable[[Fill], None]


@dataclass(slots=True)
class _Listeners:
    orders: dict[str, OrderListener] = field(default_factory=dict)
    fills: dict[str, FillListener] = field(default_factory=dict)


class OrderLifecycle:
    """Orders, reports and fills (module docstring); ``engine.oms.OMS`` adds targets."""

    def __init__(
        self,
        bus: EventBus,
        clock: Clock,
        client: ExecutionClient,
        risk: RiskEngine,
        portfolio: Portfolio,
        instruments: dict[str, Instrument],
        config: ExecConfig = ExecConfig(),
        ids: IdGenerator | None = None,
    ) -> None:
        self.bus = bus
        self.clock = clock
        self.client = client
        self.risk = risk
        self.portfolio = portfolio
        self.instruments = instruments
        self.config = config
        self.ids = ids or IdGenerator()
        self.orders: dict[str, Order] = {}
        self.open_orders: dict[str, Order] = {}
        self._by_target: set[str] = set()  # client ids of target-driven orders
        self._seen_trades: set[tuple[str, str]] = set()
        self._seen_funding: set[tuple[str, str]] = set()
        #: recent derivative fills: the holdings a late funding payment was settled on
        self.holdings = HoldingsTape()
        self._finished: deque[str] = deque()  # client ids in the order they finished
        self._amends: dict[str, tuple[float | None, float | None]] = {}  # asked, not answered
        self._brackets: dict[str, Order] = {}  # entry id -> protective order not yet placed
        #: fills of orders this OMS does not know (never booked; see ``on_fill``)
        self.foreign_fills = 0
        self._trades_of: dict[str, list[str]] = {}  # only kept when pruning is on
        self.listeners = _Listeners()

    # -- explicit orders --------------------------------------------------------------------
    def submit(self, order: Order) -> Order:
        if not order.client_order_id:
            order.client_order_id = self.ids.next()
        if order.client_order_id in self.orders:
            raise ValueError(f"duplicate client order id {order.client_order_id}")
        now = self.clock.now()
        order.ts_created = order.ts_created or now
        self.orders[order.client_order_id] = order
        child = order.attached
        if child is not None:
            self._register_attached(order, child, now)
        refusal = self.risk.refusal(order, now)
        if refusal is not None:
            self._reject_locally(order, refusal, now)
            if child is not None:
                self._end_attached(order, now, REJECTED, refusal)
            return order
        order.transition(SUBMITTED, now)
        self.open_orders[order.client_order_id] = order
        self.client.submit_order(order)
        return order

    def _register_attached(self, entry: Order, child: Order, now: int) -> None:
        """A bracket's protective order is known from the start, under its own id."""
        if not child.client_order_id:
            child.client_order_id = self.ids.next()
        if child.client_order_id in self.orders:
            raise ValueError(f"duplicate client order id {child.client_order_id}")
        child.strategy_id = child.strategy_id or entry.strategy_id
        child.ts_created = now
        self.orders[child.client_order_id] = child
        child.transition(SUBMITTED, now)
        self.open_orders[child.client_order_id] = child
        self._brackets[entry.client_order_id] = child

    def _end_attached(
        self,
        entry: Order,
        ts: int,
        status: OrderStatus = OrderStatus.CANCELED,
        refusal: tuple[RejectReason, str] | None = None,
    ) -> None:
        """The entry ended: its protective order is placed by the venue if anything filled
        (sized to the fill), else it never will be and ends here."""
        child = self._brackets.pop(entry.client_order_id, None)
        if child is None:
            return
        if entry.filled_qty > 0 and status is not REJECTED:
            child.qty = entry.filled_qty
            return
        code, reason = refusal or (RejectReason.NONE, "entry ended without a fill")
        child.transition(status, ts, reason)
        child.code = code
        self.open_orders.pop(child.client_order_id, None)
        self.bus.publish(OrderReport(ts, child.client_order_id, "", child.symbol, status,
                                     reason=reason, code=code))  # fmt: skip
        self._notify_order(child)

    def cancel(self, order: Order) -> None:
        if order.is_open and order.status is not PENDING_CANCEL:
            if order.status is SUBMITTED and order in self._brackets.values():
                log.info("protective order %s is placed when its entry fills: cancel the entry",
                         order.client_order_id)  # fmt: skip
                return
            order.transition(PENDING_CANCEL, self.clock.now())
            self.client.cancel_order(order)

    def amend(self, order: Order, qty: float | None = None, price: float | None = None) -> bool:
        """Change a working order's total size and/or limit price at the venue. Only an
        acknowledged order (ACCEPTED / PARTIALLY_FILLED) can be amended — before the venue
        has it, its ack could not be told from the amend's answer. Returns whether the amend
        was sent; its outcome arrives as a report (``code`` NONE: done; otherwise why not)."""
        if order.status is not _ACCEPTED and order.status is not PARTIALLY_FILLED:
            log.info("amend of %s in %s ignored", order.client_order_id, order.status.value)
            return False
        if qty is None and price is None:
            return False
        self._amends[order.client_order_id] = (qty, price)
        order.transition(_PENDING_AMEND, self.clock.now())
        self.client.amend_order(order, qty, price)
        return True

    def cancel_all(self, symbol: str | None = None) -> int:
        n = 0
        for o in list(self.open_orders.values()):
            if symbol is None or o.symbol == symbol:
                self.cancel(o)
                n += 1
        return n

    def _reject_locally(self, order: Order, refusal: tuple[RejectReason, str], ts: int) -> None:
        code, reason = refusal
        order.transition(REJECTED, ts, reason)
        order.code = code
        log.info("order %s refused before the venue: %s", order.client_order_id, reason)
        report = OrderReport(
            ts, order.client_order_id, "", order.symbol, REJECTED, reason=reason, code=code
        )
        self.bus.publish(report)
        self._notify_order(order)
        if self.config.max_finished_orders is not None:
            self._prune(order.client_order_id)

    # -- ExecutionSink ----------------------------------------------------------------------
    def on_fill(self, fill: Fill) -> None:
        order = self.orders.get(fill.client_order_id)
        if order is None and fill.client_order_id:
            # Not one of ours (another client on the same account, the venue's web UI): money
            # moved at the venue, but no strategy asked for it, so none is charged with it.
            self.foreign_fills += 1
            log.warning("fill %s of order %s is not ours: not booked to any strategy",
                        fill.trade_id, fill.client_order_id)  # fmt: skip
            return
        key = (fill.client_order_id, fill.trade_id)
        if key in self._seen_trades:
            return  # a replay after reconnect: already booked
        self._seen_trades.add(key)
        if self.config.max_finished_orders is not None:
            self._trades_of.setdefault(fill.client_order_id, []).append(fill.trade_id)
        strategy_id = ""
        if order is not None:
            order.apply_fill(fill.qty, fill.price, fill.fee)
            strategy_id = order.strategy_id
            if order.is_terminal and order.status is not FILLED:
                log.warning("late fill %s for %s order %s booked", fill.trade_id,
                            order.status.value, order.client_order_id)  # fmt: skip
        allocation = self.portfolio.apply_fill(fill, strategy_id)
        if self.instruments[fill.symbol].is_derivative:
            signed = fill.qty if fill.side is BUY else -fill.qty
            self.holdings.record(fill.symbol, fill.venue_ts, signed, allocation)
        if order is None and not fill.client_order_id:
            self._venue_initiated(fill, allocation)
        self.bus.publish(fill)
        fills = self.listeners.fills
        if fills:
            for sid, signed, fee in allocation:
                cb = fills.get(sid)
                if cb is not None:
                    side = BUY if signed > 0 else SELL
                    cb(
                        Fill(
                            fill.ts,
                            fill.client_order_id,
                            fill.venue_order_id,
                            fill.trade_id,
                            fill.symbol,
                            side,
                            fill.price,
                            abs(signed),
                            fee,
                            fill.fee_ccy,
                            fill.liquidity,
                            sid,
                            fill.exec_ts,
                        )
                    )

    def on_funding(self, payment: FundingPaid) -> None:
        """Book a venue's funding payment on the account and its strategies, once (rule 9),
        on their holdings when it was settled (``engine.funding``)."""
        key = (payment.venue, payment.payment_id)
        if key in self._seen_funding:
            return
        self._seen_funding.add(key)
        if book_funding(self.portfolio, self.holdings, payment):
            self.bus.publish(payment)

    def on_order_report(self, report: OrderReport) -> None:
        order = self.orders.get(report.client_order_id)
        if order is None:
            log.warning(
                "report for unknown order %s (%s)", report.client_order_id, report.status.value
            )
            self.bus.publish(report)
            return
        if report.venue_order_id:
            order.venue_order_id = report.venue_order_id
        new = report.status
        pending = order.status is PENDING_CANCEL or order.status is _PENDING_AMEND
        if (
            order.status is PENDING_CANCEL
            and new is _ACCEPTED
            and report.code is not _CANCEL_FAILED
        ):
            return  # the placement's ack overtaken by our cancel: still pending
        if order.status is _PENDING_AMEND:
            self._amend_settled(order, report)
        if new is not order.status or new is PARTIALLY_FILLED:
            if new not in _TERMINAL and report.filled_qty + 1e-12 < order.filled_qty:
                log.debug("stale report for %s ignored", order.client_order_id)
                return
            try:
                order.transition(new, report.ts, report.reason)
            except IllegalTransition as exc:
                log.warning("%s (report ignored)", exc)
                return
            if report.code is not RejectReason.NONE:
                order.code = report.code
        done = order.status in _TERMINAL
        if done:
            self.open_orders.pop(order.client_order_id, None)
            if self.config.max_finished_orders is not None:
                self._prune(order.client_order_id)
            if self._brackets:
                self._end_attached(order, report.ts)
        self.bus.publish(report)
        self._notify_order(order)
        if order.client_order_id in self._by_target:
            if done:
                self._target_order_done(order, order_was_canceling=pending)
            elif pending and report.code is _CANCEL_FAILED:
                self._cancel_failed(order)

    def _amend_settled(self, order: Order, report: OrderReport) -> None:
        """The venue's answer to our amend: new values on success, the old ones otherwise."""
        wish = self._amends.pop(order.client_order_id, None)
        if wish is None or report.status.is_terminal:
            return
        if report.code is RejectReason.NONE:
            qty, price = wish
            if qty is not None:
                order.qty = qty
            if price is not None:
                order.price = price
        else:
            log.warning("amend of %s refused (%s): %s", order.client_order_id,
                        report.code.value, report.reason)  # fmt: skip

    def _notify_order(self, order: Order) -> None:
        if order.strategy_id:
            cb = self.listeners.orders.get(order.strategy_id)
            if cb is not None:
                cb(order)

    def _prune(self, finished_id: str) -> None:
        """Forget the oldest finished orders beyond ``max_finished_orders``."""
        keep = self.config.max_finished_orders or 0
        done = self._finished
        done.append(finished_id)
        while len(done) > keep:
            cid = done.popleft()
            order = self.orders.get(cid)
            if order is None or not order.is_terminal:
                continue
            del self.orders[cid]
            self._by_target.discard(cid)
            for tid in self._trades_of.pop(cid, ()):
                self._seen_trades.discard((cid, tid))

    # -- what the trade-to-target half does (``engine.oms.OMS``) ---------------------------
    def _target_order_done(self, order: Order, order_was_canceling: bool = False) -> None:
        """A target-driven order ended: pursue its target on."""

    def _cancel_failed(self, order: Order) -> None:
        """The venue could not confirm our cancel of a target-driven order."""

    def _venue_initiated(self, fill: Fill, allocation: list[tuple[str, float, float]]) -> None:
        """The venue traded on its own (a liquidation): targets follow the position."""
