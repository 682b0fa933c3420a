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

from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any

from tradeloop.book.orderbook import FloatLevels, Level, OrderBook

CHECKSUM_DEPTH = 25


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

    def __init__(
        self, symbol: str = "", *, verify: bool = True, compiled: bool | None = None
    ) -> None:
        self.book = OrderBook(symbol, compiled=compiled)
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
        levels are ``[px_text, sz_text, ...]`` or objects with ``.px``/``.sz`` text. On
        APPLIED the message's levels, as (price, size) floats, are in :attr:`last_levels`.
        A malformed level (not a finite decimal string) invalidates the book: RESYNC."""
        book = self.book
        try:
            if action == "snapshot":
                self.last_levels = book.apply_snapshot(bids, asks)
                self.synced = True
            else:
                if not self.synced:
                    return SyncResult.IGNORED
                last = self.seq_id
                if seq_id is not None and last is not None and prev_seq_id != last:
                    return self._fail(
                        f"{book.symbol}: sequence gap (prevSeqId {prev_seq_id} != last seqId"
                        f" {last})"
                    )
                self.last_levels = book.apply_deltas(bids, asks)
        except (ValueError, TypeError) as exc:
            return self._fail(f"{book.symbol}: malformed book level ({exc})")
        self.seq_id = seq_id
        if self.verify and checksum is not None:
            local = book.okx_checksum(CHECKSUM_DEPTH)
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
