"""WebSocket push with per-client coalescing: the trading loop never waits for a browser.

The engine side calls :meth:`Hub.publish` synchronously from its event handlers. That costs a
dict assignment per connected client and nothing else: no encoding, no I/O, no awaiting. Each
client owns a :class:`ClientQueue` keyed by *what* changed (``("candle", sym, period)``,
``("order", id)`` ...), so a newer update of the same thing replaces the older one instead of
queueing behind it (drop-to-latest). The number of distinct pending keys is bounded; a client
that falls that far behind gets its queue dropped and is sent a fresh snapshot instead, which
is always correct because every delta is an idempotent upsert.

Each client has a sender task that wakes on new items, sends one batch, then sleeps for the
coalescing window — so a browser sees at most ``1 / window`` messages a second whatever the
event rate. A send that does not finish within ``send_timeout`` (a stalled or vanished browser
whose TCP buffers are full) closes that client; only its own task ever waited.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Hashable
from typing import Any

import msgspec
from aiohttp import web

log = logging.getLogger(__name__)

_encode = msgspec.json.Encoder().encode


class ClientQueue:
    """Pending updates of one client, newest per key, at most ``max_keys`` of them."""

    __slots__ = ("dropped", "max_keys", "overflow", "pending", "wake")

    def __init__(self, max_keys: int) -> None:
        self.max_keys = max_keys
        self.pending: dict[Hashable, Any] = {}
        self.overflow = False
        self.dropped = 0
        self.wake = asyncio.Event()

    def put(self, key: Hashable, item: Any) -> None:
        pending = self.pending
        if key in pending:
            pending[key] = item
            return
        if self.overflow:
            return
        if len(pending) >= self.max_keys:
            self.dropped += len(pending)
            pending.clear()
            self.overflow = True  # the sender replaces the backlog with a snapshot
        else:
            pending[key] = item
        self.wake.set()

    def take(self) -> tuple[bool, list[Any]]:
        """(resync needed, items in first-seen order); empties the queue."""
        resync, self.overflow = self.overflow, False
        items = list(self.pending.values())
        self.pending = {}
        self.wake.clear()
        return resync, items


class Client:
    def __init__(self, ws: web.WebSocketResponse, max_keys: int, remote: str) -> None:
        self.ws = ws
        self.queue = ClientQueue(max_keys)
        self.remote = remote
        self.sent = 0
        self.task: asyncio.Task[None] | None = None


class Hub:
    """Fan-out of updates to every connected browser (see the module docstring)."""

    def __init__(
        self,
        snapshot: Callable[[], dict[str, Any]],
        *,
        window_s: float = 0.05,
        max_keys: int = 2_000,
        send_timeout_s: float = 5.0,
    ) -> None:
        self.snapshot = snapshot
        self.window_s = window_s
        self.max_keys = max_keys
        self.send_timeout_s = send_timeout_s
        self.clients: set[Client] = set()
        self.published = 0
        self.resyncs = 0

    def publish(self, key: Hashable, item: Any) -> None:
        """Queue ``item`` for every client under ``key`` (replacing an unsent one)."""
        self.published += 1
        for c in self.clients:
            c.queue.put(key, item)

    async def serve(self, ws: web.WebSocketResponse, remote: str) -> None:
        """Register ``ws``, send it a snapshot, then deltas until it goes away."""
        client = Client(ws, self.max_keys, remote)
        self.clients.add(client)  # first: nothing published from now on is missed
        client.task = asyncio.create_task(self._sender(client))
        log.info("dashboard: browser connected from %s (%d open)", remote, len(self.clients))
        try:
            async for _msg in ws:  # the page sends nothing we need; this notices the close
                pass
        finally:
            await self._drop(client)

    async def _drop(self, client: Client) -> None:
        self.clients.discard(client)
        if client.task is not None and client.task is not asyncio.current_task():
            client.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await client.task
        with contextlib.suppress(Exception):
            await client.ws.close()
        log.info("dashboard: browser %s gone (%d open)", client.remote, len(self.clients))

    async def _send(self, client: Client, msg: dict[str, Any]) -> None:
        msg["sent"] = time.time() * 1000.0
        await asyncio.wait_for(client.ws.send_bytes(_encode(msg)), self.send_timeout_s)
        client.sent += 1

    async def _sender(self, client: Client) -> None:
        q = client.queue
        try:
            await self._send(client, {"type": "snapshot", "data": self.snapshot()})
            while not client.ws.closed:
                await q.wake.wait()
                resync, items = q.take()
                if resync:
                    self.resyncs += 1
                    await self._send(client, {"type": "snapshot", "data": self.snapshot()})
                elif items:
                    await self._send(client, {"type": "batch", "items": items})
                await asyncio.sleep(self.window_s)
        except (TimeoutError, ConnectionError) as exc:
            log.warning("dashboard: browser %s not reading (%s); disconnected",
                        client.remote, type(exc).__name__)  # fmt: skip
            self.clients.discard(client)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.ws.close(), 1.0)

    async def close(self) -> None:
        for c in list(self.clients):
            await self._drop(c)
