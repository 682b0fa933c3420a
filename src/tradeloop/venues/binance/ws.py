"""Binance WebSockets: the market streams (books kept in sync) and the WS API session.

:class:`MarketStream` connects to ``/ws`` (USD-M: one per routed path, ``/public/ws`` or
``/market/ws``, see :func:`.constants.fws_route`) and SUBSCRIBEs (the shared
:class:`~tradeloop.venues.wsclient.WsClient` re-sends subscriptions after a reconnect).
Books follow :mod:`.booksync`: diffs buffer until the REST snapshot arrives, a gap or a
reconnect makes the book invalid (``book()`` answers None) and a new snapshot is fetched.
Binance pings at the protocol level; aiohttp answers, and our own protocol pings (every 20 s)
detect a dead socket.

:class:`ApiSession` is the WS API connection: on connect it logs on (``session.logon``, Ed25519
keys) and subscribes to the user data stream (``userDataStream.subscribe``, or the
``.signature`` variant for HMAC keys); :meth:`ApiSession.call` sends one request and waits for
the answer with its id, raising the same typed errors as REST (429/418 -> RateLimited; the
answers' ``rateLimits`` weight counts feed the REST client's weight gate, IP weight being
shared). The
USD-M futures WS API (``/ws-fapi/v1``) is the same session with ``user_data=False``: it logs
on with an Ed25519 key (else signs every request) and carries orders only -- futures account
events keep coming on the listenKey socket. A socket that drops with requests in flight fails
them at once as outcome-unknown (:class:`~tradeloop.core.errors.VenueError`, retryable): the
order lifecycle then looks the order up by client id instead of waiting out the timeout.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from tradeloop.core.errors import AuthError, RateLimited, VenueError
from tradeloop.core.log import get_logger
from tradeloop.venues.binance import constants as C
from tradeloop.venues.binance.auth import Credentials
from tradeloop.venues.binance.booksync import BinanceBookSync, Diff, SyncResult
from tradeloop.venues.binance.rest import WeightGate
from tradeloop.venues.wsclient import WsClient, WsConfig

log = get_logger(__name__)

WS_CONFIG = WsConfig(heartbeat_interval=20.0, ping_text=None, pong_text=None)
_dec = msgspec.json.Decoder()


class DepthUpdate(msgspec.Struct):
    """The fields of a ``depthUpdate`` the book needs (decoded without building dicts)."""

    s: str
    U: int
    u: int
    b: list[list[str]]
    a: list[list[str]]
    pu: int | None = None
    e: str = ""


_depth_dec = msgspec.json.Decoder(DepthUpdate)

Snapshot = Callable[[str], Awaitable[dict[str, Any]]]


class MarketStream:
    """One ``/ws`` connection: diff-depth books plus pass-through of other streams."""

    def __init__(
        self,
        url: str,
        snapshot: Snapshot,
        on_event: Callable[[dict[str, Any]], None],
        on_book: Callable[[str, BinanceBookSync, bool], None],
        on_status: Callable[[str, str], None],
        config: WsConfig = WS_CONFIG,
        futures: bool = False,
    ) -> None:
        self.snapshot = snapshot
        #: USD-M futures books: continuity by ``pu`` (:mod:`.booksync`)
        self.futures = futures
        self.on_event, self.on_book, self.on_status = on_event, on_book, on_status
        self.books: dict[str, BinanceBookSync] = {}
        self._ids = itertools.count(1)
        self._fetching: dict[str, asyncio.Task[None]] = {}
        self.client = WsClient(url, self._on_message, config=config, on_state=self._state,
                               name="binance-futures-stream" if futures
                               else "binance-stream")  # fmt: skip

    @property
    def connected(self) -> bool:
        return self.client.connected

    async def start(self) -> None:
        await self.client.start()

    async def stop(self) -> None:
        for t in self._fetching.values():
            t.cancel()
        await self.client.stop()

    def _msg(self, method: str, names: list[str]) -> str:
        return msgspec.json.encode(
            {"method": method, "params": names, "id": next(self._ids)}
        ).decode()

    async def subscribe(self, names: list[str]) -> None:
        for name in names:
            if "@depth" in name and name.endswith(("@depth", "@100ms")):
                sym = name.split("@")[0].upper()
                self.books.setdefault(sym, BinanceBookSync(sym, futures=self.futures))
            await self.client.subscribe(name, self._msg("SUBSCRIBE", [name]))
        for sym, book in self.books.items():
            if not book.synced:
                self._refetch(sym)

    async def unsubscribe(self, names: list[str]) -> None:
        for name in names:
            await self.client.unsubscribe(name, self._msg("UNSUBSCRIBE", [name]))
            if name.endswith(("@depth", "@depth@100ms")):
                self.books.pop(name.split("@")[0].upper(), None)

    def _state(self, status: str, detail: str) -> None:
        if status in ("connected", "reconnected"):
            for sym, book in self.books.items():  # whatever was missed: rebuild
                book.reset()
                self._refetch(sym)
        self.on_status(status, detail)

    def _refetch(self, sym: str) -> None:
        if sym in self._fetching and not self._fetching[sym].done():
            return
        self._fetching[sym] = asyncio.ensure_future(self._fetch(sym))

    async def _fetch(self, sym: str) -> None:
        for attempt in range(5):
            await asyncio.sleep(0.05 * attempt)  # let a few diffs buffer first
            book = self.books.get(sym)
            if book is None:
                return
            try:
                snap = await self.snapshot(sym)
            except VenueError as exc:
                log.warning("Binance %s snapshot failed: %s", sym, exc)
                continue
            r = book.on_snapshot(int(snap["lastUpdateId"]), snap["bids"], snap["asks"])
            if r is SyncResult.APPLIED:
                self.on_book(sym, book, True)  # the whole book, after the buffered diffs
                return
            log.info("Binance %s snapshot %s; fetching again", sym, r.value)
        self.on_status("resync", f"{sym}: no usable snapshot")

    def _on_message(self, text: str) -> None:
        if '"depthUpdate"' in text:
            d = _depth_dec.decode(text)
            book = self.books.get(d.s)
            if book is None:
                return
            r = book.on_diff(Diff(d.U, d.u, d.b, d.a, d.pu))
            if r is SyncResult.APPLIED:
                self.on_book(d.s, book, False)
            elif r is SyncResult.RESYNC:
                log.warning("Binance book %s", book.last_error)
                self.on_status("resync", book.last_error)
                self._refetch(d.s)
            return
        msg = _dec.decode(text)
        if isinstance(msg, dict) and "id" not in msg:
            self.on_event(msg)


class ApiSession:
    """The WS API connection (module docstring)."""

    def __init__(
        self,
        url: str,
        credentials: Credentials,
        now_ms: Callable[[], int],
        on_user_event: Callable[[dict[str, Any]], None],
        on_status: Callable[[str, str], None],
        config: WsConfig = WS_CONFIG,
        timeout: float = 10.0,
        *,
        user_data: bool = True,
        name: str = "binance-ws-api",
        gate: WeightGate | None = None,
    ) -> None:
        self.credentials = credentials
        self.now_ms = now_ms
        self.on_user_event = on_user_event
        self.on_status = on_status
        self.timeout = timeout
        #: subscribe to the user data stream after logon (spot); False: orders only (futures)
        self.user_data = user_data
        #: the REST client's weight gate for the same IP: every answer's ``rateLimits`` says
        #: the IP's weight this minute (shared with REST), a 429/418 shuts it
        self.gate = gate
        #: after ``session.logon``: requests carry only ``timestamp``
        self.logged_on = False
        self._ids = itertools.count(1)
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self.client = WsClient(url, self._on_message, config=config, on_connect=self._logon,
                               on_state=self._state, name=name)  # fmt: skip

    @property
    def connected(self) -> bool:
        return self.client.connected

    async def start(self, wait: float | None = None) -> None:
        await self.client.start(wait)

    async def stop(self) -> None:
        await self.client.stop()

    def _state(self, status: str, detail: str) -> None:
        if status == "disconnected":
            self.logged_on = False
            lost = VenueError("WS API connection lost before the answer", "network", True)
            for fut in list(self._pending.values()):
                if not fut.done():
                    fut.set_exception(lost)
        self.on_status(status, detail)

    async def _logon(self, client: WsClient) -> None:
        cred = self.credentials
        self.logged_on = False
        if cred.ed25519:
            await self._request(client, "session.logon", cred.signed_params({}, self.now_ms()))
            self.logged_on = True
            if self.user_data:
                await self._request(client, "userDataStream.subscribe", {})
        elif self.user_data:
            params = cred.signed_params({}, self.now_ms())
            await self._request(client, "userDataStream.subscribe.signature", params)

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        """A SIGNED request: after logon only ``timestamp`` is added, else a full signature."""
        if self.logged_on:
            p = dict(params, timestamp=self.now_ms())
        else:
            p = self.credentials.signed_params(params, self.now_ms())
        return await self._request(self.client, method, p)

    async def _request(self, client: WsClient, method: str, params: dict[str, Any]) -> Any:
        rid = f"tl{next(self._ids)}"
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[rid] = fut
        try:
            text = msgspec.json.encode({"id": rid, "method": method, "params": params}).decode()
            try:
                await client.send(text)
            except ConnectionError as exc:
                raise VenueError(f"{method}: not connected", "network", True) from exc
            try:
                msg = await asyncio.wait_for(fut, self.timeout)
            except TimeoutError:
                raise VenueError(
                    f"{method}: no answer in {self.timeout}s", "timeout", True
                ) from None
        finally:
            self._pending.pop(rid, None)
        self._observe(msg.get("rateLimits"))
        status = int(msg.get("status", 0))
        if status == 200:
            return msg.get("result")
        err = msg.get("error") or {}
        code, text = str(err.get("code", "")), f"{method}: {err.get('code')} {err.get('msg')}"
        if status in (418, 429):
            retry = (
                err.get("data", {}).get("retryAfter", 0) if isinstance(err.get("data"), dict) else 0
            )
            wait = max(0.0, (retry - self.now_ms()) / 1000) if retry else 1.0
            if self.gate is not None:
                self.gate.block(wait)
            raise RateLimited(text, code, wait)
        if status >= 500:
            raise VenueError(text, code, True)
        if code in (C.BAD_API_KEY, C.REJECTED_KEY, C.INVALID_SIGNATURE, "-4056", "-1002"):
            raise AuthError(text, code)
        raise VenueError(text, code)

    def _observe(self, limits: Any) -> None:
        if self.gate is None or not isinstance(limits, list):
            return
        for lim in limits:
            if isinstance(lim, dict) and lim.get("rateLimitType") == "REQUEST_WEIGHT":
                self.gate.observe(str(lim.get("count", "")))

    def _on_message(self, text: str) -> None:
        msg = _dec.decode(text)
        if not isinstance(msg, dict):
            return
        if "event" in msg:
            self.on_user_event(msg["event"])
            return
        fut = self._pending.get(str(msg.get("id")))
        if fut is not None and not fut.done():
            fut.set_result(msg)
        for fut in list(self._pending.values()) if msg.get("id") is None else ():
            if not fut.done():
                fut.set_result(msg)
