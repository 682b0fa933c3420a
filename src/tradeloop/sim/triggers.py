"""When trigger orders fire: pure rules over a price path, no exchange state.

The exchange feeds each armed order a *path* of last prices and asks where on it the order
fires and at what price:

* **A trade** is a path of one point; an order fires at the trade's price.
* **A bar** is the path ``open, low, high, close`` when it closed at or above its open and
  ``open, high, low, close`` when it closed below — the usual assumption that a bar's nearer
  extreme came first. The open is a *gap*: an order whose trigger the open has already passed
  fires **at the open** (a stop that gapped slips; a take-profit that gapped gains). Between
  two points the price is taken to move straight, so an order whose trigger lies on a segment
  fires **at its trigger price** (a touch).

Trailing stops follow the same path, point by point: at each point the order first checks
its current trigger level (from the best price seen so far), then moves its best price to the
point. So on a bar that goes up then down, the level rises with the high first and the fall is
measured from it; on a bar that falls first, the earlier best price rules the fall. The same
inputs always give the same answer: the simulator stays deterministic.

An OCO's two legs are checked together at each point: the first leg the path reaches fires,
and the other leg dies with it (one order, one child).
"""

from __future__ import annotations

from tradeloop.model import Bar, Side
from tradeloop.model.enums import LIMIT, MARKET, TriggerKind
from tradeloop.sim.records import SimOrder

_STOP, _TP, _TRAIL, _OCO = (
    TriggerKind.STOP,
    TriggerKind.TAKE_PROFIT,
    TriggerKind.TRAILING,
    TriggerKind.OCO,
)

#: what ``fire_on_path`` answers: index of the path point it fired at, price, leg ("sl"/"tp")
Hit = tuple[int, float, str]


def bar_path(bar: Bar) -> tuple[float, float, float, float]:
    """The bar's assumed price path (see the module docstring)."""
    if bar.close >= bar.open:
        return bar.open, bar.low, bar.high, bar.close
    return bar.open, bar.high, bar.low, bar.close


def _crossed(price: float, level: float, falls: bool) -> bool:
    return price <= level if falls else price >= level


def stop_falls(side: Side) -> bool:
    """A stop (and a trailing stop) sells on a fall and buys on a rise."""
    return side is Side.SELL


def trail_level(rec: SimOrder) -> float:
    """A trailing stop's trigger level from its best price so far (0 while not active)."""
    t = rec.trigger
    ext = rec.extreme
    if t is None or ext <= 0:
        return 0.0
    falls = stop_falls(rec.side)
    if t.callback_rate > 0:
        return ext * (1 - t.callback_rate) if falls else ext * (1 + t.callback_rate)
    return ext - t.callback_amount if falls else ext + t.callback_amount


def arm_trailing(rec: SimOrder, last: float | None) -> None:
    """A trailing stop without an activation price starts from the last price, if known."""
    t = rec.trigger
    if t is not None and t.kind is _TRAIL and t.price <= 0 and last is not None and last > 0:
        rec.extreme = last


def _trail_step(rec: SimOrder, p: float, gap: bool) -> float | None:
    """Move a trailing stop along the path to ``p``; the fill price if it fires there."""
    t = rec.trigger
    assert t is not None
    falls = stop_falls(rec.side)
    if rec.extreme <= 0:  # not active yet
        if t.price <= 0 or _crossed(p, t.price, not falls):
            rec.extreme = p
        return None
    level = trail_level(rec)
    if _crossed(p, level, falls):
        return p if gap else level
    if (p > rec.extreme) if falls else (p < rec.extreme):
        rec.extreme = p
    return None


def fire_on_path(rec: SimOrder, path: tuple[float, ...], first_is_gap: bool = True) -> Hit | None:
    """Where along ``path`` the armed order ``rec`` fires, or None. A trailing stop's best
    price is updated along the way (it is the order's state). Every point of a trade path is
    a gap (``first_is_gap`` and one point); on a bar only the open is."""
    t = rec.trigger
    if t is None:
        return None
    kind = t.kind
    if kind is _TRAIL:
        for i, p in enumerate(path):
            px = _trail_step(rec, p, first_is_gap and i == 0)
            if px is not None:
                return i, px, "sl"
        return None
    falls = stop_falls(rec.side)
    legs: tuple[tuple[float, bool, str], ...]
    if kind is _STOP:
        legs = ((t.price, falls, "sl"),)
    elif kind is _TP:
        legs = ((t.price, not falls, "tp"),)
    else:
        legs = ((t.price, falls, "sl"), (t.tp_price, not falls, "tp"))
    for i, p in enumerate(path):
        gap = first_is_gap and i == 0
        for level, down, leg in legs:
            if _crossed(p, level, down):
                return i, (p if gap else level), leg
    return None


def become_child(rec: SimOrder, leg: str, px: float) -> None:
    """Turn a fired trigger order into its child in place (same ids; see ``model.order``):
    an OCO's take-profit leg becomes a limit at ``tp_limit`` or a market order."""
    t = rec.trigger
    rec.triggered = True
    rec.leg = leg
    rec.trigger_px = px
    if t is not None and t.kind is _OCO and leg == "tp":
        rec.order_type, rec.price = (LIMIT, t.tp_limit) if t.tp_limit > 0 else (MARKET, 0.0)
    elif t is not None and t.kind is _TRAIL:
        rec.order_type, rec.price = MARKET, 0.0
