"""Order entry of the simulated venue: latency queue, acceptance, validation, cancel, amend.

Why apart from matching: whether an order may exist (ids, instrument rules, funds,
reduce-only, post-only) and what it reserves is decided before any market data is seen, the
same in bar and L2 mode; matching modules only ever see accepted orders.
"""

from __future__ import annotations

import heapq
import logging
import math
from typing import TYPE_CHECKING

import tradeloop.sim.rules as rules
import tradeloop.sim.triggers as triggers
from tradeloop.model import (
    Instrument,
    OrderReport,
    OrderStatus,
    RejectReason,
    Side,
)
from tradeloop.model.enums import BUY, MARKET, POST_ONLY
from tradeloop.sim.ledger import _AMEND, _CANCEL, _SUBMIT, VenueLedger
from tradeloop.sim.records import ARMED, NOWHERE, PENDING, RESTING, SimOrder
from tradeloop.sim.rules import Refusal

if TYPE_CHECKING:  # typing only: sim/ sits below venues/ and must not import it at run time
    pass

log = logging.getLogger(__name__)

S = OrderStatus
R = RejectReason


class OrderEntry(VenueLedger):
    """Acceptance, validation, cancel and amend (see the module docstring)."""

    # ======================================================================================
    # acceptance and validation
    # ======================================================================================
    def _run_due(self, ts: int) -> None:
        while self._delayed and self._delayed[0].due <= ts:
            req = heapq.heappop(self._delayed)
            if req.kind == _SUBMIT and req.rec is not None:
                req.rec.ts_created = req.due
                self._accept(req.rec, req.due)
            elif req.kind == _CANCEL:
                self._cancel_now(req.order_id, req.due)
            elif req.kind == _AMEND and not self._amend_now(
                req.order_id, req.new_qty, req.new_price, req.due
            ):
                log.info("amend of %s refused on arrival", req.order_id)

    def _accept(self, rec: SimOrder, ts: int) -> None:
        rec.ts_updated = ts
        inst = self._inst.get(rec.symbol)
        refusal = self._validate(rec, inst)
        if refusal is not None or inst is None:
            code, reason = refusal or (R.INVALID_INSTRUMENT, "unknown symbol")
            self._reject(rec, ts, reason, code)
            return
        self._oid += 1
        self._seq += 1
        rec.venue_order_id = str(self._oid)
        rec.seq = self._seq
        rec.accept_ts = ts
        if inst.is_derivative:
            rec.fee_ccy = inst.settle
        elif rec.side is BUY and self.config.fee_in_received_ccy:
            rec.fee_ccy = inst.base
        else:
            rec.fee_ccy = inst.quote
        armed = rec.trigger is not None and not rec.triggered
        checked, self._checked = self._checked, None
        if armed:
            asset, amount = "", 0.0
        elif checked is not None and checked[0] is rec:  # what validation just computed
            asset, amount = checked[1], checked[2]
        else:
            asset, amount = self._lock_need(rec, inst, rec.qty, rec.price)
        rec.lock_asset, rec.lock = asset, amount
        if amount:
            self.account.lock(asset, amount)
            rec.holds_lock = True
        self._orders[rec.client_order_id] = rec
        self._rejected.pop(rec.client_order_id, None)
        self._by_vid[rec.venue_order_id] = rec
        self._open[rec.client_order_id] = rec
        self._report(rec, S.ACCEPTED, ts)
        if armed:
            rec.where = ARMED
            self._armed.setdefault(rec.symbol, []).append(rec)
            triggers.arm_trailing(rec, self.last_price(rec.symbol))
            return
        ext = self._ext.get(rec.symbol)
        if ext is not None and ext.has_data:
            self._take(rec, inst, ts)
        else:
            rec.where = PENDING
            self._pending.setdefault(rec.symbol, []).append(rec)

    def _reject(self, rec: SimOrder, ts: int, reason: str, code: RejectReason) -> None:
        log.debug("reject %s: %s (%s)", rec.client_order_id, reason, code.value)
        rec.status = S.REJECTED
        rec.reason = reason
        rec.code = code
        if rec.client_order_id and rec.client_order_id not in self._orders:
            # Kept for ``order()`` only: a refused order never existed, so its id stays free.
            self._rejected[rec.client_order_id] = rec
        self._sink.on_order_report(
            OrderReport(
                ts=ts,
                client_order_id=rec.client_order_id,
                venue_order_id="",
                symbol=rec.symbol,
                status=S.REJECTED,
                reason=reason,
                code=code,
            )
        )

    def _validate(self, rec: SimOrder, inst: Instrument | None) -> Refusal | None:
        """Why the venue refuses the order, or None if it is acceptable."""
        if not rec.client_order_id:
            return R.OTHER, "missing client_order_id"
        if rec.client_order_id in self._orders:
            return R.DUPLICATE_ID, "duplicate client_order_id"
        if inst is None:
            return R.INVALID_INSTRUMENT, f"unknown symbol {rec.symbol}"
        problem = rules.order_problem(rec, inst)
        if problem is not None:
            return problem
        if rec.trigger is not None and not rec.triggered:
            return None  # funds, reduce-only and post-only are judged when it fires
        return self._child_problem(rec, inst)

    def _child_problem(self, rec: SimOrder, inst: Instrument) -> Refusal | None:
        """Account checks of an order about to work: at submit, or when a trigger fires."""
        if rec.reduce_only:
            problem = self._reduce_only_problem(rec, inst, rec.qty)
            if problem is not None:
                return problem
        if rec.tif is POST_ONLY and self._would_cross(rec, inst, rec.price):
            return R.POST_ONLY_WOULD_TAKE, "post-only order would cross the book"
        asset, need = self._lock_need(rec, inst, rec.qty, rec.price)
        self._checked = (rec, asset, need)
        free = self.account.free(asset)
        freed = self._freed_by_close(rec, inst, rec.qty, rec.price) if need else 0.0
        if need > 0 and need > free + freed + 1e-9 * max(1.0, need):  # a close needs none
            what = "margin" if inst.is_derivative else "balance"
            why = f"insufficient {what}: need {need:.8g} {asset}, free {free:.8g}"
            if freed:
                why += f" ({freed:+.8g} from the close)"
            return R.INSUFFICIENT_FUNDS, why
        return None

    def _freed_by_close(self, rec: SimOrder, inst: Instrument, qty: float, price: float) -> float:
        """Margin the closing part of a derivative order hands back before its opening part
        needs any (a flip): see ``rules.lock_need`` and ``Account.close_release``. Priced at
        the limit, or for a market order at the venue's reference price (0 when unknown:
        then only the margin counts, the fill-time cap re-checks at the real price)."""
        if not inst.is_derivative or rec.reduce_only:
            return 0.0
        closable = max(0.0, -rec.side.sign * self.account.position_qty(inst.symbol))
        closed = min(max(qty - rec.filled_qty, 0.0), closable)
        if closed <= 0:
            return 0.0
        if rec.order_type is MARKET:
            price = self._ref_price(inst.symbol, rec.side) or 0.0
        return self.account.close_release(inst, closed, price, inst.taker_fee)

    def _reduce_only_problem(self, rec: SimOrder, inst: Instrument, qty: float) -> Refusal | None:
        return rules.reduce_only_problem(rec, inst, self.account.position_qty(inst.symbol), qty)

    def _not_open(self, order_id: str) -> RejectReason:
        """Why ``order_id`` cannot be canceled or amended: never seen, or already finished."""
        known = order_id in self._orders or order_id in self._by_vid
        return R.ORDER_CLOSED if known else R.ORDER_NOT_FOUND

    def _refuse(self, code: RejectReason) -> bool:
        """Record why a cancel/amend was refused; False, for ``return self._refuse(...)``."""
        self.last_refusal = code
        return False

    def _would_cross(self, rec: SimOrder, inst: Instrument, price: float) -> bool:
        """L2 mode only; in bar mode crossing is judged at the next bar's open."""
        ext = self._ext.get(inst.symbol)
        if ext is None or not ext.has_data:
            return False
        book = self._books.get(inst.symbol)
        mine = book.best(rec.side.opposite) if book else None
        if rec.side is BUY:
            best = ext.best_ask()
            if mine is not None and mine is not rec and (best is None or mine.price < best):
                best = mine.price
            return best is not None and price >= best
        best = ext.best_bid()
        if mine is not None and mine is not rec and (best is None or mine.price > best):
            best = mine.price
        return best is not None and price <= best

    def _ref_price(self, symbol: str, side: Side) -> float | None:
        """What a market order of ``side`` would pay now, as far as the venue knows."""
        ext = self._ext.get(symbol)
        if ext is not None:
            px = ext.best_ask() if side is BUY else ext.best_bid()
            if px is not None:
                return px
        return self._last.get(symbol)

    def _lock_need(
        self, rec: SimOrder, inst: Instrument, qty: float, price: float
    ) -> tuple[str, float]:
        return rules.lock_need(
            rec,
            inst,
            qty,
            price,
            market_ref=self._ref_price(inst.symbol, rec.side) if rec.order_type is MARKET else None,
            market_buffer=self.config.market_lock_buffer,
            position_qty=self.account.position_qty(inst.symbol),
            leverage=self.account.leverage(inst.symbol),
        )

    # ======================================================================================
    # cancel / amend
    # ======================================================================================
    def _find_open(self, order_id: str) -> SimOrder | None:
        rec = self._open.get(order_id)
        if rec is None:
            rec = self._by_vid.get(order_id)
            if rec is not None and not rec.is_open:
                rec = None
        return rec

    def _cancel_now(self, order_id: str, ts: int) -> bool:
        rec = self._find_open(order_id)
        if rec is None:
            log.debug("cancel of unknown or finished order %s ignored", order_id)
            return self._refuse(self._not_open(order_id))
        self.last_refusal = R.NONE
        self._finish(rec, S.CANCELED, ts, "canceled by user")
        return True

    def _amend_now(
        self, order_id: str, new_qty: float | None, new_price: float | None, ts: int
    ) -> bool:
        rec = self._find_open(order_id)
        if rec is None:
            return self._refuse(self._not_open(order_id))
        if rec.order_type is MARKET or rec.where == ARMED:
            return self._refuse(R.OTHER)
        inst = self._inst[rec.symbol]
        qty = rec.qty if new_qty is None else float(new_qty)
        price = rec.price if new_price is None else float(new_price)
        if not (math.isfinite(price) and price > 0):
            return self._refuse(R.INVALID_PRICE)
        if not math.isfinite(qty) or qty <= rec.filled_qty + rules.eps(inst) or qty < inst.min_size:
            return self._refuse(R.INVALID_SIZE)
        self.last_refusal = R.NONE
        if qty == rec.qty and price == rec.price:
            return True
        if rec.reduce_only and self._reduce_only_problem(rec, inst, qty - rec.filled_qty):
            return self._refuse(R.REDUCE_ONLY)
        if rec.tif is POST_ONLY and self._would_cross(rec, inst, price):
            return self._refuse(R.POST_ONLY_WOULD_TAKE)
        asset, need = self._lock_need(rec, inst, qty, price)
        freed = self._freed_by_close(rec, inst, qty, price) if need else 0.0
        grow = need - rec.lock
        if grow > 0 and grow > self.account.free(asset) + freed + 1e-9 * max(1.0, need):
            return self._refuse(R.INSUFFICIENT_FUNDS)
        if rec.holds_lock:
            self.account.adjust_lock(asset, need - rec.lock)
        elif need:  # it reserved nothing so far: now it holds a lock of its own
            self.account.lock(asset, need)
            rec.holds_lock = True
            rec.lock_asset = asset
        rec.lock = need
        keeps_priority = price == rec.price and qty < rec.qty
        was_resting = rec.where == RESTING
        if was_resting:
            self._books[rec.symbol].remove(rec)
            rec.where = NOWHERE
        rec.qty, rec.price, rec.ts_updated = qty, price, ts
        if not keeps_priority:
            self._seq += 1
            rec.seq = self._seq
        if not was_resting:  # still waiting for its first bar: it will be judged there
            return True
        ext = self._ext.get(rec.symbol)
        if ext is not None and ext.has_data:
            self._take(rec, inst, ts, keep_queue=keeps_priority)
        elif keeps_priority:
            self._rest(rec, keep_queue=True)
        else:  # bar mode: a new price is judged afresh at the next bar's open
            rec.accept_ts = ts
            rec.where = PENDING
            self._pending.setdefault(rec.symbol, []).append(rec)
        return True
