"""BitMEX WebSocket (``/realtime``) on top of :class:`tradeloop.venues.wsclient.WsClient`.

One :class:`BitmexStream` carries everything: public tables and, once authenticated
(``authKeyExpires`` on every (re)connect, before the stored subscriptions are re-sent), the
private ``order`` / ``execution`` / ``position`` / ``margin`` tables. BitMEX needs from a
client beyond the kit's:

* the text ``ping`` when the socket is quiet (answered ``pong``), which the kit's heartbeat
  does with :data:`BITMEX_WS_CONFIG`;
* the L2 book kept by level **id**: ``orderBookL2`` rows are keyed by ``(symbol, id, side)``;
  an ``update`` carries only the new size and a ``delete`` only the keys, so the price must be
  remembered from the ``partial`` / ``insert`` that introduced the id (:class:`L2Book`). An
  update or delete naming an id we never saw means a message was lost: the book is dropped and
  that one subscription re-sent, which brings a fresh ``partial`` (BitMEX has no sequence
  numbers or checksums: this is the only way to notice). A reconnect clears every book the
  same way;
* the dead-man switch: with ``dead_man_ms`` set, ``cancelAllAfter`` is sent on every login and
  re-armed every quarter of the timeout while connected (BitMEX's advice: 60 s, refreshed
  every 15 s), so a crashed process has its orders canceled by BitMEX. Turning it off on a
  clean stop is the gateway's job (over REST, where the answer confirms it).
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
from tradeloop.venues.bitmex import constants as C
from tradeloop.venues.bitmex import parse as P
from tradeloop.venues.bitmex.auth import BitmexCredentials
from tradeloop.venues.stream import BookStream
from tradeloop.venues.wsclient import WsClient, WsConfig

log = get_logger(__name__)

BITMEX_WS_CONFIG = WsConfig(heartbeat_interval=5.0, heartbeat_timeout=10.0,
                            ping_text="ping", pong_text="pong")  # fmt: skip
PRIVATE_TABLES = ("order", "execution", "position", "margin")
L2_TABLES = frozenset({"orderBookL2", "orderBookL2_25"})


class _Frame(msgspec.Struct):
    table: str = ""
    action: str = ""
    data: msgspec.Raw = msgspec.Raw()
    success: bool | None = None
    error: str | None = None
    status: int | None = None
    request: Any = None


class L2Row(msgspec.Struct):
    symbol: str
    id: int
    side: str
    size: int | float | None = None
    price: float | None = None


class _L2Frame(msgspec.Struct):
    """An orderBookL2 push decoded in one pass (the hot path: no ``Raw`` then a second
    decode); anything else, or anything this does not fit, takes the general path."""

    table: str
    action: str
    data: list[L2Row]


_frame = msgspec.json.Decoder(_Frame)
_l2frame = msgspec.json.Decoder(_L2Frame)
_l2 = msgspec.json.Decoder(list[L2Row])
#: how BitMEX (and the emulator) start an L2 push: the one-pass decoder is tried on these
_L2_PREFIX = '{"table":"orderBookL2'
_BAD = (KeyError, ValueError, TypeError, msgspec.DecodeError)
_any = msgspec.json.Decoder()
_enc = msgspec.json.Encoder()


def op(name: str, args: Any) -> str:
    return _enc.encode({"op": name, "args": args}).decode()


def _num(v: int | float) -> str:
    return str(v) if type(v) is int else repr(float(v))


class L2Book:
    """One symbol's BitMEX L2 book: the kit's :class:`OrderBook` plus id -> (side, price)."""

    __slots__ = ("book", "ids", "synced", "resyncs", "last_error", "last_levels", "instrument_id")
    #: BitMEX numbers no book messages (the kit's ``VerifiedBook`` asks)
    seq_id: int | None = None

    def __init__(self, symbol: str) -> None:
        self.book = OrderBook(symbol)
        self.instrument_id = P.symbol_id(symbol)  # what its events carry (made once)
        self.ids: dict[int, tuple[bool, str]] = {}
        self.synced = False
        self.resyncs = 0
        self.last_error = ""
        self.last_levels: FloatLevels = ([], [])

    def reset(self) -> None:
        self.book.clear()
        self.ids.clear()
        self.synced = False

    def apply(self, action: str, rows: list[L2Row]) -> SyncResult:
        ids = self.ids
        bids: list[tuple[str, str]] = []
        asks: list[tuple[str, str]] = []
        if action == "partial":  # thousands of rows (XBTUSD): comprehensions, no calls
            for r in rows:
                if r.price is None or r.size is None:
                    return self._fail(f"partial level {r.id} without price or size")
            levels = [
                (r.id, r.side == "Buy", repr(r.price),
                 str(r.size) if type(r.size) is int else repr(r.size))
                for r in rows
            ]  # fmt: skip
            ids.clear()
            ids.update({i: (is_bid, px) for i, is_bid, px, _ in levels})
            bids = [(px, sz) for _, is_bid, px, sz in levels if is_bid]
            asks = [(px, sz) for _, is_bid, px, sz in levels if not is_bid]
            self.last_levels = self.book.apply_snapshot(bids, asks)
            self.synced = True
            return SyncResult.APPLIED
        if not self.synced:
            return SyncResult.IGNORED  # rows of an old subscription: wait for the partial
        for r in rows:
            if action == "insert":
                if r.price is None or r.size is None:
                    return self._fail(f"insert of level {r.id} without price or size")
                px, is_bid = _num(r.price), r.side == "Buy"
                ids[r.id] = (is_bid, px)
                size = _num(r.size)
            else:
                known = ids.get(r.id)
                if known is None:
                    return self._fail(f"{action} of unknown level id {r.id}")
                is_bid, px = known
                if action == "delete":
                    del ids[r.id]
                    size = "0"
                elif r.size is None:
                    return self._fail(f"update of level {r.id} without size")
                else:
                    size = _num(r.size)
            (bids if is_bid else asks).append((px, size))
        self.last_levels = self.book.apply_deltas(bids, asks)
        return SyncResult.APPLIED

    def _fail(self, why: str) -> SyncResult:
        self.last_error = f"{self.book.symbol}: {why}"
        self.resyncs += 1
        self.reset()
        return SyncResult.RESYNC


class BitmexStreamHandler(Protocol):
    def on_market_data(self, event: Event) -> None: ...

    def on_private(self, table: str, action: str, rows: list[dict[str, Any]]) -> None: ...

    def on_status(self, status: str, detail: str) -> None: ...


class BitmexStream(BookStream[L2Book]):
    """The one BitMEX WebSocket (see the module docstring): the kit's
    :class:`~tradeloop.venues.stream.BookStream` (books by symbol, cleared on a drop, one
    book re-subscribed when it breaks) with BitMEX's login, tables and dead-man switch."""

    def __init__(
        self,
        url: str,
        handler: BitmexStreamHandler,
        *,
        credentials: BitmexCredentials | None = None,
        config: WsConfig = BITMEX_WS_CONFIG,
        now_ns: Callable[[], int] = time.time_ns,
        dead_man_ms: int = 0,
        name: str = "bitmex",
    ) -> None:
        super().__init__(url, handler.on_market_data, handler.on_status, config=config,
                         login=self._on_connect, name=name)  # fmt: skip
        self.url = url
        self.handler = handler
        self.credentials = credentials
        self.now_ns = now_ns
        self.dead_man_ms = dead_man_ms
        self._book_table: dict[str, str] = {}
        self.authenticated = False
        self._dead_man: asyncio.Task[None] | None = None
        #: the switch was sent at least once (a clean stop must then turn it off)
        self.armed = False

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self, wait: float | None = 10.0) -> None:
        if self.dead_man_ms > 0 and self.credentials is not None and self._dead_man is None:
            self._dead_man = asyncio.create_task(self._keep_dead_man(), name="bitmex-deadman")
        await super().start(wait)

    async def stop(self) -> None:
        await self.stop_keep_alive()
        await super().stop()

    async def stop_keep_alive(self) -> None:
        """No more re-arming (before the switch is turned off, so nothing turns it back on)."""
        if self._dead_man is not None:
            self._dead_man.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._dead_man
        self._dead_man = None

    async def _on_connect(self, client: WsClient) -> None:
        self.authenticated = False
        if self.credentials is None:
            return
        payload = op("authKeyExpires", self.credentials.ws_auth_args(time.time()))
        await client.handshake([(payload, _auth_answer)], _auth_refused)
        self.authenticated = True
        if self.dead_man_ms > 0:
            await client.send(op("cancelAllAfter", self.dead_man_ms))
            self.armed = True

    async def _keep_dead_man(self) -> None:
        while True:
            await asyncio.sleep(max(self.dead_man_ms / (1000 * C.DEAD_MAN_REFRESH), 0.05))
            if self.client.connected and self.authenticated:
                with contextlib.suppress(ConnectionError):
                    await self.client.send(op("cancelAllAfter", self.dead_man_ms))

    # -- subscriptions --------------------------------------------------------------------
    async def subscribe(self, topic: str) -> None:
        table, _, sym = topic.partition(":")
        if table in L2_TABLES:
            self.books.setdefault(sym, L2Book(sym))
            self._book_table[sym] = topic
        await self.client.subscribe(topic, op("subscribe", [topic]))

    async def unsubscribe(self, topic: str) -> None:
        await self.client.unsubscribe(topic, op("unsubscribe", [topic]))
        table, _, sym = topic.partition(":")
        if table in L2_TABLES and self._book_table.get(sym) == topic:
            self.books.pop(sym, None)
            self._book_table.pop(sym, None)

    async def resubscribe(self, key: str) -> None:
        """A fresh partial for one symbol: unsubscribe + subscribe its book table only."""
        topic = self._book_table.get(key)
        if topic is not None:
            await self.client.unsubscribe(topic, op("unsubscribe", [topic]))
            await self.client.subscribe(topic, op("subscribe", [topic]))

    # -- receive --------------------------------------------------------------------------
    def on_text(self, text: str) -> None:
        if text.startswith(_L2_PREFIX):
            try:
                l2 = _l2frame.decode(text)
            except msgspec.DecodeError:
                pass  # not the usual shape: the general path decodes (or reports) it
            else:
                try:
                    self._on_l2(l2.action, l2.data)
                except _BAD as exc:
                    log.warning("%s: bad %s message (%s): %r", self.client.name, l2.table, exc,
                                text[:200])  # fmt: skip
                return
        try:
            frame = _frame.decode(text)
        except msgspec.DecodeError:
            log.warning("%s: undecodable frame %r", self.client.name, text[:120])
            return
        if frame.table:
            try:
                self._on_table(frame)
            except _BAD as exc:
                log.warning("%s: bad %s message (%s): %r", self.client.name, frame.table, exc,
                            text[:200])  # fmt: skip
        elif frame.error is not None:
            log.warning("%s: BitMEX error %s %s", self.client.name, frame.status, frame.error)
            self.status("error", f"{frame.status} {frame.error}")

    _on_text = on_text  # the name the ingest bench and capture tests call

    def _on_table(self, frame: _Frame) -> None:
        table, action = frame.table, frame.action
        if table in L2_TABLES:
            self._on_l2(action, _l2.decode(frame.data))
            return
        rows: list[dict[str, Any]] = _any.decode(frame.data)
        now = self.now_ns()
        emit = self.emit
        if table == "quote" and action in ("insert", "partial"):
            for d in rows[-1:]:  # the newest row is the quote now
                emit(P.parse_quote(d, now))
        elif table == "trade" and action == "insert":
            for d in rows:
                emit(P.parse_trade(d, now))
        elif table == "tradeBin1m" and action == "insert":  # closed bins (the partial: known)
            for d in rows:
                if d.get("open") is not None:  # a minute without trades has no prices
                    emit(P.parse_bin(d, now))
        elif table == "orderBook10":
            for d in rows:
                bids = [(float(p), float(s)) for p, s in d.get("bids", [])]
                asks = [(float(p), float(s)) for p, s in d.get("asks", [])]
                emit(BookLevels(now, P.symbol_id(str(d["symbol"])), bids, asks, True))
        elif table in PRIVATE_TABLES or table == "wallet":
            self.handler.on_private(table, action, rows)

    def _on_l2(self, action: str, rows: list[L2Row]) -> None:
        if not rows:
            return
        sym = rows[0].symbol
        if rows[-1].symbol != sym or len({r.symbol for r in rows}) > 1:
            groups: dict[str, list[L2Row]] = {}
            for r in rows:
                groups.setdefault(r.symbol, []).append(r)
            for group in groups.values():
                self._on_l2(action, group)
            return
        book = self.books.get(sym)
        if book is None:
            return  # unsubscribed meanwhile
        res = book.apply(action, rows)
        if res is SyncResult.APPLIED:
            bids, asks = book.last_levels
            snapshot = action == "partial"
            self.emit(BookLevels(self.now_ns(), book.instrument_id, bids, asks, snapshot))
        elif res is SyncResult.RESYNC:
            self.resync_later(sym, book.last_error)


def _auth_answer(text: str) -> bool:
    """Matches the answer to ``authKeyExpires``: its ack or an error about it."""
    if "authKeyExpires" not in text:
        return False
    try:
        d = _any.decode(text)
    except msgspec.DecodeError:
        return False
    req = d.get("request") if isinstance(d, dict) else None
    return isinstance(req, dict) and req.get("op") == "authKeyExpires"


def _auth_refused(text: str) -> AuthError | None:
    reply = _frame.decode(text)
    if reply.success:
        return None
    return AuthError(f"BitMEX WS authentication refused: {reply.error}", reply.error or "")
