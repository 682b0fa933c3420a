"""Binance's conditional orders on the simulator: spot ``STOP_LOSS(_LIMIT)`` /
``TAKE_PROFIT(_LIMIT)``, USD-M ``STOP_MARKET`` / ``TAKE_PROFIT_MARKET``.

A stop rests untriggered (status ``NEW``, nothing locked) until the last trade price reaches
``stopPrice`` -- falling for a sell stop-loss or a buy take-profit, rising for the other two
-- and then becomes its child in place (same ids): a market order, or a limit at ``price``
for the ``_LIMIT`` types (the simulator's trigger orders, ``sim/triggers.py``). Binance
refuses a stop that would fire at once (``-2010 Stop price would trigger immediately.``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tradeloop.emulator.account import OrderInfo, SimAccount
from tradeloop.emulator.binance import errors as E
from tradeloop.emulator.feed import now_ms
from tradeloop.model import Side, TimeInForce
from tradeloop.model.enums import OrderStatus, OrderType, TriggerKind
from tradeloop.model.order import Order, Trigger
from tradeloop.sim.records import SimOrder

#: order type -> (trigger kind, the child is a limit order)
KINDS: dict[str, tuple[TriggerKind, bool]] = {
    "STOP_LOSS": (TriggerKind.STOP, False),
    "STOP_LOSS_LIMIT": (TriggerKind.STOP, True),
    "TAKE_PROFIT": (TriggerKind.TAKE_PROFIT, False),
    "TAKE_PROFIT_LIMIT": (TriggerKind.TAKE_PROFIT, True),
    "STOP_MARKET": (TriggerKind.STOP, False),
    "TAKE_PROFIT_MARKET": (TriggerKind.TAKE_PROFIT, False),
}


def would_fire(kind: str, side: Side, stop: Decimal, last: Decimal) -> bool:
    """Whether the last price is already at or through ``stop``."""
    trig, _ = KINDS[kind]
    falls = (side is Side.SELL) == (trig is TriggerKind.STOP)
    return last <= stop if falls else last >= stop


def check_stop(kind: str, side: Side, stop: Decimal, last: Decimal, futures: bool = False) -> None:
    """Refuse a stop the last price has already reached (spot -2010, USD-M -2021)."""
    if would_fire(kind, side, stop, last):
        if futures:
            raise E.BinanceError(-2021, "Order would immediately trigger.")
        raise E.BinanceError(E.NEW_ORDER_REJECTED, "Stop price would trigger immediately.")


def submit(
    account: SimAccount, symbol: str, side: Side, qty: float, price: float | None,
    tif: TimeInForce, kind: str, stop: Decimal, client_id: str, extra: dict[str, Any],
    reduce_only: bool = False,
) -> tuple[OrderInfo, SimOrder]:  # fmt: skip
    """Enter a trigger order (``SimAccount.place`` builds plain orders only); a refused one is
    forgotten like any refused order."""
    trig, limit = KINDS[kind]
    t = now_ms()
    info = OrderInfo(account.new_order_id(), client_id, symbol, t, t, dict(extra))
    order = Order(
        client_order_id=info.order_id, symbol=symbol, side=side, qty=qty,
        order_type=OrderType.LIMIT if limit else OrderType.MARKET,
        price=price if limit and price is not None else 0.0,
        tif=tif if limit else TimeInForce.GTC, reduce_only=reduce_only, ts_created=t,
        trigger=Trigger(trig, float(stop)),
    )  # fmt: skip
    rec = account.submit(info, order)
    assert rec is not None
    if rec.status is OrderStatus.REJECTED:
        account.forget(info)
    return info, rec
