"""The journaling seam between a kernel's OMS and one account's gateway.

:class:`AccountClient` is the ``ExecutionClient`` the OMS sees for one account, and the
``ExecutionSink`` that account's gateway reports to. Going out, an order is journaled (and
committed) before the gateway gets it. Coming in, it decides what the engine may see:

* reports and fills of **our** orders (client id with this deployment's prefix) are journaled
  and passed on — a fill exactly once: the journal's ``(account, order, trade)`` key is the
  de-duplication that survives restarts (the OMS's own set does not), and the fill row is
  committed in the same transaction as the portfolio state it produced;
* fills the venue made on its own (no client id: a liquidation) are journaled and passed on;
* funding payments on the account's positions are journaled and passed on once, with the
  portfolio state they produced in the same transaction, as fills are;
* anything else is **foreign** (another program on the same keys, the web UI, the FMZ bridge):
  journaled and reported once per order, never passed on, so it can never move a strategy's
  position or PnL;
* orders the runtime itself sends to bring the venue back to the journal (``flatten``) are
  journaled, not booked.

Ordering note: a gateway's ``submit_order`` only schedules the request (base.py rule 1), so an
order created while a fill is being handled reaches the wire after that fill's transaction —
which also holds the order's row — has committed.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable

import msgspec

from tradeloop.live.journal import CORRECTIVE, FOREIGN, MISSED, OWN, SHADOW, VENUE, Journal
from tradeloop.model import (
    Fill,
    FundingPaid,
    Instrument,
    Order,
    OrderReport,
    OrderStatus,
    RejectReason,
)
from tradeloop.venues.base import ExecutionClient, ExecutionSink

log = logging.getLogger(__name__)

#: strategy id journaled for the runtime's own corrective orders (position flatten)
RECONCILE = "_reconcile"


class AccountClient(ExecutionClient):
    """One account of one venue, journaled (see the module docstring)."""

    def __init__(
        self,
        gateway: ExecutionClient,
        account: str,
        group: str,
        journal: Journal,
        prefix: str,
        now: Callable[[], int],
        shadow: bool = False,
    ) -> None:
        self.gateway = gateway
        self.shadow = shadow
        self.venue = gateway.venue
        self.account = account
        self.group = group
        self.journal = journal
        self.prefix = prefix
        self.now = now
        self.sink: ExecutionSink | None = None
        #: called after each booked fill, inside its transaction (the runtime journals the
        #: portfolio and strategy state there)
        self.after_fill: Callable[[], None] | None = None
        #: called when the journal cannot be written: the runtime halts trading
        self.on_journal_error: Callable[[str], None] | None = None
        #: client ids of the runtime's corrective orders (never booked into strategies)
        self.corrective: set[str] = set()
        self.foreign_orders: set[str] = set()
        self.foreign_fills = 0
        self.missed_mode = False
        self.orders_sent = 0
        self.fills_booked = 0
        self.duplicates = 0
        self.funding_booked = 0
        #: the account's contracts in an instrument that are not the strategies', as of a
        #: time (set by start-up reconciliation): sizes the engine's share of a payment
        self.outside_of: Callable[[str, int], float] | None = None

    # -- ExecutionClient (the OMS's side) ---------------------------------------------------
    def bind(self, sink: ExecutionSink) -> None:
        self.sink = sink
        self.gateway.bind(self)

    def instruments(self) -> dict[str, Instrument]:
        return self.gateway.instruments()

    def submit_order(self, order: Order) -> None:
        try:
            self.journal.order_intent(order, self.account, self.group, self.now())
        except sqlite3.Error as exc:
            why = f"journal write failed ({exc}): order not sent"
            log.error("%s: %s %s", self.account, order.client_order_id, why)
            if self.sink is not None:
                self.sink.on_order_report(
                    OrderReport(self.now(), order.client_order_id, "", order.symbol,
                                OrderStatus.REJECTED, reason=why, code=RejectReason.OTHER)
                )  # fmt: skip
            if self.on_journal_error is not None:
                self.on_journal_error(why)
            return
        self.orders_sent += 1
        log.info("order %s %s %s %s %s@%s -> %s [%s]", order.client_order_id,
                 order.strategy_id or "-", order.side.value, order.symbol,
                 order.qty or f"quote {order.quote_qty:g}", order.price or "mkt",
                 self.account, order.order_type.value)  # fmt: skip
        self.gateway.submit_order(order)

    def submit_corrective(self, order: Order) -> None:
        """Send an order that is not any strategy's (reconciliation's flatten)."""
        self.corrective.add(order.client_order_id)
        order.strategy_id = RECONCILE
        order.status = OrderStatus.SUBMITTED
        self.journal.order_intent(order, self.account, self.group, self.now())
        log.info("order %s %s %s %s -> %s: corrective (not booked into strategies)",
                    order.client_order_id, order.side.value, order.qty, order.symbol,
                    self.account)  # fmt: skip
        self.gateway.submit_order(order)

    def cancel_order(self, order: Order) -> None:
        self._journal_local(order, "cancel requested")
        self.gateway.cancel_order(order)

    def amend_order(
        self, order: Order, qty: float | None = None, price: float | None = None
    ) -> None:
        self._journal_local(order, f"amend requested qty={qty} price={price}")
        self.gateway.amend_order(order, qty, price)

    def _journal_local(self, order: Order, why: str) -> None:
        try:
            self.journal.order_event(
                OrderReport(self.now(), order.client_order_id, order.venue_order_id,
                            order.symbol, order.status, order.filled_qty, reason=why)
            )  # fmt: skip
        except sqlite3.Error as exc:
            log.error("%s: journal write failed: %s", self.account, exc)

    # -- ExecutionSink (the gateway's side) --------------------------------------------------
    def is_own(self, client_order_id: str) -> bool:
        return client_order_id.startswith(self.prefix)

    def on_order_report(self, report: OrderReport) -> None:
        cid = report.client_order_id
        if not self.is_own(cid):
            if cid not in self.foreign_orders:
                self.foreign_orders.add(cid)
                msg = (f"foreign order {cid or report.venue_order_id} on {report.symbol} "
                       f"({report.status.value}): not ours, never booked")  # fmt: skip
                log.warning("%s: %s", self.account, msg)
                self.journal.event("foreign_order", self.account, msg, report.ts)
            return
        self.journal.order_event(report)
        log.info("order %s %s filled=%g%s", cid, report.status.value, report.filled_qty,
                 f" ({report.reason})" if report.reason else "")  # fmt: skip
        if cid in self.corrective or self.sink is None:
            return
        self.sink.on_order_report(report)

    def on_fill(self, fill: Fill) -> None:
        cid = fill.client_order_id
        own = self.is_own(cid)
        if cid and not own:
            self.foreign_fills += 1
            if self.journal.fill(self.account, fill, FOREIGN):
                msg = (f"foreign fill {fill.trade_id} of {cid}: {fill.side.value} {fill.qty:g} "
                       f"{fill.symbol} @ {fill.price:g}; not booked")  # fmt: skip
                log.warning("%s: %s", self.account, msg)
                self.journal.event("foreign_fill", self.account, msg, fill.ts)
            return
        if cid in self.corrective:
            origin = CORRECTIVE
        elif self.shadow:
            origin = SHADOW
        else:
            origin = (MISSED if self.missed_mode else OWN) if own else VENUE
        with self.journal.batch():
            if not self.journal.fill(self.account, fill, origin):
                self.duplicates += 1
                log.debug("fill %s of %s already journaled", fill.trade_id, cid)
                return
            log.info("fill %s %s %s %g %s @ %g fee %g %s%s", cid or "venue", fill.trade_id,
                     fill.side.value, fill.qty, fill.symbol, fill.price, fill.fee,
                     fill.fee_ccy, " (missed while down)" if self.missed_mode else "")  # fmt: skip
            if cid in self.corrective or self.sink is None:
                return
            try:
                self.sink.on_fill(fill)
            except Exception:
                # booked in the portfolio before the failure: commit, or a restart books twice
                log.exception("%s: handling fill %s raised", self.account, fill.trade_id)
            self.fills_booked += 1
            if self.after_fill is not None:
                self.after_fill()

    def on_funding(self, payment: FundingPaid) -> None:
        if self.shadow:
            return  # a shadow account's simulated venue settles no real funding
        with self.journal.batch():
            if not self.journal.funding(self.account, payment):
                log.debug("funding %s already journaled", payment.payment_id)
                return
            log.info("funding %s %s: paid %.8g %s (rate %g)%s", payment.payment_id,
                     payment.symbol, payment.amount, payment.ccy, payment.rate,
                     " (missed while down)" if self.missed_mode else "")  # fmt: skip
            if self.sink is None:
                return
            if self.outside_of is not None:
                outside = self.outside_of(payment.symbol, payment.ts)
                if outside:
                    payment = msgspec.structs.replace(payment, outside=outside)
            try:
                self.sink.on_funding(payment)
            except Exception:
                log.exception("%s: handling funding %s raised", self.account, payment.payment_id)
            self.funding_booked += 1
            if self.after_fill is not None:
                self.after_fill()
