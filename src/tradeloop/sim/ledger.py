"""The simulated venue's state and its books of account: what an execution does to money.

Why a module of its own: every way an order trades (bar open, L2 take, maker fill, trigger
child) ends in the same few steps — cap the size to what the account allows, book the
execution (balances, locks, the order record, the Fill), rest or finish the order and report
it. They live here once, with the state they change, and the matching modules
(``sim/entry.py``, ``sim/l2match.py``, ``sim/barmatch.py``, ``sim/armed.py``) build on them;
``sim/exchange.py`` puts them together as :class:`~tradeloop.sim.exchange.SimExchange`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import tradeloop.sim.rules as rules
from tradeloop.model import (
    TRANSITIONS,
    Bar,
    Fill,
    Instrument,
    Liquidity,
    OrderReport,
    OrderStatus,
    RejectReason,
    TradeTick,
)
from tradeloop.model.enums import BUY
from tradeloop.sim.account import Account
from tradeloop.sim.config import SimConfig
from tradeloop.sim.liquidity import ExternalBook
from tradeloop.sim.matching import RestingBook
from tradeloop.sim.records import ARMED, NOWHERE, PENDING, RESTING, SimOrder
from tradeloop.sim.rules import Refusal

if TYPE_CHECKING:  # typing only: sim/ sits below venues/ and must not import it at run time
    from tradeloop.venues.base import ExecutionSink

log = logging.getLogger(__name__)

S = OrderStatus
_TAKER = Liquidity.TAKER
_MAKER = Liquidity.MAKER
_SUBMIT, _CANCEL, _AMEND = 0, 1, 2
R = RejectReason


@dataclass(order=True, slots=True)
class _Request:
    """A submit/cancel/amend travelling to the venue (latency)."""

    due: int
    seq: int
    kind: int = field(compare=False)
    rec: SimOrder | None = field(compare=False, default=None)
    order_id: str = field(compare=False, default="")
    new_qty: float | None = field(compare=False, default=None)
    new_price: float | None = field(compare=False, default=None)


@dataclass(frozen=True, slots=True)
class FundingPayment:
    ts: int
    symbol: str
    rate: float
    mark_price: float
    amount: float  # paid by the account (negative = received)


class VenueLedger:
    """State of one simulated venue account and the bookkeeping of its executions."""

    def __init__(
        self,
        instruments: Iterable[Instrument],
        balances: dict[str, float],
        sink: ExecutionSink,
        config: SimConfig | None = None,
        on_public_trade: Callable[[TradeTick], None] | None = None,
    ) -> None:
        self.config = config if config is not None else SimConfig()
        self._inst: dict[str, Instrument] = {i.symbol: i for i in instruments}
        self.account = Account(balances, self.config.leverage)
        self._sink = sink
        self._on_public_trade = on_public_trade
        self._orders: dict[str, SimOrder] = {}  # client id -> every order ever accepted
        self._rejected: dict[str, SimOrder] = {}  # client id -> last refused submit
        self._by_vid: dict[str, SimOrder] = {}
        self._open: dict[str, SimOrder] = {}  # client id -> working orders
        self._pending: dict[str, list[SimOrder]] = {}  # bar mode: waiting for a first bar
        self._armed: dict[str, list[SimOrder]] = {}  # untriggered trigger orders
        #: called with a trigger order the moment it fires, before its child trades (the
        #: emulator pushes the algo order's state change from here)
        self.on_triggered: Callable[[SimOrder], None] | None = None
        self._books: dict[str, RestingBook] = {}
        self._ext: dict[str, ExternalBook] = {}
        self._last: dict[str, float] = {}
        self._delayed: list[_Request] = []
        self._fills: list[Fill] = []
        self._funding: list[FundingPayment] = []
        self._liquidations: list[Fill] = []
        self._oid = 0
        self._tid = 0
        self._seq = 0
        self._slip = self.config.slippage_bps / 1e4
        self._vol_frac = self.config.max_volume_fraction
        #: why the last ``cancel``/``amend`` returned False (NONE after one that went through)
        self.last_refusal = R.NONE
        #: (order, asset, amount) of the lock its acceptance checks just computed: accepting
        #: it right after reuses them instead of pricing the lock twice (nothing moves between)
        self._checked: tuple[SimOrder, str, float] | None = None

    def last_price(self, symbol: str) -> float | None:
        """Last trade/bar close, else the external mid."""
        px = self._last.get(symbol)
        if px is not None:
            return px
        ext = self._ext.get(symbol)
        if ext is not None:
            b, a = ext.best_bid(), ext.best_ask()
            if b is not None and a is not None:
                return (a + b) / 2
            return b if b is not None else a
        return None

    # ======================================================================================
    # execution and bookkeeping
    # ======================================================================================
    def _want(self, rec: SimOrder, inst: Instrument, price: float) -> float:
        """Size ``rec`` still wants at ``price`` (quote-sized buys: what the budget buys,
        fee included, floored to the lot)."""
        if not rec.is_quote_sized:
            return rules.remaining(rec, inst)
        unit = price * inst.contract_value * (1 + inst.taker_fee)
        budget = rec.quote_qty - rec.spent_quote
        q = rules.floor_fit(inst, budget, unit)
        if rec.filled_qty == 0 and q < inst.min_size:
            return 0.0
        return q

    def _cap(
        self, rec: SimOrder, inst: Instrument, qty: float, price: float, rate: float
    ) -> tuple[float, str]:
        """The part of ``qty`` the account allows now, and why it had to cut (if it did)."""
        if inst.is_derivative:
            closable = max(0.0, -rec.side.sign * self.account.position_qty(inst.symbol))
            if rec.reduce_only:
                if qty > closable + rules.eps(inst):
                    return inst.round_qty(closable), "reduce-only: position smaller than order"
                return qty, ""
            opening = qty - closable
            if opening > rules.eps(inst):
                lev = self.account.leverage(inst.symbol)
                per = inst.settle_value(1.0, price) * (1.0 / lev + max(rate, 0.0))
                avail = self.account.free(inst.settle) + rec.lock
                if closable > 0:  # a flip: the close hands its margin back first
                    avail += self.account.close_release(inst, min(qty, closable), price, rate)
                if opening * per > avail * (1 + 1e-12) + 1e-12:
                    fits = min(qty, closable) + rules.floor_fit(inst, avail, per)
                    return inst.round_qty(fits), "insufficient margin"
            return qty, ""
        if rec.side is BUY:
            unit = price * inst.contract_value * (1 + rate)
            avail = self.account.free(inst.quote) + rec.lock
            if qty * unit > avail * (1 + 1e-12) + 1e-12:
                return rules.floor_fit(inst, avail, unit), "insufficient balance"
        else:
            avail = self.account.free(inst.base) + rec.lock
            if qty > avail * (1 + 1e-12) + 1e-12:
                return inst.round_qty(max(avail, 0.0)), "insufficient balance"
        return qty, ""

    def _execute(
        self,
        rec: SimOrder,
        inst: Instrument,
        qty: float,
        price: float,
        liquidity: Liquidity,
        ts: int,
        publish: bool,
    ) -> None:
        """Book one execution of ``rec``: money, locks, the record, the Fill (sent now)."""
        rate = inst.taker_fee if liquidity is _TAKER else inst.maker_fee
        notional = qty * price * inst.contract_value
        fee_in_base = rec.fee_ccy == inst.base and not inst.is_derivative
        if fee_in_base:
            fee = qty * rate
        elif inst.inverse:
            fee = inst.settle_value(qty, price) * rate
        else:
            fee = notional * rate
        if self.config.fee_decimals is not None:
            fee = round(fee, self.config.fee_decimals)
        quote_fee = 0.0 if fee_in_base else fee
        rem_before = rec.remaining_qty
        budget_before = rec.quote_qty - rec.spent_quote
        if inst.is_derivative:
            self.account.apply_derivative_fill(inst, rec.side, qty, price, fee)
            used = 0.0
        else:
            self.account.apply_spot_fill(inst, rec.side, qty, price, fee, fee_in_base)
            used = notional + quote_fee if rec.side is BUY else qty
        if rec.lock:
            if rec.is_quote_sized:
                frac = used / budget_before if budget_before > 0 else 1.0
            else:
                frac = qty / rem_before if rem_before > 0 else 1.0
            release = min(rec.lock, max(rec.lock * min(frac, 1.0), used))
            rec.lock -= release
            self.account.release(rec.lock_asset, release)
        total = rec.filled_qty + qty
        rec.avg_price = (rec.avg_price * rec.filled_qty + price * qty) / total
        rec.filled_qty = total
        rec.fee += fee
        rec.ts_updated = ts
        if rec.is_quote_sized:
            rec.spent_quote += notional + quote_fee
        self._tid += 1
        tid = str(self._tid)
        fill = Fill(
            ts=ts,
            client_order_id=rec.client_order_id,
            venue_order_id=rec.venue_order_id,
            trade_id=tid,
            symbol=rec.symbol,
            side=rec.side,
            price=price,
            qty=qty,
            fee=fee,
            fee_ccy=rec.fee_ccy,
            liquidity=liquidity,
            strategy_id=rec.strategy_id,
        )
        if self.config.keep_fill_history:
            self._fills.append(fill)
        self._sink.on_fill(fill)
        if self._on_public_trade is not None:
            taker = rec.side if liquidity is _TAKER else rec.side.opposite
            if publish:
                self._on_public_trade(TradeTick(ts, rec.symbol, price, qty, taker, tid))

    def _maker_fill(
        self, rec: SimOrder, inst: Instrument, qty: float, ts: int, publish: bool = True
    ) -> float:
        """Fill a resting order at its own price as maker and report; returns size filled."""
        q, why = self._cap(rec, inst, qty, rec.price, inst.maker_fee)
        if q > 0:
            self._execute(rec, inst, q, rec.price, _MAKER, ts, publish)
        if why:
            self._finish(rec, S.CANCELED, ts, why)
        elif rules.is_done(rec, inst):
            self._finish(rec, S.FILLED, ts)
        elif q > 0:
            self._report(rec, S.PARTIALLY_FILLED, ts)
        return max(q, 0.0)

    def _rest(self, rec: SimOrder, keep_queue: bool = False) -> None:
        book = self._books.get(rec.symbol)
        if book is None:
            book = self._books[rec.symbol] = RestingBook()
        if not keep_queue:
            ext = self._ext.get(rec.symbol)
            rec.queue_ahead = (
                ext.size(rec.side is BUY, rec.price)
                if ext is not None and self.config.queue_position
                else 0.0
            )
        book.add(rec)
        rec.where = RESTING

    def _finish(self, rec: SimOrder, status: OrderStatus, ts: int, reason: str = "") -> None:
        """Terminal state: release what the order still reserves, unlist it, report."""
        if rec.holds_lock:
            self.account.unlock_all(rec.lock_asset, rec.lock)
            rec.holds_lock = False
        rec.lock = 0.0
        self._open.pop(rec.client_order_id, None)
        if rec.where == RESTING:
            self._books[rec.symbol].remove(rec)
        elif rec.where == PENDING:
            pend = self._pending.get(rec.symbol)
            if pend is not None and rec in pend:
                pend.remove(rec)
        elif rec.where == ARMED:
            self._armed[rec.symbol].remove(rec)
        rec.where = NOWHERE
        self._report(rec, status, ts, reason)
        if rec.attached is not None and rec.filled_qty > 0:
            self._place_attached(rec, ts)

    def _report(self, rec: SimOrder, status: OrderStatus, ts: int, reason: str = "") -> None:
        if status not in TRANSITIONS[rec.status]:  # a bug here would corrupt the OMS
            log.error("illegal %s -> %s for %s", rec.status, status, rec.client_order_id)
        rec.status = status
        rec.ts_updated = ts
        if reason:
            rec.reason = reason
        self._sink.on_order_report(
            OrderReport(
                ts=ts,
                client_order_id=rec.client_order_id,
                venue_order_id=rec.venue_order_id,
                symbol=rec.symbol,
                status=status,
                filled_qty=rec.filled_qty,
                avg_price=rec.avg_price,
                reason=reason,
            )
        )

    # ======================================================================================
    # steps another part of the venue implements (one definition each, see SimExchange)
    # ======================================================================================
    def _accept(self, rec: SimOrder, ts: int) -> None:
        raise NotImplementedError  # sim/entry.py

    def _take(self, rec: SimOrder, inst: Instrument, ts: int, keep_queue: bool = False) -> None:
        raise NotImplementedError  # sim/l2match.py

    def _bar_open(self, rec: SimOrder, inst: Instrument, bar: Bar, budget: float) -> float:
        raise NotImplementedError  # sim/barmatch.py

    def _child_problem(self, rec: SimOrder, inst: Instrument) -> Refusal | None:
        raise NotImplementedError  # sim/entry.py

    def _fire_armed(
        self, symbol: str, path: tuple[float, ...], start: int, bar: Bar | None
    ) -> None:
        raise NotImplementedError  # sim/armed.py

    def _place_attached(self, entry: SimOrder, ts: int) -> None:
        raise NotImplementedError  # sim/armed.py
