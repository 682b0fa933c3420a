"""Single-threaded, deterministic event bus.

Dispatch is by the event's exact type, to handlers in subscription order. Events published while
a handler runs are queued and delivered after the current event has reached every handler
(breadth-first), so handlers never see an event "from the future" re-entrantly and the order is a
pure function of the inputs. Subscribing or unsubscribing during dispatch is safe: handler lists
are immutable tuples replaced on change, and a dispatch iterates the tuple it started with.

A handler that raises never costs anyone else an event: the current event still reaches every
later handler and everything queued is still delivered, in order. What happens to the error is
the owner's choice (``on_error``): by default the first error is re-raised once the dispatch is
complete (a backtest stops on a strategy bug, with nothing reordered); a live kernel installs a
hook that logs it and carries on, or stops the faulty strategy.

**Topics.** A subscriber may want only some events of a type (one strategy reads one
instrument's 15m bars out of every instrument's 1m and 15m bars). It subscribes with an
``accepts(topic)`` predicate, and the type gets a ``topic_of(event)`` function (for bars, the
kernel's (instrument, bar period)). The handlers of each topic are resolved once — the plain
subscribers and the accepting filtered ones, in subscription order — and cached until the
type's subscriptions change, so an event costs one lookup plus its real readers, however many
subscribers filter it away. A publisher that already knows the topic passes it to
``publish`` (the replay loop does: it saves a call per event).
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from tradeloop.model.events import Event

E = TypeVar("E", bound=Event)
Handler = Callable[[Any], None]
#: called with (handler, event, error) when a handler raises; returns nothing
ErrorHook = Callable[[Handler, Event, Exception], None]
#: does a filtered subscriber want events of this topic? (asked once per topic)
Accepts = Callable[[Any], bool]


class EventBus:
    __slots__ = (
        "_direct",
        "_dispatching",
        "_error",
        "_filters",
        "_handlers",
        "_queue",
        "_topic_of",
        "_topics",
        "on_error",
    )

    #: topics resolved at most per type (irregular bar periods must not grow it without bound)
    MAX_TOPICS = 4096

    def __init__(self, on_error: ErrorHook | None = None) -> None:
        #: every subscriber of a type, in subscription order, and beside each its filter
        self._handlers: dict[type, tuple[Handler, ...]] = {}
        self._filters: dict[type, tuple[Accepts | None, ...]] = {}
        #: what an event without a topic goes to: the subscribers, or when some of them
        #: filter, ``_by_topic`` (which finds the event's topic and its readers)
        self._direct: dict[type, tuple[Handler, ...]] = {}
        self._topic_of: dict[type, Callable[[Any], Hashable]] = {}
        #: resolved subscribers per type and topic
        self._topics: defaultdict[type, dict[Hashable, tuple[Handler, ...]]] = defaultdict(dict)
        self._queue: deque[Event] = deque()
        self._dispatching = False
        self._error: Exception | None = None
        self.on_error = on_error

    def subscribe(
        self, event_type: type[E], handler: Callable[[E], None], accepts: Accepts | None = None
    ) -> None:
        """``accepts``: deliver only the events whose topic it accepts (the type's topic
        function must be set first: ``set_topic``)."""
        if accepts is not None and event_type not in self._topic_of:
            raise ValueError(f"{event_type.__name__} events have no topic function")
        current = self._handlers.get(event_type, ())
        if handler not in current:
            filters = (*self._filters.get(event_type, ()), accepts)
            self._changed(event_type, (*current, handler), filters)

    def unsubscribe(self, event_type: type[E], handler: Callable[[E], None]) -> None:
        kept = [(h, a) for h, a in self._subscribers(event_type) if h != handler]
        self._changed(event_type, tuple(h for h, _ in kept), tuple(a for _, a in kept))

    def set_topic(self, event_type: type[E], topic_of: Callable[[E], Hashable]) -> None:
        """How an event of ``event_type`` names its topic (see the module docstring)."""
        self._topic_of[event_type] = topic_of
        self._topics[event_type] = {}

    def _changed(
        self, event_type: type, handlers: tuple[Handler, ...], filters: tuple[Accepts | None, ...]
    ) -> None:
        self._handlers[event_type] = handlers
        self._filters[event_type] = filters
        self._direct[event_type] = (self._by_topic,) if any(filters) else handlers
        self._topics[event_type] = {}  # a dispatch under way keeps the tuple it started with

    def _subscribers(self, event_type: type) -> zip[tuple[Handler, Accepts | None]]:
        return zip(
            self._handlers.get(event_type, ()), self._filters.get(event_type, ()), strict=True
        )

    def handlers(self, event_type: type[Event]) -> tuple[Handler, ...]:
        return self._handlers.get(event_type, ())

    def _resolve(self, event: Event, topic: Hashable | None) -> tuple[Handler, ...]:
        """The subscribers of ``event``'s topic (computed when not given), cached."""
        t = type(event)
        if topic is None:
            topic = self._topic_of[t](event)
        cache = self._topics[t]
        hs = cache.get(topic)
        if hs is None:
            hs = tuple(h for h, a in self._subscribers(t) if a is None or a(topic))
            if len(cache) >= self.MAX_TOPICS:
                cache.clear()
            cache[topic] = hs
        return hs

    def publish(self, event: Event, topic: Hashable | None = None) -> None:
        """Deliver ``event``. ``topic``, when given, must be what the type's topic function
        returns for it (a shortcut for a publisher that knows it)."""
        if self._dispatching:
            self._queue.append(event)
            return
        self._dispatching = True
        try:
            for h in (
                self._direct.get(type(event), ())
                if topic is None
                else self._topics[type(event)].get(topic) or self._resolve(event, topic)
            ):
                try:
                    h(event)
                except Exception as exc:
                    self._failed(h, event, exc)
            if self._queue:
                self._drain()
        finally:
            self._dispatching = False
        if self._error is not None:
            err, self._error = self._error, None
            raise err

    def _drain(self) -> None:
        queue = self._queue
        direct = self._direct
        while queue:
            ev = queue.popleft()
            for h in direct.get(type(ev), ()):
                try:
                    h(ev)
                except Exception as exc:
                    self._failed(h, ev, exc)

    def _by_topic(self, event: Event) -> None:
        """The one subscriber an event of a filtered type published without its topic has:
        it names the topic and delivers to that topic's readers, each one's error apart."""
        for h in self._resolve(event, None):
            try:
                h(event)
            except Exception as exc:
                self._failed(h, event, exc)

    def _failed(self, handler: Handler, event: Event, exc: Exception) -> None:
        if self.on_error is not None:
            self.on_error(handler, event, exc)
        elif self._error is None:
            self._error = exc  # re-raised when this dispatch is complete
