"""Balance caching for ``accounts``/``assets``, invalidated by OKX's private ``account`` pushes.

Strategies call ``GetAccount`` in every loop; each call would otherwise be a signed REST round
trip. After a key's first successful balance call the bridge opens that key's private socket
(the connector's :class:`~tradeloop.venues.okx.ws.OkxStream`: login, heartbeat, reconnect) and
subscribes to ``account``. The REST answer is then reused until anything could have changed it:

* an ``account`` push arrives (OKX pushes on every order, cancel and fill, and periodically),
* the bridge itself trades, cancels or changes leverage for this key,
* the socket (re)connects or is down.

Each of these bumps an *epoch*; a cached answer is valid only while the epoch is the one its
REST call started in. The pushes are used only as a change signal, never as data, so answers are
always exactly what REST returned — the same data as without the cache, just not re-fetched
while provably unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import aiohttp

from tradeloop.model import Event
from tradeloop.venues.okx.auth import OkxCredentials
from tradeloop.venues.okx.ws import OkxStream

log = logging.getLogger(__name__)


class LiveAccount:
    """One docker key's private ``account`` subscription plus its cached balance reply."""

    def __init__(self, ws_url: str, creds: OkxCredentials, session: aiohttp.ClientSession) -> None:
        self.epoch = 0
        self._ready = False  # a push arrived since the current connection was made
        self._cached: tuple[int, Any] | None = None
        self._writes = 0
        self.stream = OkxStream(
            ws_url.rstrip("/") + "/private", self, credentials=creds, session=session,
            name="fmz-okx-private",
        )  # fmt: skip
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._start())

    async def _start(self) -> None:
        await self.stream.start(wait=None)
        await self.stream.subscribe({"channel": "account"})

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self.stream.stop()

    # -- cache ----------------------------------------------------------------------------------
    def cached(self) -> Any | None:
        """The last REST balance reply if nothing can have changed since it was fetched."""
        c = self._cached
        if c is None or not self._ready or self._writes or c[0] != self.epoch:
            return None
        if not self.stream.connected:
            return None
        return c[1]

    def store(self, epoch: int, data: Any) -> None:
        """Keep ``data`` fetched by a REST call that started in ``epoch``."""
        if epoch == self.epoch:
            self._cached = (epoch, data)

    def write_started(self) -> None:
        self._writes += 1
        self.epoch += 1

    def write_done(self) -> None:
        self._writes = max(0, self._writes - 1)
        self.epoch += 1

    # -- OkxStreamHandler -----------------------------------------------------------------------
    def on_account(self, channel: str, items: list[dict[str, Any]]) -> None:
        self.epoch += 1
        self._ready = True

    def on_status(self, status: str, detail: str) -> None:
        if status in ("connected", "reconnected", "disconnected", "error"):
            self.epoch += 1
        if status in ("connected", "reconnected", "disconnected"):
            self._ready = False  # wait for the snapshot push of the new connection

    def on_market_data(self, event: Event) -> None:
        return None

    def on_orders(self, items: list[dict[str, Any]]) -> None:
        return None
