"""Topic-filtered subscriptions on the bus (how a multi-instrument run routes bars).

A filtered subscriber sees exactly the events whose topic it accepts, in subscription order
with everyone else; its predicate is asked once per topic, not once per event; a publisher
that passes the topic gets the same delivery as one that lets the bus compute it."""

from __future__ import annotations

import pytest

from tradeloop.core.bus import EventBus
from tradeloop.engine.kernel import bar_topic
from tradeloop.model import Bar, TimerEvent

MIN = 60


def _bar(sym: str, ts: int, period: int) -> Bar:
    return Bar(ts, sym, ts - period, 1.0, 1.0, 1.0, 1.0, 1.0)


def _bus(asked: list[tuple[str, int]], seen: list[str]) -> EventBus:
    bus = EventBus()
    bus.set_topic(Bar, bar_topic)

    def only_a_15m(topic: tuple[str, int]) -> bool:
        asked.append(topic)
        return topic == ("A", 15 * MIN)

    bus.subscribe(Bar, lambda b: seen.append(f"all:{b.symbol}{b.ts - b.start}"))
    bus.subscribe(Bar, lambda b: seen.append(f"a15:{b.ts}"), only_a_15m)
    bus.subscribe(Bar, lambda b: seen.append(f"b:{b.ts}"), lambda t: t[0] == "B")
    return bus


@pytest.mark.parametrize("pass_topic", [False, True])
def test_filtered_subscribers_see_their_topics_only_in_subscription_order(
    pass_topic: bool,
) -> None:
    asked: list[tuple[str, int]] = []
    seen: list[str] = []
    bus = _bus(asked, seen)
    bars = [_bar("A", 900, MIN), _bar("A", 900, 15 * MIN), _bar("B", 960, MIN),
            _bar("A", 1800, 15 * MIN)]  # fmt: skip
    for b in bars:
        bus.publish(b, bar_topic(b) if pass_topic else None)
    assert seen == ["all:A60", "all:A900", "a15:900", "all:B60", "b:960", "all:A900", "a15:1800"]
    assert asked == [("A", MIN), ("A", 15 * MIN), ("B", MIN)]  # once per topic


def test_unsubscribing_a_filtered_handler_and_subscribing_again_resolve_afresh() -> None:
    asked: list[tuple[str, int]] = []
    seen: list[str] = []
    bus = _bus(asked, seen)
    bus.publish(_bar("B", 60, MIN))
    b_handler = bus.handlers(Bar)[2]
    bus.unsubscribe(Bar, b_handler)
    bus.publish(_bar("B", 120, MIN))
    bus.subscribe(Bar, b_handler, lambda t: t[1] == MIN)
    bus.publish(_bar("B", 180, MIN))
    assert seen == ["all:B60", "b:60", "all:B60", "all:B60", "b:180"]


def test_events_queued_during_a_dispatch_are_routed_by_topic_too() -> None:
    asked: list[tuple[str, int]] = []
    seen: list[str] = []
    bus = _bus(asked, seen)
    bus.subscribe(TimerEvent, lambda e: bus.publish(_bar("A", e.ts, 15 * MIN)))
    bus.publish(TimerEvent(900, "t"))
    assert seen == ["all:A900", "a15:900"]


def test_a_filter_needs_a_topic_function() -> None:
    with pytest.raises(ValueError, match="no topic function"):
        EventBus().subscribe(TimerEvent, print, lambda t: True)
