"""Order management: every order's life through the state machine, and trade-to-target.

The OMS is the only component that talks to the ``ExecutionClient``. Strategies either submit
orders (checked by the risk engine first) or set targets; for targets the OMS keeps one
:class:`_Execution` per instrument that trades the account from its position to the netted
target. The core rule: while an order for an instrument's target is in flight no second one is
sent; when it finishes, the OMS re-plans only if the target moved meanwhile (or the limit-chase
algo canceled it to re-price). A quote-sized market buy ("spend this much cash") is used when a
spot buy is sized by a percent target or the wanted size exceeds the free cash, so an "all-in"
target is filled at whatever the fill price turns out to be without overdrawing the account.

A target is *pursued*, not tried once: a transient refusal (429, 5xx, timeout, our own order
rate limit) is retried after a backoff (:class:`TargetRetryPolicy`) for as long as the target
stands; a permanent one (insufficient funds, bad instrument or size) parks the target with a
WARNING until the strategy sets a new one or the risk state changes. Every order's numbers are
checked before risk and the wire (``model.checks``): garbage becomes a REJECTED report, never
an order stuck in SUBMITTED.

The order-keeping half — explicit orders, reports, fills booked exactly once, brackets,
pruning — is :class:`~tradeloop.engine.lifecycle.OrderLifecycle`, which this class extends
with the targets; target-driven orders go through the same path as explicit ones.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass

from tradeloop.core.bus import EventBus
from tradeloop.core.clock import Clock
from tradeloop.core.ids import IdGenerator
from tradeloop.engine.execconfig import (
    _CHASING,
    _ICEBERG,
    _MARKET_ALGO,
    _SLICED,
    _TWAP,
    _VWAP,
    AlgoSpec,
    ExecAlgo,
    ExecConfig,
    TargetRetryPolicy,
)
from tradeloop.engine.lifecycle import OrderLifecycle
from tradeloop.engine.portfolio import Portfolio
from tradeloop.engine.risk import RiskEngine
from tradeloop.model import (
    NS_PER_S,
    Fill,
    Instrument,
    Order,
    Position,
    Side,
)
from tradeloop.model.enums import (
    BUY,
    FILLED,
    LIMIT,
    MARKET,
    PENDING_CANCEL,
    REJECTED,
    SELL,
    SUBMITTED,
)
from tradeloop.venues.base import ExecutionClient

log = logging.getLogger(__name__)

#: the configuration types, importable from here as before
__all__ = ["OMS", "AlgoSpec", "ExecAlgo", "ExecConfig", "TargetRetryPolicy"]


#: a spot market slice is sized in base only when the free cash covers it with this much room
#: (the price may move before it fills); otherwise it spends quote and cannot overdraw
_CASH_MARGIN = 1.02


@dataclass(slots=True)
class _Execution:
    symbol: str
    inst: Instrument
    position: Position  # the account position (live object owned by the portfolio)
    min_qty: float  # below this a delta is noise, not a trade
    target: float = 0.0
    prefer_quote: bool = False
    generation: int = 0
    working: Order | None = None
    working_gen: int = 0
    blocked: bool = False
    repricing: bool = False
    retries: int = 0  # consecutive transient refusals of this target's orders
    spec: AlgoSpec = AlgoSpec()  # noqa: RUF009 - frozen, safe to share
    algo: ExecAlgo = ExecAlgo.MARKET
    slice_qty: float = 0.0  # twap: size of each slice of the current target change
    plan_gen: int = -1  # generation the slices were planned for
    slice_due: int = 0  # twap: earliest time of the next slice
    slices_sent: int = 0  # twap: slices of the current plan sent so far


@dataclass(slots=True)
class _Best:
    bid: float = 0.0
    ask: float = 0.0


class OMS(OrderLifecycle):
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
        super().__init__(bus, clock, client, risk, portfolio, instruments, config, ids)
        #: set by Kernel.stop(): no new order for a target from then on
        self.stopped = False
        self._execs: dict[str, _Execution] = {
            s: _Execution(s, i, portfolio.positions[s], max(i.min_size, i.lot_size) * 0.999999)
            for s, i in instruments.items()
        }
        for s, ex in self._execs.items():
            ex.spec = config.spec_for(s)
            ex.algo = ex.spec.algo
        #: last bar volume per instrument, kept only while a vwap execution needs it
        self.volumes: dict[str, float] = {}
        self.vwap = {s for s, ex in self._execs.items() if ex.algo is _VWAP}
        self._caps = config.max_gross is not None or config.max_net is not None
        #: called with a fill the venue made on its own (a liquidation)
        self.on_venue_fill: Callable[[Fill], None] | None = None
        self._best: dict[str, _Best] = {s: _Best() for s in instruments}
        self.chasing: set[str] = set()
        self._rng = random.Random(config.retry.seed)
        portfolio.on_target_change(self.set_target)
        client.bind(self)

    # -- targets ----------------------------------------------------------------------------
    def set_target(self, symbol: str, qty: float, prefer_quote: bool = False) -> None:
        ex = self._execs[symbol]
        if self._caps:
            qty = self._capped(symbol, qty)
        if qty == ex.target and ex.working is None and not ex.blocked:
            return
        ex.target = qty
        ex.prefer_quote = prefer_quote
        ex.generation += 1
        w = ex.working
        if w is not None:
            if ex.algo in _CHASING and w.status is not PENDING_CANCEL:
                ex.repricing = True
                self.cancel(w)
            return
        self._work(ex)

    def _capped(self, symbol: str, qty: float) -> float:
        """``qty`` shrunk so the targets' gross and net notional stay within the caps
        (multiples of equity); reducing a target is never limited."""
        marks = self.portfolio.marks
        inst = self.instruments[symbol]
        mark = marks.get(symbol)
        if not mark:
            return qty
        unit = inst.notional(1.0, mark)
        equity = self.portfolio.equity()
        gross = net = 0.0
        for s, ex in self._execs.items():
            if s != symbol and ex.target:
                n = ex.inst.notional(ex.target, marks.get(s, 0.0))
                gross += abs(n)
                net += n
        want = qty * unit
        c = self.config
        if c.max_gross is not None:
            room = max(c.max_gross * equity - gross, 0.0)
            want = max(-room, min(room, want))
        if c.max_net is not None:
            room = c.max_net * equity
            want = max(-room - net, min(room - net, want))
        current = self._execs[symbol].target
        if abs(qty) <= abs(current) and qty * current >= 0:
            return qty  # a reduction always passes
        if want * qty < 0:
            want = 0.0
        capped = want / unit
        if abs(capped) >= abs(qty):
            return qty
        return inst.round_qty(abs(capped)) * (1.0 if qty > 0 else -1.0)

    def on_bar_volume(self, symbol: str, volume: float) -> None:
        """VWAP executions pace themselves on each bar's volume (called by the kernel)."""
        self.volumes[symbol] = volume
        ex = self._execs[symbol]
        if ex.working is None and not ex.blocked and abs(ex.target - ex.position.qty) >= ex.min_qty:
            self._work(ex)

    def target(self, symbol: str) -> float:
        return self._execs[symbol].target

    def in_flight(self, symbol: str) -> Order | None:
        return self._execs[symbol].working

    def retry_blocked(self) -> None:
        """Re-plan targets that the risk engine refused (called when trading resumes)."""
        for ex in self._execs.values():
            if ex.blocked and ex.working is None:
                self._work(ex)

    def _work(self, ex: _Execution) -> None:
        if self.stopped:  # the kernel has stopped: targets are no longer pursued
            return
        inst = ex.inst
        pos = ex.position.qty
        delta = ex.target - pos
        ex.blocked = False
        if abs(delta) < ex.min_qty:
            return
        side = BUY if delta > 0 else SELL
        now = self.clock.now()
        mark = self.portfolio.marks.get(ex.symbol, 0.0)
        quote = 0.0
        order_type = MARKET
        price = 0.0
        algo = ex.algo
        if algo is not _MARKET_ALGO:
            self._work_algo(ex, delta, side, now, mark)
            return
        if side is BUY and not inst.is_derivative:
            cash = self.portfolio.cash_of(ex.symbol)
            if ex.prefer_quote or delta * mark * (1.0 + inst.taker_fee) > cash:
                quote = min(delta * mark, cash)
                if quote <= 0.0:
                    return
        # size in lots only when it is used (rounding is the costly part of planning)
        if quote:
            qty = 0.0
        elif ex.target == 0.0:
            qty = abs(pos)  # flatten exactly what is held, no dust left behind
        else:
            qty = inst.round_qty(abs(delta))
        if qty <= 0.0 and quote <= 0.0:
            return
        order = Order(
            self.ids.next(),
            ex.symbol,
            side,
            qty,
            order_type,
            price,
            quote_qty=quote,
            ts_created=now,
        )
        self._send_target_order(ex, order, now)

    def _work_algo(self, ex: _Execution, delta: float, side: Side, now: int, mark: float) -> None:
        """Plan the next order of a non-market algo (see :class:`AlgoSpec`)."""
        inst, spec, algo = ex.inst, ex.spec, ex.algo
        want = abs(delta)
        order_type, price = MARKET, 0.0
        if algo in _CHASING:
            order_type = LIMIT
            price = self._chase_price(ex.symbol, side, mark)
            self.chasing.add(ex.symbol)
        if algo is _TWAP:
            if ex.plan_gen != ex.generation:
                ex.plan_gen = ex.generation
                ex.slice_qty = want / spec.slices
                ex.slice_due = now
                ex.slices_sent = 0
            if now < ex.slice_due:
                self._slice_later(ex, ex.slice_due)
                return
            # the last slice takes what is left, so a lot-rounding remainder never goes alone
            if ex.slices_sent < spec.slices - 1:
                want = self._slice(ex, want, ex.slice_qty)
            ex.slices_sent += 1
            ex.slice_due = now + spec.interval_ns
        elif algo is _VWAP:
            want = min(want, spec.participation * self.volumes.get(ex.symbol, 0.0))
        elif algo is _ICEBERG:
            want = self._slice(ex, want, spec.display or abs(ex.target - ex.position.qty) / 10)
        if side is BUY and not inst.is_derivative and order_type is MARKET:
            cash = self.portfolio.cash_of(ex.symbol)
            if want * mark * (1.0 + inst.taker_fee) * _CASH_MARGIN <= cash:
                # enough cash for the size with room for a move: buy the size itself, so the
                # slices add up to the change (a quote order overshoots when the price dips)
                qty = inst.round_qty(want)
                if qty >= ex.min_qty:
                    order = Order(self.ids.next(), ex.symbol, side, qty, MARKET, 0.0,
                                  ts_created=now)  # fmt: skip
                    self._send_target_order(ex, order, now)
                return
            # short of cash, a spot market slice spends quote (its fill price is unknown):
            # it never overdraws
            quote = min(want * mark, cash)
            if quote <= 0.0 or want < ex.min_qty:
                return
            order = Order(self.ids.next(), ex.symbol, side, 0.0, MARKET, 0.0, quote_qty=quote,
                          ts_created=now)  # fmt: skip
            self._send_target_order(ex, order, now)
            return
        if side is BUY and not inst.is_derivative:
            # Spot limit buys never ask for more than the free cash pays for, fee included
            # (the venue reserves price × size × (1 + fee)): an all-in target then fills.
            px = price or mark
            if px > 0:
                fee = max(inst.taker_fee, inst.maker_fee, 0.0)
                unit = px * inst.contract_value * (1.0 + fee)
                want = min(want, self.portfolio.cash_of(ex.symbol) / unit * (1.0 - 1e-9))
        flatten = ex.target == 0.0 and want >= abs(delta)
        qty = abs(ex.position.qty) if flatten else inst.round_qty(want)
        if qty < ex.min_qty:
            return
        order = Order(self.ids.next(), ex.symbol, side, qty, order_type, price, ts_created=now)
        self._send_target_order(ex, order, now)

    @staticmethod
    def _slice(ex: _Execution, want: float, size: float) -> float:
        """One slice of ``want``: ``size`` (at least the minimum size), or all of ``want`` when
        what would be left after the slice is below the minimum size (dust rides along)."""
        size = max(size, ex.min_qty)
        return want if want - size < ex.min_qty else min(want, size)

    def _slice_later(self, ex: _Execution, due: int) -> None:
        gen = ex.generation

        def again(_name: str, _ts: int) -> None:
            if ex.working is None and ex.generation == gen and not ex.blocked:
                self._work(ex)

        self.clock.set_timer(f"oms.slice.{ex.symbol}", 0, again, due)

    def _send_target_order(self, ex: _Execution, order: Order, now: int) -> None:
        self.orders[order.client_order_id] = order
        self._by_target.add(order.client_order_id)
        refusal = self.risk.refusal(order, now)
        if refusal is not None:
            self._reject_locally(order, refusal, now)
            if refusal[0].transient:  # e.g. our own order-rate limit: try again shortly
                self._schedule_retry(ex)
            else:
                ex.blocked = True
            return
        order.transition(SUBMITTED, now)
        ex.working = order
        ex.working_gen = ex.generation
        self.open_orders[order.client_order_id] = order
        self.client.submit_order(order)

    def _chase_price(self, symbol: str, side: Side, mark: float) -> float:
        b = self._best[symbol]
        px = (b.bid if side is BUY else b.ask) or mark
        return self.instruments[symbol].round_price(px)

    def on_best(self, symbol: str, bid: float, ask: float) -> None:
        """Best prices moved: re-price a chasing order that is no longer at the best."""
        b = self._best[symbol]
        b.bid, b.ask = bid, ask
        ex = self._execs[symbol]
        w = ex.working
        if w is None or w.order_type is not LIMIT or not w.is_open:
            return
        if w.status is PENDING_CANCEL:
            return
        best = bid if w.side is BUY else ask
        if best and abs(best - w.price) > 1e-12:
            ex.repricing = True
            self.cancel(w)

    def _venue_initiated(self, fill: Fill, allocation: list[tuple[str, float, float]]) -> None:
        """The venue traded on its own (a liquidation): the strategies' targets follow the
        position it left, so the OMS does not buy straight back into what was liquidated."""
        books = self.portfolio.books
        for sid, signed, _fee in allocation:
            book = books.get(sid)
            if book is not None:
                book.percent_targets.pop(fill.symbol, None)
                if fill.symbol in book.targets:
                    book.targets[fill.symbol] += signed
        ex = self._execs[fill.symbol]
        ex.target = self.portfolio.account_target(fill.symbol)
        ex.generation += 1
        if self.on_venue_fill is not None:
            self.on_venue_fill(fill)

    def _target_order_done(self, order: Order, order_was_canceling: bool = False) -> None:
        ex = self._execs[order.symbol]
        if ex.working is not order:
            return
        ex.working = None
        # A refusal of an order we were already canceling ended it as the cancel would have:
        # what follows depends on why we canceled (re-price, moved target), not on the refusal.
        if order.status is REJECTED and not order_was_canceling:
            if order.code.transient:
                self._schedule_retry(ex)
                return
            # A permanent refusal: never loop on it; wait for a new target or risk change.
            ex.blocked = True
            ex.repricing = False
            self.chasing.discard(order.symbol)
            log.warning(
                "target %s %g stopped: venue refused order %s (%s): %s",
                *(ex.symbol, ex.target, order.client_order_id, order.code.value, order.reason),
            )
            return
        ex.retries = 0
        if ex.generation != ex.working_gen or ex.repricing:
            ex.repricing = False
            self._work(ex)
        elif ex.algo in _CHASING and order.status is not FILLED:
            self._work(ex)
        elif ex.algo in _SLICED:
            if ex.algo is not _VWAP:  # vwap waits for the next bar's volume
                self._work(ex)
        elif order.status is FILLED and not order.quote_qty:
            # Filled, yet short of the target by more than a lot: a fee taken out of the base
            # received (OKX spot buys). Top up; each round's gap is only the last round's fee,
            # so this ends within a round or two.
            gap = abs(ex.target - ex.position.qty)
            if ex.min_qty <= gap < order.qty:
                self._work(ex)
        if ex.working is None:
            self.chasing.discard(order.symbol)

    # -- retries ------------------------------------------------------------------------------
    def _schedule_retry(self, ex: _Execution) -> None:
        """Pursue ``ex``'s target again after a backoff; a new target meanwhile wins (it sends
        at once, and the timer then finds the execution busy or the generation moved on)."""
        delay = self.config.retry.delay_ns(ex.retries, self._rng)
        ex.retries += 1
        gen = ex.generation
        log_at = logging.WARNING if ex.retries == 1 else logging.INFO
        log.log(log_at, "target %s %g: transient refusal (try %d); again in %.2fs", ex.symbol,
                ex.target, ex.retries, delay / NS_PER_S)  # fmt: skip

        def again(_name: str, _ts: int) -> None:
            if ex.working is None and ex.generation == gen and not ex.blocked:
                self._work(ex)

        self.clock.set_timer(f"oms.retry.{ex.symbol}", 0, again, self.clock.now() + delay)

    def _cancel_failed(self, order: Order) -> None:
        """The venue could not confirm our cancel of a target order that must go (re-price or
        a moved target): send it again after a backoff while it is still wanted."""
        ex = self._execs[order.symbol]
        if ex.working is not order or not (ex.repricing or ex.generation != ex.working_gen):
            return
        delay = self.config.retry.delay_ns(ex.retries, self._rng)
        ex.retries += 1

        def again(_name: str, _ts: int) -> None:
            if ex.working is order and order.is_open:
                self.cancel(order)

        self.clock.set_timer(f"oms.recancel.{ex.symbol}", 0, again, self.clock.now() + delay)
