"""Validation (REJECTED with a reason), cancels, queries, and the engine's Order left alone."""

from __future__ import annotations

import pytest

from tradeloop.model import Order, OrderStatus, OrderType, Side, TimeInForce

from .helpers import SPOT, SWAP, T0, bar, book, limit, make, market

S = OrderStatus


@pytest.mark.parametrize(
    ("order", "reason"),
    [
        (market("o", Side.BUY, 1.0, symbol="DOGE-USDT"), "unknown symbol"),
        (market("o", Side.BUY, 0.0), "qty must be > 0"),
        (market("o", Side.BUY, -1.0), "qty must be > 0"),
        (market("o", Side.BUY, 0.0005), "below min_size"),
        (limit("o", Side.BUY, 0.1, 0.0), "price must be > 0"),
        (limit("o", Side.BUY, 0.1, -5.0), "price must be > 0"),
        (limit("o", Side.BUY, 1000.0, 100.0), "insufficient balance"),
        (market("o", Side.SELL, 2.0), "insufficient balance"),
        (market("o", Side.BUY, 0.0, quote_qty=-1.0), "quote_qty must be > 0"),
        (limit("o", Side.BUY, 0.0, 100.0, quote_qty=10.0), "only for spot market buys"),
        (market("o", Side.SELL, 0.0, quote_qty=10.0), "only for spot market buys"),
        (market("o", Side.BUY, 1.0, quote_qty=10.0), "not both"),
        (market("o", Side.BUY, 0.1, tif=TimeInForce.POST_ONLY), "post-only requires a limit"),
        (market("o", Side.BUY, 0.1, reduce_only=True), "reduce-only buy"),
        (market("o", Side.BUY, 1.0, symbol=SWAP.symbol, reduce_only=True), "increase"),
        (Order("", SPOT.symbol, Side.BUY, 0.1), "missing client_order_id"),
    ],
)
def test_rejections_carry_a_reason(order: Order, reason: str) -> None:
    ex, rec = make()
    ex.on_bar(bar(0, 100, 101, 99, 100))
    ex.submit(order, ts=T0)
    (rep,) = rec.reports()
    assert rep.status is S.REJECTED and reason in rep.reason
    assert rep.venue_order_id == ""
    assert ex.open_orders() == [] and rec.fills() == []
    assert all(b.locked == 0 for b in ex.balances().values())


def test_duplicate_client_order_id_is_rejected_without_touching_the_original() -> None:
    ex, rec = make()
    ex.submit(limit("a", Side.BUY, 0.1, 90.0), ts=T0)
    ex.submit(limit("a", Side.BUY, 0.2, 91.0), ts=T0)
    dup = rec.reports()[-1]
    assert dup.status is S.REJECTED and "duplicate" in dup.reason and dup.venue_order_id == ""
    (o,) = ex.open_orders()
    assert (o.qty, o.price, o.status) == (0.1, 90.0, S.ACCEPTED)
    # Even a finished order's id stays taken (retries must never create a second order).
    ex.cancel("a", ts=T0)
    ex.submit(limit("a", Side.BUY, 0.1, 90.0), ts=T0)
    assert rec.reports()[-1].status is S.REJECTED


def test_post_only_that_would_cross_the_l2_book_is_rejected() -> None:
    ex, rec = make()
    ex.on_book(book(T0, [(99.0, 1.0)], [(100.0, 1.0)]))
    ex.submit(limit("p", Side.BUY, 0.1, 100.0, tif=TimeInForce.POST_ONLY), ts=T0)
    assert rec.statuses("p") == [S.REJECTED] and "post-only" in rec.last("p").reason
    ex.submit(limit("q", Side.BUY, 0.1, 99.9, tif=TimeInForce.POST_ONLY), ts=T0)
    assert rec.statuses("q") == [S.ACCEPTED]


def test_cancel_of_unknown_or_finished_order_emits_nothing() -> None:
    ex, rec = make()
    assert ex.cancel("nope", ts=T0) is False
    ex.submit(market("m", Side.BUY, 0.1), ts=T0)
    ex.on_bar(bar(0, 100, 101, 99, 100))
    n = len(rec.events)
    assert ex.cancel("m", ts=T0) is False
    assert len(rec.events) == n


def test_cancel_releases_the_lock_and_reports_canceled() -> None:
    ex, rec = make()
    ex.submit(limit("l", Side.BUY, 0.1, 90.0), ts=T0)
    assert ex.balances()["USDT"].locked == pytest.approx(0.1 * 90 * 1.002)
    assert ex.cancel("1", ts=T0 + 5) is True  # by venue order id
    assert rec.statuses("l") == [S.ACCEPTED, S.CANCELED]
    assert rec.last("l").ts == T0 + 5
    assert ex.balances()["USDT"].locked == 0.0
    ex.on_bar(bar(0, 80, 81, 79, 80))
    assert rec.fills() == []


def test_order_query_returns_detached_records_with_all_fields() -> None:
    ex, _ = make()
    engine_order = limit("l", Side.SELL, 0.25, 120.0, strategy_id="s1")
    ex.submit(engine_order, ts=T0 + 7)
    o = ex.order("l")
    assert o is not None and ex.order("1") is not None
    assert (o.symbol, o.side, o.type, o.tif, o.price, o.qty) == (
        SPOT.symbol,
        Side.SELL,
        OrderType.LIMIT,
        TimeInForce.GTC,
        120.0,
        0.25,
    )
    assert (o.quote_qty, o.filled_qty, o.avg_price, o.fee, o.status) == (0, 0, 0, 0, S.ACCEPTED)
    assert (o.reduce_only, o.ts_created, o.ts_updated) == (False, T0 + 7, T0 + 7)
    assert (o.venue_order_id, o.client_order_id, o.strategy_id) == ("1", "l", "s1")
    o.status = S.FILLED  # a snapshot: mutating it changes nothing inside the venue
    assert ex.order("l").status is S.ACCEPTED  # type: ignore[union-attr]
    assert engine_order.status is S.CREATED and engine_order.venue_order_id == ""
    assert ex.order("missing") is None


def test_open_orders_filters_by_symbol() -> None:
    ex, _ = make()
    ex.submit(limit("a", Side.BUY, 0.1, 90.0), ts=T0)
    ex.submit(limit("b", Side.BUY, 1.0, 90.0, symbol=SWAP.symbol), ts=T0)
    assert [o.client_order_id for o in ex.open_orders()] == ["a", "b"]
    assert [o.client_order_id for o in ex.open_orders(SWAP.symbol)] == ["b"]


def test_a_refused_order_is_queryable_but_does_not_take_its_id() -> None:
    ex, rec = make()
    ex.submit(limit("r", Side.BUY, 1000.0, 100.0), ts=T0)
    o = ex.order("r")
    assert o is not None and o.status is S.REJECTED and "insufficient" in o.reason
    ex.submit(limit("r", Side.BUY, 0.1, 100.0), ts=T0 + 1)
    assert rec.reports("r")[-1].status is S.ACCEPTED
    assert ex.order("r").status is S.ACCEPTED  # type: ignore[union-attr]
