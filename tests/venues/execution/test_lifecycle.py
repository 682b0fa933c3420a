"""The order lifecycle's rules against a scripted venue (no network): pre-trade checks,
placements in doubt, cancel rounds and their deadline, cancel-while-placing, amends, adoption,
the reconnect catch-up, and that ids are mapped both ways (venue ids on the wire, tradeloop
ids and instrument ids to the engine)."""

from __future__ import annotations

import asyncio

import pytest

from tradeloop.core.errors import VenueError
from tradeloop.model import Order, OrderStatus, OrderType, RejectReason, Side, VenueStatus
from tradeloop.venues.execution import ErrorKind, PlaceAck, RecoveryPolicy, Verdict
from tradeloop.venues.outcomes import UnknownOutcome
from tradeloop.venues.retry import RetryConfig

from .hooks_double import FAST, SYM, Err, ScriptedHooks, err, limit, make, working

S = OrderStatus


# -- placing ------------------------------------------------------------------------------------
async def test_placement_is_acknowledged_with_ids_mapped_both_ways() -> None:
    kit, hooks, sink, _ = make()
    kit.submit(limit("c1"))
    await kit.drain()
    (report,) = sink.reports()
    assert (report.client_order_id, report.symbol, report.status) == ("c1", SYM, S.ACCEPTED)
    assert report.venue_order_id == "V1"
    assert hooks.wire == [("place", "vc1", "BTC-USD")]  # venue client id and native symbol


async def test_the_same_client_id_is_never_placed_twice() -> None:
    kit, hooks, sink, _ = make()
    kit.submit(limit("c1"))
    kit.submit(limit("c1"))
    await kit.drain()
    assert hooks.calls == ["place"] and sink.statuses() == [S.ACCEPTED]


@pytest.mark.parametrize(
    ("order", "code"),
    [
        (Order("u1", "ETH-USD.TEST", Side.BUY, 1.0), RejectReason.INVALID_INSTRUMENT),
        (Order("n1", SYM, Side.BUY, float("nan")), RejectReason.INVALID_SIZE),
        (Order("z1", SYM, Side.BUY, 0.0004), RejectReason.INVALID_SIZE),  # < one lot
        (Order("p1", SYM, Side.BUY, 1.0, OrderType.LIMIT, 0.2), RejectReason.INVALID_PRICE),
    ],
)
async def test_pre_trade_checks_reject_before_the_wire(order: Order, code: RejectReason) -> None:
    kit, hooks, sink, _ = make()
    kit.submit(order)
    await kit.drain()
    (report,) = sink.reports()
    assert report.status is S.REJECTED and report.code is code
    assert hooks.calls == []


async def test_a_definite_refusal_is_a_typed_rejection() -> None:
    kit, hooks, sink, _ = make()
    hooks.places = [err("rate_limited")]
    kit.submit(limit())
    await kit.drain()
    (report,) = sink.reports()
    assert report.status is S.REJECTED and report.code is RejectReason.RATE_LIMITED
    assert report.code.transient and report.reason.startswith("TEST rate_limited")
    assert hooks.calls == ["place"]


async def test_a_placement_met_by_an_existing_order_is_brought_up_to_date() -> None:
    kit, hooks, sink, _ = make()
    hooks.places = [PlaceAck("V1", existing=True)]
    hooks.lookups = [(S.PARTIALLY_FILLED, 0.5)]
    hooks.fill_rows = [("t1", 0.5)]
    kit.submit(limit())
    await kit.drain()
    assert [type(x).__name__ for x in sink.log] == ["Fill", "OrderReport"]  # fills first
    assert sink.statuses() == [S.PARTIALLY_FILLED]


# -- in doubt -----------------------------------------------------------------------------------
async def test_unknown_outcome_is_looked_up_not_rejected() -> None:
    kit, hooks, sink, _ = make()
    hooks.places = [err("unknown_outcome")]
    hooks.lookups = [err("rate_limited"), S.ACCEPTED]
    kit.submit(limit())
    await kit.drain()
    assert sink.statuses() == [S.ACCEPTED]
    assert hooks.calls == ["place", "fetch_order", "fetch_order"]


class _DoubtReadAsNotRun(Err, UnknownOutcome):
    """A write in doubt whose last answer's code a venue's table reads as "not run"."""


@pytest.mark.parametrize("kind", ["rate_limited", "transient", "permanent"])
async def test_a_write_in_doubt_stays_in_doubt_whatever_its_last_code_says(kind: str) -> None:
    """The transport gave up after an attempt that may have run (``UnknownOutcome``) and the
    last attempt's code reads as a refusal (a 429, "overloaded"): the order is looked up,
    never rejected -- a REJECTED for a live order makes the strategy send a second one."""
    kit, hooks, sink, _ = make()
    hooks.places = [_DoubtReadAsNotRun(ErrorKind(kind))]
    hooks.lookups = [S.ACCEPTED]
    kit.submit(limit())
    await kit.drain()
    assert sink.statuses() == [S.ACCEPTED]
    assert hooks.calls == ["place", "fetch_order"]


async def test_one_empty_lookup_is_not_enough_to_call_an_order_absent() -> None:
    kit, hooks, sink, _ = make()
    hooks.places = [err("unknown_outcome")]
    hooks.lookups = [err("not_found"), S.ACCEPTED]
    kit.submit(limit())
    await kit.drain()
    assert sink.statuses() == [S.ACCEPTED]


async def test_absent_on_repeated_lookups_is_rejected_as_timeout() -> None:
    kit, hooks, sink, _ = make()
    hooks.places = [err("unknown_outcome")]
    hooks.lookups = [err("not_found"), err("not_found")]
    kit.submit(limit())
    await kit.drain()
    (report,) = sink.reports()
    assert report.status is S.REJECTED and report.code is RejectReason.TIMEOUT
    assert "not found" in report.reason


async def test_a_duplicate_id_never_becomes_a_rejection_and_ends_in_reconcile_failed() -> None:
    kit, hooks, sink, status = make()
    hooks.places = [err("duplicate_id")]
    hooks.lookups = [err("not_found") for _ in range(100_000)]
    kit.submit(limit())
    await kit.drain()
    assert sink.reports() == []  # still in doubt: never "rejected"
    # looked up past the lookup rounds, at the reconcile pace, until the deadline
    assert hooks.calls.count("fetch_order") > FAST.lookup_backoff.max_attempts
    assert [(s.venue, s.status) for s in status] == [("TEST", "reconcile_failed")]
    assert isinstance(status[0], VenueStatus) and "vc1" in status[0].detail


async def test_a_crashing_place_hook_is_resolved_by_lookup() -> None:
    kit, hooks, sink, _ = make()
    hooks.places = [RuntimeError("bug in the venue code")]
    hooks.lookups = [err("not_found"), err("not_found")]
    kit.submit(limit())
    await kit.drain()
    assert sink.statuses() == [S.REJECTED]  # never left SUBMITTED


# -- cancel -------------------------------------------------------------------------------------
async def test_cancel_is_resent_through_rate_limits_until_confirmed() -> None:
    kit, hooks, sink, _ = make()
    order = await working(kit)
    hooks.cancels = [err("rate_limited"), err("transient"), err("unknown_outcome")]
    hooks.up = False  # no private stream: the lifecycle asks for the state itself
    hooks.lookups = [S.CANCELED]
    kit.cancel(order)
    await kit.drain()
    assert hooks.calls == ["place"] + ["cancel"] * 4 + ["fetch_order"]
    assert sink.statuses() == [S.ACCEPTED, S.CANCELED]
    assert not any(r.code is RejectReason.CANCEL_FAILED for r in sink.reports())


async def test_with_a_private_stream_a_confirmed_cancel_waits_for_the_push() -> None:
    kit, hooks, sink, _ = make()
    order = await working(kit)
    kit.cancel(order)
    await kit.drain()
    assert hooks.calls == ["place", "cancel"] and sink.statuses() == [S.ACCEPTED]


async def test_the_retry_after_hint_is_respected() -> None:
    kit, hooks, _, _ = make()
    order = await working(kit)
    hooks.cancels = [err("rate_limited", retry_after=0.15)]
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    kit.cancel(order)
    await kit.drain()
    assert loop.time() - t0 >= 0.15 and hooks.calls.count("cancel") == 2


async def test_cancel_answered_finished_settles_from_the_state_fills_first() -> None:
    kit, hooks, sink, _ = make()
    order = await working(kit)
    hooks.cancels = [err("finished")]
    hooks.lookups = [(S.FILLED, 2.0)]
    hooks.fill_rows = [("t1", 0.5), ("t2", 1.5)]
    kit.cancel(order)
    await kit.drain()
    assert hooks.calls == ["place", "cancel", "fetch_order", "fetch_fills"]
    assert [type(x).__name__ for x in sink.log] == ["OrderReport", "Fill", "Fill", "OrderReport"]
    assert sink.statuses()[-1] is S.FILLED
    assert [f.trade_id for f in sink.fills()] == ["t1", "t2"]


async def test_cancel_refused_for_good_is_reported_at_once() -> None:
    kit, hooks, sink, _ = make()
    order = await working(kit)
    hooks.cancels = [err("permanent")]
    kit.cancel(order)
    await kit.drain()
    assert hooks.calls == ["place", "cancel"]
    last = sink.reports()[-1]
    assert (last.status, last.code, last.client_order_id) == (
        S.ACCEPTED,
        RejectReason.CANCEL_FAILED,
        "c1",
    )
    assert last.reason.startswith("cancel failed: TEST permanent")


async def test_cancel_of_an_order_the_venue_never_had_fails_after_one_round() -> None:
    kit, hooks, sink, _ = make()
    order = await working(kit)
    hooks.cancels = [err("not_found")]
    hooks.lookups = [err("not_found")]
    kit.cancel(order)
    await kit.drain()
    assert hooks.calls == ["place", "cancel", "fetch_order"]
    last = sink.reports()[-1]
    assert last.code is RejectReason.CANCEL_FAILED and "gave up" not in last.reason


async def test_cancel_past_the_deadline_reports_the_live_state() -> None:
    policy = RecoveryPolicy(
        cancel_backoff=RetryConfig(max_attempts=0, base=0.01, cap=0.02, min_delay=0.01),
        cancel_deadline_s=0.1,
    )
    kit, hooks, sink, _ = make(policy=policy)
    order = await working(kit)
    hooks.lookups = [(S.PARTIALLY_FILLED, 0.5)]
    await kit.reconcile()  # learns of a partial fill
    hooks.cancels = [err("rate_limited") for _ in range(1000)]
    kit.cancel(order)
    await kit.drain()
    n = hooks.calls.count("cancel")
    assert 2 <= n < 1000  # kept trying, then stopped at the deadline
    last = sink.reports()[-1]
    assert (last.status, last.filled_qty, last.code) == (
        S.PARTIALLY_FILLED,
        0.5,
        RejectReason.CANCEL_FAILED,
    )
    assert "gave up after 0.1s" in last.reason


async def test_a_second_cancel_joins_the_running_one() -> None:
    kit, hooks, _sink, _ = make()
    order = await working(kit)
    hooks.cancel_gate = asyncio.Event()
    kit.cancel(order)
    await asyncio.sleep(0)
    kit.cancel(order)
    await asyncio.sleep(0.01)
    hooks.cancel_gate.set()
    await kit.drain()
    assert hooks.calls.count("cancel") == 1


async def test_cancel_asked_while_placing_is_sent_once_placed() -> None:
    kit, hooks, _sink, _ = make()
    hooks.place_gate = asyncio.Event()
    order = limit()
    kit.submit(order)
    await asyncio.sleep(0)
    kit.cancel(order)  # the place request is still in flight
    await asyncio.sleep(0.01)
    assert hooks.calls == ["place"]  # held, not sent to find nothing
    hooks.place_gate.set()
    await kit.drain()
    assert hooks.calls == ["place", "cancel"]


async def test_cancel_asked_while_placing_is_dropped_if_the_placement_was_refused() -> None:
    kit, hooks, sink, _ = make()
    hooks.place_gate = asyncio.Event()
    hooks.places = [err("permanent")]
    order = limit()
    kit.submit(order)
    await asyncio.sleep(0)
    kit.cancel(order)
    hooks.place_gate.set()
    await kit.drain()
    assert hooks.calls == ["place"] and sink.statuses() == [S.REJECTED]


# -- adoption -----------------------------------------------------------------------------------
async def test_cancel_of_an_order_placed_by_a_previous_process_is_adopted_and_sent() -> None:
    kit, hooks, sink, _ = make()
    order = limit("old1")
    order.status, order.venue_order_id = S.ACCEPTED, "V9"
    hooks.up = False
    hooks.lookups = [S.CANCELED]
    kit.cancel(order)
    await kit.drain()
    assert hooks.wire == [("cancel", "vold1", "BTC-USD"), ("fetch_order", "vold1", "BTC-USD")]
    (report,) = sink.reports()
    assert (report.client_order_id, report.status) == ("old1", S.CANCELED)
    track = kit.track("old1")
    assert track is not None and track.adopted


async def test_a_finished_order_needs_no_adoption() -> None:
    kit, hooks, _sink, _ = make()
    order = limit("old2")
    order.status = S.FILLED
    kit.cancel(order)
    await kit.drain()
    assert hooks.calls == [] and kit.track("old2") is None


def test_a_push_for_an_order_placed_elsewhere_is_tracked_under_its_venue_id() -> None:
    kit, _, _, _ = make()
    track = kit.push_track("web-ui-7", "BTC-USD", Side.SELL)
    assert (track.client_order_id, track.symbol, track.adopted) == ("web-ui-7", SYM, True)
    assert kit.push_track("web-ui-7", "BTC-USD", Side.SELL) is track


# -- amend --------------------------------------------------------------------------------------
async def test_amend_reports_the_working_state_with_amended() -> None:
    kit, hooks, sink, _ = make()
    order = await working(kit)
    kit.amend(order, qty=3.0, price=99.5)
    await kit.drain()
    assert hooks.calls == ["place", "amend"]
    last = sink.reports()[-1]
    assert (last.status, last.code) == (S.ACCEPTED, RejectReason.NONE)
    assert last.reason.startswith("amended")


async def test_amend_is_resent_while_the_venue_is_busy() -> None:
    kit, hooks, sink, _ = make()
    order = await working(kit)
    hooks.amends = [err("rate_limited"), err("unknown_outcome")]
    kit.amend(order, price=99.0)
    await kit.drain()
    assert hooks.calls.count("amend") == 3 and sink.reports()[-1].reason.startswith("amended")


async def test_amend_refused_is_reported_with_the_typed_reason() -> None:
    class Funds(ScriptedHooks):
        def classify(self, exc: VenueError) -> Verdict:
            return Verdict(ErrorKind.PERMANENT, RejectReason.INSUFFICIENT_FUNDS)

    kit, hooks, sink, _ = make(Funds())
    order = await working(kit)
    hooks.amends = [err("permanent")]
    kit.amend(order, qty=50.0)
    await kit.drain()
    last = sink.reports()[-1]
    assert (last.status, last.code) == (S.ACCEPTED, RejectReason.INSUFFICIENT_FUNDS)
    assert last.reason.startswith("amend failed")


async def test_amend_of_an_order_that_finished_first_yields_its_final_report() -> None:
    kit, hooks, sink, _ = make()
    order = await working(kit)
    hooks.amends = [err("finished")]
    hooks.lookups = [S.CANCELED]
    kit.amend(order, price=99.0)
    await kit.drain()
    assert sink.statuses() == [S.ACCEPTED, S.CANCELED]  # no "amend failed" after the end


async def test_amend_refused_on_a_working_order_is_not_retried() -> None:
    kit, hooks, sink, _ = make()
    order = await working(kit)
    hooks.amends = [err("finished")]
    hooks.lookups = [S.ACCEPTED]  # still working: the venue simply said no
    kit.amend(order, price=99.0)
    await kit.drain()
    assert hooks.calls.count("amend") == 1
    assert sink.reports()[-1].reason.startswith("amend failed")


@pytest.mark.parametrize(
    ("qty", "price", "code"),
    [
        (None, None, RejectReason.OTHER),
        (float("inf"), None, RejectReason.INVALID_SIZE),
        (0.0001, None, RejectReason.INVALID_SIZE),  # rounds to 0 lots
        (None, -1.0, RejectReason.INVALID_PRICE),
        (None, 0.1, RejectReason.INVALID_PRICE),  # rounds to 0 ticks
    ],
)
async def test_bad_amend_numbers_never_reach_the_wire(
    qty: float | None, price: float | None, code: RejectReason
) -> None:
    kit, hooks, sink, _ = make()
    order = await working(kit)
    kit.amend(order, qty, price)
    await kit.drain()
    assert hooks.calls == ["place"]
    last = sink.reports()[-1]
    assert (last.status, last.code) == (S.ACCEPTED, code) and "amend failed" in last.reason


async def test_amend_asked_while_placing_is_sent_once_placed_latest_wins() -> None:
    kit, hooks, sink, _ = make()
    hooks.place_gate = asyncio.Event()
    order = limit()
    kit.submit(order)
    await asyncio.sleep(0)
    kit.amend(order, price=98.0)
    kit.amend(order, price=97.0)
    hooks.place_gate.set()
    await kit.drain()
    assert hooks.calls == ["place", "amend"]
    assert sink.reports()[-1].reason == "amended qty=None price=97.0"


# -- reconnect catch-up -------------------------------------------------------------------------
async def test_reconcile_fetches_missed_fills_then_state_and_is_idempotent() -> None:
    kit, hooks, sink, _ = make()
    await working(kit, "c1")
    await working(kit, "c2")
    hooks.lookups = [(S.FILLED, 2.0), S.ACCEPTED]
    hooks.fill_rows = [("t1", 2.0)]
    await kit.reconcile()
    assert [type(x).__name__ for x in sink.log[2:]] == ["Fill", "OrderReport"]
    assert sink.reports()[-1].status is S.FILLED
    hooks.lookups = [S.ACCEPTED]
    await kit.reconcile()  # only c2 is still working; nothing new
    assert len(sink.fills()) == 1 and hooks.calls.count("fetch_order") == 3


async def test_reconcile_retries_failed_lookups_in_rounds() -> None:
    kit, hooks, sink, status = make()
    await working(kit)
    hooks.lookups = [err("transient"), err("rate_limited"), (S.FILLED, 2.0)]
    hooks.fill_rows = [("t1", 2.0)]
    await kit.reconcile()
    assert sink.statuses()[-1] is S.FILLED and status == []


async def test_reconcile_that_never_gets_through_tells_the_engine() -> None:
    kit, hooks, sink, status = make()
    await working(kit)
    hooks.lookups = [err("transient") for _ in range(100_000)]
    await kit.reconcile()
    assert [s.status for s in status] == ["reconcile_failed"] and "vc1" in status[0].detail
    assert sink.statuses() == [S.ACCEPTED]


async def test_close_stops_running_loops() -> None:
    policy = RecoveryPolicy(
        cancel_backoff=RetryConfig(max_attempts=0, base=0.05, cap=0.05, min_delay=0.05),
        cancel_deadline_s=60,
    )
    kit, hooks, _, _ = make(policy=policy)
    order = await working(kit)
    hooks.cancels = [err("rate_limited") for _ in range(100_000)]
    kit.cancel(order)
    await asyncio.sleep(0.02)
    await kit.close()
    assert not kit.tasks
