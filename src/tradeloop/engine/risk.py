"""Pre-trade risk engine, independent of strategies and identical in backtest and live.

Every order the OMS would send passes :meth:`RiskEngine.check` first. The engine owns the
trading state:

* ACTIVE — everything within limits may trade;
* REDUCING — only orders that shrink an existing position (a reduce-only order, or the
  opposite side for at most the current size);
* HALTED — nothing.

Besides the account-wide state, a single venue can be halted (:meth:`halt_venue`): when a
gateway cannot vouch for its view of our orders (``reconcile_failed``) nothing more is sent
there until an operator resumes it, while other venues trade on.

The daily loss limit compares equity with its value at the start of the UTC day (so realised and
unrealised losses both count). On a breach it cancels every working order, switches to REDUCING
and stays there until the next UTC midnight, when it returns to the state it had before.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from tradeloop.model import NS_PER_S, Instrument, Order, OrderType, RejectReason, Side, TradingState
from tradeloop.model.checks import order_problem

#: a refusal: its type and the reason in words
Refusal = tuple[RejectReason, str]
_RISK = RejectReason.RISK

NS_PER_DAY = 86_400 * NS_PER_S


@dataclass(frozen=True, slots=True)
class RiskConfig:
    """Limits; ``None`` disables a check. Quantities are in the instrument's size unit, notionals
    and losses in the account currency."""

    max_order_qty: float | None = None
    max_order_notional: float | None = None
    max_position_qty: float | None = None
    #: limit prices must lie within ±band of the last price (0.05 = 5 %)
    price_band: float | None = None
    #: at most ``max_orders`` submissions per ``rate_window_s`` seconds
    max_orders: int | None = None
    rate_window_s: float = 1.0
    #: absolute loss since the UTC day start that trips the kill switch
    daily_loss_limit: float | None = None
    #: same, as a fraction of the day-start equity (0.02 = 2 %); the tighter one wins
    daily_loss_fraction: float | None = None


class RiskEngine:
    def __init__(
        self,
        config: RiskConfig,
        instruments: dict[str, Instrument],
        equity: Callable[[], float],
        position: Callable[[str], float],
        mark: Callable[[str], float | None],
    ) -> None:
        self.config = config
        self.instruments = instruments
        self._equity = equity
        self._position = position
        self._mark = mark
        self.state = TradingState.ACTIVE
        self._state_before_breach = TradingState.ACTIVE
        self.breached_day: int | None = None
        self.day_start_equity: float | None = None
        self._day: int | None = None
        #: earliest time at which ``on_time`` has work: the next UTC midnight, or every price
        #: (0) while a daily loss limit is watched. Callers on hot paths may test it first.
        self.next_check_ns = 0
        self._sent: deque[int] = deque()
        self._window_ns = int(config.rate_window_s * NS_PER_S)
        self.on_breach: Callable[[int, str], None] | None = None
        self.on_state_change: Callable[[TradingState, str, int], None] | None = None
        self.denials = 0
        self._watch_loss = (
            config.daily_loss_limit is not None or config.daily_loss_fraction is not None
        )
        #: venue -> why it is halted
        self.halted_venues: dict[str, str] = {}

    # -- state ----------------------------------------------------------------------------
    def set_state(self, state: TradingState, reason: str = "", ts: int = 0) -> None:
        if state is not self.state:
            self.state = state
            if self.on_state_change is not None:
                self.on_state_change(state, reason, ts)

    def halt_venue(self, venue: str, reason: str, ts: int = 0) -> None:
        if venue not in self.halted_venues:
            self.halted_venues[venue] = reason
            if self.on_state_change is not None:
                self.on_state_change(self.state, f"venue halted: {reason}", ts)

    def resume_venue(self, venue: str, ts: int = 0) -> None:
        if self.halted_venues.pop(venue, None) is not None and self.on_state_change is not None:
            self.on_state_change(self.state, f"venue {venue} resumed", ts)

    def on_time(self, ts: int) -> None:
        """Roll the UTC day and watch the daily loss. Cheap enough to call on every price."""
        if ts < self.next_check_ns:
            return
        day = ts // NS_PER_DAY
        if day != self._day:
            self.next_check_ns = 0 if self._watch_loss else (day + 1) * NS_PER_DAY
            self._day = day
            self.day_start_equity = self._equity()
            if self.breached_day is not None and day > self.breached_day:
                self.breached_day = None
                self.set_state(self._state_before_breach, "new UTC day: daily loss limit reset", ts)
            return
        if self._watch_loss and self.breached_day is None:
            self._check_loss(ts)

    def _loss_limit(self) -> float:
        c = self.config
        limits = []
        if c.daily_loss_limit is not None:
            limits.append(c.daily_loss_limit)
        if c.daily_loss_fraction is not None and self.day_start_equity is not None:
            limits.append(c.daily_loss_fraction * self.day_start_equity)
        return min(limits)

    def _check_loss(self, ts: int) -> None:
        start = self.day_start_equity
        if start is None:
            return
        loss = start - self._equity()
        if loss >= self._loss_limit():
            self.breached_day = self._day
            self._state_before_breach = self.state
            msg = f"daily loss limit breached: lost {loss:.2f} since UTC day start"
            self.set_state(TradingState.REDUCING, msg, ts)
            if self.on_breach is not None:
                self.on_breach(ts, msg)

    # -- pre-trade ------------------------------------------------------------------------
    def _reduces(self, order: Order) -> bool:
        pos = self._position(order.symbol)
        if pos == 0.0:
            return False
        opposite = (pos > 0) != (order.side is Side.BUY)
        return opposite and order.qty <= abs(pos) + 1e-12 and not order.quote_qty

    def check(self, order: Order, ts: int) -> str | None:
        """None if the order may go; otherwise the reason it may not."""
        refusal = self.refusal(order, ts)
        return None if refusal is None else refusal[1]

    def refusal(self, order: Order, ts: int) -> Refusal | None:
        """None if the order may go; otherwise ``(code, reason)``. Orders whose numbers are not
        finite, positive numbers are refused outright, before any limit is compared (every
        comparison with NaN is false, so a limit alone would let one through)."""
        refusal = order_problem(order) or self._check(order, ts)
        if refusal is None:
            if self.config.max_orders is not None:
                self._sent.append(ts)
        else:
            self.denials += 1
        return refusal

    def _check(self, order: Order, ts: int) -> Refusal | None:
        c = self.config
        if self.state is TradingState.HALTED:
            return _RISK, "trading halted"
        if self.halted_venues:
            inst = self.instruments.get(order.symbol)
            why = self.halted_venues.get(inst.venue) if inst is not None else None
            if why is not None:
                return _RISK, f"venue halted ({why})"
        reduces = self._reduces(order)
        if self.state is TradingState.REDUCING and not reduces:
            return _RISK, "trading state REDUCING: only orders that reduce a position are allowed"
        if order.reduce_only and not reduces:
            return RejectReason.REDUCE_ONLY, "reduce-only order would not reduce the position"
        inst = self.instruments.get(order.symbol)
        if inst is None:
            return RejectReason.INVALID_INSTRUMENT, f"unknown instrument {order.symbol}"
        last = self._mark(order.symbol)
        price = order.price if order.order_type is OrderType.LIMIT else (last or 0.0)
        if c.max_order_qty is not None and order.qty > c.max_order_qty:
            return _RISK, f"order size {order.qty} > max {c.max_order_qty}"
        notional = order.quote_qty or order.qty * price * inst.contract_value
        if c.max_order_notional is not None and notional > c.max_order_notional:
            return _RISK, f"order notional {notional:.2f} > max {c.max_order_notional}"
        if c.max_position_qty is not None and not reduces:
            pos = self._position(order.symbol)
            qty = order.qty or (order.quote_qty / price if price else 0.0)
            after = pos + (qty if order.side is Side.BUY else -qty)
            if abs(after) > c.max_position_qty:
                return _RISK, f"position would be {after} > max {c.max_position_qty}"
        if (
            c.price_band is not None
            and order.order_type is OrderType.LIMIT
            and last
            and abs(order.price - last) > c.price_band * last
        ):
            return _RISK, f"limit price {order.price} outside ±{c.price_band:.2%} of last {last}"
        if c.max_orders is not None:
            sent = self._sent
            while sent and sent[0] <= ts - self._window_ns:
                sent.popleft()
            if len(sent) >= c.max_orders:
                why = f"order rate limit: {c.max_orders} per {c.rate_window_s}s"
                return RejectReason.RATE_LIMITED, why
        return None
