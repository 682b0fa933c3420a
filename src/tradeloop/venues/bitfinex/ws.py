"""Bitfinex WebSocket v2 (``/ws/2``) on the kit's :class:`~tradeloop.venues.wsclient.WsClient`.

One socket per stream: public (market data) and, when keyed, an authenticated one that carries
the account (channel 0) *and our orders* -- ``[0, "on", null, {...}]`` answered by an ``n``
notification, as the seed script trades. What Bitfinex needs beyond the kit's client:

* on every (re)connect: ``conf`` with SEQ_ALL + OB_CHECKSUM, then (private) ``auth`` with the
  dead-man switch (``dms: 4``: if this socket dies, Bitfinex cancels our orders -- no order is
  left working that nobody watches); a FAILED auth raises :class:`AuthError`;
* channel ids come from the ``subscribed`` acks and are new after every reconnect;
* SEQ_ALL: every array carries the connection's message counter; a gap means a message was
  lost and nothing derived from the stream can be trusted, so the socket is dropped (the
  reconnect resubscribes: fresh snapshots; the gateway reconciles orders);
* books: every ``cs`` is checked (:mod:`.book`); a mismatch resubscribes that book only;
* ``info`` 20051 (restart): reconnect now; 20061 (maintenance over): reconnect to resubscribe.

Number text is kept as received (``msgspec.Raw``) for the checksums.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any, NamedTuple, Protocol

import msgspec

from tradeloop.book.okx_sync import SyncResult
from tradeloop.core.errors import AuthError, RateLimited, VenueError
from tradeloop.core.log import get_logger
from tradeloop.model import BookLevels, Event
from tradeloop.venues.bitfinex import constants as C
from tradeloop.venues.bitfinex import parse as P
from tradeloop.venues.bitfinex.auth import BitfinexCredentials
from tradeloop.venues.bitfinex.book import BitfinexBook
from tradeloop.venues.http import UnknownOutcome
from tradeloop.venues.stream import BookStream
from tradeloop.venues.wsclient import WsClient, WsConfig

log = get_logger(__name__)

BFX_WS_CONFIG = WsConfig(heartbeat_interval=20.0, heartbeat_timeout=10.0,
                         ping_text='{"event":"ping","cid":0}', pong_text=None)  # fmt: skip
_top = msgspec.json.Decoder(list[msgspec.Raw])
_any = msgspec.json.Decoder()
_enc = msgspec.json.Encoder()


class Frame(NamedTuple):
    chan: int
    kind: str  # "data" (snapshot or update), "hb", "cs", "te", "tu", or a channel-0 event
    data: msgspec.Raw | None
    seq: int | None


def decode_frame(text: str) -> Frame | None:
    """An array message split into (channel, kind, data, sequence); None for events."""
    if not text.startswith("["):
        return None
    parts = _top.decode(text)
    chan = int(bytes(parts[0]))
    second = bytes(parts[1])
    if second[:1] == b'"':
        kind, data, rest = second[1:-1].decode(), (parts[2] if len(parts) > 2 else None), parts[3:]
        if kind == "hb":
            data, rest = None, parts[2:]
    else:
        kind, data, rest = "data", parts[1], parts[2:]
    seq = int(bytes(rest[0])) if rest and bytes(rest[0]) != b"null" else None
    return Frame(chan, kind, data, seq)


def texts(raw: msgspec.Raw) -> list[Any]:
    """Rows of numbers as their text: ``[[1.5,2,-0.1]]`` -> ``[["1.5","2","-0.1"]]``."""
    doc = _any.decode(raw)
    if doc and isinstance(doc[0], list):
        return [[_num(x) for x in row] for row in _top_rows(raw)]
    return [[_num(x) for x in _top.decode(raw)]]


def _top_rows(raw: msgspec.Raw) -> list[list[msgspec.Raw]]:
    return msgspec.json.decode(raw, type=list[list[msgspec.Raw]])


def _num(x: Any) -> str:
    return bytes(x).decode() if isinstance(x, msgspec.Raw) else str(x)


class StreamHandler(Protocol):
    def on_market_data(self, event: Event) -> None: ...

    def on_private(self, kind: str, data: Any) -> None: ...

    def on_status(self, stream: BitfinexStream, status: str, detail: str) -> None: ...


class BitfinexStream(BookStream[BitfinexBook]):
    """One Bitfinex socket (see the module docstring): the kit's
    :class:`~tradeloop.venues.stream.BookStream` (books by symbol, cleared on a drop, one book
    re-subscribed when its checksum fails) with Bitfinex's conf/auth, channel ids, sequence
    check and channel-0 order entry."""

    def __init__(self, url: str, handler: StreamHandler, *,
                 credentials: BitfinexCredentials | None = None, dms: int | None = C.DMS,
                 config: WsConfig = BFX_WS_CONFIG, now_ns: Callable[[], int] = time.time_ns,
                 name: str = "", op_timeout: float = 10.0) -> None:  # fmt: skip
        super().__init__(url, handler.on_market_data, partial(handler.on_status, self),
                         config=config, login=self._setup, name=name)  # fmt: skip
        self.url, self.handler, self.credentials, self.dms = url, handler, credentials, dms
        self.op_timeout = op_timeout  # how long a channel-0 request waits for its ``n``
        self.now_ns = now_ns
        self.channels: dict[int, tuple[str, str]] = {}  # chanId -> (channel, symbol)
        self.gaps = 0
        self._seq: int | None = None
        self._op_lock = asyncio.Lock()

    async def _setup(self, client: WsClient) -> None:
        self._seq = None
        self.channels.clear()
        await client.request(_enc.encode({"event": "conf", "flags": C.CONF_FLAGS}).decode(),
                             lambda t: '"conf"' in t, 10.0)  # fmt: skip
        if self.credentials is None:
            return
        # the open-orders snapshot follows the ack: wait for it too (listening before the auth
        # goes out), so an order placed right after start is checked against what is
        # already working under its cid
        snapshot = asyncio.ensure_future(
            client.request(None, lambda t: t.startswith('[0,"os"'), 10.0)
        )
        await asyncio.sleep(0)
        try:
            reply = await client.request(
                _enc.encode(self.credentials.ws_auth(self.dms)).decode(),
                lambda t: '"event":"auth"' in t, 10.0)  # fmt: skip
            doc = _any.decode(reply)
            if doc.get("status") != "OK":
                why = f"Bitfinex WS auth refused: {doc.get('msg')}"
                raise AuthError(why, str(doc.get("code")))
            with contextlib.suppress(TimeoutError, ConnectionError):
                await snapshot
        finally:
            snapshot.cancel()
        log.info("%s: authenticated (dms %s)", client.name, self.dms)

    # -- subscriptions --------------------------------------------------------------------
    @staticmethod
    def _key(channel: str, symbol: str) -> str:
        return f"{channel}|{symbol}"

    async def subscribe(self, channel: str, symbol: str) -> None:
        req: dict[str, Any] = {"event": "subscribe", "channel": channel, "symbol": symbol}
        if channel == "book":
            self.books.setdefault(symbol, BitfinexBook(symbol))
            req.update(prec="P0", freq="F0", len=C.BOOK_LEN)
        await self.client.subscribe(self._key(channel, symbol), _enc.encode(req).decode())

    async def unsubscribe(self, channel: str, symbol: str, keep_book: bool = False) -> None:
        chan = next((c for c, v in self.channels.items() if v == (channel, symbol)), None)
        payload = None if chan is None else _enc.encode(
            {"event": "unsubscribe", "chanId": chan}).decode()  # fmt: skip
        await self.client.unsubscribe(self._key(channel, symbol), payload)
        if chan is not None:
            self.channels.pop(chan, None)
        if channel == "book" and not keep_book:
            self.books.pop(symbol, None)

    async def resubscribe(self, key: str) -> None:
        """A fresh snapshot for one book (``key``: its symbol): unsubscribe + subscribe it."""
        await self.unsubscribe("book", key, keep_book=True)
        await self.subscribe("book", key)

    # -- receive --------------------------------------------------------------------------
    def on_text(self, text: str) -> None:
        try:
            frame = decode_frame(text)
            if frame is None:
                return self._on_event(_any.decode(text))
            if frame.seq is not None:
                if self._seq is not None and frame.seq != self._seq + 1:
                    return self._gap(frame.seq)
                self._seq = frame.seq
            if frame.chan == 0:
                if frame.kind != "hb":
                    self.handler.on_private(frame.kind, _any.decode(frame.data or b"null"))
                return None
            self._on_channel(frame)
        except (KeyError, ValueError, TypeError, IndexError, msgspec.DecodeError) as exc:
            log.warning("%s: bad message (%s): %r", self.client.name, exc, text[:200])
        return None

    _on_text = on_text  # the name the ingest bench calls

    def _gap(self, seq: int) -> None:
        self.gaps += 1
        why = f"sequence gap ({self._seq} -> {seq}): messages were lost; reconnecting"
        log.warning("%s: %s", self.client.name, why)
        self._seq = None
        self.status("resync", why)
        self._later(self.client.drop())

    def _on_event(self, doc: Any) -> None:
        event = doc.get("event") if isinstance(doc, dict) else None
        if event == "subscribed":
            sym = doc.get("symbol") or ""
            self.channels[int(doc["chanId"])] = (str(doc["channel"]), str(sym))
        elif event == "error":
            log.warning("%s: Bitfinex error %s %s", self.client.name, doc.get("code"),
                        doc.get("msg"))  # fmt: skip
            self.status("error", f"{doc.get('code')} {doc.get('msg')}")
        elif event == "info" and doc.get("code") in (C.INFO_RECONNECT, C.INFO_MAINT_END):
            log.warning("%s: Bitfinex info %s; reconnecting", self.client.name, doc.get("code"))
            self._later(self.client.drop())
        elif event == "info" and doc.get("code") == C.INFO_MAINT_START:
            self.status("notice", "Bitfinex maintenance (20060)")

    def _on_channel(self, frame: Frame) -> None:
        channel, sym = self.channels.get(frame.chan, ("", ""))
        if not channel or frame.kind == "hb":
            return
        now, sid = self.now_ns(), P.symbol_id(sym)
        if channel == "book":
            self._on_book(sym, frame, now)
        elif channel == "ticker" and frame.data is not None:
            self.emit(P.parse_ticker(sid, _any.decode(frame.data), now))
        elif channel == "trades" and frame.kind == "te" and frame.data is not None:
            self.emit(P.parse_trade(sid, _any.decode(frame.data), now))

    def _on_book(self, sym: str, frame: Frame, now: int) -> None:
        book = self.books.get(sym)
        if book is None or frame.data is None:
            return
        if frame.kind == "cs":
            res = book.verify(int(bytes(frame.data)))
        else:
            raw = bytes(frame.data)
            rows = texts(frame.data)
            snap = raw.startswith(b"[[") or raw == b"[]"
            res = book.snapshot(rows) if snap else book.update(rows)
            if res is SyncResult.APPLIED:
                bids, asks = book.last_levels
                asks = [(p, s) for p, s in asks]
                self.emit(BookLevels(now, P.symbol_id(sym), bids, asks, snap))
        if res is SyncResult.RESYNC:
            self.resync_later(sym, book.last_error)

    # -- channel-0 order entry --------------------------------------------------------------
    async def order_op(self, op: str, body: dict[str, Any], timeout: float | None = None) -> Any:
        """Send ``[0, op, null, body]`` and return the ``n`` notification's info; an ERROR
        notification raises :class:`VenueError` (its text as ``code``; a rate limit
        :class:`RateLimited`, "temporarily unavailable" a retryable error: neither ran), no
        answer within ``timeout`` (default :attr:`op_timeout`) raises :class:`UnknownOutcome`
        (the lifecycle looks the order up)."""
        timeout = self.op_timeout if timeout is None else timeout
        want = f'"{op}-req"'
        cid = body.get("cid") if op == "on" else None

        def match(text: str) -> bool:
            if want not in text or not text.startswith("[0,"):
                return False
            if cid is None:
                return True
            note = _any.decode(text)[2]
            info = note[4] if len(note) > 4 else None
            return isinstance(info, list) and len(info) > 2 and info[2] == cid

        msg = _enc.encode([0, op, None, body]).decode()
        async with contextlib.AsyncExitStack() as stack:
            if cid is None:  # no cid to match on: one such request in flight at a time
                await stack.enter_async_context(self._op_lock)
            try:
                reply = await self.client.request(msg, match, timeout)
            except (TimeoutError, ConnectionError) as exc:
                raise UnknownOutcome(f"Bitfinex WS {op}: no answer ({exc!r})") from exc
        note = _any.decode(reply)[2]
        if note[6] != "SUCCESS":
            text = str(note[7] or "")
            why = f"Bitfinex WS {op} refused: {text[:200]}"
            if "ratelimit" in text:
                raise RateLimited(why, C.ERR_RATELIMIT)
            if "temporarily_unavailable" in text:
                raise VenueError(why, C.ERR_MAINTENANCE, retryable=True)
            raise VenueError(why, text)
        return note[4]

    def _later(self, coro: Coroutine[Any, Any, None]) -> None:
        self.client.spawn(coro)
