"""L2 mode: sweeping external levels, queue position, trade-through, user-vs-user matching."""

from __future__ import annotations

import pytest

from tradeloop.model import Liquidity, OrderStatus, Side, TimeInForce, TradeTick
from tradeloop.sim import SimConfig, SimExchange

from .helpers import SPOT, T0, Recorder, book, limit, make, market, trade

S = OrderStatus
ASKS = [(100.0, 0.1), (100.5, 0.2), (101.0, 1.0)]
BIDS = [(99.5, 0.3), (99.0, 1.0)]


def l2(**config: object) -> tuple[SimExchange, Recorder]:
    ex, rec = make(**config)
    ex.on_book(book(T0, BIDS, ASKS))
    return ex, rec


def test_market_buy_sweeps_levels_best_first_one_fill_per_level() -> None:
    ex, rec = l2()
    ex.submit(market("m", Side.BUY, 0.5), ts=T0 + 1)
    fills = rec.fills("m")
    assert [(f.price, f.qty) for f in fills] == [(100.0, 0.1), (100.5, 0.2), (101.0, 0.2)]
    assert all(f.liquidity is Liquidity.TAKER and f.ts == T0 + 1 for f in fills)
    assert [f.trade_id for f in fills] == ["1", "2", "3"]
    assert sum(f.fee for f in fills) == pytest.approx((10 + 20.1 + 20.2) * 0.002)
    assert rec.statuses("m") == [S.ACCEPTED, S.FILLED]
    assert rec.last("m").avg_price == pytest.approx((10 + 20.1 + 20.2) / 0.5)
    # the liquidity we took is gone from the local book until the venue says otherwise
    bids, asks = ex.book_levels(SPOT.symbol, 5)
    assert asks == [(101.0, pytest.approx(0.8))] and bids == BIDS


def test_market_sell_sweeps_bids() -> None:
    ex, rec = l2()
    ex.submit(market("m", Side.SELL, 0.4), ts=T0)
    assert [(f.price, f.qty) for f in rec.fills("m")] == [(99.5, 0.3), (99.0, pytest.approx(0.1))]


def test_market_remainder_without_liquidity_expires() -> None:
    ex, rec = l2()
    ex.submit(market("m", Side.BUY, 2.0), ts=T0)
    assert sum(f.qty for f in rec.fills("m")) == pytest.approx(1.3)
    last = rec.last("m")
    assert last.status is S.EXPIRED and last.filled_qty == pytest.approx(1.3)
    assert ex.balances()["USDT"].locked == 0.0


def test_limit_takes_what_crosses_then_rests_the_rest() -> None:
    ex, rec = l2()
    ex.submit(limit("l", Side.BUY, 0.5, 100.5), ts=T0)
    assert [(f.price, f.qty) for f in rec.fills("l")] == [(100.0, 0.1), (100.5, 0.2)]
    assert rec.statuses("l") == [S.ACCEPTED, S.PARTIALLY_FILLED]
    (o,) = ex.open_orders()
    assert o.remaining_qty == pytest.approx(0.2) and o.price == 100.5
    bids, asks = ex.book_levels(SPOT.symbol, 2)
    assert bids[0] == (100.5, pytest.approx(0.2)) and asks[0] == (101.0, 1.0)


def test_ioc_remainder_expires() -> None:
    ex, rec = l2()
    ex.submit(limit("i", Side.BUY, 0.5, 100.0, tif=TimeInForce.IOC), ts=T0)
    assert [(f.price, f.qty) for f in rec.fills("i")] == [(100.0, 0.1)]
    assert rec.statuses("i") == [S.ACCEPTED, S.EXPIRED]
    assert ex.open_orders() == []


def test_fok_is_all_or_nothing() -> None:
    ex, rec = l2()
    ex.submit(limit("f", Side.BUY, 0.5, 100.5, tif=TimeInForce.FOK), ts=T0)
    assert rec.fills("f") == [] and rec.statuses("f") == [S.ACCEPTED, S.EXPIRED]
    ex.submit(limit("g", Side.BUY, 0.3, 100.5, tif=TimeInForce.FOK), ts=T0)
    assert sum(f.qty for f in rec.fills("g")) == pytest.approx(0.3)
    assert rec.statuses("g") == [S.ACCEPTED, S.FILLED]


def test_resting_order_waits_behind_the_displayed_queue() -> None:
    ex, rec = l2()
    ex.submit(limit("b", Side.BUY, 0.5, 99.0), ts=T0)
    assert ex.order("b").queue_ahead == 1.0  # type: ignore[union-attr]
    ex.on_trade(trade(T0 + 1, 99.0, 0.6, Side.SELL))
    assert rec.fills() == [] and ex.order("b").queue_ahead == pytest.approx(0.4)  # type: ignore[union-attr]
    ex.on_trade(trade(T0 + 2, 99.0, 0.2, Side.BUY))  # buyer-initiated: does not hit bids
    assert rec.fills() == []
    ex.on_trade(trade(T0 + 3, 99.0, 0.6, Side.SELL))  # 0.4 queue, 0.2 reaches us
    (f,) = rec.fills("b")
    assert (f.price, f.qty, f.liquidity, f.ts) == (
        99.0,
        pytest.approx(0.2),
        Liquidity.MAKER,
        T0 + 3,
    )
    assert f.fee == pytest.approx(0.2 * 99 * 0.001)
    assert rec.last("b").status is S.PARTIALLY_FILLED


def test_queue_front_when_queue_position_is_off() -> None:
    ex, rec = l2(queue_position=False)
    ex.submit(limit("b", Side.BUY, 0.5, 99.0), ts=T0)
    ex.on_trade(trade(T0 + 1, 99.0, 0.3, Side.SELL))
    assert [f.qty for f in rec.fills("b")] == [pytest.approx(0.3)]


def test_cancellations_in_the_book_shrink_the_queue_ahead() -> None:
    ex, rec = l2()
    ex.submit(limit("b", Side.BUY, 0.5, 99.0), ts=T0)
    ex.on_book(book(T0 + 1, [(99.0, 0.25)], [], snapshot=False))
    assert ex.order("b").queue_ahead == pytest.approx(0.25)  # type: ignore[union-attr]
    ex.on_trade(trade(T0 + 2, 99.0, 0.3, Side.SELL))
    assert [f.qty for f in rec.fills("b")] == [pytest.approx(0.05)]


def test_trade_through_fills_at_our_price_up_to_the_trade_size() -> None:
    ex, rec = l2()
    ex.submit(limit("b", Side.BUY, 0.5, 99.0), ts=T0)
    ex.on_trade(trade(T0 + 1, 98.5, 0.3, Side.SELL))
    (f,) = rec.fills("b")
    assert (f.price, f.qty, f.liquidity) == (99.0, pytest.approx(0.3), Liquidity.MAKER)


def test_sell_trade_through() -> None:
    ex, rec = l2()
    ex.submit(limit("s", Side.SELL, 0.5, 102.0), ts=T0)
    ex.on_trade(trade(T0 + 1, 102.5, 2.0, Side.BUY))
    assert [(f.price, f.qty) for f in rec.fills("s")] == [(102.0, 0.5)]
    assert rec.last("s").status is S.FILLED


def test_book_update_crossing_a_resting_order_fills_it_as_maker() -> None:
    ex, rec = l2()
    ex.submit(limit("b", Side.BUY, 0.5, 99.0), ts=T0)
    ex.on_book(book(T0 + 1, [(98.0, 1.0)], [(98.9, 0.2), (99.0, 1.0)]))
    fills = rec.fills("b")
    assert [(f.price, f.qty, f.liquidity) for f in fills] == [
        (99.0, pytest.approx(0.2), Liquidity.MAKER),
        (99.0, pytest.approx(0.3), Liquidity.MAKER),
    ]
    assert rec.last("b").status is S.FILLED
    _bids, asks = ex.book_levels(SPOT.symbol, 5)
    assert asks == [(99.0, pytest.approx(0.7))]  # merged book is not crossed


def test_incoming_order_matches_our_resting_orders_price_time() -> None:
    ex, rec = l2()
    ex.submit(limit("s1", Side.SELL, 0.2, 99.8), ts=T0)  # inside the spread
    ex.submit(limit("s2", Side.SELL, 0.2, 99.8), ts=T0)
    ex.submit(limit("s0", Side.SELL, 0.1, 99.9), ts=T0)
    _bids, asks = ex.book_levels(SPOT.symbol, 3)
    assert asks[:2] == [(99.8, pytest.approx(0.4)), (99.9, 0.1)]
    ex.submit(market("t", Side.BUY, 0.3), ts=T0 + 1)
    assert [(f.client_order_id, f.price, f.qty, f.liquidity) for f in rec.fills()] == [
        ("t", 99.8, pytest.approx(0.2), Liquidity.TAKER),
        ("s1", 99.8, pytest.approx(0.2), Liquidity.MAKER),
        ("t", 99.8, pytest.approx(0.1), Liquidity.TAKER),
        ("s2", 99.8, pytest.approx(0.1), Liquidity.MAKER),
    ]
    assert rec.last("s1").status is S.FILLED and rec.last("s2").status is S.PARTIALLY_FILLED
    assert rec.last("t").status is S.FILLED


def test_post_only_at_the_touch_rests_and_joins_the_queue() -> None:
    ex, rec = l2()
    ex.submit(limit("p", Side.BUY, 0.1, 99.5, tif=TimeInForce.POST_ONLY), ts=T0)
    assert rec.statuses("p") == [S.ACCEPTED]
    assert ex.order("p").queue_ahead == pytest.approx(0.3)  # type: ignore[union-attr]


def test_public_trade_hook_sees_each_execution_once() -> None:
    seen: list[TradeTick] = []
    rec = Recorder()
    ex = SimExchange([SPOT], {"USDT": 10_000.0, "BTC": 1.0}, rec, SimConfig(), seen.append)
    ex.on_book(book(T0, BIDS, ASKS))
    ex.submit(limit("s", Side.SELL, 0.1, 99.8), ts=T0)
    ex.submit(market("b", Side.BUY, 0.2), ts=T0 + 1)
    assert [(t.price, t.qty, t.side, t.trade_id) for t in seen] == [
        (99.8, pytest.approx(0.1), Side.BUY, "1"),
        (100.0, pytest.approx(0.1), Side.BUY, "3"),
    ]


def test_snapshot_replaces_the_book() -> None:
    ex, _ = l2()
    ex.on_book(book(T0 + 1, [(50.0, 1.0)], [(60.0, 2.0)]))
    assert ex.book_levels(SPOT.symbol, 5) == ([(50.0, 1.0)], [(60.0, 2.0)])
    ex.on_book(book(T0 + 2, [(50.0, 0.0), (49.0, 3.0)], [(61.0, 1.0)], snapshot=False))
    assert ex.book_levels(SPOT.symbol, 5) == ([(49.0, 3.0)], [(60.0, 2.0), (61.0, 1.0)])
    assert ex.last_price(SPOT.symbol) == pytest.approx(54.5)


def test_amend_that_shrinks_keeps_queue_and_reprice_can_cross() -> None:
    ex, rec = l2()
    ex.submit(limit("b", Side.BUY, 0.5, 99.0), ts=T0)
    assert ex.amend("b", new_qty=0.4, ts=T0 + 1) is True
    assert ex.order("b").queue_ahead == 1.0  # type: ignore[union-attr]
    assert ex.amend("b", new_price=100.0, ts=T0 + 2) is True  # crosses the 100.0 ask
    assert [(f.price, f.qty) for f in rec.fills("b")] == [(100.0, 0.1)]
    assert rec.last("b").status is S.PARTIALLY_FILLED
    o = ex.order("b")
    assert o is not None and o.queue_ahead == 0.0 and o.remaining_qty == pytest.approx(0.3)


def test_post_only_amend_that_would_cross_is_refused() -> None:
    ex, _ = l2()
    ex.submit(limit("p", Side.BUY, 0.1, 99.0, tif=TimeInForce.POST_ONLY), ts=T0)
    assert ex.amend("p", new_price=100.0, ts=T0 + 1) is False
    assert ex.order("p").price == 99.0  # type: ignore[union-attr]


def test_quote_sized_buy_walks_levels_within_its_budget() -> None:
    ex, rec = l2()
    ex.submit(market("q", Side.BUY, 0.0, quote_qty=100.0), ts=T0)
    fills = rec.fills("q")
    # 0.1 @ 100 costs 10.02, 0.2 @ 100.5 costs 20.1402, then floor(69.8398 / 101.202) = 0.69
    assert [(f.price, f.qty) for f in fills] == [(100.0, 0.1), (100.5, 0.2), (101.0, 0.69)]
    spent = sum(f.qty * f.price + f.fee for f in fills)
    assert spent <= 100.0 and spent == pytest.approx(100.0 - 0.01042, abs=1e-9)
    assert rec.statuses("q") == [S.ACCEPTED, S.FILLED]
    assert ex.balances()["USDT"].locked == 0.0


def test_orders_waiting_for_a_bar_match_when_the_first_book_arrives() -> None:
    ex, rec = make()
    ex.submit(market("m", Side.BUY, 0.1), ts=T0)
    assert rec.fills() == []
    ex.on_book(book(T0 + 1, BIDS, ASKS))
    assert [(f.price, f.ts) for f in rec.fills("m")] == [(100.0, T0 + 1)]


def test_spot_reduce_only_sell_is_an_ordinary_sell() -> None:
    ex, rec = l2()
    ex.submit(market("r", Side.SELL, 0.2, reduce_only=True), ts=T0)
    assert rec.statuses("r") == [S.ACCEPTED, S.FILLED]


def test_ask_side_queue_and_book_crossing() -> None:
    ex, rec = l2()
    ex.submit(limit("a", Side.SELL, 0.5, 100.5), ts=T0)
    assert ex.order("a").queue_ahead == pytest.approx(0.2)  # type: ignore[union-attr]
    ex.on_trade(trade(T0 + 1, 100.5, 0.3, Side.SELL))  # seller-initiated: not our side
    assert rec.fills() == []
    ex.on_trade(trade(T0 + 2, 100.5, 0.3, Side.BUY))  # 0.2 queue, 0.1 to us
    assert [f.qty for f in rec.fills("a")] == [pytest.approx(0.1)]
    ex.on_book(book(T0 + 3, [(100.6, 0.1), (100.0, 1.0)], [(101.0, 1.0)]))
    assert [(f.price, f.qty) for f in rec.fills("a")][1:] == [(100.5, pytest.approx(0.1))]
    assert ex.order("a").remaining_qty == pytest.approx(0.3)  # type: ignore[union-attr]
