"""FTX WebSocket (``/ws/``) on top of :class:`tradeloop.venues.wsclient.WsClient`.

One :class:`FtxStream` per socket: the gateway opens a public one for market data and, when
keyed, a private one for ``fills`` and ``orders``. What FTX needs beyond the kit's client:

* a ``{"op": "ping"}`` every 15 s whether or not data flows (the kit's heartbeat pings only an
  idle socket; FTX asks for regular pings);
* login on every (re)connect, then the private channels. FTX answers a good login with
  nothing, so the private subscriptions are sent from the login hook and their acks awaited:
  a refused login shows up as an error instead of a ``subscribed`` — an :class:`AuthError`;
* ``orderbook``: a ``partial`` of the top 100 levels per side, then ``update``s, each with the
  unsigned CRC32 of the top 100 levels interleaved (``bid:size:ask:size:...``, numbers in
  Python's float notation). :class:`FtxBook` keeps that text in the kit's
  :class:`~tradeloop.book.orderbook.OrderBook` and checks every message; on a mismatch the
  market is unsubscribed and subscribed again, which brings a fresh partial (FTX has no
  sequence numbers: the checksum is the only way to notice a lost update).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any, Protocol

import msgspec

from tradeloop.book.okx_sync import SyncResult
from tradeloop.book.orderbook import FloatLevels, OrderBook
from tradeloop.core.errors import AuthError
from tradeloop.core.log import get_logger
from tradeloop.model import BookLevels, Event
from tradeloop.venues.ftx import constants as C
from tradeloop.venues.ftx import parse as P
from tradeloop.venues.ftx.auth import FtxCredentials
from tradeloop.venues.wsclient import WsClient, WsConfig

log = get_logger(__name__)

PING: str = '{"op":"ping"}'
FTX_WS_CONFIG = WsConfig(heartbeat_interval=C.PING_INTERVAL, heartbeat_timeout=10.0,
                         ping_text=PING, pong_text='{"type":"pong"}')  # fmt: skip
PRIVATE_CHANNELS = ("fills", "orders")
#: FTX ``info`` code announcing a restart: reconnect now rather than wait for the close.
RESTARTING = 20001


class _Frame(msgspec.Struct):
    type: str = ""
    channel: str = ""
    market: str = ""
    data: msgspec.Raw = msgspec.Raw()
    code: int | None = None
    msg: str = ""


class _BookData(msgspec.Struct):
    bids: list[tuple[float, float]]
    asks: list[tuple[float, float]]
    action: str = "update"
    checksum: int | None = None


_frame = msgspec.json.Decoder(_Frame)
_book = msgspec.json.Decoder(_BookData)
_any = msgspec.json.Decoder()
_enc = msgspec.json.Encoder()


def op(name: str, **fields: Any) -> str:
    return _enc.encode({"op": name, **fields}).decode()


class FtxStreamHandler(Protocol):
    def on_market_data(self, event: Event) -> None: ...

    def on_private(self, channel: str, data: dict[str, Any]) -> None: ...

    def on_status(self, stream: FtxStream, status: str, detail: str) -> None: ...


class FtxBook:
    """One market's copy of FTX's top-100 book, checked against every message's checksum."""

    def __init__(self, market: str) -> None:
        self.book = OrderBook(market)
        self.synced = False
        self.checksums_ok = 0
        self.resyncs = 0
        self.last_error = ""
        self.last_levels: FloatLevels = ([], [])

    def reset(self) -> None:
        self.book.clear()
        self.synced = False

    def checksum(self) -> int:
        """FTX's value: the kit computes OKX's interleaving, signed; FTX sends it unsigned
        over 100 levels."""
        return self.book.okx_checksum(C.BOOK_DEPTH) & 0xFFFFFFFF

    def apply(self, data: _BookData) -> SyncResult:
        bids = [(P.text(p), P.text(s)) for p, s in data.bids]
        asks = [(P.text(p), P.text(s)) for p, s in data.asks]
        try:
            if data.action == "partial":
                self.last_levels = self.book.apply_snapshot(bids, asks)
                self.synced = True
            elif not self.synced:
                return SyncResult.IGNORED  # an update of the old subscription: wait for a partial
            else:
                self.last_levels = self.book.apply_deltas(bids, asks)
        except (ValueError, TypeError) as exc:
            return self._fail(f"malformed level ({exc})")
        if data.checksum is not None:
            local = self.checksum()
            if local != data.checksum:
                return self._fail(f"checksum mismatch (local {local} != FTX {data.checksum})")
            self.checksums_ok += 1
        return SyncResult.APPLIED

    def _fail(self, why: str) -> SyncResult:
        self.last_error = f"{self.book.symbol}: {why}"
        self.resyncs += 1
        self.reset()
        return SyncResult.RESYNC


class FtxStream:
    """One FTX WebSocket with book sync and (given credentials) login + private channels."""

    def __init__(
        self,
        url: str,
        handler: FtxStreamHandler,
        *,
        credentials: FtxCredentials | None = None,
        config: WsConfig = FTX_WS_CONFIG,
        now_ns: Callable[[], int] = time.time_ns,
        name: str = "",
    ) -> None:
        self.url = url
        self.handler = handler
        self.credentials = credentials
        self.now_ns = now_ns
        self.books: dict[str, FtxBook] = {}
        self.resyncs = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._pinger: asyncio.Task[None] | None = None
        self.client = WsClient(
            url,
            self._on_text,
            config=config,
            on_connect=self._login if credentials else None,
            on_state=self._on_state,
            name=name or url,
        )

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self, wait: float | None = 10.0) -> None:
        if self._pinger is None:
            self._pinger = asyncio.create_task(self._ping(), name=f"ping:{self.client.name}")
        await self.client.start(wait)

    async def stop(self) -> None:
        for task in [self._pinger, *self._tasks]:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._pinger = None
        await self.client.stop()

    @property
    def connected(self) -> bool:
        return self.client.connected

    async def _ping(self) -> None:
        while True:
            await asyncio.sleep(C.PING_INTERVAL)
            if self.client.connected:
                with contextlib.suppress(ConnectionError):
                    await self.client.send(PING)

    async def _login(self, client: WsClient) -> None:
        assert self.credentials is not None
        await client.send(op("login", args=self.credentials.ws_login()))
        for channel in PRIVATE_CHANNELS:
            reply = _frame.decode(
                await client.request(op("subscribe", channel=channel), _ack(channel), 10.0)
            )
            if reply.type == "error":
                raise AuthError(f"FTX WS login refused: {reply.msg}", reply.msg)
        log.info("%s: logged in", client.name)

    def _on_state(self, status: str, detail: str) -> None:
        if status == "disconnected":
            for book in self.books.values():
                book.reset()  # stale from here on; the resubscribe brings partials
        self.handler.on_status(self, status, detail)

    # -- subscriptions --------------------------------------------------------------------
    async def subscribe(self, channel: str, market: str) -> None:
        if channel == "orderbook":
            self.books.setdefault(market, FtxBook(market))
        await self.client.subscribe(f"{channel}|{market}", op("subscribe", channel=channel,
                                                                market=market))  # fmt: skip

    async def unsubscribe(self, channel: str, market: str) -> None:
        payload = op("unsubscribe", channel=channel, market=market)
        await self.client.unsubscribe(f"{channel}|{market}", payload)
        if channel == "orderbook":
            self.books.pop(market, None)

    async def resync_book(self, market: str) -> None:
        """A fresh partial for one market: unsubscribe + subscribe its orderbook only."""
        self.resyncs += 1
        book = self.books.get(market)
        if book is not None:
            book.reset()
        await self.client.unsubscribe(f"orderbook|{market}", op("unsubscribe",
                                      channel="orderbook", market=market))  # fmt: skip
        await self.subscribe("orderbook", market)

    # -- receive --------------------------------------------------------------------------
    def _on_text(self, text: str) -> None:
        try:
            frame = _frame.decode(text)
        except msgspec.DecodeError:
            log.warning("%s: undecodable frame %r", self.client.name, text[:120])
            return
        kind = frame.type
        if kind in ("partial", "update") and frame.data:
            try:
                self._on_data(frame)
            except (KeyError, ValueError, TypeError, msgspec.DecodeError) as exc:
                log.warning("%s: bad %s push (%s): %r", self.client.name, frame.channel, exc,
                            text[:200])  # fmt: skip
        elif kind == "error":
            log.warning("%s: FTX error %s %s", self.client.name, frame.code, frame.msg)
            self.handler.on_status(self, "error", f"{frame.code} {frame.msg}")
        elif kind == "info":
            log.warning("%s: FTX info %s %s", self.client.name, frame.code, frame.msg)
            if frame.code == RESTARTING:
                self._later(self.client.drop())

    def _on_data(self, frame: _Frame) -> None:
        channel, market, emit = frame.channel, frame.market, self.handler.on_market_data
        now = self.now_ns()
        if channel == "orderbook":
            self._on_book(market, _book.decode(frame.data), now)
        elif channel == "trades":
            sym = P.symbol_id(market)
            for d in _any.decode(frame.data):
                emit(P.parse_trade(sym, d, now))
        elif channel == "ticker":
            emit(P.parse_ticker(P.symbol_id(market), _any.decode(frame.data), now))
        elif channel in PRIVATE_CHANNELS:
            self.handler.on_private(channel, _any.decode(frame.data))

    def _on_book(self, market: str, data: _BookData, now: int) -> None:
        book = self.books.get(market)
        if book is None:
            return  # unsubscribed meanwhile
        res = book.apply(data)
        if res is SyncResult.APPLIED:
            bids, asks = book.last_levels
            snapshot = data.action == "partial"
            self.handler.on_market_data(BookLevels(now, P.symbol_id(market), bids, asks, snapshot))
        elif res is SyncResult.RESYNC:
            log.warning("%s: %s; resubscribing", self.client.name, book.last_error)
            self.handler.on_status(self, "resync", book.last_error)
            self._later(self.resync_book(market))

    def _later(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _ack(channel: str) -> Callable[[str], bool]:
    """Matches the answer to a private subscribe: its ``subscribed`` ack, or an error."""

    def match(text: str) -> bool:
        try:
            d = _any.decode(text)
        except msgspec.DecodeError:
            return False
        if not isinstance(d, dict):
            return False
        return d.get("type") == "error" or (
            d.get("type") == "subscribed" and d.get("channel") == channel
        )

    return match
