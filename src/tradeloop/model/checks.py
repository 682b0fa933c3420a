"""Sanity of an order's numbers, checked before anything reaches risk limits or the wire.

Every comparison with NaN is false, so a limit check such as ``qty > max_qty`` lets a NaN
through; infinities and negative sizes survive rounding; a ``None`` or a string raises deep
inside a venue task. One function decides, for the OMS, the risk engine and every gateway,
whether an order's numbers can mean anything at all, and says why not.
"""

from __future__ import annotations

import math
from typing import Any

from tradeloop.model.enums import OrderType, RejectReason, Side, TriggerKind
from tradeloop.model.order import Order, Trigger


def _bad_number(value: Any) -> str | None:
    """Why ``value`` is not a usable finite real number (None when it is)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{value!r} is not a number"
    if not math.isfinite(value):
        return f"{value!r} is not finite"
    return None


_INF = math.inf
_LIMIT = OrderType.LIMIT


def order_problem(order: Order) -> tuple[RejectReason, str] | None:
    """``(code, reason)`` when the order's size or price cannot be sent; None when they can.

    Rules: ``qty`` and ``quote_qty`` are finite and >= 0, at least one of them > 0; a limit
    order's ``price`` is finite and > 0 (a market order's price is ignored, but must still not
    be garbage).
    """
    q, qq, p = order.qty, order.quote_qty, order.price
    if (  # the common case in one expression (NaN fails every comparison, so falls through)
        type(q) is float
        and type(qq) is float
        and type(p) is float
        and 0.0 <= q < _INF
        and 0.0 <= qq < _INF
        and (q > 0.0 or qq > 0.0)
        and 0.0 <= p < _INF
        and (p > 0.0 or order.order_type is not _LIMIT)
    ):
        if order.trigger is None and order.attached is None:
            return None
        return trigger_problem(order)
    return _diagnose(order)


def _diagnose(order: Order) -> tuple[RejectReason, str] | None:
    for name in ("qty", "quote_qty"):
        why = _bad_number(getattr(order, name))
        if why is not None:
            return RejectReason.INVALID_SIZE, f"{name} {why}"
    if order.qty < 0 or order.quote_qty < 0:
        return RejectReason.INVALID_SIZE, f"size must be positive (qty={order.qty!r})"
    if order.qty == 0 and order.quote_qty == 0:
        return RejectReason.INVALID_SIZE, "size is zero"
    why = _bad_number(order.price)
    if why is not None:
        return RejectReason.INVALID_PRICE, f"price {why}"
    if order.order_type is OrderType.LIMIT and not order.price > 0:
        return RejectReason.INVALID_PRICE, f"limit price must be > 0 (got {order.price!r})"
    if order.price < 0:
        return RejectReason.INVALID_PRICE, f"price must not be negative (got {order.price!r})"
    if order.trigger is not None or order.attached is not None:
        return trigger_problem(order)
    return None


def _positive(name: str, value: Any, allow_zero: bool = False) -> tuple[RejectReason, str] | None:
    why = _bad_number(value)
    if why is None and (value < 0 or (value == 0 and not allow_zero)):
        why = f"{value!r} must be {'>= 0' if allow_zero else '> 0'}"
    return None if why is None else (RejectReason.INVALID_PRICE, f"{name} {why}")


def trigger_problem(order: Order) -> tuple[RejectReason, str] | None:
    """Why a trigger order's or a bracket's trigger numbers cannot be sent (None = they can).

    Rules: trigger orders are sized in ``qty`` (a quote budget has no meaning at an unknown
    trigger time); trigger prices are finite and > 0 (a trailing stop's activation price may
    be 0 = none); a trailing stop has exactly one of ``callback_rate`` in (0, 1) or
    ``callback_amount`` > 0; an OCO's stop-loss is on the losing side of its take-profit (a
    sell protects a long: stop-loss below take-profit; a buy the reverse); a bracket's
    protective order is on the entry's opposite side.
    """
    t = order.trigger
    if t is not None:
        if order.quote_qty:
            return RejectReason.INVALID_SIZE, "trigger orders are sized in qty, not quote_qty"
        problem = _trigger_numbers(t, order.side)
        if problem is not None:
            return problem
    child = order.attached
    if child is not None:
        if child.side is order.side:
            return RejectReason.OTHER, "a bracket's protective order must be on the other side"
        if child.trigger is None:
            return RejectReason.OTHER, "a bracket's protective order must be a trigger order"
        if child.attached is not None:
            return RejectReason.OTHER, "a protective order cannot have its own attachment"
        return _trigger_numbers(child.trigger, child.side)
    return None


def _trigger_numbers(t: Trigger, side: Side) -> tuple[RejectReason, str] | None:
    kind = t.kind
    if kind is TriggerKind.TRAILING:
        problem = (
            _positive("activation price", t.price, allow_zero=True)
            or _positive("callback_rate", t.callback_rate, allow_zero=True)
            or _positive("callback_amount", t.callback_amount, allow_zero=True)
        )
        if problem is not None:
            return problem
        if (t.callback_rate > 0) == (t.callback_amount > 0):
            return RejectReason.INVALID_PRICE, "give one of callback_rate or callback_amount"
        if t.callback_rate >= 1:
            return RejectReason.INVALID_PRICE, "callback_rate must be below 1"
        return None
    problem = _positive("trigger price", t.price)
    if problem is not None:
        return problem
    if kind is TriggerKind.OCO:
        problem = _positive("take-profit trigger", t.tp_price) or _positive(
            "take-profit limit", t.tp_limit, allow_zero=True
        )
        if problem is not None:
            return problem
        if (t.price >= t.tp_price) if side is Side.SELL else (t.price <= t.tp_price):
            return RejectReason.INVALID_PRICE, (
                f"stop-loss {t.price:g} must be on the losing side of take-profit {t.tp_price:g}"
            )
    return None
