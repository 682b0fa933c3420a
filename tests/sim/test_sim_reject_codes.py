"""Typed refusals: every REJECTED report carries a RejectReason ``code`` (what emulator
front-ends map to venue error codes, and what the OMS decides retries on), and a refused
cancel/amend says why in ``last_refusal``."""

from __future__ import annotations

import pytest

from tradeloop.model import Order, OrderStatus, RejectReason, Side, TimeInForce

from .helpers import MIN, SPOT, SWAP, T0, bar, book, limit, make, market

S = OrderStatus
R = RejectReason


@pytest.mark.parametrize(
    ("order", "code"),
    [
        (market("o", Side.BUY, 1.0, symbol="DOGE-USDT"), R.INVALID_INSTRUMENT),
        (market("o", Side.BUY, 0.0), R.INVALID_SIZE),
        (market("o", Side.BUY, 0.0005), R.INVALID_SIZE),
        (limit("o", Side.BUY, 0.1, 0.0), R.INVALID_PRICE),
        (limit("o", Side.BUY, 1000.0, 100.0), R.INSUFFICIENT_FUNDS),
        (market("o", Side.SELL, 2.0), R.INSUFFICIENT_FUNDS),
        (market("o", Side.BUY, 0.0, quote_qty=-1.0), R.INVALID_SIZE),
        (market("o", Side.BUY, 1.0, quote_qty=10.0), R.INVALID_SIZE),
        (market("o", Side.BUY, 0.1, tif=TimeInForce.POST_ONLY), R.OTHER),
        (market("o", Side.BUY, 0.1, reduce_only=True), R.REDUCE_ONLY),
        (market("o", Side.BUY, 1.0, symbol=SWAP.symbol, reduce_only=True), R.REDUCE_ONLY),
        (Order("", SPOT.symbol, Side.BUY, 0.1), R.OTHER),
    ],
)
def test_every_rejection_carries_a_typed_code(order: Order, code: RejectReason) -> None:
    ex, rec = make()
    ex.on_bar(bar(0, 100, 101, 99, 100))
    ex.submit(order, ts=T0)
    (rep,) = rec.reports()
    assert rep.status is S.REJECTED and rep.code is code and rep.reason
    assert not rep.code.transient  # the simulator never refuses for a reason worth retrying
    kept = ex.order(order.client_order_id) if order.client_order_id else None
    assert kept is None or kept.code is code


def test_duplicate_and_post_only_codes() -> None:
    ex, rec = make()
    ex.on_book(book(T0, [(99.0, 1.0)], [(100.0, 1.0)]))
    ex.submit(limit("a", Side.BUY, 0.1, 90.0), ts=T0)
    ex.submit(limit("a", Side.BUY, 0.1, 90.0), ts=T0)
    assert rec.last("a").code is R.DUPLICATE_ID
    ex.submit(limit("p", Side.BUY, 0.1, 100.0, tif=TimeInForce.POST_ONLY), ts=T0)
    assert rec.last("p").code is R.POST_ONLY_WOULD_TAKE
    # accepted orders carry no code
    assert all(r.code is R.NONE for r in rec.reports() if r.status is not S.REJECTED)


def test_refused_cancel_says_why() -> None:
    ex, _ = make()
    ex.on_book(book(T0, [(99.0, 1.0)], [(100.0, 1.0)]))
    assert ex.cancel("nope", ts=T0) is False and ex.last_refusal is R.ORDER_NOT_FOUND
    ex.submit(limit("a", Side.BUY, 0.1, 90.0), ts=T0)
    assert ex.cancel("a", ts=T0) is True and ex.last_refusal is R.NONE
    assert ex.cancel("a", ts=T0) is False and ex.last_refusal is R.ORDER_CLOSED
    venue_id = ex.order("a").venue_order_id  # type: ignore[union-attr]
    assert ex.cancel(venue_id, ts=T0) is False and ex.last_refusal is R.ORDER_CLOSED


def test_refused_amend_says_why() -> None:
    ex, _ = make()
    ex.on_book(book(T0, [(99.0, 1.0)], [(100.0, 1.0)]))
    ex.submit(limit("a", Side.BUY, 0.1, 90.0), ts=T0)
    ex.submit(limit("p", Side.BUY, 0.1, 95.0, tif=TimeInForce.POST_ONLY), ts=T0)
    cases = [
        ("nope", 0.2, None, R.ORDER_NOT_FOUND),
        ("a", 0.0005, None, R.INVALID_SIZE),
        ("a", None, -1.0, R.INVALID_PRICE),
        ("a", 1000.0, None, R.INSUFFICIENT_FUNDS),
        ("p", None, 100.0, R.POST_ONLY_WOULD_TAKE),
    ]
    for oid, qty, px, code in cases:
        assert ex.amend(oid, qty, px, ts=T0) is False, oid
        assert ex.last_refusal is code, (oid, ex.last_refusal)
    assert ex.amend("a", 0.2, None, ts=T0) is True and ex.last_refusal is R.NONE


def test_refusals_with_latency() -> None:
    ex, _ = make(latency_ns=MIN)
    assert ex.cancel("nope", ts=T0) is False and ex.last_refusal is R.ORDER_NOT_FOUND
    assert ex.amend("nope", 1.0, ts=T0) is False and ex.last_refusal is R.ORDER_NOT_FOUND
