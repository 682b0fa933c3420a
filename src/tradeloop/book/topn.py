"""A venue's "top N levels" book, verified by a checksum on every message.

Several venues stream the top N levels per side with no sequence numbers (FTX 100, and in the
same interleaved ``bid1:size:ask1:size:...`` CRC32 layout OKX uses for its 25): a snapshot,
then updates, each carrying a CRC32 of the book the client should now hold. Without sequence
numbers a mismatch is how a lost update shows, and the only cure is a fresh snapshot
(re-subscribing). :class:`TopNBookSync` keeps that book in the kit's :class:`OrderBook`; what
differs between venues is a parameter: the depth checksummed, whether the venue sends the CRC
signed or unsigned, how it writes numbers (the CRC covers text, so the text must be the
venue's), and the name of its snapshot action.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from tradeloop.book.okx_sync import SyncResult
from tradeloop.book.orderbook import FloatLevels, OrderBook


class BookMessage(Protocol):
    """One decoded book message: its action, levels and checksum (None: not checked)."""

    @property
    def action(self) -> str: ...

    @property
    def bids(self) -> Sequence[Sequence[Any]]: ...

    @property
    def asks(self) -> Sequence[Sequence[Any]]: ...

    @property
    def checksum(self) -> int | None: ...


class TopNBookSync:
    """One market's top-``depth`` book, checked against every message's checksum.

    ``text`` turns a level's price and size as received into the venue's checksum text (None:
    they already are text). On APPLIED the message's levels, as (price, size) floats, are in
    :attr:`last_levels`; on RESYNC the book is cleared, updates are IGNORED until the next
    snapshot, and :attr:`last_error` says why.
    """

    #: venues of this kind have no sequence numbers (the gateway base reads the attribute)
    seq_id: int | None = None

    def __init__(
        self,
        symbol: str,
        depth: int,
        *,
        signed: bool,
        snapshot: str = "snapshot",
        text: Callable[[Any], str] | None = None,
    ) -> None:
        self.book = OrderBook(symbol)
        self.depth, self.signed, self.snapshot, self.text = depth, signed, snapshot, text
        self.synced = False
        self.checksums_ok = self.resyncs = 0
        self.last_error = ""
        self.last_levels: FloatLevels = ([], [])

    def reset(self) -> None:
        """Forget the book (a dropped socket, a re-subscription): wait for a snapshot."""
        self.book.clear()
        self.synced = False

    def _texts(self, levels: Sequence[Sequence[Any]]) -> Sequence[Sequence[Any]]:
        t = self.text
        return levels if t is None else [(t(lv[0]), t(lv[1])) for lv in levels]

    def apply(self, msg: BookMessage) -> SyncResult:
        bids, asks = self._texts(msg.bids), self._texts(msg.asks)
        try:
            if msg.action == self.snapshot:
                self.last_levels, self.synced = self.book.apply_snapshot(bids, asks), True
            elif not self.synced:
                return SyncResult.IGNORED  # of the old subscription: wait for the snapshot
            else:
                self.last_levels = self.book.apply_deltas(bids, asks)
        except (ValueError, TypeError) as exc:
            return self._fail(f"malformed level ({exc})")
        if msg.checksum is not None:
            local = self.book.okx_checksum(self.depth)  # signed 32-bit
            local = local if self.signed else local & 0xFFFFFFFF
            if local != msg.checksum:
                return self._fail(f"checksum mismatch (local {local} != venue {msg.checksum})")
            self.checksums_ok += 1
        return SyncResult.APPLIED

    def _fail(self, why: str) -> SyncResult:
        self.last_error = f"{self.book.symbol}: {why}"
        self.resyncs += 1
        self.reset()
        return SyncResult.RESYNC
