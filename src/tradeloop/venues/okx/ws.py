"""OKX v5 WebSocket streams on top of :class:`tradeloop.venues.wsclient.WsClient`.

One :class:`OkxStream` per socket (``/public``, ``/business`` for candles, ``/private`` for
orders/account/positions). It decodes frames with msgspec (typed structs for the hot ``books``
path), keeps an :class:`OkxBookSync` per instrument (keyed by instId) and turns pushes into
model events for an :class:`OkxStreamHandler`; events carry instrument ids (``BTC-USDT.OKX``),
the wire and :attr:`OkxStream.books` keep OKX's instIds. On a sequence gap or checksum mismatch
the book is re-synced by unsubscribing and re-subscribing that one channel, which makes OKX send
a fresh snapshot; other subscriptions are untouched. Private sockets log in (``on_connect``
hook) before every (re)subscribe, as OKX forgets logins with the connection.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import aiohttp
import msgspec

from tradeloop.book.okx_sync import OkxBookSync, SyncResult
from tradeloop.core.errors import AuthError, VenueError
from tradeloop.core.log import get_logger
from tradeloop.model import BookLevels, Event
from tradeloop.venues.okx import parse as P
from tradeloop.venues.okx.auth import OkxCredentials
from tradeloop.venues.okx.limits import ws_charges
from tradeloop.venues.okx.rest import okx_error
from tradeloop.venues.ratelimit import RateLimiter
from tradeloop.venues.stream import BookStream
from tradeloop.venues.wsclient import WsClient, WsConfig

log = get_logger(__name__)

#: OKX drops a socket after 30 s without data; ping well inside that (spec §2.5).
OKX_WS_CONFIG = WsConfig(heartbeat_interval=20.0, heartbeat_timeout=8.0)
MAX_SUBSCRIBE_BYTES = 60_000  # OKX limit is 64 KB per subscribe payload

BOOK_CHANNELS = frozenset({"books", "books-l2-tbt", "books50-l2-tbt"})
TOP_CHANNELS = frozenset({"bbo-tbt", "books5"})


class _Frame(msgspec.Struct):
    """Any OKX WS frame: an event ack/error or a data push (``data`` decoded lazily)."""

    event: str | None = None
    arg: dict[str, Any] | None = None
    action: str | None = None
    data: msgspec.Raw = msgspec.Raw()  # empty when absent (Raw cannot be Optional)
    code: str | None = None
    msg: str | None = None
    id: str | None = None
    op: str | None = None


class _BookItem(msgspec.Struct):
    asks: list[list[str]]
    bids: list[list[str]]
    ts: str = ""
    checksum: int | None = None
    prevSeqId: int | None = None
    seqId: int | None = None


class _TextLevel(msgspec.Struct, array_like=True, gc=False):
    """``[px, sz, "0", numOrders]`` → the two strings the checksum needs (the trailing
    elements are skipped by the decoder, which halves the strings allocated per level)."""

    px: str
    sz: str


class _TextBookItem(msgspec.Struct, gc=False):
    asks: list[_TextLevel]
    bids: list[_TextLevel]
    checksum: int | None = None
    prevSeqId: int | None = None
    seqId: int | None = None


class _BookArg(msgspec.Struct, gc=False):
    channel: str
    instId: str = ""


class _BookFrame(msgspec.Struct, gc=False):
    """A ``books`` push decoded in one pass (the hot path: no second decode of ``data``)."""

    arg: _BookArg
    data: list[_TextBookItem]
    action: str = "update"


_APPLIED = SyncResult.APPLIED
_BOOK_PREFIX = '{"arg":{"channel":"books'
_BOOKS5_PREFIX = '{"arg":{"channel":"books5"'
_frame_decoder = msgspec.json.Decoder(_Frame)
_book_frame_decoder = msgspec.json.Decoder(_BookFrame)
_book_decoder = msgspec.json.Decoder(list[_BookItem])
_rows_decoder = msgspec.json.Decoder(list[Any])
_encoder = msgspec.json.Encoder()


def _login_answer(text: str) -> bool:
    return '"event":"login"' in text or '"event":"error"' in text


def _login_refused(reply: str) -> AuthError | None:
    frame = _frame_decoder.decode(reply)
    if frame.event == "login" and frame.code in (None, "0"):
        return None
    return AuthError(f"OKX WS login failed: {frame.code} {frame.msg}", frame.code or "")


class OkxStreamHandler(Protocol):
    """Receiver of what an :class:`OkxStream` decodes."""

    def on_market_data(self, event: Event) -> None: ...

    def on_orders(self, items: list[dict[str, Any]]) -> None: ...

    def on_algo_orders(self, items: list[dict[str, Any]]) -> None: ...

    def on_account(self, channel: str, items: list[dict[str, Any]]) -> None: ...

    def on_status(self, status: str, detail: str) -> None: ...


def arg_key(arg: Mapping[str, Any]) -> str:
    """Stable key of a subscription arg (channel + whichever ids it carries)."""
    return "|".join(
        str(arg[k]) for k in ("channel", "instType", "instFamily", "instId", "ccy") if arg.get(k)
    )


def op_payload(op: str, args: list[Mapping[str, Any]], req_id: str | None = None) -> str:
    msg: dict[str, Any] = {"op": op, "args": args}
    if req_id is not None:
        msg = {"id": req_id, **msg}
    return _encoder.encode(msg).decode()


def batch_subscriptions(payloads: list[str]) -> list[str]:
    """Merge single-arg subscribe payloads into as few frames as fit OKX's 64 KB limit, so
    a resubscribe after reconnect costs one request, not one per channel (480/hour limit)."""
    out: list[str] = []
    args: list[Any] = []
    size = 0
    for p in payloads:
        for a in msgspec.json.decode(p)["args"]:
            n = len(_encoder.encode(a)) + 1
            if args and size + n > MAX_SUBSCRIBE_BYTES:
                out.append(op_payload("subscribe", args))
                args, size = [], 0
            args.append(a)
            size += n
    if args:
        out.append(op_payload("subscribe", args))
    return out


class OkxStream(BookStream[OkxBookSync]):
    """One OKX WebSocket (public, business or private) with book sync and login, on the kit's
    :class:`~tradeloop.venues.stream.BookStream` (socket lifecycle, stale books cleared on a
    drop, resync by re-subscription beside the reader)."""

    def __init__(
        self,
        url: str,
        handler: OkxStreamHandler,
        *,
        credentials: OkxCredentials | None = None,
        config: WsConfig = OKX_WS_CONFIG,
        session: aiohttp.ClientSession | None = None,
        now_ns: Callable[[], int] = time.time_ns,
        clock: Callable[[], float] = time.time,
        verify_checksum: bool = True,
        name: str = "",
        limiter: RateLimiter | None = None,
    ) -> None:
        #: Order ops pay this limiter (pass the REST client's: OKX shares the limits).
        self.limiter = limiter
        self.handler = handler
        self.credentials = credentials
        self.now_ns = now_ns
        self._clock = clock
        self.verify_checksum = verify_checksum
        #: instId -> instrument id, computed once per subscription (the book path reads it
        #: per message; a lookup, not a string build)
        self._symbols: dict[str, str] = {}
        self._ids = itertools.count(1)
        self._bars: dict[str, str] = {}  # candle channel -> bar
        self._book_channels: dict[str, str] = {}  # instId -> its book channel (for resyncs)
        super().__init__(
            url,
            handler.on_market_data,
            handler.on_status,
            config=config,
            login=self._login if credentials else None,
            name=name,
            batch_resubscribe=batch_subscriptions,
            session=session,
        )
        self.url = url

    async def _login(self, client: WsClient) -> None:
        assert self.credentials is not None
        payload = op_payload("login", [self.credentials.ws_login_args(self._clock())])
        await client.handshake([(payload, _login_answer)], _login_refused)

    # -- subscriptions --------------------------------------------------------------------
    async def subscribe(self, *args: Mapping[str, Any]) -> None:
        for arg in args:
            a = dict(arg)
            channel = str(a["channel"])
            if channel in BOOK_CHANNELS:
                inst = str(a["instId"])
                self.books.setdefault(inst, OkxBookSync(inst, verify=self.verify_checksum))
                self._symbols[inst] = P.symbol_id(inst)
                self._book_channels[inst] = channel
            if channel.startswith("candle"):
                self._bars[channel] = channel[len("candle") :]
            await self.client.subscribe(arg_key(a), op_payload("subscribe", [a]))

    async def subscribe_confirmed(self, arg: Mapping[str, Any], timeout: float = 10.0) -> None:
        """Subscribe and wait for OKX's answer (when connected): a refusal raises
        :class:`VenueError`, so a caller that needs the pushes knows it will not get them.
        The subscription is then kept and re-sent after reconnects like any other (keeping
        it sends it once more now; OKX acks a repeated subscription and changes nothing)."""
        a = dict(arg)
        if self.client.connected:
            req_id = str(next(self._ids))
            marker = f'"id":"{req_id}"'
            reply = await self.client.request(
                op_payload("subscribe", [a], req_id), lambda m: marker in m, timeout
            )
            frame = _frame_decoder.decode(reply)
            if frame.event == "error":
                raise okx_error(frame.code or "", frame.msg or "", f"subscribe {a['channel']}")
        await self.subscribe(a)

    async def unsubscribe(self, *args: Mapping[str, Any]) -> None:
        for arg in args:
            a = dict(arg)
            await self.client.unsubscribe(arg_key(a), op_payload("unsubscribe", [a]))
            if a["channel"] in BOOK_CHANNELS:
                self.books.pop(str(a.get("instId")), None)
                self._symbols.pop(str(a.get("instId")), None)
                self._book_channels.pop(str(a.get("instId")), None)

    async def resubscribe(self, key: str) -> None:
        """Fresh snapshot for one book (``key``: its instId): unsubscribe + subscribe that
        channel only; other subscriptions are untouched."""
        arg = {"channel": self._book_channels.get(key, "books"), "instId": key}
        await self.client.unsubscribe(arg_key(arg), op_payload("unsubscribe", [arg]))
        await self.client.subscribe(arg_key(arg), op_payload("subscribe", [arg]))

    async def send_op(self, op: str, args: list[Mapping[str, Any]], timeout: float = 10.0) -> Any:
        """WS order entry (``order``, ``cancel-order``, ``amend-order`` ...): send with an id
        and await the matching reply; returns its ``data``; raises on ``code`` != 0. Order
        ops first pay :attr:`limiter` exactly as their REST twins do."""
        if self.limiter is not None:
            await self.limiter.acquire_all(ws_charges(op, args))
        req_id = str(next(self._ids))
        marker = f'"id":"{req_id}"'
        reply = await self.client.request(
            op_payload(op, list(args), req_id), lambda m: marker in m, timeout
        )
        msg = msgspec.json.decode(reply)
        code = str(msg.get("code", "0"))
        if code not in ("0", "2"):
            data = msg.get("data") or []
            if data and str(data[0].get("sCode", "0")) != "0":
                raise okx_error(str(data[0]["sCode"]), str(data[0].get("sMsg", "")), op)
            raise okx_error(code, str(msg.get("msg", "")), op)
        return msg.get("data", [])

    # -- receive --------------------------------------------------------------------------
    def _on_text(self, text: str) -> None:
        # Hot path: a full-depth book push (books / books-l2-tbt / books50-l2-tbt) decoded in
        # one C pass; "books5" shares the prefix but is a top-of-book snapshot channel, so
        # anything not in BOOK_CHANNELS (or not shaped as expected) takes the generic path.
        if text.startswith(_BOOK_PREFIX) and not text.startswith(_BOOKS5_PREFIX):
            try:
                bf = _book_frame_decoder.decode(text)
            except msgspec.DecodeError:
                pass
            else:
                arg = bf.arg
                if arg.channel in BOOK_CHANNELS:
                    self._on_book_fast(arg.channel, arg.instId, bf.action, bf.data)
                    return
        try:
            frame = _frame_decoder.decode(text)
        except msgspec.DecodeError:
            log.warning("%s: undecodable frame %r", self.client.name, text[:120])
            return
        if frame.event is not None:
            self._on_event(frame)
            return
        if frame.arg is None or not frame.data:
            return
        channel = str(frame.arg.get("channel", ""))
        if channel in BOOK_CHANNELS:
            try:
                rows = _book_decoder.decode(frame.data)
            except msgspec.DecodeError as exc:
                log.warning("%s: bad %s push (%s)", self.client.name, channel, exc)
                return
            self._on_book(channel, frame.arg, frame.action or "update", rows)
        else:
            self._on_push(channel, frame)

    on_text = _on_text  # what the kit's client calls (no wrapper on the hot path)

    def _on_event(self, frame: _Frame) -> None:
        if frame.event == "error":
            log.warning("%s: OKX error %s %s", self.client.name, frame.code, frame.msg)
            self.handler.on_status("error", f"{frame.code} {frame.msg}")
        elif frame.event == "notice":
            log.warning("%s: OKX notice %s %s", self.client.name, frame.code, frame.msg)
            self.handler.on_status("notice", f"{frame.code} {frame.msg}")

    def _on_book_fast(
        self, channel: str, inst: str, action: str, items: list[_TextBookItem]
    ) -> None:
        """The hot path: msgspec decodes the level text; the book side parses each number
        once while applying it and hands back the floats the event carries."""
        sync = self.books.get(inst)
        if sync is None:
            return  # unsubscribed meanwhile
        sym = self._symbols.get(inst) or P.symbol_id(inst)
        now = self.now_ns()
        snapshot = action == "snapshot"
        for item in items:
            res = sync.apply(
                action, item.bids, item.asks, item.checksum, item.prevSeqId, item.seqId
            )
            if res is _APPLIED:
                fb, fa = sync.last_levels
                # Positional: BookLevels(ts, symbol, bids, asks, snapshot, sequence).
                self.handler.on_market_data(BookLevels(now, sym, fb, fa, snapshot, item.seqId or 0))
            elif res is SyncResult.RESYNC:
                self.resync_later(inst, sync.last_error)
                return

    def _on_book(
        self, channel: str, arg: dict[str, Any], action: str, items: list[_BookItem]
    ) -> None:
        """Generic path (frames the fast decoder did not accept)."""
        inst = str(arg.get("instId", ""))
        sync = self.books.get(inst)
        if sync is None:
            return  # unsubscribed meanwhile
        now = self.now_ns()
        for item in items:
            res = sync.apply(
                action, item.bids, item.asks, item.checksum, item.prevSeqId, item.seqId
            )
            if res is SyncResult.APPLIED:
                fb, fa = sync.last_levels
                self.handler.on_market_data(
                    BookLevels(
                        ts=now,
                        symbol=P.symbol_id(inst),
                        bids=fb,
                        asks=fa,
                        snapshot=action == "snapshot",
                        sequence=item.seqId or 0,
                    )
                )
            elif res is SyncResult.RESYNC:
                self.resync_later(inst, sync.last_error)
                return

    def _on_push(self, channel: str, frame: _Frame) -> None:
        assert frame.arg is not None
        now = self.now_ns()
        emit = self.handler.on_market_data
        try:
            data = _rows_decoder.decode(frame.data)  # not a list: one warning line below
            if channel == "trades" or channel == "trades-all":
                for d in data:
                    emit(P.parse_trade(d, now))
            elif channel == "tickers":
                for d in data:
                    emit(P.parse_ticker(d, now))
            elif channel in TOP_CHANNELS:
                sym = P.symbol_id(str(frame.arg.get("instId", "")))
                for d in data:
                    emit(P.parse_bbo(sym, d, now))
            elif channel.startswith("candle"):
                sym = P.symbol_id(str(frame.arg.get("instId", "")))
                bar = self._bars.get(channel, channel[len("candle") :])
                for row in data:
                    b = P.parse_candle(sym, row, bar)
                    if b is not None:
                        emit(b)
            elif channel == "orders":
                self.handler.on_orders(data)
            elif channel == "orders-algo":
                self.handler.on_algo_orders(data)
            elif channel in ("account", "positions", "balance_and_position"):
                self.handler.on_account(channel, data)
        except (KeyError, ValueError, TypeError, IndexError, VenueError,
                msgspec.DecodeError) as exc:  # fmt: skip
            log.warning(
                "%s: bad %s push (%s): %r", self.client.name, channel, exc, bytes(frame.data)[:200]
            )
