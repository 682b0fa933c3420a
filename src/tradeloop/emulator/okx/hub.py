"""WebSocket connections, subscriptions and pushes for the OKX front-end.

Each connection gets a bounded outbound queue drained by its own writer task, so a slow client
never stalls the market timer or other clients (a full queue closes it with 4005, OKX's
"buffer full"). Public payloads are encoded once per (channel, instId) and shared by every
subscriber; private payloads echo each subscriber's own ``arg``.

Books follow OKX's rules: a snapshot (``prevSeqId`` -1) on subscribe, then incremental updates
chained by ``prevSeqId``/``seqId`` with the signed CRC32 ``checksum`` of the top 25 levels
computed on the exact strings sent; a book that stays unchanged for a minute gets an empty
heartbeat update (``prevSeqId == seqId``).

Candles follow OKX too: each step pushes the in-progress bar with ``confirm`` "0"; when a bar's
interval ends its final state is pushed once with ``confirm`` "1", before the new bar.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
import zlib
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import msgspec
from aiohttp import web

from tradeloop.book.checksum import okx_checksum
from tradeloop.emulator.faults import Faults
from tradeloop.emulator.market import BookChange, Candle, PublicTrade, SymbolMarket
from tradeloop.emulator.okx import views
from tradeloop.emulator.okx.bars import lookup

log = logging.getLogger(__name__)

_enc = msgspec.json.Encoder()
QUEUE_MAX = 5000
BOOK_SNAPSHOT_DEPTH = 400
CHECKSUM_DEPTH = 25
#: OKX sends an empty ``books`` update after about a minute without changes.
BOOK_IDLE_MS = 60_000
#: Most closed bars pushed at once (after a long stall); older ones are REST's business.
MAX_CLOSED_PUSH = 100


class Conn:
    """One client WebSocket: its URL kind, login state, subscriptions and send queue."""

    def __init__(self, ws: web.WebSocketResponse, kind: str) -> None:
        self.ws = ws
        self.kind = kind  # "public" | "private" | "business"
        self.conn_id = secrets.token_hex(4)
        self.logged_in = False
        #: failed login attempts on this connection (the WS handler closes it past a limit)
        self.login_failures = 0
        #: private subscriptions: key -> arg exactly as the client sent it
        self.private_subs: dict[str, dict[str, str]] = {}
        self.public_keys: set[tuple[str, str]] = set()
        self.queue: asyncio.Queue[str | None] = asyncio.Queue(QUEUE_MAX)
        self.closed = False
        self.last_io = time.monotonic()
        self._closer: asyncio.Future[Any] | None = None
        self.writer = asyncio.create_task(self._write(), name=f"okx-ws-{self.conn_id}")

    def touch(self) -> None:
        self.last_io = time.monotonic()

    def send(self, text: str) -> None:
        if self.closed:
            return
        self.last_io = time.monotonic()
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            log.warning("ws %s: send buffer full, closing", self.conn_id)
            self.closed = True
            self._closer = asyncio.ensure_future(self.ws.close(code=4005, message=b"Buffer full"))

    def send_json(self, obj: Any) -> None:
        self.send(_enc.encode(obj).decode())

    async def _write(self) -> None:
        while True:
            text = await self.queue.get()
            if text is None or self.ws.closed:
                return
            try:
                await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return

    async def finish(self, code: int, reason: bytes, timeout: float = 2.0) -> None:
        """Deliver what is already queued (e.g. the error that explains why), then close with
        ``code`` -- how OKX ends a connection it refuses to serve (4001 after failed logins)."""
        self.closed = True
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError, Exception):
            await asyncio.wait_for(asyncio.shield(self.writer), timeout)
        with contextlib.suppress(Exception):
            await self.ws.close(code=code, message=reason)

    async def close(self) -> None:
        self.closed = True
        with contextlib.suppress(asyncio.QueueFull):
            self.queue.put_nowait(None)
        self.writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self.writer
        if self._closer is not None:  # let a server-initiated close finish its handshake
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._closer


class BookSeq:
    """OKX seqId chain for one instrument (advances whether or not anyone listens)."""

    def __init__(self, start: int) -> None:
        self.seq = start


class Hub:
    """All OKX WS connections; the market timer and the account call in here to push."""

    def __init__(
        self, faults: Faults, seed: int, funding_rate: Callable[[str], float] = lambda symbol: 0.0
    ) -> None:
        self.faults = faults
        self.funding_rate = funding_rate
        self._steps = 0
        self.conns: set[Conn] = set()
        self.subs: dict[tuple[str, str], set[Conn]] = defaultdict(set)
        self.seqs: dict[str, BookSeq] = {}
        #: (candle channel, instId) -> start of the bar last pushed as in progress
        self.candle_open: dict[tuple[str, str], int] = {}
        #: instId -> market time of the last ``books`` message (for idle heartbeats)
        self.book_sent: dict[str, int] = {}
        self._seed = seed
        self._hold = 0
        self._held: list[Callable[[], None]] = []

    # -- connection bookkeeping ------------------------------------------------------------
    def add(self, conn: Conn) -> None:
        self.conns.add(conn)

    def remove(self, conn: Conn) -> None:
        self.conns.discard(conn)
        for key in conn.public_keys:
            self.subs[key].discard(conn)
        conn.public_keys.clear()

    def subscribe_public(self, conn: Conn, channel: str, inst_id: str) -> None:
        key = (channel, inst_id)
        self.subs[key].add(conn)
        conn.public_keys.add(key)

    def unsubscribe_public(self, conn: Conn, channel: str, inst_id: str) -> bool:
        key = (channel, inst_id)
        if key not in conn.public_keys:
            return False
        conn.public_keys.discard(key)
        self.subs[key].discard(conn)
        return True

    def seq_for(self, symbol: str) -> BookSeq:
        s = self.seqs.get(symbol)
        if s is None:
            s = self.seqs[symbol] = BookSeq(
                1_000 + (zlib.crc32(f"{symbol}/{self._seed}".encode()) & 0xFFFF)
            )
        return s

    # -- ordering: responses before the pushes they caused -----------------------------------
    def hold(self) -> None:
        self._hold += 1

    def release(self) -> None:
        self._hold -= 1
        if self._hold == 0:
            held, self._held = self._held, []
            for fn in held:
                fn()

    def defer(self, fn: Callable[[], None]) -> None:
        if self._hold:
            self._held.append(fn)
        else:
            fn()

    # -- public snapshots on subscribe -----------------------------------------------------
    def book_snapshot(self, m: SymbolMarket, now_ms: int) -> dict[str, Any]:
        asks, bids = views.book_levels(m, BOOK_SNAPSHOT_DEPTH)
        seq = self.seq_for(m.instrument.symbol).seq
        return {
            "arg": {"channel": "books", "instId": m.instrument.symbol},
            "action": "snapshot",
            "data": [
                {
                    "asks": asks,
                    "bids": bids,
                    "ts": str(now_ms),
                    "checksum": _checksum(asks, bids),
                    "prevSeqId": -1,
                    "seqId": seq,
                }
            ],
        }

    def initial_push(self, conn: Conn, channel: str, m: SymbolMarket, now_ms: int) -> None:
        """What OKX sends right after the subscribe ack."""
        sym = m.instrument.symbol
        if channel == "books":
            conn.send_json(self.book_snapshot(m, now_ms))
            self.book_sent.setdefault(sym, now_ms)
        elif channel in ("books5", "bbo-tbt"):
            conn.send_json(self._top_msg(channel, m, now_ms))
        elif channel == "mark-price":
            conn.send_json(
                {
                    "arg": {"channel": channel, "instId": sym},
                    "data": [views.mark_price_row(m, now_ms)],
                }
            )
        elif channel == "funding-rate":
            conn.send_json(
                {
                    "arg": {"channel": channel, "instId": sym},
                    "data": [views.funding_row(m, self.funding_rate(sym), now_ms)],
                }
            )
        elif channel == "tickers":
            conn.send_json(
                {"arg": {"channel": channel, "instId": sym}, "data": [views.ticker(m, now_ms)]}
            )
        elif channel.startswith("candle"):
            bar = lookup(channel[len("candle") :])
            if bar is not None:
                c = m.latest(*bar)
                key = (channel, sym)
                if len(self.subs[key]) <= 1:  # first listener: closes count from this bar
                    self.candle_open[key] = c.start
                conn.send_json(_candle_msg(channel, m, c, bar[0], now_ms, closed=False))

    def _top_msg(self, channel: str, m: SymbolMarket, now_ms: int) -> dict[str, Any]:
        depth = 5 if channel == "books5" else 1
        asks, bids = views.book_levels(m, depth)
        data: dict[str, Any] = {"asks": asks, "bids": bids}
        if channel == "books5":
            data["instId"] = m.instrument.symbol
        data["ts"] = str(now_ms)
        data["seqId"] = self.seq_for(m.instrument.symbol).seq
        return {"arg": {"channel": channel, "instId": m.instrument.symbol}, "data": [data]}

    # -- market step fan-out -------------------------------------------------------------
    def on_step(self, m: SymbolMarket, change: BookChange) -> None:
        sym = m.instrument.symbol
        now = change.ts
        if not change.empty:
            self._book_update(m, change, now)
        elif now - self.book_sent.get(sym, now) >= BOOK_IDLE_MS:
            self._book_heartbeat(m, now)
        for ch in ("books5", "bbo-tbt"):
            if self.subs.get((ch, sym)) and not change.empty:
                self._broadcast((ch, sym), self._top_msg(ch, m, now))
        if self.subs.get(("tickers", sym)):
            self._broadcast(
                ("tickers", sym),
                {"arg": {"channel": "tickers", "instId": sym}, "data": [views.ticker(m, now)]},
            )
        if change.trades and self.subs.get(("trades", sym)):
            data = [dict(views.trade(t, sym), count="1") for t in change.trades]
            self._broadcast(
                ("trades", sym), {"arg": {"channel": "trades", "instId": sym}, "data": data}
            )
        if self.subs.get(("mark-price", sym)):
            self._broadcast(
                ("mark-price", sym),
                {
                    "arg": {"channel": "mark-price", "instId": sym},
                    "data": [views.mark_price_row(m, now)],
                },
            )
        self._steps += 1
        if self._steps % 200 == 0 and self.subs.get(("funding-rate", sym)):
            row = views.funding_row(m, self.funding_rate(sym), now)
            self._broadcast(
                ("funding-rate", sym),
                {"arg": {"channel": "funding-rate", "instId": sym}, "data": [row]},
            )
        self._push_candles(m, now)

    def _push_candles(self, m: SymbolMarket, now: int) -> None:
        """Every subscribed candle channel of ``m``: first each bar that ended since the last
        push, final and ``confirm`` "1" (exactly once, because the remembered open moves on),
        then the bar in progress with ``confirm`` "0"."""
        sym = m.instrument.symbol
        for key, conns in list(self.subs.items()):
            ch, s = key
            if s != sym or not ch.startswith("candle"):
                continue
            if not conns:  # nobody listens: a later subscriber starts afresh
                self.candle_open.pop(key, None)
                continue
            bar = lookup(ch[len("candle") :])
            if bar is None:
                continue
            bar_ms, offset = bar
            opened = self.candle_open.get(key)
            bars = m.since(bar_ms, offset, opened) if opened is not None else []
            current = bars[-1] if bars else m.latest(bar_ms, offset)
            for done in bars[:-1][-MAX_CLOSED_PUSH:]:
                self._broadcast(key, _candle_msg(ch, m, done, bar_ms, now, closed=True))
            self.candle_open[key] = current.start
            self._broadcast(key, _candle_msg(ch, m, current, bar_ms, now, closed=False))

    def push_trades(self, m: SymbolMarket, trades: list[PublicTrade]) -> None:
        sym = m.instrument.symbol
        if self.subs.get(("trades", sym)):
            data = [dict(views.trade(t, sym), count="1") for t in trades]
            self.defer(
                lambda: self._broadcast(
                    ("trades", sym), {"arg": {"channel": "trades", "instId": sym}, "data": data}
                )
            )

    def _book_update(self, m: SymbolMarket, change: BookChange, now: int) -> None:
        sym = m.instrument.symbol
        bs = self.seq_for(sym)
        prev = bs.seq
        bs.seq = prev + 1
        if not self.subs.get(("books", sym)):
            self.book_sent.pop(sym, None)
            return
        self.book_sent[sym] = now
        if self.faults.take_skip_seq():
            log.info("fault: dropped books update %s seqId %d", sym, bs.seq)
            return
        asks = [views.level(m, p, s) for p, s in sorted(change.asks.items())]
        bids = [views.level(m, p, s) for p, s in sorted(change.bids.items(), reverse=True)]
        top_asks = [[m.px(p), s] for p, s in m.sorted_asks()[:CHECKSUM_DEPTH]]
        top_bids = [[m.px(p), s] for p, s in m.sorted_bids()[:CHECKSUM_DEPTH]]
        checksum = _checksum(top_asks, top_bids)
        if self.faults.take_corrupt_checksum():
            log.info("fault: corrupted books checksum %s seqId %d", sym, bs.seq)
            checksum = checksum + 1 if checksum < 0x7FFFFFFF else checksum - 1
        self._broadcast(
            ("books", sym),
            {
                "arg": {"channel": "books", "instId": sym},
                "action": "update",
                "data": [
                    {
                        "asks": asks,
                        "bids": bids,
                        "ts": str(now),
                        "checksum": checksum,
                        "prevSeqId": prev,
                        "seqId": bs.seq,
                    }
                ],
            },
        )

    def _book_heartbeat(self, m: SymbolMarket, now: int) -> None:
        """OKX's keep-alive for an idle book: an empty update that does not advance the chain
        (``prevSeqId == seqId``), with the checksum of the unchanged book."""
        sym = m.instrument.symbol
        if not self.subs.get(("books", sym)):
            self.book_sent.pop(sym, None)
            return
        self.book_sent[sym] = now
        seq = self.seq_for(sym).seq
        asks, bids = views.book_levels(m, CHECKSUM_DEPTH)
        item = {
            "asks": [],
            "bids": [],
            "ts": str(now),
            "checksum": _checksum(asks, bids),
            "prevSeqId": seq,
            "seqId": seq,
        }
        self._broadcast(
            ("books", sym),
            {"arg": {"channel": "books", "instId": sym}, "action": "update", "data": [item]},
        )

    def _broadcast(self, key: tuple[str, str], msg: dict[str, Any]) -> None:
        conns = self.subs.get(key)
        if not conns:
            return
        text = _enc.encode(msg).decode()
        for conn in list(conns):
            conn.send(text)

    # -- private pushes ------------------------------------------------------------------
    def push_private(
        self, channel: str, match: Callable[[dict[str, str]], bool], data: list[Any]
    ) -> None:
        """Send ``data`` on ``channel`` to every logged-in subscriber whose arg ``match``es."""

        def go() -> None:
            for conn in list(self.conns):
                if not conn.logged_in:
                    continue
                for arg in conn.private_subs.values():
                    if arg.get("channel") == channel and match(arg):
                        conn.send_json({"arg": arg, "data": data})

        self.defer(go)

    def close_idle(self, timeout_s: float) -> int:
        """Close connections with no traffic either way for ``timeout_s`` (OKX: 30 s, close
        code 4004), so clients that forget to ``ping`` find out here, not in production."""
        now = time.monotonic()
        n = 0
        for conn in list(self.conns):
            if not conn.closed and now - conn.last_io > timeout_s:
                conn.closed = True
                conn._closer = asyncio.ensure_future(
                    conn.ws.close(code=4004, message=b"No data received in 30s.")
                )
                n += 1
        return n

    async def close_all(self) -> None:
        for conn in list(self.conns):
            await conn.close()


def _candle_msg(
    channel: str, m: SymbolMarket, c: Candle, bar_ms: int, now: int, closed: bool
) -> dict[str, Any]:
    return {
        "arg": {"channel": channel, "instId": m.instrument.symbol},
        "data": [views.candle(m, c, bar_ms, now, closed=closed)],
    }


def _checksum(asks: list[list[str]], bids: list[list[str]]) -> int:
    return okx_checksum(bids, asks, CHECKSUM_DEPTH)
