"""FTX WebSocket (``/ws/``) on the kit's :class:`~tradeloop.venues.wsclient.WsClient`.

The gateway opens one public stream (market data) and, when keyed, one private stream
(``fills``, ``orders``). What FTX needs beyond the kit's client:

* ``{"op": "ping"}`` every 15 s whether or not data flows (the kit's ``ping_always``);
* login on every (re)connect. FTX answers a good login with nothing, so the login hook sends
  the private subscriptions itself and awaits their acks: a refused login shows up as an
  error instead, raised as :class:`AuthError`;
* ``orderbook``: a ``partial`` of the top 100 levels per side, then ``update``s, each carrying
  the unsigned CRC32 of ``bid1:size:ask1:size:bid2:...`` (Python float notation).
  :class:`FtxBook` is the kit's :class:`~tradeloop.book.topn.TopNBookSync` with those
  parameters; FTX has no sequence numbers, so a mismatch is how a lost update shows, and the
  cure is a fresh partial: unsubscribe + subscribe that one market.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

import msgspec

from tradeloop.book.okx_sync import SyncResult
from tradeloop.book.topn import TopNBookSync
from tradeloop.core.errors import AuthError
from tradeloop.core.log import get_logger
from tradeloop.model import BookLevels, Event
from tradeloop.venues.ftx import constants as C
from tradeloop.venues.ftx import parse as P
from tradeloop.venues.ftx.auth import FtxCredentials
from tradeloop.venues.wsclient import WsClient, WsConfig

log = get_logger(__name__)

PING = '{"op":"ping"}'
FTX_WS_CONFIG = WsConfig(heartbeat_interval=C.PING_INTERVAL, heartbeat_timeout=10.0,
                         ping_text=PING, pong_text='{"type":"pong"}', ping_always=True)  # fmt: skip
PRIVATE = ("fills", "orders")
RESTARTING = 20001  # an ``info`` code: the server restarts, reconnect now


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


class FtxBook(TopNBookSync):
    """One market's copy of FTX's top-100 book (unsigned CRC32, Python float notation)."""

    def __init__(self, market: str) -> None:
        super().__init__(market, C.BOOK_DEPTH, signed=False, snapshot="partial", text=P.text)


class FtxStream:
    """One FTX socket: subscriptions, books, and (with credentials) login + private channels."""

    def __init__(self, url: str, handler: FtxStreamHandler, *,
                 credentials: FtxCredentials | None = None, config: WsConfig = FTX_WS_CONFIG,
                 now_ns: Callable[[], int] = time.time_ns, name: str = "") -> None:  # fmt: skip
        self.url, self.handler, self.credentials, self.now_ns = url, handler, credentials, now_ns
        self.books: dict[str, FtxBook] = {}
        self.resyncs = 0
        self.client = WsClient(url, self._on_text, config=config, name=name or url,
                               on_connect=self._login if credentials else None,
                               on_state=self._on_state)  # fmt: skip

    async def start(self, wait: float | None = 10.0) -> None:
        await self.client.start(wait)

    async def stop(self) -> None:
        await self.client.stop()

    @property
    def connected(self) -> bool:
        return self.client.connected

    async def _login(self, client: WsClient) -> None:
        assert self.credentials is not None
        await client.send(op("login", args=self.credentials.ws_login()))
        for channel in PRIVATE:

            def answer(text: str, ch: str = channel) -> bool:
                return '"error"' in text or ('"subscribed"' in text and f'"{ch}"' in text)

            reply = await client.request(op("subscribe", channel=channel), answer, 10.0)
            if '"error"' in reply:
                msg = _frame.decode(reply).msg
                raise AuthError(f"FTX WS login refused: {msg}", msg)
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
        payload = op("subscribe", channel=channel, market=market)
        await self.client.subscribe(f"{channel}|{market}", payload)

    async def unsubscribe(self, channel: str, market: str, keep_book: bool = False) -> None:
        payload = op("unsubscribe", channel=channel, market=market)
        await self.client.unsubscribe(f"{channel}|{market}", payload)
        if channel == "orderbook" and not keep_book:
            self.books.pop(market, None)

    async def resync_book(self, market: str) -> None:
        """A fresh partial for one market: unsubscribe + subscribe its orderbook only."""
        self.resyncs += 1
        await self.unsubscribe("orderbook", market, keep_book=True)
        await self.subscribe("orderbook", market)

    # -- receive --------------------------------------------------------------------------
    def _on_text(self, text: str) -> None:
        try:
            frame = _frame.decode(text)
            if frame.type in ("partial", "update") and frame.data:
                self._on_data(frame)
        except (KeyError, ValueError, TypeError, msgspec.DecodeError) as exc:
            log.warning("%s: bad frame (%s): %r", self.client.name, exc, text[:200])
            return
        if frame.type == "error":
            log.warning("%s: FTX error %s %s", self.client.name, frame.code, frame.msg)
            self.handler.on_status(self, "error", f"{frame.code} {frame.msg}")
        elif frame.type == "info" and frame.code == RESTARTING:
            log.warning("%s: FTX restarting (%s); reconnecting", self.client.name, frame.msg)
            self.client.spawn(self.client.drop())

    def _on_data(self, frame: _Frame) -> None:
        channel, market, now = frame.channel, frame.market, self.now_ns()
        if channel == "orderbook":
            self._on_book(market, _book.decode(frame.data), now)
        elif channel == "trades":
            for d in _any.decode(frame.data):
                self.handler.on_market_data(P.parse_trade(P.symbol_id(market), d, now))
        elif channel == "ticker":
            d = _any.decode(frame.data)
            self.handler.on_market_data(P.parse_ticker(P.symbol_id(market), d, now))
        elif channel in PRIVATE:
            self.handler.on_private(channel, _any.decode(frame.data))

    def _on_book(self, market: str, data: _BookData, now: int) -> None:
        book = self.books.get(market)
        if book is None:
            return  # unsubscribed meanwhile
        res = book.apply(data)
        if res is SyncResult.APPLIED:
            bids, asks = book.last_levels
            snap = data.action == "partial"
            self.handler.on_market_data(BookLevels(now, P.symbol_id(market), bids, asks, snap))
        elif res is SyncResult.RESYNC:
            log.warning("%s: %s; resubscribing", self.client.name, book.last_error)
            self.handler.on_status(self, "resync", book.last_error)
            self.client.spawn(self.resync_book(market))
