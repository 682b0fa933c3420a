"""OKX's channels on top of the shared connection hub (:mod:`tradeloop.emulator.hub`).

The hub gives every connection its ordered, bounded send queue (a full one closes with 4005,
OKX's "buffer full"), encodes public payloads once per (channel, instId) and defers pushes
until the request that caused them has been answered. This module knows what OKX sends:
private payloads echo each subscriber's own ``arg``.

Books follow OKX's rules: a snapshot (``prevSeqId`` -1) on subscribe, then incremental updates
chained by ``prevSeqId``/``seqId`` with the signed CRC32 ``checksum`` of the top 25 levels
computed on the exact strings sent; a book that stays unchanged for a minute gets an empty
heartbeat update (``prevSeqId == seqId``).

Candles follow OKX too: each step pushes the in-progress bar with ``confirm`` "0"; when a bar's
interval ends its final state is pushed once with ``confirm`` "1", before the new bar.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable
from typing import Any

from tradeloop.book.checksum import okx_checksum
from tradeloop.emulator import hub
from tradeloop.emulator.faults import Faults, wrong_checksum
from tradeloop.emulator.hub import Conn
from tradeloop.emulator.market import BookChange, Candle, PublicTrade, SymbolMarket
from tradeloop.emulator.okx import views
from tradeloop.emulator.okx.bars import lookup

log = logging.getLogger(__name__)

__all__ = ["Conn", "Hub"]
BOOK_SNAPSHOT_DEPTH = 400
CHECKSUM_DEPTH = 25
#: OKX sends an empty ``books`` update after about a minute without changes.
BOOK_IDLE_MS = 60_000
#: Most closed bars pushed at once (after a long stall); older ones are REST's business.
MAX_CLOSED_PUSH = 100


class BookSeq:
    """OKX seqId chain for one instrument (advances whether or not anyone listens)."""

    def __init__(self, start: int) -> None:
        self.seq = start


class Hub(hub.Hub):
    """All OKX WS connections; the market timer and the account call in here to push."""

    overflow = (4005, b"Buffer full")
    idle_close = (4004, b"No data received in 30s.")

    def __init__(
        self, faults: Faults, seed: int, funding_rate: Callable[[str], float] = lambda symbol: 0.0
    ) -> None:
        super().__init__()
        self.faults = faults
        self.funding_rate = funding_rate
        self._steps = 0
        self.seqs: dict[str, BookSeq] = {}
        #: (candle channel, instId) -> start of the bar last pushed as in progress
        self.candle_open: dict[tuple[str, ...], int] = {}
        #: instId -> market time of the last ``books`` message (for idle heartbeats)
        self.book_sent: dict[str, int] = {}
        self._seed = seed

    def subscribe_public(self, conn: Conn, channel: str, inst_id: str) -> None:
        self.subscribe(conn, (channel, inst_id))

    def unsubscribe_public(self, conn: Conn, channel: str, inst_id: str) -> bool:
        return self.unsubscribe(conn, (channel, inst_id))

    def seq_for(self, symbol: str) -> BookSeq:
        s = self.seqs.get(symbol)
        if s is None:
            s = self.seqs[symbol] = BookSeq(
                1_000 + (zlib.crc32(f"{symbol}/{self._seed}".encode()) & 0xFFFF)
            )
        return s

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
            checksum = wrong_checksum(checksum)
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

    def _broadcast(self, key: tuple[str, ...], msg: dict[str, Any]) -> None:
        self.broadcast(key, msg)

    # -- private pushes ------------------------------------------------------------------
    def push_private(
        self, channel: str, match: Callable[[dict[str, str]], bool], data: list[Any]
    ) -> None:
        """Send ``data`` on ``channel`` to every logged-in subscriber whose arg ``match``es."""

        def send(conn: Conn) -> None:
            for arg in conn.private_subs.values():
                if arg.get("channel") == channel and match(arg):
                    conn.send_json({"arg": arg, "data": data})

        self.to_logged_in(send)


def _candle_msg(
    channel: str, m: SymbolMarket, c: Candle, bar_ms: int, now: int, closed: bool
) -> dict[str, Any]:
    return {
        "arg": {"channel": channel, "instId": m.instrument.symbol},
        "data": [views.candle(m, c, bar_ms, now, closed=closed)],
    }


def _checksum(asks: list[list[str]], bids: list[list[str]]) -> int:
    return okx_checksum(bids, asks, CHECKSUM_DEPTH)
