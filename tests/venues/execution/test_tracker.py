"""The emission rules and pruning (``OrderTracker``), without any venue: each fill reaches the
engine once, reports never move an order backwards, finished orders are forgotten within the
retention bounds while working ones never are."""

from __future__ import annotations

import pytest

from tradeloop.model import Fill, Liquidity, OrderReport, OrderStatus, Side
from tradeloop.venues.execution import OrderTrack, OrderTracker, Retention

from .hooks_double import SYM, FakeMonotonic, Sink

S = OrderStatus


def track(n: int = 1, status: OrderStatus = S.ACCEPTED) -> OrderTrack:
    return OrderTrack(f"c{n}", f"vc{n}", SYM, Side.BUY, status=status)


def fill(trade_id: str, qty: float = 1.0, cid: str = "c1") -> Fill:
    return Fill(0, cid, "V1", trade_id, SYM, Side.BUY, 100.0, qty, 0.0, "USD", Liquidity.TAKER)


def rep(status: OrderStatus, filled: float = 0.0, cid: str = "c1") -> OrderReport:
    return OrderReport(0, cid, "V1", SYM, status, filled)


def tracker(retention: Retention = Retention()) -> tuple[OrderTracker, Sink, FakeMonotonic]:
    clock = FakeMonotonic()
    t = OrderTracker(retention, clock)
    sink = Sink()
    t.sink = sink
    return t, sink, clock


def test_a_fill_is_delivered_once_per_trade_id() -> None:
    t, sink, _ = tracker()
    tr = t.add(track())
    assert t.fill(tr, fill("t1")) and not t.fill(tr, fill("t1"))  # replayed push
    assert t.fill(tr, fill("t2")) and not t.fill(tr, fill("t2", qty=9.0))  # same id, other body
    assert [f.trade_id for f in sink.fills()] == ["t1", "t2"]


def test_trade_ids_are_per_order() -> None:
    t, sink, _ = tracker()
    a, b = t.add(track(1)), t.add(track(2))
    assert t.fill(a, fill("t1")) and t.fill(b, fill("t1", cid="c2"))
    assert len(sink.fills()) == 2


def test_reports_never_move_an_order_backwards() -> None:
    t, sink, _ = tracker()
    tr = t.add(track(status=S.SUBMITTED))
    sent = [
        rep(S.ACCEPTED),
        rep(S.ACCEPTED),  # repeat: nothing new
        rep(S.PARTIALLY_FILLED, 1.0),
        rep(S.ACCEPTED),  # stale (a REST answer that lost the race with the socket)
        rep(S.PARTIALLY_FILLED, 0.5),  # older partial: not new
        rep(S.PARTIALLY_FILLED, 1.5),  # more filled: new
        rep(S.FILLED, 2.0),
        rep(S.CANCELED, 2.0),  # after a terminal state: nothing
        rep(S.PARTIALLY_FILLED, 2.0),
    ]
    delivered = [t.report(tr, r) for r in sent]
    assert delivered == [True, False, True, False, False, True, True, False, False]
    assert sink.statuses() == [S.ACCEPTED, S.PARTIALLY_FILLED, S.PARTIALLY_FILLED, S.FILLED]
    assert (tr.status, tr.filled) == (S.FILLED, 2.0)


def test_tell_bypasses_the_rules_for_our_own_request_outcomes() -> None:
    t, sink, _ = tracker()
    tr = t.add(track(status=S.SUBMITTED))
    t.report(tr, rep(S.ACCEPTED))
    t.tell(rep(S.ACCEPTED))  # e.g. "cancel failed": the engine must hear ACCEPTED again
    assert sink.statuses() == [S.ACCEPTED, S.ACCEPTED]


def test_finished_orders_are_pruned_by_count_oldest_first() -> None:
    t, _, clock = tracker(Retention(finished_horizon_s=3600, max_finished=3))
    live = t.add(track(0))
    for n in range(1, 6):
        tr = t.add(track(n))
        clock.now += 1
        t.report(tr, rep(S.FILLED, 2.0, cid=f"c{n}"))
    assert t.finished_count == 3 and t.pruned == 2
    assert t.get("vc1") is None and t.get("vc2") is None
    assert all(t.get(f"vc{n}") is not None for n in (3, 4, 5))
    assert t.get("vc0") is live  # working orders are never pruned


def test_finished_orders_are_pruned_past_the_horizon() -> None:
    t, _, clock = tracker(Retention(finished_horizon_s=60, max_finished=1000))
    old = t.add(track(1))
    t.report(old, rep(S.CANCELED))
    clock.now += 30
    mid = t.add(track(2))
    t.report(mid, rep(S.CANCELED, cid="c2"))
    clock.now += 40  # the first finished 70 s ago, the second 40 s ago
    assert t.prune() == 1
    assert t.get("vc1") is None and t.get("vc2") is mid
    working = t.add(track(3))
    clock.now += 10_000
    t.prune()
    assert t.get("vc2") is None and t.get("vc3") is working and len(t) == 1


def test_memory_stays_bounded_over_a_long_run() -> None:
    t, sink, clock = tracker(Retention(finished_horizon_s=5.0, max_finished=100))
    for n in range(20_000):
        tr = t.add(track(n))
        t.fill(tr, fill(f"t{n}", cid=f"c{n}"))
        t.report(tr, rep(S.FILLED, 1.0, cid=f"c{n}"))
        clock.now += 0.01
    assert len(t) <= 100 and t.finished_count <= 100
    assert len(sink.fills()) == 20_000  # pruning never costs a delivery


def test_retention_rejects_negative_bounds() -> None:
    with pytest.raises(ValueError):
        Retention(finished_horizon_s=-1)
