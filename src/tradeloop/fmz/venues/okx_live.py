"""Live OKX order books and tickers for the bridge, kept over one public WebSocket.

``depth``/``ticker`` are what strategies poll hardest; answering them from memory instead of a
REST round trip is the bridge's main speed-up. The first request for an instrument is served by
REST and calls :meth:`OkxLiveData.watch`, which subscribes ``books`` and ``tickers``; later
requests are answered here as long as the data is trustworthy:

* books go through the connector's :class:`~tradeloop.book.okx_sync.OkxBookSync` (sequence
  chaining + CRC32 checksum); a gap or mismatch marks the book unsynced and re-subscribes;
* while the socket is down, or silent for longer than ``stale_after`` (OKX itself drops a
  connection after 30 s without data, and we ping every 15 s), nothing is served from memory
  and callers fall back to REST until a fresh snapshot arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import msgspec

from tradeloop.book.okx_sync import OkxBookSync, SyncResult
from tradeloop.venues.retry import RECONNECT_RETRY, backoff_delay

log = logging.getLogger(__name__)

PING_EVERY = 15.0
MAX_WATCHED = 200
#: channels kept per instrument
CHANNELS = ("books", "tickers")


@dataclass
class _InstState:
    sync: OkxBookSync
    book_ts: int = 0
    ticker: dict[str, Any] | None = None
    failed: bool = False
    subs: set[str] = field(default_factory=set)


class OkxLiveData:
    """Books and tickers for the instruments requested so far, over ``{ws_url}/public``."""

    def __init__(
        self, ws_url: str, session: aiohttp.ClientSession, stale_after: float = 30.0
    ) -> None:
        self.url = ws_url.rstrip("/") + "/public"
        self.session = session
        self.stale_after = stale_after
        self._insts: dict[str, _InstState] = {}
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._task: asyncio.Task[None] | None = None
        self._last_rx = 0.0
        self._closing = False
        self._dec = msgspec.json.Decoder()
        self.reconnects = 0

    # -- what the adapter calls -----------------------------------------------------------------
    def watch(self, inst: str) -> None:
        """Start keeping ``inst`` live (idempotent; never blocks)."""
        if self._closing or inst in self._insts or len(self._insts) >= MAX_WATCHED:
            return
        self._insts[inst] = _InstState(OkxBookSync(inst))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name=f"fmz-okx-live {self.url}")
        elif self._ws is not None and not self._ws.closed:
            self._send_subscribe([inst])

    def _healthy(self) -> bool:
        ws = self._ws
        return (
            ws is not None and not ws.closed and time.monotonic() - self._last_rx < self.stale_after
        )

    def book(self, inst: str, limit: int) -> dict[str, Any] | None:
        """``{"time", "asks", "bids"}`` from the live book, or None if not trustworthy now."""
        st = self._insts.get(inst)
        if st is None or not st.sync.synced or not self._healthy():
            return None
        bids, asks = st.sync.book.top(limit)
        return {
            "time": st.book_ts,
            "asks": [list(a) for a in asks],
            "bids": [list(b) for b in bids],
        }

    def ticker(self, inst: str) -> dict[str, Any] | None:
        """The latest ``tickers`` push (OKX REST ticker fields), or None."""
        st = self._insts.get(inst)
        if st is None or st.ticker is None or not self._healthy():
            return None
        return st.ticker

    def is_live(self, inst: str) -> bool:
        st = self._insts.get(inst)
        return bool(st and st.sync.synced and st.ticker is not None and self._healthy())

    async def close(self) -> None:
        self._closing = True
        if self._ws is not None:
            await self._ws.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        self._task = None

    # -- connection -----------------------------------------------------------------------------
    async def _run(self) -> None:
        """Connect, subscribe everything watched, read; reconnect with jittered backoff."""
        attempt = 0
        while not self._closing:
            try:
                async with self.session.ws_connect(self.url, heartbeat=None, autoping=True) as ws:
                    self._ws = ws
                    self._last_rx = time.monotonic()
                    attempt = 0
                    for st in self._insts.values():
                        st.sync.reset()
                        st.subs.clear()
                    self._send_subscribe([i for i, s in self._insts.items() if not s.failed])
                    await self._read(ws)
            except asyncio.CancelledError:
                raise
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                log.info("OKX live feed %s: %s", self.url, exc)
            except Exception:
                log.exception("OKX live feed %s crashed; reconnecting", self.url)
            finally:
                self._ws = None
            if self._closing:
                break
            self.reconnects += 1
            await asyncio.sleep(max(0.2, backoff_delay(min(attempt, 8), RECONNECT_RETRY)))
            attempt += 1

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        while True:
            try:
                msg = await ws.receive(timeout=PING_EVERY)
            except TimeoutError:
                await ws.send_str("ping")  # OKX keepalive: text ping, text pong
                continue
            if msg.type is aiohttp.WSMsgType.TEXT:
                self._last_rx = time.monotonic()
                if msg.data != "pong":
                    self._on_text(msg.data)
            elif msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING,
                              aiohttp.WSMsgType.ERROR):  # fmt: skip
                return

    def _send_subscribe(self, insts: list[str], op: str = "subscribe") -> None:
        ws = self._ws
        if ws is None or ws.closed or not insts:
            return
        args = [{"channel": ch, "instId": i} for i in insts for ch in CHANNELS]
        for k in range(0, len(args), 40):  # keep each frame small (OKX: payload <= 64 KB)
            payload = msgspec.json.encode({"op": op, "args": args[k : k + 40]}).decode()
            task = asyncio.ensure_future(ws.send_str(payload))
            task.add_done_callback(_ignore_result)

    def _resubscribe_books(self, inst: str) -> None:
        ws = self._ws
        if ws is None or ws.closed:
            return
        arg = [{"channel": "books", "instId": inst}]
        for op in ("unsubscribe", "subscribe"):
            payload = msgspec.json.encode({"op": op, "args": arg}).decode()
            asyncio.ensure_future(ws.send_str(payload)).add_done_callback(_ignore_result)

    # -- messages -------------------------------------------------------------------------------
    def _on_text(self, text: str) -> None:
        try:
            msg = self._dec.decode(text)
        except msgspec.DecodeError:
            return
        if not isinstance(msg, dict):
            return
        arg = msg.get("arg") or {}
        inst = str(arg.get("instId", "")) if isinstance(arg, Mapping) else ""
        st = self._insts.get(inst)
        event = msg.get("event")
        if event is not None:
            if event == "error":
                log.warning("OKX live feed error: %s %s", msg.get("code"), msg.get("msg"))
                # a subscription refused for an instrument: stop asking for it
                for i, s in self._insts.items():
                    if i in str(msg.get("msg", "")):
                        s.failed = True
            elif event == "subscribe" and st is not None:
                st.subs.add(str(arg.get("channel", "")))
            return
        if st is None:
            return
        data = msg.get("data")
        if not isinstance(data, list) or not data:
            return
        channel = arg.get("channel")
        if channel == "books":
            action = str(msg.get("action", "update"))
            for item in data:
                if not isinstance(item, dict):
                    continue
                if st.sync.apply_message(action, item) is SyncResult.RESYNC:
                    log.info("OKX live book %s: %s; resubscribing", inst, st.sync.last_error)
                    self._resubscribe_books(inst)
                    return
                with contextlib.suppress(TypeError, ValueError):
                    st.book_ts = int(item.get("ts", 0))
        elif channel == "tickers":
            item = data[-1]
            if isinstance(item, dict):
                st.ticker = item


def _ignore_result(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()
