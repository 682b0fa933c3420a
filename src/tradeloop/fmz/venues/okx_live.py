"""Live OKX order books and tickers for the bridge, kept over one public WebSocket.

``depth``/``ticker`` are what strategies poll hardest; answering them from memory instead of a
REST round trip is the bridge's main speed-up. The first request for an instrument is served by
REST and calls :meth:`OkxLiveData.watch`, which subscribes ``books`` and ``tickers``; later
requests are answered here while the data is trustworthy. The connector's pieces do the hard
parts:

* :class:`~tradeloop.venues.wsclient.WsClient` owns the socket: text ``ping``/``pong``
  heartbeat (a silent socket is dropped within ~20 s), reconnect with jittered backoff and
  re-sending every subscription;
* :class:`~tradeloop.book.okx_sync.OkxBookSync` applies ``books`` messages with OKX's sequence
  and CRC32 checksum rules; a gap or mismatch marks the book unsynced and we re-subscribe.

While disconnected, or until a fresh snapshot arrives, nothing is served from memory: callers
fall back to REST, so a broken feed costs speed, never correctness.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import msgspec

from tradeloop.book.okx_sync import OkxBookSync, SyncResult
from tradeloop.venues.wsclient import WsClient, WsConfig

log = logging.getLogger(__name__)

MAX_WATCHED = 200
WS_CONFIG = WsConfig(heartbeat_interval=15.0, heartbeat_timeout=5.0)

_enc = msgspec.json.Encoder()


def _sub(op: str, channel: str, inst: str) -> str:
    return _enc.encode({"op": op, "args": [{"channel": channel, "instId": inst}]}).decode()


@dataclass
class _InstState:
    sync: OkxBookSync
    book_ts: int = 0
    ticker: dict[str, Any] | None = None
    #: bumped on every applied book message; ``views`` caches answers per depth limit
    version: int = 0
    views: dict[int, tuple[int, dict[str, Any]]] = field(default_factory=dict)


class OkxLiveData:
    """Books and tickers for the instruments requested so far, over ``{ws_url}/public``."""

    def __init__(self, ws_url: str, session: aiohttp.ClientSession) -> None:
        self._insts: dict[str, _InstState] = {}
        self._dec = msgspec.json.Decoder()
        self._tasks: set[asyncio.Task[None]] = set()
        self._started = False
        self.ws = WsClient(
            ws_url.rstrip("/") + "/public",
            self._on_text,
            config=WS_CONFIG,
            on_connect=self._on_connect,
            session=session,
            name="fmz-okx-public",
        )

    # -- what the adapter calls -----------------------------------------------------------------
    def watch(self, inst: str) -> None:
        """Start keeping ``inst`` live (idempotent, never blocks: the subscription is sent by a
        background task and this request is answered by REST)."""
        if inst in self._insts or len(self._insts) >= MAX_WATCHED:
            return
        self._insts[inst] = _InstState(OkxBookSync(inst))
        self._spawn(self._subscribe(inst))

    async def _subscribe(self, inst: str) -> None:
        if not self._started:
            self._started = True
            await self.ws.start()
        for channel in ("books", "tickers"):
            await self.ws.subscribe(f"{channel}:{inst}", _sub("subscribe", channel, inst))

    def book(self, inst: str, limit: int) -> dict[str, Any] | None:
        """``{"time", "asks", "bids"}`` from the live book, or None if not trustworthy now."""
        st = self._insts.get(inst)
        if st is None or not st.sync.synced or not self.ws.connected:
            return None
        hit = st.views.get(limit)
        if hit is not None and hit[0] == st.version:
            return hit[1]  # unchanged since the last request: reuse (callers never mutate)
        bids, asks = st.sync.book.top(limit)
        view = {"time": st.book_ts, "asks": asks, "bids": bids}  # tuples encode as arrays
        if len(st.views) > 8:
            st.views.clear()
        st.views[limit] = (st.version, view)
        return view

    def ticker(self, inst: str) -> dict[str, Any] | None:
        """The latest ``tickers`` push (OKX's REST ticker fields), or None."""
        st = self._insts.get(inst)
        if st is None or st.ticker is None or not self.ws.connected:
            return None
        return st.ticker

    def is_live(self, inst: str) -> bool:
        st = self._insts.get(inst)
        return bool(st and st.sync.synced and st.ticker is not None and self.ws.connected)

    async def close(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        await self.ws.stop()

    # -- internals ------------------------------------------------------------------------------
    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("OKX live feed task failed: %s", task.exception())

    async def _on_connect(self, _: WsClient) -> None:
        """A (re)connect: every book must be rebuilt from the snapshot that follows."""
        for st in self._insts.values():
            st.sync.reset()
            st.ticker = None
            st.version += 1

    async def _resubscribe_books(self, inst: str) -> None:
        with contextlib.suppress(ConnectionError):
            await self.ws.send(_sub("unsubscribe", "books", inst))
            await self.ws.send(_sub("subscribe", "books", inst))

    def _on_text(self, text: str) -> None:
        try:
            msg = self._dec.decode(text)
        except msgspec.DecodeError:
            return
        if not isinstance(msg, dict):
            return
        arg = msg.get("arg")
        inst = str(arg.get("instId", "")) if isinstance(arg, Mapping) else ""
        if "event" in msg:
            if msg["event"] == "error":
                log.warning("OKX live feed: error %s %s", msg.get("code"), msg.get("msg"))
            return
        st = self._insts.get(inst)
        data = msg.get("data")
        if st is None or not isinstance(data, list) or not data or not isinstance(arg, Mapping):
            return
        channel = arg.get("channel")
        if channel == "books":
            action = str(msg.get("action", "update"))
            for item in data:
                if not isinstance(item, dict):
                    continue
                if st.sync.apply_message(action, item) is SyncResult.RESYNC:
                    log.info("OKX live book %s: %s; resubscribing", inst, st.sync.last_error)
                    self._spawn(self._resubscribe_books(inst))
                    return
                st.version += 1
                with contextlib.suppress(TypeError, ValueError):
                    st.book_ts = int(item.get("ts", 0))
        elif channel == "tickers" and isinstance(data[-1], dict):
            st.ticker = data[-1]
