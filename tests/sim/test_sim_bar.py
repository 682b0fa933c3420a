"""Bar mode: fills at the next bar's open, trade-through for resting limits, partial fills."""

from __future__ import annotations

import pytest

from tradeloop.model import Liquidity, OrderStatus, Side, TimeInForce

from .helpers import MIN, SPOT, T0, bar, limit, make, market

S = OrderStatus


def test_market_buy_fills_at_next_open_with_taker_fee() -> None:
    ex, rec = make()
    ex.on_bar(bar(0, 90, 95, 85, 92))  # already under way when the order is sent: ignored
    ex.submit(market("m1", Side.BUY, 0.5), ts=T0 + MIN)
    assert rec.statuses("m1") == [S.ACCEPTED]
    ex.on_bar(bar(1, 100, 110, 95, 105))
    (f,) = rec.fills("m1")
    assert (f.price, f.qty, f.ts, f.liquidity) == (100.0, 0.5, T0 + MIN, Liquidity.TAKER)
    assert f.fee == pytest.approx(0.5 * 100 * 0.002)
    assert f.fee_ccy == "USDT" and f.trade_id == "1" and f.venue_order_id == "1"
    assert rec.statuses("m1") == [S.ACCEPTED, S.FILLED]
    bal = ex.balances()
    assert bal["USDT"].total == pytest.approx(10_000 - 50 - 0.1)
    assert bal["BTC"].total == pytest.approx(1.5)
    assert bal["USDT"].locked == 0 and bal["BTC"].locked == 0


def test_order_sent_mid_bar_waits_for_the_next_bar() -> None:
    ex, rec = make()
    ex.submit(market("m1", Side.SELL, 0.2), ts=T0 + 1)
    ex.on_bar(bar(0, 100, 101, 99, 100))  # starts before the order: no fill
    assert rec.fills() == []
    ex.on_bar(bar(1, 102, 103, 101, 102))
    assert [f.price for f in rec.fills("m1")] == [102.0]


def test_other_symbol_bars_do_not_fill() -> None:
    ex, rec = make()
    ex.submit(market("m1", Side.BUY, 0.1), ts=T0)
    ex.on_bar(bar(0, 100, 101, 99, 100, symbol="ETH-USDT"))
    assert rec.fills() == []


def test_slippage_is_adverse_for_both_sides() -> None:
    ex, rec = make(slippage_bps=10.0)
    ex.submit(market("b", Side.BUY, 0.1), ts=T0)
    ex.submit(market("s", Side.SELL, 0.1), ts=T0)
    ex.on_bar(bar(0, 100, 101, 99, 100))
    assert rec.fills("b")[0].price == pytest.approx(100.1)
    assert rec.fills("s")[0].price == pytest.approx(99.9)


def test_marketable_limit_fills_at_open_as_taker() -> None:
    ex, rec = make()
    ex.submit(limit("l", Side.BUY, 0.1, 105.0), ts=T0)
    ex.on_bar(bar(0, 100, 106, 99, 100))
    (f,) = rec.fills("l")
    assert (f.price, f.liquidity) == (100.0, Liquidity.TAKER)
    assert f.fee == pytest.approx(0.1 * 100 * 0.002)


def test_slipped_limit_never_fills_beyond_its_price() -> None:
    ex, rec = make(slippage_bps=100.0)
    ex.submit(limit("l", Side.BUY, 0.1, 100.5), ts=T0)
    ex.on_bar(bar(0, 100, 106, 99, 100))
    assert rec.fills("l")[0].price == 100.5


def test_resting_limit_fills_as_maker_only_when_traded_through() -> None:
    ex, rec = make()
    ex.submit(limit("l", Side.BUY, 0.1, 95.0), ts=T0)
    ex.on_bar(bar(0, 100, 101, 95.0, 100))  # touches 95 but does not trade through
    assert rec.fills() == [] and rec.statuses("l") == [S.ACCEPTED]
    ex.on_bar(bar(1, 100, 101, 94.9, 100))
    (f,) = rec.fills("l")
    assert (f.price, f.liquidity, f.ts) == (95.0, Liquidity.MAKER, T0 + 2 * MIN)
    assert f.fee == pytest.approx(0.1 * 95 * 0.001)
    assert rec.statuses("l") == [S.ACCEPTED, S.FILLED]


def test_resting_sell_fills_when_high_goes_through() -> None:
    ex, rec = make()
    ex.submit(limit("l", Side.SELL, 0.3, 110.0), ts=T0)
    ex.on_bar(bar(0, 100, 110.0, 99, 100))
    assert rec.fills() == []
    ex.on_bar(bar(1, 100, 110.1, 99, 100))
    assert [(f.price, f.qty) for f in rec.fills("l")] == [(110.0, 0.3)]
    assert ex.balances()["BTC"].total == pytest.approx(0.7)


def test_first_bar_range_counts_for_a_fresh_limit() -> None:
    ex, rec = make()
    ex.submit(limit("l", Side.BUY, 0.1, 99.0), ts=T0)
    ex.on_bar(bar(0, 100, 101, 98, 100))  # not marketable at open, trades through in-bar
    assert [(f.price, f.liquidity) for f in rec.fills("l")] == [(99.0, Liquidity.MAKER)]


@pytest.mark.parametrize("tif", [TimeInForce.IOC, TimeInForce.FOK])
def test_ioc_fok_not_marketable_at_open_expire(tif: TimeInForce) -> None:
    ex, rec = make()
    ex.submit(limit("l", Side.BUY, 0.1, 99.0, tif=tif), ts=T0)
    ex.on_bar(bar(0, 100, 101, 90, 100))
    assert rec.statuses("l") == [S.ACCEPTED, S.EXPIRED]
    assert rec.fills() == []
    assert ex.balances()["USDT"].locked == 0


def test_post_only_crossing_at_open_is_canceled_and_resting_one_fills_as_maker() -> None:
    ex, rec = make()
    ex.submit(limit("x", Side.BUY, 0.1, 101.0, tif=TimeInForce.POST_ONLY), ts=T0)
    ex.submit(limit("p", Side.BUY, 0.1, 99.0, tif=TimeInForce.POST_ONLY), ts=T0)
    ex.on_bar(bar(0, 100, 101, 98, 100))
    assert rec.statuses("x") == [S.ACCEPTED, S.CANCELED]
    assert "post-only" in rec.last("x").reason
    assert [(f.price, f.liquidity) for f in rec.fills("p")] == [(99.0, Liquidity.MAKER)]


def test_volume_fraction_gives_partial_fills_across_bars() -> None:
    ex, rec = make(max_volume_fraction=0.25)
    ex.submit(market("m", Side.SELL, 0.9), ts=T0)
    ex.on_bar(bar(0, 100, 101, 99, 100, volume=2.0))  # 0.5 per bar
    ex.on_bar(bar(1, 102, 103, 101, 102, volume=2.0))
    assert [(f.price, f.qty) for f in rec.fills("m")] == [(100.0, 0.5), (102.0, 0.4)]
    assert rec.statuses("m") == [S.ACCEPTED, S.PARTIALLY_FILLED, S.FILLED]
    last = rec.last("m")
    assert last.filled_qty == pytest.approx(0.9)
    assert last.avg_price == pytest.approx((0.5 * 100 + 0.4 * 102) / 0.9)


def test_volume_budget_is_shared_in_priority_order() -> None:
    ex, rec = make(max_volume_fraction=0.5)
    ex.submit(limit("a", Side.BUY, 0.4, 95.0), ts=T0)
    ex.submit(limit("b", Side.BUY, 0.4, 96.0), ts=T0)
    ex.on_bar(bar(0, 100, 101, 90, 100, volume=1.0))  # 0.5 for the bar
    assert [(f.client_order_id, f.qty) for f in rec.fills()] == [("b", 0.4), ("a", 0.1)]
    assert rec.last("a").status is S.PARTIALLY_FILLED


def test_fok_larger_than_volume_budget_expires_without_fills() -> None:
    ex, rec = make(max_volume_fraction=0.1)
    ex.submit(market("m", Side.BUY, 1.0, tif=TimeInForce.FOK), ts=T0)
    ex.on_bar(bar(0, 100, 101, 99, 100, volume=5.0))
    assert rec.fills() == [] and rec.statuses("m") == [S.ACCEPTED, S.EXPIRED]


def test_quote_sized_buy_never_spends_more_than_quote_qty() -> None:
    ex, rec = make()
    order = market("q", Side.BUY, 0.0, quote_qty=1000.0)
    ex.submit(order, ts=T0)
    assert ex.balances()["USDT"].locked == pytest.approx(1000.0)
    ex.on_bar(bar(0, 100, 101, 99, 100))
    (f,) = rec.fills("q")
    # floor_to_lot(1000 / (100 * 1.002)) = floor(9.98004, 0.001) = 9.98
    assert f.qty == pytest.approx(9.98)
    spent = f.qty * f.price + f.fee
    assert spent == pytest.approx(999.996) and spent <= 1000.0
    assert rec.statuses("q") == [S.ACCEPTED, S.FILLED]
    bal = ex.balances()
    assert bal["USDT"].total == pytest.approx(10_000 - 999.996)
    assert bal["USDT"].locked == 0.0
    assert order.qty == 0.0 and order.filled_qty == 0.0  # the engine's Order is untouched


def test_quote_sized_buy_below_one_lot_is_canceled() -> None:
    ex, rec = make()
    ex.submit(market("q", Side.BUY, 0.0, quote_qty=0.05), ts=T0)
    ex.on_bar(bar(0, 100, 101, 99, 100))
    assert rec.statuses("q") == [S.ACCEPTED, S.CANCELED]
    assert ex.balances()["USDT"].locked == 0.0 and ex.balances()["USDT"].total == 10_000


def test_market_buy_short_of_funds_fills_what_it_can_and_cancels() -> None:
    ex, rec = make(balances={"USDT": 1000.0})
    ex.submit(market("m", Side.BUY, 5.0), ts=T0)  # no price known yet: nothing to lock
    ex.on_bar(bar(0, 300, 301, 299, 300))
    (f,) = rec.fills("m")
    assert f.qty == pytest.approx(3.326)  # floor(1000 / (300 * 1.002), 0.001)
    assert rec.last("m").status is S.CANCELED and "insufficient" in rec.last("m").reason
    assert ex.balances()["USDT"].free >= 0


def test_ids_are_deterministic_and_fills_are_reproducible() -> None:
    def run() -> list[object]:
        ex, rec = make()
        ex.submit(limit("a", Side.BUY, 0.1, 99.0), ts=T0)
        ex.submit(market("b", Side.SELL, 0.1), ts=T0)
        ex.on_bar(bar(0, 100, 101, 98, 100))
        return list(rec.events)

    first = run()
    assert first == run()
    vids = {e.client_order_id: e.venue_order_id for e in first}
    assert vids == {"a": "1", "b": "2"}


def test_idle_bars_emit_nothing() -> None:
    ex, rec = make()
    for i in range(100):
        ex.on_bar(bar(i, 100, 101, 99, 100))
    assert rec.events == []
    assert ex.last_price(SPOT.symbol) == 100


def test_marketable_sell_limit_fills_at_the_higher_open() -> None:
    ex, rec = make()
    ex.submit(limit("s", Side.SELL, 0.2, 95.0), ts=T0)
    ex.on_bar(bar(0, 100, 101, 90, 100))
    assert [(f.price, f.liquidity) for f in rec.fills("s")] == [(100.0, Liquidity.TAKER)]
