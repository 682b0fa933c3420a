"""Orders and their state machine.

An ``Order`` is owned by the OMS and changes only through :meth:`Order.apply_report` /
:meth:`Order.transition`, which refuse transitions the venue could not have made (e.g. FILLED →
ACCEPTED). Refusing loudly beats silently corrupting positions when a venue feed misbehaves.

Trigger orders (stop, take-profit, trailing stop, OCO) use the same machine, no extra states,
so every consumer of reports keeps working unchanged:

* an **untriggered** trigger order the venue holds is *working*: ACCEPTED, cancelable, open;
* when it fires it **turns into its child** — the market or limit order named by
  ``order_type``/``price`` — keeping its client id, so the child's fills and reports are the
  trigger order's own (ACCEPTED → PARTIALLY_FILLED → FILLED, or CANCELED if the venue refuses
  the child, e.g. for funds). One id end to end is what lets the OMS book a stop's fill to the
  strategy that placed it, in the simulator and behind an OKX algo id alike;
* a **bracket** is an entry order with ``attached`` set: a protective trigger order (OCO when it
  has both a stop-loss and a take-profit) that the venue places only once the entry has filled
  (sized to what filled); until then it is SUBMITTED in the OMS, and it is ended there if the
  entry ends without a fill. An OCO's legs cancel each other by construction: it is one order,
  and the leg that fires first is what it turns into.
"""

from __future__ import annotations

from dataclasses import dataclass

from tradeloop.model.enums import (
    OrderStatus,
    OrderType,
    RejectReason,
    Side,
    TimeInForce,
    TriggerKind,
)

S = OrderStatus

#: Allowed transitions. A venue may skip intermediate states (a market order can go straight
#: from SUBMITTED to FILLED), so each state lists every state reachable in one report.
#:
#: Races the machine resolves, because our request and the venue's news cross on the wire:
#:
#: * **cancel vs. refusal** — we ask to cancel an order whose placement is still in flight,
#:   then the venue refuses the placement: PENDING_CANCEL → REJECTED (the order never lived).
#: * **cancel/amend vs. fill** — the order fills before our request lands: PENDING_CANCEL or
#:   PENDING_AMEND → PARTIALLY_FILLED / FILLED (the fill is real and is booked).
#: * **cancel/amend vs. venue-side end** — the venue canceled or expired it first (self-trade
#:   prevention, IOC, expiry): PENDING_* → CANCELED / EXPIRED.
#: * **failed cancel or amend** — the venue says no, or we gave up: PENDING_* → ACCEPTED /
#:   PARTIALLY_FILLED (the order works on; the engine may try again).
#: * **amend refused because the order is gone** — PENDING_AMEND → any terminal state.
#:
#: Every terminal state is reachable from every live state, so a venue's final word is never
#: dropped: an order cannot be left open forever because its last report arrived "too early".
_TERMINALS = frozenset({S.FILLED, S.CANCELED, S.REJECTED, S.EXPIRED})
TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    S.CREATED: frozenset({S.SUBMITTED, S.REJECTED}),
    S.SUBMITTED: _TERMINALS | {S.ACCEPTED, S.PARTIALLY_FILLED, S.PENDING_CANCEL, S.PENDING_AMEND},
    S.ACCEPTED: _TERMINALS | {S.PARTIALLY_FILLED, S.PENDING_CANCEL, S.PENDING_AMEND},
    S.PARTIALLY_FILLED: _TERMINALS | {S.PARTIALLY_FILLED, S.PENDING_CANCEL, S.PENDING_AMEND},
    S.PENDING_CANCEL: _TERMINALS | {S.PARTIALLY_FILLED, S.ACCEPTED},
    S.PENDING_AMEND: _TERMINALS | {S.PARTIALLY_FILLED, S.ACCEPTED, S.PENDING_CANCEL},
    S.FILLED: frozenset(),
    S.CANCELED: frozenset(),
    S.REJECTED: frozenset(),
    S.EXPIRED: frozenset(),
}


_DONE = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)


@dataclass(frozen=True, slots=True)
class Trigger:
    """When a trigger order fires (see the module docstring for its states).

    * ``STOP`` / ``TAKE_PROFIT``: ``price`` is the trigger price; the child is the order's own
      ``order_type`` (a LIMIT child uses ``Order.price``: stop-limit, take-profit-limit).
    * ``TRAILING``: ``callback_rate`` (a fraction, 0.02 = 2 %) *or* ``callback_amount`` (in
      price units) behind the best price seen while active; ``price`` is an optional
      activation price (0 = active at once; a sell activates at price >= it, a buy at <=).
      The child is a market order.
    * ``OCO``: ``price`` is the stop-loss leg's trigger and ``tp_price`` the take-profit leg's;
      the stop-loss child is ``order_type``/``Order.price``, the take-profit child a limit at
      ``tp_limit`` or a market order when it is 0.

    Prices are triggered by the last trade price (OKX's default ``triggerPxType=last``).
    """

    kind: TriggerKind
    price: float = 0.0
    tp_price: float = 0.0
    tp_limit: float = 0.0
    callback_rate: float = 0.0
    callback_amount: float = 0.0


class IllegalTransition(Exception):
    """An order was asked to move to a state it cannot reach from its current one."""


@dataclass(slots=True, eq=False)
class Order:
    """A request to trade plus what has happened to it since.

    ``qty`` is in base units (contracts for derivatives). A spot market *buy* may instead give
    ``quote_qty`` — the amount of quote currency to spend — as OKX (``tgtCcy=quote_ccy``) and
    Binance (``quoteOrderQty``) allow; then ``qty`` is 0 until fills arrive.
    """

    client_order_id: str
    symbol: str
    side: Side
    qty: float
    order_type: OrderType = OrderType.MARKET
    price: float = 0.0
    tif: TimeInForce = TimeInForce.GTC
    reduce_only: bool = False
    quote_qty: float = 0.0
    strategy_id: str = ""
    ts_created: int = 0
    status: OrderStatus = OrderStatus.CREATED
    venue_order_id: str = ""
    filled_qty: float = 0.0
    avg_price: float = 0.0
    fees: float = 0.0
    ts_updated: int = 0
    reason: str = ""
    code: RejectReason = RejectReason.NONE
    #: set on trigger orders (stop, take-profit, trailing, OCO); None = an ordinary order
    trigger: Trigger | None = None
    #: a bracket's protective order, placed by the venue once this entry fills
    attached: Order | None = None

    @property
    def is_open(self) -> bool:
        return self.status not in _DONE and self.status is not OrderStatus.CREATED

    @property
    def is_terminal(self) -> bool:
        return self.status in _DONE

    @property
    def remaining_qty(self) -> float:
        return max(self.qty - self.filled_qty, 0.0) if self.qty else 0.0

    @property
    def signed_qty(self) -> float:
        return self.qty if self.side is Side.BUY else -self.qty

    def transition(self, new: OrderStatus, ts: int = 0, reason: str = "") -> None:
        if new not in TRANSITIONS[self.status]:
            raise IllegalTransition(
                f"order {self.client_order_id}: {self.status.value} -> {new.value} is not allowed"
            )
        self.status = new
        if ts:
            self.ts_updated = ts
        if reason:
            self.reason = reason

    def apply_fill(self, qty: float, price: float, fee: float) -> None:
        """Accumulate one execution (status is changed by the accompanying report).

        Never refused, whatever the status: a fill is money that moved at the venue, and a
        late one (e.g. caught up over REST after the cancel report) must still be booked."""
        total = self.filled_qty + qty
        self.avg_price = (self.avg_price * self.filled_qty + price * qty) / total if total else 0.0
        self.filled_qty = total
        self.fees += fee
