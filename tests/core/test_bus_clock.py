from __future__ import annotations

import contextlib

from tradeloop.core.bus import EventBus
from tradeloop.core.clock import SimClock
from tradeloop.model import Bar, TimerEvent


def bar(ts: int, close: float = 1.0) -> Bar:
    return Bar(ts, "X", ts - 1, close, close, close, close, 1.0)


def test_handlers_run_in_subscription_order_and_nested_events_are_queued() -> None:
    bus = EventBus()
    seen: list[str] = []

    def first(ev: Bar) -> None:
        seen.append(f"first:{ev.ts}")
        if ev.ts == 1:
            bus.publish(TimerEvent(2, "t"))  # raised mid-dispatch: must wait for `second`

    bus.subscribe(Bar, first)
    bus.subscribe(Bar, lambda ev: seen.append(f"second:{ev.ts}"))
    bus.subscribe(TimerEvent, lambda ev: seen.append(f"timer:{ev.ts}"))
    bus.publish(bar(1))
    assert seen == ["first:1", "second:1", "timer:2"]


def test_subscribe_and_unsubscribe_during_dispatch() -> None:
    bus = EventBus()
    seen: list[str] = []

    def late(ev: Bar) -> None:
        seen.append(f"late:{ev.ts}")

    def once(ev: Bar) -> None:
        seen.append(f"once:{ev.ts}")
        bus.unsubscribe(Bar, once)
        bus.subscribe(Bar, late)

    bus.subscribe(Bar, once)
    bus.publish(bar(1))
    bus.publish(bar(2))
    assert seen == ["once:1", "late:2"]


def test_exception_in_handler_does_not_wedge_the_bus() -> None:
    bus = EventBus()
    seen: list[int] = []

    def boom(ev: Bar) -> None:
        if ev.ts == 1:
            raise RuntimeError("x")
        seen.append(ev.ts)

    bus.subscribe(Bar, boom)
    with contextlib.suppress(RuntimeError):
        bus.publish(bar(1))
    bus.publish(bar(2))
    assert seen == [2]


def test_sim_clock_fires_timers_in_time_order_before_the_event_time() -> None:
    clock = SimClock(0)
    fired: list[tuple[str, int]] = []
    clock.set_timer("every10", 10, lambda n, ts: fired.append((n, ts)))
    clock.set_timer("once25", 0, lambda n, ts: fired.append((n, ts)), start_ns=25)
    clock.advance_to(30)
    assert fired == [("every10", 10), ("every10", 20), ("once25", 25), ("every10", 30)]
    assert clock.now() == 30
    clock.cancel_timer("every10")
    clock.advance_to(100)
    assert fired[-1] == ("every10", 30)


def test_timer_callback_sees_its_due_time_as_now() -> None:
    clock = SimClock(0)
    nows: list[int] = []
    clock.set_timer("t", 7, lambda n, ts: nows.append(clock.now()))
    clock.advance_to(15)
    assert nows == [7, 14]
