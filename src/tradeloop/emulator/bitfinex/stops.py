"""Bitfinex's trigger orders over the simulator: ``STOP``, ``STOP LIMIT``, ``TRAILING STOP``
(``EXCHANGE`` or margin) and OCO (flag 16384 with ``price_oco_stop``).

Wire shapes (Bitfinex v2 ``on`` / ``order/submit``): a STOP's ``price`` is its trigger price;
a STOP LIMIT adds ``price_aux_limit``, the limit its child works at; a TRAILING STOP has
``price_trailing``, the distance (in price) the trigger keeps behind the best price since it
was placed. In the ORDER array PRICE [16] is the trigger (a trailing stop's current level,
0 until it has a best price), PRICE_TRAILING [18] and PRICE_AUX_LIMIT [19] are as sent.

Each is one simulator trigger order (``sim/triggers.py``): ``ACTIVE`` while armed; when the
last price reaches it the simulator turns it into its child and this module pushes an ``ou``
with the child's type (``EXCHANGE MARKET`` / ``EXCHANGE LIMIT``) and TYPE_PREV [9] set -- a
STOP LIMIT's is ``… STOP``, as Bitfinex reports converted stop-limits -- then the child's
``te``/``oc``/``tu`` follow as for any order.

An OCO is a LIMIT order plus a STOP placed with it: two Bitfinex orders, each with flag
16384, the same ``cid``/``gid``, the stop's PLACED_ID [25] naming the limit. The limit rests
in the book as any limit does; the stop is a simulator stop. A fill of the limit (even a
partial one) cancels the stop; the stop firing cancels the limit; canceling either cancels
both. A limit that trades in full on arrival places no stop. Not modelled: updating an armed
stop (Bitfinex moves its price; here it is refused -- cancel and place it again), trailing
stops pushing an ``ou`` at every move of their level.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tradeloop.emulator.account import OrderInfo
from tradeloop.emulator.limits import is_multiple, positive_decimal
from tradeloop.model import Fill, OrderReport, OrderType, Side, TimeInForce
from tradeloop.model.enums import TriggerKind
from tradeloop.model.instrument import Instrument, plain_decimal
from tradeloop.model.order import Trigger
from tradeloop.sim import triggers
from tradeloop.sim.records import SimOrder

if TYPE_CHECKING:
    from tradeloop.emulator.bitfinex.orders import BitfinexTrading

FLAG_OCO = 16384
TRIGGER_TYPES = ("STOP", "STOP LIMIT", "TRAILING STOP")


class StopError(Exception):
    """A trigger field Bitfinex would refuse: ``field: invalid`` (ERR_PARAMS) or a text."""

    def __init__(self, text: str, params: bool = True) -> None:
        super().__init__(text)
        self.text, self.params = text, params


def _price(body: dict[str, Any], key: str, inst: Instrument) -> Decimal:
    px = positive_decimal(body.get(key))
    if px is None or not is_multiple(px, inst.tick_size):
        raise StopError(f"{key}: invalid")
    return px


def parse_trigger(
    base_type: str, body: dict[str, Any], inst: Instrument
) -> tuple[Trigger, Decimal | None, dict[str, Any]]:
    """(the simulator's trigger, the child's limit price or None for market, the ORDER
    array's extras) of a STOP / STOP LIMIT / TRAILING STOP body."""
    if base_type == "TRAILING STOP":
        dist = _price(body, "price_trailing", inst)
        trig = Trigger(TriggerKind.TRAILING, callback_amount=float(dist))
        return trig, None, {"price": None, "trailing": plain_decimal(dist)}
    stop = _price(body, "price", inst)
    extra: dict[str, Any] = {"price": plain_decimal(stop)}
    limit = None
    if base_type == "STOP LIMIT":
        limit = _price(body, "price_aux_limit", inst)
        extra["aux"] = plain_decimal(limit)
    return Trigger(TriggerKind.STOP, float(stop)), limit, extra


def oco_stop(body: dict[str, Any], base_type: str, inst: Instrument) -> Decimal:
    """The stop price of an OCO (flag 16384): only a LIMIT order carries one."""
    if base_type != "LIMIT":
        raise StopError("Invalid order: OCO (flag 16384) is for LIMIT orders", params=False)
    return _price(body, "price_oco_stop", inst)


class StopBook:
    """Trigger events and OCO links of one Bitfinex account (see the module docstring)."""

    def __init__(self, trading: BitfinexTrading) -> None:
        self.t = trading
        self.account = trading.account
        #: order id -> its OCO partner's order id (both directions, while both live)
        self.partner: dict[str, str] = {}
        self.account.sim.on_triggered = self._on_triggered
        self.account.order_listeners.append(self._on_order)

    # -- ORDER array fields --------------------------------------------------------------
    def price_field(self, info: OrderInfo, rec: SimOrder) -> Any:
        """PRICE [16] of an armed trailing stop: its current level (0 until it has one)."""
        inst = self.t.emu.instruments[info.symbol]
        level = triggers.trail_level(rec)
        return inst.format_price(level) if level > 0 else None

    # -- OCO -----------------------------------------------------------------------------
    def place_oco_stop(self, limit: OrderInfo, stop_px: Decimal, qty: float, side: Side) -> None:
        """The stop of an OCO, once its limit is working (a limit already trading in full
        places none: there is nothing left to protect)."""
        rec = self.account.record(limit)
        if rec is None or rec.status.is_terminal or rec.filled_qty > 0:
            return
        x = limit.extra
        prefix = "EXCHANGE " if x["type"].startswith("EXCHANGE ") else ""
        extra = dict(x, type=prefix + "STOP", price=plain_decimal(stop_px), market=True,
                     placed_id=int(limit.order_id), announced=False)  # fmt: skip
        info, srec = self.account.place(
            limit.symbol, side, qty, None, TimeInForce.IOC, rec.reduce_only, "", extra,
            trigger=Trigger(TriggerKind.STOP, float(stop_px)),
        )  # fmt: skip
        if srec.status.is_terminal:
            return
        self.partner[limit.order_id] = info.order_id
        self.partner[info.order_id] = limit.order_id

    def _unlink_cancel(self, order_id: str) -> None:
        other = self.partner.pop(order_id, None)
        if other is None:
            return
        self.partner.pop(other, None)
        info = self.account.infos.get(other)
        rec = self.account.record(info) if info is not None else None
        if info is not None and rec is not None and not rec.status.is_terminal:
            self.account.cancel(info)

    def _on_order(
        self, info: OrderInfo, rec: SimOrder, rep: OrderReport, fills: list[Fill]
    ) -> None:
        if info.order_id in self.partner and (fills or rep.status.is_terminal):
            self._unlink_cancel(info.order_id)  # one cancels the other

    # -- triggers ------------------------------------------------------------------------
    def _on_triggered(self, rec: SimOrder) -> None:
        """A stop fired: it is now its child (``ou`` with the child's type), and an OCO's
        limit is canceled."""
        info = self.account.infos.get(rec.client_order_id)
        if info is None:
            return
        x = info.extra
        prefix = "EXCHANGE " if x["type"].startswith("EXCHANGE ") else ""
        prev = x["type"]
        x["type_prev"] = prefix + "STOP" if prev.endswith("STOP LIMIT") else prev
        market = rec.order_type is OrderType.MARKET
        x["type"] = prefix + ("MARKET" if market else "LIMIT")
        x["market"] = market
        inst = self.t.emu.instruments[info.symbol]
        x["price"] = None if market else inst.format_price(rec.price)
        self.t.emu.hub.push_account("ou", self.t.order_array(info, rec))
        self._unlink_cancel(info.order_id)
