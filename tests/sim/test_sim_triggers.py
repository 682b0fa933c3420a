"""Trigger orders in the simulator: stops gapped and touched, take-profits, stop-limits,
trailing stops along the bar path, OCO and brackets (one leg ends the other), trade triggers."""

from __future__ import annotations

import pytest

from tradeloop.model import Liquidity, Order, OrderStatus, OrderType, Side
from tradeloop.model.enums import TriggerKind
from tradeloop.model.order import Trigger

from .helpers import MIN, SPOT, T0, bar, book, make, market, trade

S = OrderStatus
K = TriggerKind


def trig(
    cid: str,
    side: Side,
    qty: float,
    trigger: Trigger,
    price: float = 0.0,
    **kw: object,
) -> Order:
    kind = OrderType.LIMIT if price else OrderType.MARKET
    return Order(cid, SPOT.symbol, side, qty, kind, price=price, trigger=trigger, **kw)  # type: ignore[arg-type]


def test_untriggered_stop_is_working_and_locks_nothing() -> None:
    ex, rec = make()
    ex.submit(trig("s", Side.SELL, 0.5, Trigger(K.STOP, 95.0)), T0)
    assert rec.statuses("s") == [S.ACCEPTED]
    assert ex.balances()["BTC"].locked == 0
    ex.on_bar(bar(0, 100, 101, 96, 99))  # never reaches 95
    assert rec.fills() == [] and [o.client_order_id for o in ex.open_orders()] == ["s"]


def test_stop_gapped_through_fills_at_the_open() -> None:
    ex, rec = make()
    ex.submit(trig("s", Side.SELL, 0.5, Trigger(K.STOP, 95.0)), T0)
    ex.on_bar(bar(0, 90, 92, 88, 91))
    (f,) = rec.fills("s")
    assert (f.price, f.qty, f.ts, f.liquidity) == (90.0, 0.5, T0, Liquidity.TAKER)
    assert rec.statuses("s") == [S.ACCEPTED, S.FILLED]
    assert ex.order("s").leg == "sl" and ex.order("s").trigger_px == 90.0  # type: ignore[union-attr]


def test_stop_touched_inside_the_bar_fills_at_the_trigger_price() -> None:
    ex, rec = make(slippage_bps=10)
    ex.submit(trig("s", Side.SELL, 0.5, Trigger(K.STOP, 95.0)), T0)
    ex.on_bar(bar(0, 100, 101, 94, 99))
    (f,) = rec.fills("s")
    assert f.price == pytest.approx(95.0 * (1 - 0.001))  # the trigger, less the slippage
    assert f.ts == T0 + MIN  # a touch is stamped at the bar's close


def test_buy_stop_fires_on_a_rise() -> None:
    ex, rec = make()
    ex.submit(trig("b", Side.BUY, 0.1, Trigger(K.STOP, 105.0)), T0)
    ex.on_bar(bar(0, 100, 104, 90, 95))
    assert rec.fills() == []
    ex.on_bar(bar(1, 95, 106, 94, 100))
    assert [f.price for f in rec.fills("b")] == [105.0]


def test_take_profit_touch_and_gap() -> None:
    ex, rec = make()
    ex.submit(trig("t1", Side.SELL, 0.1, Trigger(K.TAKE_PROFIT, 110.0)), T0)
    ex.submit(trig("t2", Side.SELL, 0.1, Trigger(K.TAKE_PROFIT, 120.0)), T0)
    ex.on_bar(bar(0, 100, 112, 99, 111))
    assert [f.price for f in rec.fills("t1")] == [110.0]
    ex.on_bar(bar(1, 125, 126, 121, 122))  # gaps past 120: the gain is kept
    assert [f.price for f in rec.fills("t2")] == [125.0]


def test_stop_limit_touch_fills_gap_rests_then_fills() -> None:
    ex, rec = make()
    ex.submit(trig("a", Side.SELL, 0.1, Trigger(K.STOP, 95.0), price=94.0), T0)
    ex.on_bar(bar(0, 100, 100, 94.5, 96))
    (f,) = rec.fills("a")
    assert (f.price, f.liquidity) == (95.0, Liquidity.TAKER)  # marketable at the trigger
    ex.submit(trig("g", Side.SELL, 0.1, Trigger(K.STOP, 95.0), price=94.0), T0 + MIN)
    ex.on_bar(bar(1, 90, 93, 89, 92))  # gap to 90: the limit 94 is above the market
    assert rec.fills("g") == [] and ex.order("g").triggered  # type: ignore[union-attr]
    assert ex.balances()["BTC"].locked == pytest.approx(0.1)  # the child reserves now
    ex.on_bar(bar(2, 92, 95, 91, 94))
    (f,) = rec.fills("g")
    assert (f.price, f.liquidity) == (94.0, Liquidity.MAKER)


def test_trailing_stop_follows_the_high_then_fires_on_the_fall() -> None:
    ex, rec = make()
    ex.on_bar(bar(0, 100, 100, 100, 100))
    ex.submit(trig("tr", Side.SELL, 0.2, Trigger(K.TRAILING, callback_rate=0.1)), T0 + MIN)
    ex.on_bar(bar(1, 101, 120, 100, 118))  # up bar: low (100 > 90.9) first, then the high
    assert rec.fills() == []
    assert ex.order("tr").extreme == 120.0  # type: ignore[union-attr]
    ex.on_bar(bar(2, 117, 119, 105, 106))  # falls through 120 * 0.9 = 108
    (f,) = rec.fills("tr")
    assert f.price == pytest.approx(108.0)


def test_trailing_down_bar_high_first_then_the_fall_from_it() -> None:
    ex, rec = make()
    ex.on_bar(bar(0, 100, 100, 100, 100))
    ex.submit(trig("tr", Side.SELL, 0.2, Trigger(K.TRAILING, callback_amount=5.0)), T0 + MIN)
    ex.on_bar(bar(1, 101, 110, 104, 104.5))  # high 110 first, then low 104 < 105
    assert [f.price for f in rec.fills("tr")] == [105.0]


def test_trailing_activation_price() -> None:
    ex, rec = make()
    ex.on_bar(bar(0, 100, 100, 100, 100))
    t = Trigger(K.TRAILING, price=110.0, callback_rate=0.05)
    ex.submit(trig("tr", Side.SELL, 0.2, t), T0 + MIN)
    ex.on_bar(bar(1, 100, 105, 80, 90))  # a fall before activation: nothing
    assert rec.fills() == []
    ex.on_bar(bar(2, 90, 112, 89, 111))  # activates at 110, best 112
    ex.on_bar(bar(3, 111, 111, 100, 101))
    assert [f.price for f in rec.fills("tr")] == [pytest.approx(112 * 0.95)]


def test_oco_first_leg_reached_wins_and_the_other_is_gone() -> None:
    ex, rec = make()
    ex.submit(trig("o", Side.SELL, 0.3, Trigger(K.OCO, 90.0, tp_price=110.0)), T0)
    ex.on_bar(bar(0, 100, 111, 89, 105))  # up bar: low 89 (stop-loss) comes first
    assert [f.price for f in rec.fills("o")] == [90.0]
    assert ex.order("o").leg == "sl"  # type: ignore[union-attr]
    assert ex.open_orders() == []


def test_bracket_entry_fill_places_the_oco_and_take_profit_ends_it() -> None:
    ex, rec = make()
    protect = Order("p", SPOT.symbol, Side.SELL, 0.0, trigger=Trigger(K.OCO, 90.0, tp_price=110.0))
    ex.submit(market("e", Side.BUY, 0.5, attached=protect), T0)
    assert [r.client_order_id for r in rec.reports()] == ["e"]  # nothing before the fill
    ex.on_bar(bar(0, 100, 101, 99, 100))
    assert rec.statuses("p") == [S.ACCEPTED]
    assert ex.order("p").qty == 0.5  # type: ignore[union-attr]
    ex.on_bar(bar(1, 100, 112, 98, 111))
    assert [f.price for f in rec.fills("p")] == [110.0]
    assert ex.order("p").leg == "tp" and ex.open_orders() == []  # type: ignore[union-attr]
    assert ex.balances()["BTC"].total == pytest.approx(1.0)


def test_bracket_entry_canceled_unfilled_places_nothing() -> None:
    ex, rec = make()
    protect = Order("p", SPOT.symbol, Side.SELL, 0.0, trigger=Trigger(K.STOP, 90.0))
    ex.submit(market("e", Side.BUY, 0.5, attached=protect), T0)
    ex.cancel("e", T0 + 1)
    ex.on_bar(bar(0, 80, 80, 70, 75))
    assert rec.reports("p") == [] and ex.order("p") is None


def test_cancel_an_armed_stop() -> None:
    ex, rec = make()
    ex.submit(trig("s", Side.SELL, 0.5, Trigger(K.STOP, 95.0)), T0)
    assert ex.cancel("s", T0 + 1)
    ex.on_bar(bar(0, 90, 92, 88, 91))
    assert rec.statuses("s") == [S.ACCEPTED, S.CANCELED] and rec.fills() == []


def test_child_refused_for_funds_is_canceled_with_the_reason() -> None:
    ex, rec = make(balances={"USDT": 10.0})
    ex.submit(trig("s", Side.SELL, 0.5, Trigger(K.STOP, 95.0)), T0)  # holds no BTC
    ex.on_bar(bar(0, 90, 92, 88, 91))
    last = rec.last("s")
    assert last.status is S.CANCELED and "insufficient" in last.reason


def test_trade_triggers_a_stop_in_l2_mode_against_the_book() -> None:
    ex, rec = make()
    ex.on_book(book(T0, [(99.0, 0.6), (98.0, 1.0)], [(101.0, 1.0)]))
    ex.submit(trig("s", Side.SELL, 1.0, Trigger(K.STOP, 99.5)), T0 + 1)
    ex.on_trade(trade(T0 + 2, 100.0, 0.1, Side.BUY))
    assert rec.fills() == []
    ex.on_trade(trade(T0 + 3, 99.0, 0.1, Side.SELL))
    assert [(f.price, f.qty) for f in rec.fills("s")] == [(99.0, 0.6), (98.0, 0.4)]


def test_same_inputs_same_outputs() -> None:
    def run() -> list[object]:
        ex, rec = make()
        ex.on_bar(bar(0, 100, 100, 100, 100))
        ex.submit(trig("tr", Side.SELL, 0.2, Trigger(K.TRAILING, callback_rate=0.03)), T0 + MIN)
        ex.submit(trig("o", Side.SELL, 0.2, Trigger(K.OCO, 95.0, tp_price=104.0)), T0 + MIN)
        for i, (o, h, lo, c) in enumerate([(100, 103, 99, 102), (102, 106, 97, 98)], 1):
            ex.on_bar(bar(i, o, h, lo, c))
        return list(rec.events)

    assert run() == run()
