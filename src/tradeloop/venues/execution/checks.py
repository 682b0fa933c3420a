"""Pre-trade checks every venue shares: what must never go on the wire.

A NaN, an infinity, a size or price that rounds to zero lots or ticks, an instrument the venue
does not list — each becomes a typed refusal before any request is made, so a bad number is a
REJECTED report (or a failed amend), never a venue error to interpret or a stuck order.
"""

from __future__ import annotations

import math
from decimal import Decimal

from tradeloop.core.errors import VenueError
from tradeloop.model import Instrument, InstrumentKind, Order, OrderType, RejectReason
from tradeloop.model.checks import order_problem
from tradeloop.venues.execution.hooks import VenueHooks


def preflight(order: Order, hooks: VenueHooks) -> tuple[RejectReason, str] | None:
    """Why ``order`` cannot go on the wire at all (unknown instrument, insane numbers, a size
    or price that rounds to zero), or None. Checked before the venue is asked, by every venue."""
    inst = hooks.instrument(order.symbol)
    if inst is None:
        return RejectReason.INVALID_INSTRUMENT, f"unknown {hooks.venue} instrument {order.symbol}"
    problem = order_problem(order)
    if problem is not None:  # NaN, inf, <= 0, None, text: never onto the wire
        return problem
    quote_sized = (
        order.order_type is OrderType.MARKET
        and order.quote_qty > 0
        and inst.kind is InstrumentKind.SPOT
    )
    if quote_sized:
        if inst.format_quote(order.quote_qty) == "0":
            return RejectReason.INVALID_SIZE, f"quote size {order.quote_qty} rounds to 0"
    elif inst.format_qty(order.qty) == "0":
        return RejectReason.INVALID_SIZE, f"size {order.qty} rounds to 0 lots of {inst.lot_size}"
    if order.order_type is OrderType.LIMIT and inst.format_price(order.price) == "0":
        why = f"price {order.price} rounds to 0 ticks of {inst.tick_size}"
        return RejectReason.INVALID_PRICE, why
    return None


def amend_problem(
    qty: float | None, price: float | None, inst: Instrument | None
) -> tuple[RejectReason, str] | None:
    """Why an amend to ``qty``/``price`` cannot go on the wire (nothing to change, not a finite
    positive number, rounds to zero), or None."""
    if qty is None and price is None:
        return RejectReason.OTHER, "nothing to amend"
    for value, code, name, is_size in (
        (qty, RejectReason.INVALID_SIZE, "size", True),
        (price, RejectReason.INVALID_PRICE, "price", False),
    ):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            return code, f"new {name} {value!r} is not a number"
        if not (math.isfinite(value) and value > 0):
            return code, f"new {name} must be finite and > 0 (got {value!r})"
        if inst is not None:
            text = inst.format_qty(value) if is_size else inst.format_price(value)
            if text == "0":
                return code, f"new {name} {value} rounds to 0"
    return None


def spend_size(inst: Instrument, spend: float, best_ask: float, code: str) -> str:
    """The base-currency size that spends ``spend`` of the quote at ``best_ask``, floored to
    the lot: how venues that size every order in the base (FTX, Bitfinex) place a "spend
    this much" market buy. Raises ``VenueError(code)`` (the venue's "size too small") when
    that buys less than a lot, or there is no ask to price it at."""
    size = inst.format_qty(spend / best_ask) if best_ask > 0 else "0"
    if Decimal(size) <= 0:
        raise VenueError(f"{spend} buys less than a lot of {inst.native}", code)
    return size
