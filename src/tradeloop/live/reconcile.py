"""Start-up reconciliation of one account: the journal against what the venue says.

Run before any strategy starts, per account, after the journal's portfolio and risk state were
restored. Steps, in this order because each relies on the previous one:

1. read the venue: balances, positions, open orders, and fills since the last journaled fill
   (minus a margin: a fill's journaled time is when we learned of it);
2. every order of ours the venue mentions (open, or with fills) is registered with the OMS from
   the journal — its strategy, side, size — so what follows is booked as it would have been;
3. fills we missed while down are applied through the normal path (:class:`AccountClient`) in
   venue order; the journal's ``(account, order, trade)`` key makes that exactly once, even when
   the venue returns fills we already have. Foreign fills are journaled and never booked.
   Funding payments settled meanwhile go in among them by time, once by their
   ``payment_id``: a payment carries its settlement time and every fill the venue's time of
   its execution (``Fill.venue_ts``), so a fill made while down before a settlement is
   booked before it and the payment lands on the position it was paid on;
4. our open orders are adopted (the OMS tracks them; the gateway takes them over by client id)
   and, by default, canceled — the strategies' restored targets are re-traded from a clean
   slate rather than next to orders of a previous process; foreign open orders are reported;
5. positions are compared: for each instrument (spot: each base currency, in the venue's
   main wallet only -- ``BalanceUpdate.wallet`` ``""``; a futures wallet's coins are margin,
   not a spot holding) the venue's holding must equal the engine's position plus what is not
   the strategies' (the holding found at the deployment's first start, plus foreign and
   corrective fills since). A difference follows the policy — ``halt`` (default: HALTED with
   one message until an operator resumes), ``adopt`` (the venue's number wins; the difference
   counts as outside holdings) or ``flatten`` (a corrective market order brings the venue
   back to the journal, booked to no strategy).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tradeloop.core.errors import VenueError
from tradeloop.engine.kernel import Kernel
from tradeloop.live.journal import CORRECTIVE, FOREIGN, Journal
from tradeloop.live.recorder import AccountClient
from tradeloop.model import (
    Fill,
    FundingPaid,
    Instrument,
    Order,
    OrderStatus,
    OrderType,
    Side,
    TradingState,
)
from tradeloop.venues.base import Gateway

log = logging.getLogger(__name__)

#: fills are journaled with the time we learned of them; ask the venue from this much earlier
FILL_MARGIN_NS = 600 * 1_000_000_000
_OPEN = (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED)


@dataclass(slots=True)
class ReconcileReport:
    account: str
    first_run: bool = False
    adopted: list[str] = field(default_factory=list)
    canceled: list[str] = field(default_factory=list)
    finished_while_down: list[str] = field(default_factory=list)
    missed_fills: int = 0
    missed_funding: int = 0
    foreign_orders: list[str] = field(default_factory=list)
    foreign_fills: int = 0
    mismatches: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def line(self) -> str:
        return (
            f"{self.account}: reconciled in {self.seconds:.2f}s"
            f"{' (first run: venue holdings recorded as outside)' if self.first_run else ''}: "
            f"{len(self.adopted)} own open order(s) adopted, {len(self.canceled)} canceled, "
            f"{len(self.finished_while_down)} finished while down, {self.missed_fills} missed "
            f"fill(s) applied, {len(self.foreign_orders)} foreign open order(s), "
            f"{self.foreign_fills} foreign fill(s), {len(self.mismatches)} position mismatch(es), "
            f"{self.missed_funding} missed funding payment(s) applied"
        )


def holding_key(inst: Instrument) -> str:
    """Spot holdings are compared per base currency, derivatives per instrument."""
    return inst.symbol if inst.is_derivative else inst.base


def _signed_base(fill: Fill, inst: Instrument) -> float:
    signed = fill.qty if fill.side is Side.BUY else -fill.qty
    if not inst.is_derivative and fill.fee_ccy == inst.base:
        signed -= fill.fee
    return signed


class Reconciler:
    def __init__(
        self,
        kernel: Kernel,
        acct: AccountClient,
        gateway: Gateway,
        journal: Journal,
        policy: str = "halt",
        restart_orders: str = "cancel",
        share: Callable[[str], float] | None = None,
    ) -> None:
        self.kernel = kernel
        self.acct = acct
        self.gw = gateway
        self.journal = journal
        self.policy = policy
        self.restart_orders = restart_orders
        #: this account's part of the engine's position (an account pool's member); None:
        #: the account holds the whole engine position of its venue's instruments
        self.share = share
        self.insts = {s: i for s, i in kernel.instruments.items() if i.venue == acct.venue}
        acct.outside_of = self.outside_of

    # -- venue views --------------------------------------------------------------------------
    async def venue_holdings(self) -> dict[str, float]:
        out: dict[str, float] = {}
        keys = {holding_key(i) for i in self.insts.values()}
        if any(not i.is_derivative for i in self.insts.values()):
            for b in await self.gw.fetch_balances():
                # spot holdings live in the main wallet; a futures wallet's coins (Binance
                # USD-M margin) are not a spot position
                if not b.wallet and b.asset in keys:
                    out[b.asset] = out.get(b.asset, 0.0) + b.total
        if any(i.is_derivative for i in self.insts.values()):
            for p in await self.gw.fetch_positions():
                if p.symbol in keys:
                    out[p.symbol] = out.get(p.symbol, 0.0) + p.qty
        return {k: out.get(k, 0.0) for k in keys}

    def engine_holdings(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for s, inst in self.insts.items():
            k = holding_key(inst)
            qty = self.share(s) if self.share else self.kernel.portfolio.positions[s].qty
            out[k] = out.get(k, 0.0) + qty
        return out

    def outside(self, until_ns: int | None = None) -> dict[str, float]:
        """Holdings on the account that are not the strategies': the first-start baseline
        plus every foreign and corrective fill since (journaled by ``until_ns``, if given)."""
        raw = self.journal.meta(f"baseline:{self.acct.account}")
        base: dict[str, float] = json.loads(raw) if raw else {}
        by_native = {i.symbol: i for i in self.insts.values()}
        for origin in (FOREIGN, CORRECTIVE):
            for f in self.journal.fills(self.acct.account, origin):
                inst = by_native.get(f["symbol"])
                if inst is None or (until_ns is not None and f["ts"] > until_ns):
                    continue
                fill = Fill(f["ts"], f["cid"], "", f["trade_id"], f["symbol"], Side(f["side"]),
                            f["price"], f["qty"], f["fee"], f["fee_ccy"], _liq())  # fmt: skip
                k = holding_key(inst)
                base[k] = base.get(k, 0.0) + _signed_base(fill, inst)
        return base

    def outside_of(self, symbol: str, ts: int) -> float:
        """The account's contracts in derivative ``symbol`` that were not the strategies' at
        ``ts`` (by when their fills were journaled: a foreign fill reaches the journal just
        after the venue executed it)."""
        inst = self.insts.get(symbol)
        if inst is None or not inst.is_derivative:
            return 0.0
        return self.outside(ts).get(holding_key(inst), 0.0)

    # -- the steps ------------------------------------------------------------------------------
    async def run(self, now_ns: int) -> ReconcileReport:
        t0 = time.perf_counter()
        acct, journal = self.acct, self.journal
        rep = ReconcileReport(acct.account)
        acct.corrective |= journal.corrective_cids(acct.account)
        first = journal.meta(f"baseline:{acct.account}") is None
        rep.first_run = first
        open_reports = await self.gw.fetch_open_orders()
        last = journal.last_fill_ts(acct.account)
        started = journal.meta(f"since:{acct.account}")
        since = (last - FILL_MARGIN_NS) if last is not None else int(started or now_ns)
        fills = [] if first else await self.gw.fetch_fills(max(since, 0))
        last_paid = journal.last_funding_ts(acct.account)
        paid_since = (last_paid - FILL_MARGIN_NS) if last_paid is not None else since
        funding = [] if first else await self._missed_funding(max(paid_since, 0), now_ns)
        balances = await self.gw.fetch_balances()
        journal.snapshot(acct.account, "balances",
                         {b.key: [b.total, b.free] for b in balances}, now_ns)  # fmt: skip
        # 2. register our orders the venue mentions
        venue_open = {r.client_order_id: r for r in open_reports}
        mentioned = [r.client_order_id for r in open_reports] + [f.client_order_id for f in fills]
        for cid in dict.fromkeys(mentioned):
            if acct.is_own(cid) and cid not in acct.corrective:
                self._register(cid, venue_open.get(cid))
        # 3. missed fills, in venue order, exactly once
        acct.missed_mode = True
        booked_before, paid_before = acct.fills_booked, acct.funding_booked
        foreign_before = acct.foreign_fills
        news: list[Fill | FundingPaid] = [*fills, *funding]
        news.sort(key=lambda e: e.venue_ts)  # the venue's order; stable among ties
        try:
            for e in news:
                if isinstance(e, Fill):
                    acct.on_fill(e)
                else:
                    acct.on_funding(e)
        finally:
            acct.missed_mode = False
        rep.missed_fills = acct.fills_booked - booked_before
        rep.missed_funding = acct.funding_booked - paid_before
        rep.foreign_fills = acct.foreign_fills - foreign_before
        # journaled orders the venue no longer lists finished while we were down
        for jo in journal.open_orders(acct.account):
            if jo.cid not in venue_open:
                self._finished_while_down(jo.cid, now_ns)
                rep.finished_while_down.append(jo.cid)
        # 4. open orders: ours adopted (and canceled by default), foreign reported
        for r in open_reports:
            cid = r.client_order_id
            if acct.is_own(cid):
                rep.adopted.append(cid)
            else:
                msg = (
                    f"foreign open order {cid or r.venue_order_id}: {r.symbol} "
                    f"{r.status.value} filled {r.filled_qty:g}; left alone, never booked"
                )
                log.warning("%s: %s", acct.account, msg)
                journal.event("foreign_order", acct.account, msg, now_ns)
                acct.foreign_orders.add(cid)
                rep.foreign_orders.append(cid)
        if self.restart_orders == "cancel" and rep.adopted:
            await self._cancel_adopted(rep)
        # 5. positions
        venue = await self.venue_holdings()
        if first:
            baseline = {k: v - self.engine_holdings().get(k, 0.0) for k, v in venue.items()}
            journal.set_meta(f"baseline:{acct.account}", json.dumps(baseline))
            journal.set_meta(f"since:{acct.account}", str(now_ns))
        else:
            self._compare(venue, rep, now_ns)
        journal.snapshot(acct.account, "holdings", venue, now_ns)
        rep.seconds = time.perf_counter() - t0
        journal.event("reconcile", acct.account, rep.line(), now_ns)
        log.info("%s", rep.line())
        return rep

    async def _missed_funding(self, since_ns: int, now_ns: int) -> list[FundingPaid]:
        """The payments settled since ``since_ns``. A venue that will not list them (a key
        without that permission, an endpoint down) does not stop the start -- trading on is
        safer than not starting over a PnL line -- but it is said and journaled as an event
        an operator can find (``funding_unread``)."""
        try:
            return await self.gw.fetch_funding(since_ns)
        except (VenueError, KeyError, ValueError, TypeError, IndexError) as exc:
            msg = (f"funding payments since the last start could not be read ({exc}); the "
                   f"strategies' PnL misses them until a start that can")  # fmt: skip
            log.warning("%s: %s", self.acct.account, msg)
            self.journal.event("funding_unread", self.acct.account, msg, now_ns)
            return []

    def _register(self, cid: str, venue_report: Any) -> None:
        oms = self.kernel.oms
        if cid in oms.orders:
            return
        jo = self.journal.order(cid)
        if jo is None:
            log.warning(
                "%s: our order %s is not in the journal (journal lost or replaced?); "
                "its fills go to the strategies that need them",
                self.acct.account,
                cid,
            )
            if venue_report is None:
                return
            order = Order(cid, venue_report.symbol, Side.BUY, 0.0)
        else:
            order = Order(
                cid, jo.symbol, Side(jo.side), jo.qty, OrderType(jo.order_type), jo.price,
                quote_qty=jo.quote_qty, strategy_id=jo.strategy, ts_created=jo.ts_created,
                venue_order_id=jo.venue_oid,
            )  # fmt: skip
        order.status = OrderStatus.ACCEPTED
        order.filled_qty = self.journal.booked_qty(self.acct.account, cid)
        if venue_report is not None and venue_report.status in _OPEN:
            order.status = venue_report.status if order.filled_qty else OrderStatus.ACCEPTED
            if order.filled_qty and order.status is OrderStatus.ACCEPTED:
                order.status = OrderStatus.PARTIALLY_FILLED
            oms.open_orders[cid] = order
        oms.orders[cid] = order

    def _finished_while_down(self, cid: str, now_ns: int) -> None:
        from tradeloop.model import OrderReport

        order = self.kernel.oms.orders.get(cid)
        jo = self.journal.order(cid)
        booked = self.journal.booked_qty(self.acct.account, cid)
        qty = jo.qty if jo is not None else 0.0
        done = qty > 0 and booked >= qty - 1e-12
        status = OrderStatus.FILLED if done else OrderStatus.CANCELED
        symbol = jo.symbol if jo is not None else ""
        self.journal.order_event(
            OrderReport(
                now_ns, cid, "", symbol, status, booked, reason="finished while down (reconciled)"
            )
        )
        if order is not None and order.is_open:
            order.status = status
            self.kernel.oms.open_orders.pop(cid, None)

    async def _cancel_adopted(self, rep: ReconcileReport, wait_s: float = 10.0) -> None:
        oms = self.kernel.oms
        orders = [oms.orders[c] for c in rep.adopted if c in oms.orders]
        for o in orders:
            oms.cancel(o)
            rep.canceled.append(o.client_order_id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        while any(o.is_open for o in orders) and loop.time() < deadline:
            await asyncio.sleep(0.05)
        left = [o.client_order_id for o in orders if o.is_open]
        if left:
            log.warning("%s: cancel of adopted order(s) %s not confirmed in %.0fs",
                        self.acct.account, ", ".join(left), wait_s)  # fmt: skip

    def _compare(self, venue: dict[str, float], rep: ReconcileReport, now_ns: int) -> None:
        engine = self.engine_holdings()
        outside = self.outside()
        for key, have in sorted(venue.items()):
            want = engine.get(key, 0.0) + outside.get(key, 0.0)
            lot = min((i.lot_size for i in self.insts.values() if holding_key(i) == key),
                      default=1e-8)  # fmt: skip
            if abs(have - want) <= max(lot * 1.5, 1e-9 * max(1.0, abs(have))):
                continue
            diff = have - want
            mine, other = engine.get(key, 0.0), outside.get(key, 0.0)
            msg = (f"position mismatch on {key}: venue {have:.10g}, journal {want:.10g} "
                   f"(strategies {mine:.10g} + outside {other:.10g}); "
                   f"policy {self.policy}")  # fmt: skip
            rep.mismatches.append(msg)
            self.journal.event("mismatch", self.acct.account, msg, now_ns)
            if self.policy == "halt":
                log.error(
                    "%s: %s: trading HALTED until an operator resumes (tradeloop live "
                    "CONFIG --resume after checking the account)",
                    self.acct.account,
                    msg,
                )
                self.kernel.risk.set_state(TradingState.HALTED, msg, now_ns)
            elif self.policy == "adopt":
                log.warning("%s: %s: the venue's number is adopted as outside holdings",
                            self.acct.account, msg)  # fmt: skip
                self._add_outside(key, diff)
            else:
                # the unexplained difference becomes outside, and the corrective fill (also
                # outside) takes it back out: the next start compares equal instead of
                # flattening the same difference again
                self._add_outside(key, diff)
                self._flatten(key, diff, msg)

    def _add_outside(self, key: str, diff: float) -> None:
        raw = self.journal.meta(f"baseline:{self.acct.account}")
        base = json.loads(raw) if raw else {}
        base[key] = base.get(key, 0.0) + diff
        self.journal.set_meta(f"baseline:{self.acct.account}", json.dumps(base))

    def _flatten(self, key: str, diff: float, msg: str) -> None:
        inst = next(i for i in self.insts.values() if holding_key(i) == key)
        qty = inst.round_qty(abs(diff))
        if qty <= 0:
            return
        side = Side.SELL if diff > 0 else Side.BUY
        cid = self.kernel.oms.ids.next()
        log.warning("%s: %s: sending %s %g %s (corrective, no strategy's) to restore the "
                    "journal's position", self.acct.account, msg, side.value, qty,
                    inst.symbol)  # fmt: skip
        self.acct.submit_corrective(Order(cid, inst.symbol, side, qty))


def _liq() -> Any:
    from tradeloop.model import Liquidity

    return Liquidity.TAKER
