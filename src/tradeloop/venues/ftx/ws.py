"""FTX WebSocket (``/ws/``) on the kit's :class:`~tradeloop.venues.stream.BookStream`.

The gateway opens one public stream (market data) and, when keyed, one private stream
(``fills``, ``orders``). What FTX needs beyond the kit:

* ``{"op": "ping"}`` every 15 s whether or not data flows (the kit's ``ping_always``);
* login on every (re)connect. FTX answers a good login with nothing, so the handshake sends
  the private subscriptions after it and awaits their acks: a refused login shows up as an
  error instead, raised as :class:`AuthError`;
* ``orderbook``: a ``partial`` of the top 100 levels per side, then ``update``s, each carrying
  the unsigned CRC32 of ``bid1:size:ask1:size:bid2:...`` (Python float notation) -- the kit's
  :class:`~tradeloop.book.topn.TopNBookSync` with those parameters (:func:`ftx_book`). FTX has
  no sequence numbers, so a mismatch is how a lost update shows, and the cure is a fresh
  partial: unsubscribe + subscribe that one market.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import msgspec

from tradeloop.book.topn import TopNBookSync
from tradeloop.core.errors import AuthError
from tradeloop.core.log import get_logger
from tradeloop.model import Event
from tradeloop.venues.ftx import constants as C
from tradeloop.venues.ftx import parse as P
from tradeloop.venues.ftx.auth import FtxCredentials
from tradeloop.venues.stream import BookStream
from tradeloop.venues.wsclient import WsClient, WsConfig

log = get_logger(__name__)

PING, PONG = '{"op":"ping"}', '{"type":"pong"}'
FTX_WS_CONFIG = WsConfig(C.PING_INTERVAL, 10.0, PING, PONG, ping_always=True)
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


def ftx_book(market: str) -> TopNBookSync:
    """One market's copy of FTX's top-100 book (unsigned CRC32, Python float notation)."""
    return TopNBookSync(market, C.BOOK_DEPTH, signed=False, snapshot="partial", text=P.text)


def _answer(channel: str) -> Callable[[str], bool]:
    """The reply to a private subscribe: its ack, or the error a refused login causes."""
    return lambda t: '"error"' in t or ('"subscribed"' in t and f'"{channel}"' in t)


def _refused(reply: str) -> AuthError | None:
    msg = _frame.decode(reply).msg if '"error"' in reply else None
    return None if msg is None else AuthError(f"FTX WS login refused: {msg}", msg)


class FtxStream(BookStream[TopNBookSync]):
    """One FTX socket: subscriptions, books, and (with credentials) login + private channels;
    private pushes go to ``on_private(channel, data)``."""

    def __init__(
        self,
        url: str,
        emit: Callable[[Event], None],
        status: Callable[[str, str], None],
        on_private: Callable[[str, dict[str, Any]], None],
        *,
        credentials: FtxCredentials | None = None,
        config: WsConfig = FTX_WS_CONFIG,
        now_ns: Callable[[], int] = time.time_ns,
        name: str = "",
    ) -> None:
        self.credentials, self.now_ns, self.on_private = credentials, now_ns, on_private
        login = self._login if credentials else None
        super().__init__(url, emit, status, config=config, login=login, name=name)

    async def _login(self, client: WsClient) -> None:
        assert self.credentials is not None
        subs = [(op("subscribe", channel=ch), _answer(ch)) for ch in PRIVATE]
        await client.handshake([op("login", args=self.credentials.ws_login()), *subs], _refused)

    # -- subscriptions --------------------------------------------------------------------
    async def subscribe(self, channel: str, market: str) -> None:
        if channel == "orderbook":
            self.books.setdefault(market, ftx_book(market))
        payload = op("subscribe", channel=channel, market=market)
        await self.client.subscribe(f"{channel}|{market}", payload)

    async def unsubscribe(self, channel: str, market: str, keep_book: bool = False) -> None:
        payload = op("unsubscribe", channel=channel, market=market)
        await self.client.unsubscribe(f"{channel}|{market}", payload)
        if channel == "orderbook" and not keep_book:
            self.books.pop(market, None)

    async def resubscribe(self, key: str) -> None:
        """A fresh partial for one market: unsubscribe + subscribe its orderbook only."""
        await self.unsubscribe("orderbook", key, keep_book=True)
        await self.subscribe("orderbook", key)

    # -- receive --------------------------------------------------------------------------
    def on_text(self, text: str) -> None:
        try:
            frame = _frame.decode(text)
            if frame.type in ("partial", "update") and frame.data:
                self._on_data(frame)
        except (KeyError, ValueError, TypeError, msgspec.DecodeError) as exc:
            log.warning("%s: bad frame (%s): %r", self.client.name, exc, text[:200])
            return
        if frame.type == "error":
            log.warning("%s: FTX error %s %s", self.client.name, frame.code, frame.msg)
            self.status("error", f"{frame.code} {frame.msg}")
        elif frame.type == "info" and frame.code == RESTARTING:
            log.warning("%s: FTX restarting (%s); reconnecting", self.client.name, frame.msg)
            self.client.spawn(self.client.drop())

    def _on_data(self, frame: _Frame) -> None:
        channel, market, now = frame.channel, frame.market, self.now_ns()
        if channel == "orderbook":
            self.on_book(market, P.symbol_id(market), _book.decode(frame.data), now)
        elif channel == "trades":
            for d in _any.decode(frame.data):
                self.emit(P.parse_trade(P.symbol_id(market), d, now))
        elif channel == "ticker":
            self.emit(P.parse_ticker(P.symbol_id(market), _any.decode(frame.data), now))
        elif channel in PRIVATE:
            self.on_private(channel, _any.decode(frame.data))
