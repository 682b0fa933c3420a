"""Latency: requests act at ts + latency_ns, before market events at or after that time."""

from __future__ import annotations

from tradeloop.model import OrderStatus, Side

from .helpers import MIN, T0, bar, book, limit, make, market, trade

S = OrderStatus
LAT = 5_000_000  # 5 ms


def test_submit_takes_effect_after_latency() -> None:
    ex, rec = make(latency_ns=LAT)
    ex.submit(limit("l", Side.BUY, 0.1, 90.0), ts=T0)
    assert rec.events == [] and ex.open_orders() == []
    ex.advance(T0 + LAT - 1)
    assert rec.events == []
    ex.advance(T0 + LAT)
    (r,) = rec.reports("l")
    assert r.status is S.ACCEPTED and r.ts == T0 + LAT
    assert ex.order("l").ts_created == T0 + LAT  # type: ignore[union-attr]


def test_bar_mode_order_arriving_after_bar_start_fills_at_the_following_open() -> None:
    ex, rec = make(latency_ns=LAT)
    ex.submit(market("m", Side.BUY, 0.1), ts=T0)  # arrives at T0 + 5ms, bar 0 began at T0
    ex.on_bar(bar(0, 100, 101, 99, 100))
    assert rec.statuses("m") == [S.ACCEPTED] and rec.fills() == []
    ex.on_bar(bar(1, 103, 104, 102, 103))
    (f,) = rec.fills("m")
    assert (f.price, f.ts) == (103.0, T0 + MIN)


def test_zero_latency_order_at_bar_start_fills_at_that_open() -> None:
    ex, rec = make()
    ex.submit(market("m", Side.BUY, 0.1), ts=T0)
    ex.on_bar(bar(0, 100, 101, 99, 100))
    assert [f.price for f in rec.fills("m")] == [100.0]


def test_delayed_orders_see_the_book_as_it_was_when_they_arrived() -> None:
    ex, rec = make(latency_ns=LAT)
    ex.on_book(book(T0, [(99.0, 1.0)], [(100.0, 1.0)]))
    ex.submit(market("m", Side.BUY, 0.1), ts=T0)
    ex.on_book(book(T0 + 2 * LAT, [(109.0, 1.0)], [(110.0, 1.0)]))
    (f,) = rec.fills("m")
    assert (f.price, f.ts) == (100.0, T0 + LAT)


def test_cancel_arriving_after_the_fill_does_nothing() -> None:
    ex, rec = make(latency_ns=LAT)
    ex.on_book(book(T0, [(99.0, 1.0)], [(100.0, 1.0)]))
    ex.submit(limit("l", Side.BUY, 0.1, 99.5), ts=T0)
    ex.advance(T0 + LAT)
    assert ex.cancel("l", ts=T0 + LAT + 1) is True  # on its way
    ex.on_trade(trade(T0 + LAT + 2, 99.0, 1.0, Side.SELL))  # fills before the cancel lands
    ex.advance(T0 + 3 * LAT)
    assert rec.statuses("l") == [S.ACCEPTED, S.FILLED]


def test_cancel_arriving_in_time_cancels() -> None:
    ex, rec = make(latency_ns=LAT)
    ex.submit(limit("l", Side.BUY, 0.1, 90.0), ts=T0)
    assert ex.cancel("l", ts=T0 + 1) is True  # the submit is still in flight: fine, FIFO
    ex.advance(T0 + LAT + 1)
    assert rec.statuses("l") == [S.ACCEPTED, S.CANCELED]
    assert rec.last("l").ts == T0 + LAT + 1
    assert ex.cancel("never-sent", ts=T0) is False


def test_amend_is_delayed_too() -> None:
    ex, _ = make(latency_ns=LAT)
    ex.submit(limit("l", Side.BUY, 0.1, 90.0), ts=T0)
    ex.advance(T0 + LAT)
    assert ex.amend("l", new_price=91.0, ts=T0 + LAT) is True
    assert ex.order("l").price == 90.0  # type: ignore[union-attr]
    ex.advance(T0 + 2 * LAT)
    assert ex.order("l").price == 91.0  # type: ignore[union-attr]
