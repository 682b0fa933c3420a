"""Single-threaded, deterministic event bus.

Dispatch is by the event's exact type, to handlers in subscription order. Events published while
a handler runs are queued and delivered after the current event has reached every handler
(breadth-first), so handlers never see an event "from the future" re-entrantly and the order is a
pure function of the inputs. Subscribing or unsubscribing during dispatch is safe: handler lists
are immutable tuples replaced on change, and a dispatch iterates the tuple it started with.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from tradeloop.model.events import Event

E = TypeVar("E", bound=Event)
Handler = Callable[[Any], None]


class EventBus:
    __slots__ = ("_dispatching", "_handlers", "_queue")

    def __init__(self) -> None:
        self._handlers: dict[type, tuple[Handler, ...]] = {}
        self._queue: deque[Event] = deque()
        self._dispatching = False

    def subscribe(self, event_type: type[E], handler: Callable[[E], None]) -> None:
        current = self._handlers.get(event_type, ())
        if handler not in current:
            self._handlers[event_type] = (*current, handler)

    def unsubscribe(self, event_type: type[E], handler: Callable[[E], None]) -> None:
        current = self._handlers.get(event_type, ())
        self._handlers[event_type] = tuple(h for h in current if h != handler)

    def handlers(self, event_type: type[Event]) -> tuple[Handler, ...]:
        return self._handlers.get(event_type, ())

    def publish(self, event: Event) -> None:
        if self._dispatching:
            self._queue.append(event)
            return
        self._dispatching = True
        try:
            for h in self._handlers.get(type(event), ()):
                h(event)
            if self._queue:
                self._drain()
        finally:
            self._dispatching = False

    def _drain(self) -> None:
        queue = self._queue
        while queue:
            ev = queue.popleft()
            for h in self._handlers.get(type(ev), ()):
                h(ev)
