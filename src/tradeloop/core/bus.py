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
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar

from tradeloop.model.events import Event

E = TypeVar("E", bound=Event)
Handler = Callable[[Any], None]
#: called with (handler, event, error) when a handler raises; returns nothing
ErrorHook = Callable[[Handler, Event, Exception], None]


class EventBus:
    __slots__ = ("_dispatching", "_error", "_handlers", "_queue", "on_error")

    def __init__(self, on_error: ErrorHook | None = None) -> None:
        self._handlers: dict[type, tuple[Handler, ...]] = {}
        self._queue: deque[Event] = deque()
        self._dispatching = False
        self._error: Exception | None = None
        self.on_error = on_error

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
        while queue:
            ev = queue.popleft()
            for h in self._handlers.get(type(ev), ()):
                try:
                    h(ev)
                except Exception as exc:
                    self._failed(h, ev, exc)

    def _failed(self, handler: Handler, event: Event, exc: Exception) -> None:
        if self.on_error is not None:
            self.on_error(handler, event, exc)
        elif self._error is None:
            self._error = exc  # re-raised when this dispatch is complete
