"""An account pool: one strategy's orders spread over several accounts of one venue.

Seed 003's multi-account case: a venue limits order rates per account (OKX: 60 orders per 2 s
per instrument), so a strategy that must send more spreads them over several accounts.
:class:`AccountPool` is the ``ExecutionClient`` the OMS sees for a venue whose strategy lists
several of its accounts (``account = ["okx-a", "okx-b"]``); behind it each account keeps its
own :class:`~tradeloop.live.recorder.AccountClient` (journal, own/foreign split, exactly-once
fills), so everything per account — holdings, reconciliation, balances — stays per account.

Routing, per order:

* an order that reduces what the pool's accounts hold of that instrument goes to an account
  holding at least its size on the other side (so a perpetual long on one account is closed
  there, not offset by a short on another, which would tie margin up twice);
* otherwise, or when no single account holds enough, to the account with the most rate-limit
  headroom under its ``orders_per_second`` (``[[account]]``; a bucket of one second's worth),
  ties to the account used least recently. With every budget spent it still goes to the one
  whose budget is paid back first (the gateway's own limiter then waits);
* cancels and amends go to the account that holds the order.

``shares`` — each account's signed holding per instrument as booked by the engine — are loaded
from the journal at start (:meth:`load_shares`) and kept from the fills that pass through.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from tradeloop.live.journal import MISSED, OWN, VENUE, Journal
from tradeloop.live.recorder import AccountClient
from tradeloop.model import Fill, Instrument, Order, OrderReport, Side
from tradeloop.venues.base import ExecutionClient, ExecutionSink

log = logging.getLogger(__name__)


class _MemberSink(ExecutionSink):
    """What one member account reports to: keeps the pool's shares, forwards to the OMS."""

    def __init__(self, pool: AccountPool, account: str) -> None:
        self.pool = pool
        self.account = account

    def on_order_report(self, report: OrderReport) -> None:
        if report.status.is_terminal:  # bounded: finished orders leave the routing table
            self.pool.where.pop(report.client_order_id, None)
        if self.pool.sink is not None:
            self.pool.sink.on_order_report(report)

    def on_fill(self, fill: Fill) -> None:
        self.pool.add_share(self.account, fill)
        if self.pool.sink is not None:
            self.pool.sink.on_fill(fill)


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
        #: client id -> the account that holds the order
        self.where: dict[str, str] = {}
        self.last_used: dict[str, float] = dict.fromkeys(self.members, 0.0)
        self.sent: dict[str, int] = dict.fromkeys(self.members, 0)
        self._insts: dict[str, Instrument] = {}

    # -- shares --------------------------------------------------------------------------------
    def _signed(self, symbol: str, side: str, qty: float, fee: float, fee_ccy: str) -> float:
        signed = qty if side == Side.BUY.value else -qty
        inst = self._insts.get(symbol)
        if inst is not None and not inst.is_derivative and fee_ccy == inst.base:
            signed -= fee
        return signed

    def add_share(self, account: str, fill: Fill) -> None:
        book = self.shares[account]
        book[fill.symbol] = book.get(fill.symbol, 0.0) + self._signed(
            fill.symbol, fill.side.value, fill.qty, fill.fee, fill.fee_ccy
        )

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
        account = self.where.get(order.client_order_id) or self.pick(order)
        self.where[order.client_order_id] = account
        now = self.clock()
        start = max(self.paid_at[account], now - self.burst[account])
        self.paid_at[account] = start + self.cost[account]
        self.last_used[account] = now
        self.sent[account] += 1
        log.debug("pool %s: %s -> %s", self.venue, order.client_order_id, account)
        self.members[account].submit_order(order)

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
        self._holder(order).cancel_order(order)

    def amend_order(
        self, order: Order, qty: float | None = None, price: float | None = None
    ) -> None:
        self._holder(order).amend_order(order, qty, price)
