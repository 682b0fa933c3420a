"""OKX ``books`` channel synchronisation: sequence rules plus checksum verification.

Rules (spec §2.5): a snapshot has ``prevSeqId = -1``; each update's ``prevSeqId`` must equal
the previous message's ``seqId`` or messages were lost (gap); an idle heartbeat is an empty
update with ``prevSeqId == seqId``; after exchange maintenance an update may carry
``seqId < prevSeqId`` — legal, as long as its ``prevSeqId`` still chains. After each message
the CRC32 of the top 25 levels (price/size text) must equal ``checksum``.

On a gap or a checksum mismatch the book cannot be trusted and the only cure is a fresh
snapshot (re-subscribing). :meth:`OkxBookSync.apply` reports that as :attr:`SyncResult.RESYNC`
— a return value rather than an exception because it is an expected event on a live feed and
the hot path should not pay for exception handling — and ignores updates until a snapshot
arrives. Captures without ``seqId`` (older feeds) are checked by checksum alone.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any

from tradeloop.book.orderbook import (
    FloatLevels,
    FloatPair,
    Level,
    OrderBook,
    TextPair,
    split_levels,
)

CHECKSUM_DEPTH = 25


def okx_book_checksum(bids: list[str], asks: list[str]) -> int:
    """Same value as :func:`tradeloop.book.checksum.okx_checksum`, from ``"px:sz"`` pieces
    already cut to the checksum depth (what :meth:`OrderBook.top_joined` returns). This runs
    after every message, so it is a single C-level join instead of per-level formatting; the
    tests check both functions agree."""
    nb, na = len(bids), len(asks)
    if nb == na:  # the usual case (both sides at least CHECKSUM_DEPTH deep): no extra copies
        parts = bids + asks
        parts[::2] = bids  # interleave bid, ask, bid, ask ... with C-level slice copies
        parts[1::2] = asks
    else:
        n = nb if nb < na else na
        parts = bids[:n] + asks[:n]
        parts[::2] = bids[:n]
        parts[1::2] = asks[:n]
        parts += bids[n:] if nb > n else asks[n:]
    crc = zlib.crc32(":".join(parts).encode())
    return crc - 0x100000000 if crc & 0x80000000 else crc


class SyncResult(str, Enum):
    APPLIED = "applied"
    IGNORED = "ignored"  # an update while waiting for a snapshot
    RESYNC = "resync"  # gap or checksum mismatch: the book is invalid, re-subscribe


class BookResyncNeeded(Exception):
    """Raised by :meth:`OkxBookSync.apply_or_raise` for callers that prefer exceptions."""


class OkxBookSync:
    """Keeps one instrument's :class:`OrderBook` in sync with an OKX ``books`` stream."""

    __slots__ = (
        "book",
        "checksums_ok",
        "last_error",
        "last_levels",
        "resyncs",
        "seq_id",
        "synced",
        "verify",
    )

    def __init__(self, symbol: str = "", *, verify: bool = True) -> None:
        self.book = OrderBook(symbol)
        self.verify = verify
        self.seq_id: int | None = None
        self.synced = False
        self.last_error = ""
        self.checksums_ok = 0
        self.resyncs = 0
        #: The last applied message's levels as (price, size) floats (for publishing).
        self.last_levels: FloatLevels = ([], [])

    def reset(self) -> None:
        """Forget the book (e.g. after re-subscribing); updates are ignored until a snapshot."""
        self.book.clear()
        self.seq_id = None
        self.synced = False

    def _fail(self, reason: str) -> SyncResult:
        self.last_error = reason
        self.resyncs += 1
        self.reset()
        return SyncResult.RESYNC

    def apply(
        self,
        action: str,
        bids: Sequence[Level],
        asks: Sequence[Level],
        checksum: int | None = None,
        prev_seq_id: int | None = None,
        seq_id: int | None = None,
    ) -> SyncResult:
        """Apply one ``books`` data item. ``action`` is ``"snapshot"`` or ``"update"``;
        levels are ``[px_text, sz_text, ...]``. The parsed floats are kept in
        :attr:`last_levels` for publishing."""
        (bt, bf), (at, af) = split_levels(bids), split_levels(asks)
        res = self.apply_pairs(action, bt, bf, at, af, checksum, prev_seq_id, seq_id)
        if res is SyncResult.APPLIED:
            self.last_levels = (list(bf), list(af))
        return res

    def apply_pairs(
        self,
        action: str,
        bid_texts: Sequence[TextPair],
        bid_floats: Sequence[FloatPair],
        ask_texts: Sequence[TextPair],
        ask_floats: Sequence[FloatPair],
        checksum: int | None = None,
        prev_seq_id: int | None = None,
        seq_id: int | None = None,
    ) -> SyncResult:
        """:meth:`apply` for levels given as aligned text and float pairs (``.px``/``.sz``),
        as the WS decoder produces them without per-level Python parsing. Does not touch
        :attr:`last_levels`: the caller already has the floats."""
        book = self.book
        if action == "snapshot":
            book.bids.load(bid_texts, bid_floats)
            book.asks.load(ask_texts, ask_floats)
            self.synced = True
        else:
            if not self.synced:
                return SyncResult.IGNORED
            last = self.seq_id
            if seq_id is not None and last is not None and prev_seq_id != last:
                return self._fail(
                    f"{book.symbol}: sequence gap (prevSeqId {prev_seq_id} != last seqId {last})"
                )
            book.bids.update(bid_texts, bid_floats)
            book.asks.update(ask_texts, ask_floats)
        self.seq_id = seq_id
        if self.verify and checksum is not None:
            local = okx_book_checksum(
                book.bids.top_joined(CHECKSUM_DEPTH), book.asks.top_joined(CHECKSUM_DEPTH)
            )
            if local != checksum:
                return self._fail(
                    f"{book.symbol}: checksum mismatch (local {local} != venue {checksum}"
                    f" at seqId {seq_id})"
                )
            self.checksums_ok += 1
        return SyncResult.APPLIED

    def apply_message(self, action: str, item: Mapping[str, Any]) -> SyncResult:
        """Convenience for a decoded ``data[i]`` dict of a ``books`` push."""
        return self.apply(
            action,
            item.get("bids", []),
            item.get("asks", []),
            item.get("checksum"),
            item.get("prevSeqId"),
            item.get("seqId"),
        )

    def apply_or_raise(
        self,
        action: str,
        bids: Sequence[Level],
        asks: Sequence[Level],
        checksum: int | None = None,
        prev_seq_id: int | None = None,
        seq_id: int | None = None,
    ) -> bool:
        """Like :meth:`apply` but raises :class:`BookResyncNeeded`; returns False if ignored."""
        r = self.apply(action, bids, asks, checksum, prev_seq_id, seq_id)
        if r is SyncResult.RESYNC:
            raise BookResyncNeeded(self.last_error)
        return r is SyncResult.APPLIED
