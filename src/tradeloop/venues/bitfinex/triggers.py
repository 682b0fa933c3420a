"""The engine's trigger orders as Bitfinex order types, and an OCO's two venue orders seen as
the engine's one.

Mapping (``model.order.Trigger`` -> Bitfinex v2 ``on`` fields; ``EXCHANGE `` prefix on spot):

* STOP, market child -> ``STOP`` with ``price`` = the trigger;
  STOP, limit child -> ``STOP LIMIT``, ``price`` = the trigger, ``price_aux_limit`` = the limit;
* TRAILING by an amount -> ``TRAILING STOP`` with ``price_trailing`` = the amount;
* OCO -> a ``LIMIT`` at the take-profit (``tp_limit``, else ``tp_price``) with flag 16384
  and ``price_oco_stop`` = the stop-loss trigger: Bitfinex rests the take-profit in the book
  and places a stop beside it; whichever trades first cancels the other.

Refused before anything is sent (permanent, with the reason), because Bitfinex has no such
order and an approximation would trade differently from what the strategy asked: TAKE_PROFIT
triggers, trailing stops by a rate or with an activation price, an OCO whose stop-loss child
is a limit, and time-in-force options on trigger orders.

An OCO is two Bitfinex orders under one ``cid`` (the stop's PLACED_ID names the limit). The
engine knows one order, so :class:`OcoView` decides which of their pushes speak for it: the
limit's, until the stop fires (its ``ou`` carries TYPE_PREV) -- from then on the stop's, and
the limit's cancel is the venue's doing, not news. An unfired stop's pushes are never news.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tradeloop.core.errors import VenueError
from tradeloop.model import Instrument, Order
from tradeloop.model.enums import LIMIT, MARKET, TimeInForce, TriggerKind
from tradeloop.venues.bitfinex import parse as P

FLAG_OCO = 16384
UNSUPPORTED = "unsupported order type"

Row = Sequence[Any]


def _refuse(why: str) -> VenueError:
    return VenueError(f"Bitfinex: {why}", UNSUPPORTED)


def trigger_fields(order: Order, inst: Instrument) -> tuple[str, int, dict[str, Any]]:
    """(type without the ``EXCHANGE `` prefix, extra flags, extra body fields) of a trigger
    order; a permanent :class:`VenueError` for what Bitfinex cannot express."""
    t = order.trigger
    assert t is not None
    if order.tif not in (TimeInForce.GTC, TimeInForce.POST_ONLY) or (
        order.tif is TimeInForce.POST_ONLY and t.kind is not TriggerKind.OCO
    ):
        raise _refuse(f"{order.tif.value} is not available on trigger orders")
    px = inst.format_price
    if t.kind is TriggerKind.STOP:
        if order.order_type is LIMIT:
            return "STOP LIMIT", 0, {"price": px(t.price), "price_aux_limit": px(order.price)}
        return "STOP", 0, {"price": px(t.price)}
    if t.kind is TriggerKind.TRAILING:
        if t.callback_rate > 0 or t.callback_amount <= 0:
            raise _refuse("trailing stops trail by a price distance (callback_amount), not a rate")
        if t.price > 0:
            raise _refuse("trailing stops have no activation price")
        return "TRAILING STOP", 0, {"price_trailing": px(t.callback_amount)}
    if t.kind is TriggerKind.OCO:
        if order.order_type is not MARKET:
            raise _refuse("an OCO's stop leg is a STOP (market): the stop-loss child must be "
                          "a market order")  # fmt: skip
        take = t.tp_limit if t.tp_limit > 0 else t.tp_price
        return "LIMIT", FLAG_OCO, {"price": px(take), "price_oco_stop": px(t.price)}
    raise _refuse("no take-profit trigger type (a LIMIT at the take-profit price rests until "
                  "it trades)")  # fmt: skip


def is_oco(d: Row) -> bool:
    return bool(int(d[12] or 0) & FLAG_OCO)


def is_stop_leg(d: Row) -> bool:
    """The stop Bitfinex placed beside an OCO's limit (PLACED_ID names the limit)."""
    return len(d) > 25 and bool(d[25])


def stop_fired(d: Row) -> bool:
    """A stop that fired reports its child's type with TYPE_PREV set (or has fills)."""
    return bool(d[9]) or P.order_status(d)[1] > 0


class OcoView:
    """Which pushes of an OCO's two orders speak for the engine's one order."""

    def __init__(self) -> None:
        self.fired: dict[str, str] = {}  # venue client id -> "stop" / "limit"

    def news(self, vcid: str, d: Row) -> bool:
        """True when this ORDER array (of an OCO leg) is the engine order's news."""
        if is_stop_leg(d):
            if stop_fired(d):
                self.fired[vcid] = "stop"
                return True
            return False
        if P.order_status(d)[1] > 0:
            self.fired.setdefault(vcid, "limit")
            return True
        return self.fired.get(vcid) != "stop"

    def forget(self, vcid: str) -> None:
        self.fired.pop(vcid, None)


def best_row(rows: Sequence[Row]) -> Row:
    """Of an order's rows (an OCO has two), the one that says the most: filled first, then a
    fired stop, then the limit."""
    return max(rows, key=lambda d: (P.order_status(d)[1] > 0, bool(d[9]), not is_stop_leg(d)))
