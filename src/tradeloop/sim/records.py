"""The venue's own record of an order (never the engine's ``Order``: the venue copies what it
needs, so the OMS and the venue cannot corrupt each other's state)."""

from __future__ import annotations

import copy
from dataclasses import dataclass

from tradeloop.model import Order, OrderStatus, OrderType, RejectReason, Side, TimeInForce
from tradeloop.model.order import Trigger

#: where a working order is: NOWHERE, PENDING (waiting for its first bar), RESTING (in the
#: book), ARMED (an untriggered trigger order watching the last price)
NOWHERE, PENDING, RESTING, ARMED = 0, 1, 2, 3


@dataclass(slots=True, eq=False)
class SimOrder:
    """One order as the simulated venue sees it.

    Public fields are what a venue API exposes (the emulator renders them); the fields after
    ``code`` are venue internals (locks, priority, queue position) and may change.
    ``qty`` stays 0 for quote-sized market buys (``quote_qty`` > 0), as on real venues.
    """

    client_order_id: str
    symbol: str
    side: Side
    order_type: OrderType
    tif: TimeInForce
    price: float
    qty: float
    quote_qty: float
    reduce_only: bool
    strategy_id: str
    ts_created: int
    ts_updated: int
    venue_order_id: str = ""
    status: OrderStatus = OrderStatus.SUBMITTED
    filled_qty: float = 0.0
    avg_price: float = 0.0
    fee: float = 0.0
    fee_ccy: str = ""
    reason: str = ""
    code: RejectReason = RejectReason.NONE  # typed ``reason`` of a refusal (REJECTED)
    trigger: Trigger | None = None  # a trigger order (``model.order.Trigger``)
    attached: SimOrder | None = None  # a bracket's protective order, placed on the fill
    triggered: bool = False  # fired: now the market/limit child (``order_type``/``price``)
    leg: str = ""  # which leg fired: "sl" (stop/trailing/OCO stop-loss) or "tp"
    trigger_px: float = 0.0  # the price it fired at (a gap: the open, else the trigger level)
    # -- venue internals ------------------------------------------------------------------
    seq: int = 0  # time priority (renewed when an amend loses priority)
    accept_ts: int = 0  # when the venue accepted it (bar mode: first eligible bar start)
    lock: float = 0.0  # amount of ``lock_asset`` still reserved for this order
    lock_asset: str = ""
    #: counted as a holder of ``lock_asset`` by the account (``Account.lock``), so its end
    #: must release exactly once; an order accepted with nothing to reserve is not one
    holds_lock: bool = False
    spent_quote: float = 0.0  # quote-sized buys: notional + fee spent so far
    queue_ahead: float = 0.0  # L2: external size ahead of us at our price
    where: int = 0  # NOWHERE / PENDING / RESTING / ARMED
    extreme: float = 0.0  # trailing stop: best price seen while active (0 = not active yet)

    @classmethod
    def from_order(cls, order: Order, ts: int) -> SimOrder:
        return cls(
            client_order_id=order.client_order_id,
            symbol=order.symbol,
            side=order.side,
            order_type=order.order_type,
            tif=order.tif,
            price=float(order.price),
            qty=float(order.qty),
            quote_qty=float(order.quote_qty),
            reduce_only=order.reduce_only,
            strategy_id=order.strategy_id,
            ts_created=ts,
            ts_updated=ts,
            trigger=order.trigger,
            attached=None if order.attached is None else cls.from_order(order.attached, ts),
        )

    @property
    def type(self) -> OrderType:
        """Alias of ``order_type`` (venue APIs call it ``type``/``ordType``)."""
        return self.order_type

    @property
    def is_quote_sized(self) -> bool:
        return self.quote_qty > 0.0 and self.qty == 0.0

    @property
    def remaining_qty(self) -> float:
        """Base/contract size still to fill (0 for quote-sized buys, whose budget rules)."""
        return self.qty - self.filled_qty if self.qty > 0.0 else 0.0

    @property
    def is_open(self) -> bool:
        return self.status.is_open

    def snapshot(self) -> SimOrder:
        """A detached copy for callers (queries must not hand out the live record)."""
        return copy.copy(self)
