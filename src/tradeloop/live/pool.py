"""An account pool: one strategy's orders spread over several accounts of one venue.

Seed 003's multi-account case: a venue limits order rates per account (OKX: 60 orders per 2 s
per instrument), so a strategy that must send more spreads them over several accounts.
:class:`AccountPool` is the ``ExecutionClient`` the OMS sees for a venue whose strategy lists
several of its accounts (``account = ["okx-a", "okx-b"]``); behind it each account keeps its
own :class:`~tradeloop.live.recorder.AccountClient` (journal, own/foreign split, exactly-once
fills), so everything per account — holdings, reconciliation, balances — stays per account.

Routing, per order:

* an order that reduces what the pool's accounts hold of that instrument goes where the
  holding is, so a perpetual long on one account is closed there, not offset by a short on
  another (which would tie margin up twice, and on spot could sell coins an account does not
  have): to one account holding at least its size (the one with most headroom), else **split**
  over the holders, largest first, each taking at most what it holds (rounded down to the
  lot); what is left beyond every holding opens the other side on the account with most
  headroom;
* any other order goes to the account with the most rate-limit headroom under its
  ``orders_per_second`` (``[[account]]``; a bucket of one second's worth), ties to the account
  used least recently. With every budget spent it still goes to the one whose budget is paid
  back first (the gateway's own limiter then waits);
* cancels and amends go to the account(s) holding the order.

A split order stays one order for the OMS: its parts are orders of their own at the venue and
in the journal (client id = the order's + ``p`` + a digit, so still this deployment's, each
journaled with the strategy before it is sent, reconciled on its account), and the pool folds
their reports into the parent's (filled when all are, canceled when all are over and some
part did not fill, cumulative size and average price over the parts) and passes their fills
on under the parent's client id (trade id prefixed with the part's, so two accounts' trade ids
never collide in the OMS's exactly-once set).

``shares`` — each account's signed holding per instrument as booked by the engine — are loaded
from the journal at start (:meth:`load_shares`) and kept from the fills that pass through.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

import msgspec

from tradeloop.engine.funding import HoldingsTape, engine_share
from tradeloop.live.journal import MISSED, OWN, VENUE, Journal
from tradeloop.live.recorder import AccountClient
from tradeloop.model import (
    Fill,
    FundingPaid,
    Instrument,
    Order,
    OrderReport,
    OrderStatus,
    RejectReason,
    Side,
)
from tradeloop.venues.base import ExecutionClient, ExecutionSink

log = logging.getLogger(__name__)

#: parts of finished split orders remembered for late fills
FINISHED_PARTS = 10_000


class _MemberSink(ExecutionSink):
    """What one member account reports to: keeps the pool's shares, forwards to the OMS."""

    def __init__(self, pool: AccountPool, account: str) -> None:
        self.pool = pool
        self.account = account

    def on_order_report(self, report: OrderReport) -> None:
        if report.status.is_terminal:  # bounded: finished orders leave the routing table
            self.pool.where.pop(report.client_order_id, None)
        split = self.pool.parent_of.get(report.client_order_id)
        if split is not None:
            folded = split.on_part_report(report)
            if folded is None:
                return
            if folded.status.is_terminal:
                self.pool.forget(split)
            report = folded
        if self.pool.sink is not None:
            self.pool.sink.on_order_report(report)

    def on_fill(self, fill: Fill) -> None:
        self.pool.add_share(self.account, fill)
        parent = self.pool.parent_cid(fill.client_order_id)
        if parent is not None:
            fill = msgspec.structs.replace(
                fill, client_order_id=parent, trade_id=f"{fill.client_order_id}:{fill.trade_id}"
            )
        if self.pool.sink is not None:
            self.pool.sink.on_fill(fill)

    def on_funding(self, payment: FundingPaid) -> None:
        """One account's payment, as the OMS (which sees the pool's accounts as one) books
        it: the part on the engine's holding on this account, under an id no other account's
        payment can share."""
        held = self.pool.share_at(self.account, payment.symbol, payment.ts)
        if not held:
            log.info("pool %s: funding %s on %s (%g): the engine holds none of it on %s",
                     self.pool.venue, payment.payment_id, payment.symbol, payment.amount,
                     self.account)  # fmt: skip
            return
        amount = payment.amount * engine_share(held, payment)
        if self.pool.sink is not None:
            self.pool.sink.on_funding(msgspec.structs.replace(
                payment, amount=amount, position=0.0, outside=0.0,
                payment_id=f"{self.account}:{payment.payment_id}"))  # fmt: skip


class _Split:
    """One OMS order sent as several parts (one per account); folds the parts' reports."""

    def __init__(self, parent: Order, parts: list[tuple[str, Order]]) -> None:
        self.parent = parent
        self.parts = parts
        self.reports: dict[str, OrderReport] = {}
        self.said: tuple[OrderStatus, float] = (parent.status, 0.0)
        #: parts whose amend is unanswered; the OMS hears once all have answered
        self.amending: dict[str, float | None] = {}
        self.amend_code = RejectReason.NONE

    def on_part_report(self, r: OrderReport) -> OrderReport | None:
        """The parent's report after one part's, or None when the parent did not change."""
        self.reports[r.client_order_id] = r
        for _a, part in self.parts:
            if part.client_order_id == r.client_order_id:
                part.status = r.status
                part.venue_order_id = r.venue_order_id or part.venue_order_id
        rs = [self.reports.get(p.client_order_id) for _a, p in self.parts]
        filled = sum(x.filled_qty for x in rs if x is not None)
        value = sum(x.filled_qty * x.avg_price for x in rs if x is not None)
        statuses = [x.status if x is not None else OrderStatus.SUBMITTED for x in rs]
        done = all(st.is_terminal for st in statuses)
        reason = r.reason
        code: RejectReason = r.code if r.code is RejectReason.CANCEL_FAILED else RejectReason.NONE
        if done and all(st is OrderStatus.FILLED for st in statuses):
            status = OrderStatus.FILLED
        elif done and filled <= 0 and all(st is OrderStatus.REJECTED for st in statuses):
            status, code = OrderStatus.REJECTED, r.code
        elif done:
            status = OrderStatus.CANCELED
            reason = reason or "parts over without filling in full"
        elif filled > 0:
            status = OrderStatus.PARTIALLY_FILLED
        elif any(st is not OrderStatus.SUBMITTED for st in statuses):
            status = OrderStatus.ACCEPTED
        else:
            return None
        if r.client_order_id in self.amending:
            new_qty = self.amending.pop(r.client_order_id)
            if r.code is not RejectReason.NONE:
                self.amend_code, code = r.code, r.code
            elif new_qty is not None:
                for _a, part in self.parts:
                    if part.client_order_id == r.client_order_id:
                        part.qty = new_qty
            answered = not self.amending
            if answered:
                code, self.amend_code = self.amend_code, RejectReason.NONE
        else:
            answered = False
        # a refusal (a failed cancel) or the last amend answer reaches the OMS even when the
        # parent's status and size did not move: it is waiting for that word
        if (status, filled) == self.said and code is RejectReason.NONE and not answered:
            return None
        self.said = (status, filled)
        return OrderReport(r.ts, self.parent.client_order_id, self.parent.venue_order_id,
                           self.parent.symbol, status, filled, value / filled if filled else 0.0,
                           reason, code)  # fmt: skip


class AccountPool(ExecutionClient):
    def __init__(
        self,
        members: Sequence[AccountClient],
        orders_per_second: Sequence[float],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if len(members) < 2 or len({m.venue for m in members}) != 1:
            raise ValueError("a pool is two or more accounts of one venue")
        self.members = {m.account: m for m in members}
        self.venue = members[0].venue
        self.clock = clock
        #: per account: seconds one order takes of its budget, and the burst it may send at
        #: once (one second's worth, at least one order)
        self.cost = {m.account: 1.0 / r for m, r in zip(members, orders_per_second, strict=True)}
        self.burst = {a: max(1.0, 1.0 / c) * c for a, c in self.cost.items()}
        #: per account: when everything it was sent is paid back (a virtual-scheduling
        #: bucket; unlike a token bucket it keeps counting past empty, so a burst beyond
        #: every budget still spreads evenly)
        self.paid_at: dict[str, float] = dict.fromkeys(self.members, float("-inf"))
        self.sink: ExecutionSink | None = None
        #: account -> instrument id -> signed holding booked through this pool
        self.shares: dict[str, dict[str, float]] = {a: {} for a in self.members}
        #: account -> its recent fills by the venue's time (a payment's share as it settled)
        self.tapes = {a: HoldingsTape() for a in self.members}
        #: client id -> the account that holds the order
        self.where: dict[str, str] = {}
        self.last_used: dict[str, float] = dict.fromkeys(self.members, 0.0)
        self.sent: dict[str, int] = dict.fromkeys(self.members, 0)
        self._insts: dict[str, Instrument] = {}
        #: split orders: parent client id -> its split, and part client id -> the split
        self.splits: dict[str, _Split] = {}
        self.parent_of: dict[str, _Split] = {}
        #: parts of finished splits -> parent client id, for fills that come after the final
        #: report (bounded: the oldest go first)
        self.finished_parts: OrderedDict[str, str] = OrderedDict()

    # -- shares --------------------------------------------------------------------------------
    def _signed(self, symbol: str, side: str, qty: float, fee: float, fee_ccy: str) -> float:
        signed = qty if side == Side.BUY.value else -qty
        inst = self._insts.get(symbol)
        if inst is not None and not inst.is_derivative and fee_ccy == inst.base:
            signed -= fee
        return signed

    def add_share(self, account: str, fill: Fill) -> None:
        book = self.shares[account]
        signed = self._signed(fill.symbol, fill.side.value, fill.qty, fill.fee, fill.fee_ccy)
        book[fill.symbol] = book.get(fill.symbol, 0.0) + signed
        self.tapes[account].record(fill.symbol, fill.venue_ts, signed, [])

    def load_shares(self, journal: Journal) -> None:
        """Each account's holding as booked by the engine: its journaled own, missed and
        venue-made fills (foreign and corrective ones are never a strategy's)."""
        self._insts = self.instruments()
        for account in self.members:
            book: dict[str, float] = {}
            for origin in (OWN, MISSED, VENUE):
                for f in journal.fills(account, origin):
                    sym = f["symbol"]
                    book[sym] = book.get(sym, 0.0) + self._signed(
                        sym, f["side"], f["qty"], f["fee"], f["fee_ccy"]
                    )
            self.shares[account] = book

    def share(self, account: str, symbol: str) -> float:
        return self.shares[account].get(symbol, 0.0)

    def share_at(self, account: str, symbol: str, ts: int) -> float:
        """``account``'s share as it was at ``ts`` (the venue's time)."""
        return self.share(account, symbol) - self.tapes[account].since(symbol, ts)[0]

    # -- routing -------------------------------------------------------------------------------
    def pick(self, order: Order) -> str:
        now = self.clock()
        sign = -1.0 if order.side is Side.SELL else 1.0
        holders = [a for a in self.members
                   if -sign * self.share(a, order.symbol) >= order.qty - 1e-12]  # fmt: skip
        candidates = holders if order.qty > 0 and holders else list(self.members)

        def headroom(a: str) -> tuple[float, float]:
            # the earlier its budget is paid back, the more headroom; then least recent
            return (max(self.paid_at[a], now - self.burst[a]), self.last_used[a])

        return min(candidates, key=headroom)

    def plan(self, order: Order) -> list[tuple[str, float]]:
        """Where ``order`` goes: one ``(account, qty)``, or several for a reduction no single
        account holds enough for (see the module docstring)."""
        sign = -1.0 if order.side is Side.SELL else 1.0
        held = sorted(((a, -sign * self.share(a, order.symbol)) for a in self.members),
                      key=lambda x: -x[1])  # fmt: skip
        simple = order.trigger is not None or order.attached is not None or order.quote_qty
        if simple or order.qty <= 0 or held[0][1] <= 0 or held[0][1] >= order.qty - 1e-12:
            return [(self.pick(order), order.qty)]
        inst = self._insts.get(order.symbol)
        lot = inst.lot_size if inst is not None else 0.0
        smallest = max(inst.min_size, lot) if inst is not None else 0.0
        parts: dict[str, float] = {}
        left = order.qty
        for account, h in held:
            take = min(h, left)
            take = inst.round_qty(take) if inst is not None else take
            if h <= 0 or take < smallest or take <= 0:
                continue
            parts[account] = take
            left -= take
        left = inst.round_qty(left) if inst is not None else left
        if left > 1e-12:  # beyond every holding: opens the other side
            opener = self.pick(dataclasses.replace(order, qty=left))
            if opener not in parts and left < smallest:
                opener = next(iter(parts))  # too small alone: rides with the largest part
            parts[opener] = parts.get(opener, 0.0) + left
        if len(parts) < 2:
            return [(next(iter(parts)) if parts else self.pick(order), order.qty)]
        return list(parts.items())

    def headroom(self, account: str) -> float:
        """Orders ``account`` could send now without exceeding its rate (may be < 0)."""
        now = self.clock()
        return (now - max(self.paid_at[account], now - self.burst[account])) / self.cost[account]

    # -- ExecutionClient -----------------------------------------------------------------------
    def bind(self, sink: ExecutionSink) -> None:
        self.sink = sink
        for name, m in self.members.items():
            m.bind(_MemberSink(self, name))
        self._insts = self.instruments()

    def instruments(self) -> dict[str, Instrument]:
        return next(iter(self.members.values())).instruments()

    def submit_order(self, order: Order) -> None:
        cid = order.client_order_id
        account = self.where.get(cid)
        plan = [(account, order.qty)] if account else self.plan(order)
        if len(plan) == 1:
            self._send(plan[0][0], order)
            return
        parts = [(a, dataclasses.replace(order, client_order_id=f"{cid}p{k}", qty=q))
                 for k, (a, q) in enumerate(plan)]  # fmt: skip
        split = self.splits[cid] = _Split(order, parts)
        log.info("pool %s: %s %s %g %s split over %s", self.venue, cid, order.side.value,
                 order.qty, order.symbol,
                 ", ".join(f"{a} {p.qty:g}" for a, p in parts))  # fmt: skip
        for a, part in parts:
            self.parent_of[part.client_order_id] = split
            self._send(a, part)

    def _send(self, account: str, order: Order) -> None:
        self.where[order.client_order_id] = account
        now = self.clock()
        start = max(self.paid_at[account], now - self.burst[account])
        self.paid_at[account] = start + self.cost[account]
        self.last_used[account] = now
        self.sent[account] += 1
        log.debug("pool %s: %s -> %s", self.venue, order.client_order_id, account)
        self.members[account].submit_order(order)

    def forget(self, split: _Split) -> None:
        """A split order is over: out of the routing tables (bounded memory), its parts
        remembered a while longer for late fills."""
        parent = split.parent.client_order_id
        self.splits.pop(parent, None)
        for _a, part in split.parts:
            self.parent_of.pop(part.client_order_id, None)
            self.finished_parts[part.client_order_id] = parent
        while len(self.finished_parts) > FINISHED_PARTS:
            self.finished_parts.popitem(last=False)

    def parent_cid(self, cid: str) -> str | None:
        """The OMS order a part belongs to (None: not a part)."""
        split = self.parent_of.get(cid)
        return split.parent.client_order_id if split is not None else self.finished_parts.get(cid)

    def _holder(self, order: Order) -> AccountClient:
        cid = order.client_order_id
        account = self.where.get(cid)
        if account is None:  # adopted at start-up: the account its journal row names
            first = next(iter(self.members.values()))
            jo = first.journal.order(cid)
            account = jo.account if jo is not None and jo.account in self.members else ""
            if not account:
                log.warning("pool %s: order %s is on no known account; asking %s",
                            self.venue, cid, first.account)  # fmt: skip
                account = first.account
            self.where[cid] = account
        return self.members[account]

    def cancel_order(self, order: Order) -> None:
        split = self.splits.get(order.client_order_id)
        if split is None:
            self._holder(order).cancel_order(order)
            return
        for account, part in split.parts:
            if not part.status.is_terminal:
                self.members[account].cancel_order(part)

    def amend_order(
        self, order: Order, qty: float | None = None, price: float | None = None
    ) -> None:
        split = self.splits.get(order.client_order_id)
        if split is None:
            self._holder(order).amend_order(order, qty, price)
            return
        live = [(a, p) for a, p in split.parts if not p.status.is_terminal]
        shares = self._amended_parts(split, live, qty)
        split.amending = {p.client_order_id: q for (_a, p), q in zip(live, shares, strict=True)}
        for (account, part), new_qty in zip(live, shares, strict=True):
            self.members[account].amend_order(part, new_qty, price)

    def _amended_parts(self, split: _Split, live: list[tuple[str, Order]],
                       qty: float | None) -> list[float | None]:  # fmt: skip
        """A new total size spread over the working parts in proportion to what each has
        left (each keeps what it filled); the lot's rounding dust goes to the first."""
        if qty is None or not live:
            return [None] * len(live)
        filled = {cid: r.filled_qty for cid, r in split.reports.items()}
        left_now = [p.qty - filled.get(p.client_order_id, 0.0) for _a, p in live]
        done = sum(filled.values())
        want = max(qty - done, 0.0)
        total = sum(left_now) or 1.0
        inst = self._insts.get(split.parent.symbol)
        new = [want * x / total for x in left_now]
        if inst is not None:
            new = [inst.round_qty(x) for x in new]
            new[0] += want - sum(new)
        return [
            filled.get(p.client_order_id, 0.0) + x for (_a, p), x in zip(live, new, strict=True)
        ]
