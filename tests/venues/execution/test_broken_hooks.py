"""The kit's rules are only as good as the venue's hooks: these checks pass for a correct
venue double and must *fail* for deliberately broken ones — a ``classify`` that calls every
error permanent, a ``venue_client_id`` that is not stable, a ``fetch_fills`` that returns
nothing. If one of the broken variants ever passed, the check would not be checking anything.
(The conformance suite runs the same kind of checks against real venues over sockets.)"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from tradeloop.core.errors import VenueError
from tradeloop.model import Fill, OrderStatus, RejectReason
from tradeloop.venues.execution import ErrorKind, OrderTrack, Verdict

from .hooks_double import ScriptedHooks, err, limit, make, working

S = OrderStatus
Rule = Callable[[ScriptedHooks], Awaitable[None]]


async def cancel_outlasts_rate_limits(hooks: ScriptedHooks) -> None:
    kit, hooks, sink, _ = make(hooks)
    order = await working(kit)
    hooks.cancels = [err("rate_limited"), err("rate_limited"), err("transient")]
    hooks.up = False
    hooks.lookups = [S.CANCELED]
    kit.cancel(order)
    await kit.drain()
    assert not any(r.code is RejectReason.CANCEL_FAILED for r in sink.reports()), "gave up"
    assert sink.statuses()[-1] is S.CANCELED


async def placement_in_doubt_is_looked_up(hooks: ScriptedHooks) -> None:
    kit, hooks, sink, _ = make(hooks)
    hooks.places = [err("unknown_outcome")]
    hooks.lookups = [S.ACCEPTED]
    kit.submit(limit())
    await kit.drain()
    assert sink.statuses() == [S.ACCEPTED], f"in-doubt order reported {sink.statuses()}"


async def duplicate_answer_is_never_a_rejection(hooks: ScriptedHooks) -> None:
    kit, hooks, sink, _ = make(hooks)
    hooks.places = [err("duplicate_id")]
    hooks.lookups = [(S.FILLED, 2.0)]
    hooks.fill_rows = [("t1", 2.0)]
    kit.submit(limit())
    await kit.drain()
    assert S.REJECTED not in sink.statuses()
    assert sum(f.qty for f in sink.fills()) == 2.0


async def resubmit_is_placed_once(hooks: ScriptedHooks) -> None:
    kit, hooks, _, _ = make(hooks)
    kit.submit(limit("same"))
    kit.submit(limit("same"))
    await kit.drain()
    assert hooks.calls.count("place") == 1


async def cancel_after_restart_reaches_the_same_order(hooks: ScriptedHooks) -> None:
    first, hooks1, _, _ = make(hooks)
    order = await working(first, "r1")
    placed_as = hooks1.wire[0][1]
    second, hooks2, _, _ = make(type(hooks)())  # a new process: same venue code
    second.cancel(order)
    await second.drain()
    assert hooks2.wire[0] == ("cancel", placed_as, "BTC-USD"), hooks2.wire


async def missed_fills_are_caught_up(hooks: ScriptedHooks) -> None:
    kit, hooks, sink, _ = make(hooks)
    await working(kit)
    hooks.lookups = [(S.FILLED, 2.0)]
    hooks.fill_rows = [("t1", 0.5), ("t2", 1.5)]
    await kit.reconcile()
    assert sum(f.qty for f in sink.fills()) == 2.0, "a fill missed while away stayed missed"


RULES: list[Rule] = [
    cancel_outlasts_rate_limits,
    placement_in_doubt_is_looked_up,
    duplicate_answer_is_never_a_rejection,
    resubmit_is_placed_once,
    cancel_after_restart_reaches_the_same_order,
    missed_fills_are_caught_up,
]


class AllPermanent(ScriptedHooks):
    """Broken: every error is "refused for good"."""

    def classify(self, exc: VenueError) -> Verdict:
        return Verdict(ErrorKind.PERMANENT)


class UnstableIds(ScriptedHooks):
    """Broken: a fresh venue client id on every call (e.g. a random one)."""

    issued = 0

    def venue_client_id(self, client_order_id: str) -> str:
        UnstableIds.issued += 1
        return f"v{client_order_id}-{UnstableIds.issued}"


class NoFills(ScriptedHooks):
    """Broken: fetch_fills finds nothing (e.g. queries the wrong order id)."""

    async def fetch_fills(self, track: OrderTrack) -> list[Fill]:
        await super().fetch_fills(track)
        return []


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.__name__)
async def test_rules_hold_for_a_correct_venue(rule: Rule) -> None:
    await rule(ScriptedHooks())


@pytest.mark.parametrize(
    ("broken", "rule"),
    [
        (AllPermanent, cancel_outlasts_rate_limits),
        (AllPermanent, placement_in_doubt_is_looked_up),
        (AllPermanent, duplicate_answer_is_never_a_rejection),
        (UnstableIds, cancel_after_restart_reaches_the_same_order),
        (NoFills, missed_fills_are_caught_up),
        (NoFills, duplicate_answer_is_never_a_rejection),
    ],
    ids=lambda x: x.__name__,
)
async def test_a_broken_hook_fails_the_rule(broken: type[ScriptedHooks], rule: Rule) -> None:
    with pytest.raises(AssertionError):
        await rule(broken())
