"""Small async helpers shared by venue adapters: a TTL cache and request coalescing.

Many dockers poll the same thing (``GetAccount`` every loop, ``GetMarkets`` at start). Both
helpers cut the upstream calls without serving anything staler than the call already in flight:
:class:`SingleFlight` makes concurrent identical reads share one upstream request, and
:class:`TtlCache` keeps slow-changing reference data (instrument lists) for a fixed time.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class SingleFlight:
    """Concurrent calls with the same key await one shared task.

    The task is shielded: a docker that hangs up (its handler cancelled) does not cancel the
    upstream request other dockers are still waiting on. When the *last* waiter gives up the
    task is cancelled, so a request arriving later never inherits a call that already
    outlived its requesters' deadlines.
    """

    def __init__(self) -> None:
        self._inflight: dict[Hashable, tuple[asyncio.Task[Any], list[int]]] = {}

    async def do(self, key: Hashable, factory: Callable[[], Awaitable[T]]) -> T:
        entry = self._inflight.get(key)
        if entry is None:
            task = asyncio.ensure_future(factory())
            entry = (task, [0])
            self._inflight[key] = entry
            task.add_done_callback(functools.partial(self._done, key))
        task, waiters = entry
        waiters[0] += 1
        try:
            result: T = await asyncio.shield(task)
            return result
        finally:
            waiters[0] -= 1
            if waiters[0] == 0 and not task.done():
                task.cancel()

    def _done(self, key: Hashable, task: asyncio.Task[Any]) -> None:
        entry = self._inflight.get(key)
        if entry is not None and entry[0] is task:
            del self._inflight[key]
        if not task.cancelled():
            task.exception()  # mark retrieved even if every waiter went away

    def __len__(self) -> int:
        return len(self._inflight)


class TtlCache(Generic[T]):
    """One value refreshed at most every ``ttl`` seconds; concurrent refreshes coalesce."""

    def __init__(self, ttl: float, loader: Callable[[], Awaitable[T]]) -> None:
        self.ttl = ttl
        self._loader = loader
        self._value: T | None = None
        self._at = float("-inf")
        self._flight = SingleFlight()

    @property
    def fresh(self) -> bool:
        return self._value is not None and time.monotonic() - self._at < self.ttl

    async def get(self, *, max_age: float | None = None) -> T:
        age = time.monotonic() - self._at
        if self._value is not None and age < (self.ttl if max_age is None else max_age):
            return self._value
        return await self._flight.do("load", self._load)

    async def _load(self) -> T:
        value = await self._loader()
        self._value, self._at = value, time.monotonic()
        return value

    def invalidate(self) -> None:
        self._at = float("-inf")
