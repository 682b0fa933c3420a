"""Stopping an in-process live run on a condition, not on a clock: a run cut off after N
seconds may stop while an order is still on its way (its fill then lands after the run has
returned), and how much happens in N seconds depends on the machine. A test instead stops
the run once what it wants to check has happened, with a generous deadline as a hang guard."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from tests.conformance.harness import until

#: long enough for a slow, loaded CI machine; only reached when something hangs
DEADLINE_S = 90.0


async def stop_when(cond: Callable[[], bool], stop: asyncio.Event, what: str) -> None:
    """Set ``stop`` once ``cond()`` holds; AssertionError naming ``what`` after
    :data:`DEADLINE_S` (the run is stopped either way)."""
    try:
        await until(cond, what, timeout=DEADLINE_S, poll=0.05)
    finally:
        stop.set()
