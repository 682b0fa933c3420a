"""Sanity of an order's numbers, checked before anything reaches risk limits or the wire.

Every comparison with NaN is false, so a limit check such as ``qty > max_qty`` lets a NaN
through; infinities and negative sizes survive rounding; a ``None`` or a string raises deep
inside a venue task. One function decides, for the OMS, the risk engine and every gateway,
whether an order's numbers can mean anything at all, and says why not.
"""

from __future__ import annotations

import math
from typing import Any

from tradeloop.model.enums import OrderType, RejectReason
from tradeloop.model.order import Order


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
        return None
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
    return None
