"""An emulator served from its own event loop in a thread, for tests that call a CLI (which
runs ``asyncio.run`` itself) against it over loopback."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def served(make: Callable[[], Awaitable[Any]]) -> Iterator[Any]:
    """``make()`` builds and starts the emulator inside the thread's loop; it is stopped on
    the way out."""
    loop = asyncio.new_event_loop()
    th = threading.Thread(target=loop.run_forever, daemon=True)
    th.start()
    emu = asyncio.run_coroutine_threadsafe(make(), loop).result(15)
    try:
        yield emu
    finally:
        asyncio.run_coroutine_threadsafe(emu.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        th.join(5)
        loop.close()
