"""Spot balances: what open orders lock, and when it is given back."""

from __future__ import annotations

import pytest

from tradeloop.model import Order, OrderStatus, OrderType, Side

from .helpers import MIN, SPOT, T0, bar, book, limit, make, market

S = OrderStatus


def test_buy_limit_locks_notional_plus_worst_fee_and_releases_on_fill() -> None:
    ex, _ = make(max_volume_fraction=0.5)
    ex.submit(limit("l", Side.BUY, 1.0, 100.0), ts=T0)
    usdt = ex.balances()["USDT"]
    assert usdt.locked == pytest.approx(1.0 * 100 * 1.002)
    assert usdt.free == pytest.approx(10_000 - 100.2)
    ex.on_bar(bar(0, 101, 102, 99, 100, volume=1.2))  # 0.6 fills at 100 as maker
    usdt = ex.balances()["USDT"]
    assert usdt.locked == pytest.approx(0.4 * 100 * 1.002)
    assert usdt.total == pytest.approx(10_000 - 60 - 60 * 0.001)
    ex.cancel("l", ts=T0 + 1)
    assert ex.balances()["USDT"].locked == 0.0
    assert ex.balances()["BTC"].total == pytest.approx(1.6)


def test_sell_locks_base() -> None:
    ex, _ = make()
    ex.submit(limit("s", Side.SELL, 0.4, 200.0), ts=T0)
    btc = ex.balances()["BTC"]
    assert (btc.locked, btc.free) == (pytest.approx(0.4), pytest.approx(0.6))
    ex.submit(market("m", Side.SELL, 0.7), ts=T0)  # only 0.6 free
    assert rec_status(ex, "m") is S.REJECTED


def rec_status(ex: object, cid: str) -> OrderStatus:
    o = ex.order(cid)  # type: ignore[attr-defined]
    assert o is not None
    return o.status  # type: ignore[no-any-return]


def test_market_buy_locks_an_estimate_from_the_last_price() -> None:
    ex, rec = make(market_lock_buffer=0.1)
    ex.on_bar(bar(0, 100, 101, 99, 100))
    ex.submit(market("m", Side.BUY, 2.0), ts=T0 + 60_000_000_000)
    assert ex.balances()["USDT"].locked == pytest.approx(2 * 100 * 1.1 * 1.002)
    ex.on_bar(bar(1, 105, 106, 104, 105))
    assert rec.statuses("m")[-1] is S.FILLED
    assert ex.balances()["USDT"].locked == 0.0
    assert ex.balances()["USDT"].total == pytest.approx(10_000 - 210 * 1.002)


def test_market_buy_estimate_uses_best_ask_in_l2_mode() -> None:
    ex, _ = make(market_lock_buffer=0.0)
    ex.on_book(book(T0, [(99.0, 1.0)], [(150.0, 0.01)]))
    ex.submit(market("m", Side.BUY, 100.0), ts=T0)
    assert "insufficient balance" in (ex.order("m").reason)  # type: ignore[union-attr]


def test_free_never_goes_negative_when_a_fill_outruns_the_estimate() -> None:
    ex, rec = make(balances={"USDT": 1000.0}, market_lock_buffer=0.0)
    ex.on_bar(bar(0, 100, 101, 99, 100))
    ex.submit(market("m", Side.BUY, 9.9), ts=T0 + 60_000_000_000)  # ~992 locked at 100
    ex.on_bar(bar(1, 120, 121, 119, 120))  # gaps up: can afford less
    assert ex.balances()["USDT"].free >= 0
    assert rec.last("m").status is S.CANCELED
    assert ex.balances()["USDT"].locked == 0.0


def test_amend_relocks_and_loses_priority_on_price_change() -> None:
    ex, rec = make()
    ex.submit(limit("l", Side.BUY, 1.0, 100.0), ts=T0)
    assert ex.amend("l", new_price=50.0, ts=T0 + 1) is True
    assert ex.balances()["USDT"].locked == pytest.approx(50 * 1.002)
    o = ex.order("l")
    assert o is not None and (o.price, o.ts_updated) == (50.0, T0 + 1)
    assert ex.amend("l", new_qty=200.0, ts=T0 + 2) is False  # 10k USDT cannot lock 10020
    assert ex.amend("l", new_qty=0.0, ts=T0 + 2) is False
    assert ex.amend("l", new_price=-1.0, ts=T0 + 2) is False
    assert ex.amend("zzz", new_price=1.0, ts=T0 + 2) is False
    assert rec.statuses("l") == [S.ACCEPTED]  # amends are silent
    ex.on_bar(bar(0, 60, 61, 49, 60))
    assert [(f.price, f.qty) for f in rec.fills("l")] == [(50.0, 1.0)]


def test_locks_are_zero_when_nothing_is_open() -> None:
    ex, _ = make()
    ex.submit(limit("a", Side.BUY, 0.3, 99.0), ts=T0)
    ex.submit(limit("b", Side.SELL, 0.3, 101.0), ts=T0)
    ex.submit(market("c", Side.BUY, 0.0, quote_qty=333.3), ts=T0)
    ex.on_bar(bar(0, 100, 100.5, 98.9, 100))
    for o in ex.open_orders():
        ex.cancel(o.client_order_id, ts=T0 + 1)
    assert ex.open_orders() == []
    assert all(b.locked == 0.0 for b in ex.balances().values())
    assert ex.balances()[SPOT.base].free > 0


def test_an_order_that_reserved_nothing_does_not_release_another_orders_lock() -> None:
    """A market buy accepted before any price is known reserves nothing; when it ended it
    used to count as the last lock holder and zero the asset's lock while a quote-sized buy
    still held its budget, so that buy's later releases drove ``locked`` negative (found by
    ``test_spot_invariants``)."""
    ex, _ = make(max_volume_fraction=0.3)
    ex.submit(market("m", Side.BUY, 0.01), ts=T0)  # no last price: nothing to reserve
    ex.submit(Order("q", SPOT.symbol, Side.BUY, 0.0, OrderType.MARKET, quote_qty=333.3), ts=T0)
    assert ex.balances()["USDT"].locked == pytest.approx(333.3)
    ex.on_bar(bar(0, 100, 102, 98, 100, volume=0.01))  # 0.003 of m fills; q waits
    ex.on_bar(bar(1, 101, 103, 99, 101, volume=1.58))  # m ends; q fills partly (volume)
    assert rec_status(ex, "m") is S.FILLED
    q = ex.order("q")
    assert q is not None and q.is_open and 0 < q.spent_quote < 333.3
    assert ex.balances()["USDT"].locked == pytest.approx(333.3 - q.spent_quote)
    ex.cancel("q", ts=T0 + 3 * MIN)
    assert ex.balances()["USDT"].locked == 0.0
