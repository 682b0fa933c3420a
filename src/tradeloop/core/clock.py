"""Clocks and timers.

The engine never reads the wall clock directly: it asks its ``Clock``. In a backtest the
``SimClock`` is advanced by the data (so timers fire at exactly the simulated times and results
are deterministic); live, ``LiveClock`` follows the wall clock and fires timers from asyncio.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

TimerCallback = Callable[[str, int], None]


@dataclass(order=True, slots=True)
class _Timer:
    due: int
    seq: int
    name: str = field(compare=False)
    interval: int = field(compare=False)
    callback: TimerCallback = field(compare=False)
    active: bool = field(default=True, compare=False)


class Clock(ABC):
    """Time source plus timers. Times are int nanoseconds since the Unix epoch."""

    @abstractmethod
    def now(self) -> int: ...

    @abstractmethod
    def set_timer(
        self, name: str, interval_ns: int, callback: TimerCallback, start_ns: int | None = None
    ) -> None:
        """Call ``callback(name, due_ts)`` every ``interval_ns`` (once if interval is 0, at
        ``start_ns``). Re-using a name replaces the timer."""

    @abstractmethod
    def cancel_timer(self, name: str) -> None: ...


class SimClock(Clock):
    """Simulated time, advanced explicitly. Due timers fire in time order inside ``advance_to``
    *before* the event at that time is delivered, so a timer due at t sees state before t.

    The backtest replay loop (engine/backtest.py) peeks at ``_heap`` and sets ``_now`` directly
    when no timer is due — a method call per bar would cost more than the rest of the check."""

    __slots__ = ("_now", "_heap", "_timers", "_seq")

    def __init__(self, start_ns: int = 0) -> None:
        self._now = start_ns
        self._heap: list[_Timer] = []
        self._timers: dict[str, _Timer] = {}
        self._seq = 0

    def now(self) -> int:
        return self._now

    def set_timer(
        self, name: str, interval_ns: int, callback: TimerCallback, start_ns: int | None = None
    ) -> None:
        self.cancel_timer(name)
        if interval_ns < 0:
            raise ValueError("timer interval must be >= 0")
        due = start_ns if start_ns is not None else self._now + interval_ns
        self._seq += 1
        t = _Timer(due, self._seq, name, interval_ns, callback)
        self._timers[name] = t
        heapq.heappush(self._heap, t)

    def cancel_timer(self, name: str) -> None:
        t = self._timers.pop(name, None)
        if t is not None:
            t.active = False

    def advance_to(self, ts: int) -> None:
        heap = self._heap
        while heap and heap[0].due <= ts:
            t = heapq.heappop(heap)
            if not t.active:
                continue
            self._now = max(self._now, t.due)
            if t.interval > 0:
                self._seq += 1
                nxt = _Timer(t.due + t.interval, self._seq, t.name, t.interval, t.callback)
                self._timers[t.name] = nxt
                heapq.heappush(heap, nxt)
            else:
                self._timers.pop(t.name, None)
            t.callback(t.name, t.due)
        if ts > self._now:
            self._now = ts


class LiveClock(Clock):
    """Wall-clock time; timers run on the running asyncio loop."""

    def __init__(self) -> None:
        self._handles: dict[str, asyncio.TimerHandle] = {}

    def now(self) -> int:
        return time.time_ns()

    def set_timer(
        self, name: str, interval_ns: int, callback: TimerCallback, start_ns: int | None = None
    ) -> None:
        self.cancel_timer(name)
        loop = asyncio.get_running_loop()
        due = start_ns if start_ns is not None else self.now() + interval_ns

        def fire() -> None:
            nonlocal due
            this = due
            if interval_ns > 0:
                due = this + interval_ns
                self._handles[name] = loop.call_later(max(0.0, (due - self.now()) / 1e9), fire)
            else:
                self._handles.pop(name, None)
            callback(name, this)

        self._handles[name] = loop.call_later(max(0.0, (due - self.now()) / 1e9), fire)

    def cancel_timer(self, name: str) -> None:
        h = self._handles.pop(name, None)
        if h is not None:
            h.cancel()
