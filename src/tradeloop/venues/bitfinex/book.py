"""One Bitfinex P0 book kept from the stream and checked against every ``cs`` message.

Levels arrive as ``[PRICE, COUNT, AMOUNT]`` (bids positive, asks negative; COUNT 0 deletes:
AMOUNT 1 a bid, -1 an ask). The checksum is the signed CRC32 of
``bid1:amt1:ask1:-amt1:bid2:...`` over the top 25 of each side, on the number *text* as
received (``specs/exchanges.md`` §3.4; ``1e-8`` stays ``1e-8``). The kit's
:class:`~tradeloop.book.orderbook.OrderBook` keeps that text; asks are stored with their size
unsigned (the book refuses negative sizes) and the minus sign is put back for the checksum.

A mismatch means the book is wrong (a lost message, a bug on either side): :meth:`apply`
returns :attr:`SyncResult.RESYNC`, the book is cleared and updates are ignored until a fresh
snapshot comes (the stream resubscribes).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

from tradeloop.book.okx_sync import SyncResult
from tradeloop.book.orderbook import FloatLevels, OrderBook
from tradeloop.venues.bitfinex.constants import CHECKSUM_DEPTH

Text3 = Sequence[str]  # [price, count, amount] as received


def _split(rows: Sequence[Text3]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    bids: list[tuple[str, str]] = []
    asks: list[tuple[str, str]] = []
    for px, count, amt in rows:
        if count == "0":
            (bids if amt == "1" else asks).append((px, "0"))
        elif amt.startswith("-"):
            asks.append((px, amt[1:]))
        else:
            bids.append((px, amt))
    return bids, asks


def checksum(book: OrderBook, depth: int = CHECKSUM_DEPTH) -> int:
    bids, asks = book.top_text(depth)
    parts: list[str] = []
    nb, na = len(bids), len(asks)
    for i in range(max(nb, na)):
        if i < nb:
            parts.append(f"{bids[i][0]}:{bids[i][1]}")
        if i < na:
            parts.append(f"{asks[i][0]}:-{asks[i][1]}")
    crc = zlib.crc32(":".join(parts).encode())
    return crc - 0x100000000 if crc & 0x80000000 else crc


class BitfinexBook:
    """One symbol's P0 book (see the module docstring)."""

    __slots__ = ("book", "synced", "checksums_ok", "resyncs", "last_error", "last_levels")
    #: Bitfinex numbers no book messages (the kit's ``VerifiedBook`` asks)
    seq_id: int | None = None

    def __init__(self, symbol: str) -> None:
        self.book = OrderBook(symbol)
        self.synced = False
        self.checksums_ok = self.resyncs = 0
        self.last_error = ""
        self.last_levels: FloatLevels = ([], [])

    def reset(self) -> None:
        self.book.clear()
        self.synced = False

    def snapshot(self, rows: Sequence[Text3]) -> SyncResult:
        try:
            self.last_levels = self.book.apply_snapshot(*_split(rows))
        except (ValueError, TypeError) as exc:
            return self.fail(f"malformed snapshot ({exc})")
        self.synced = True
        return SyncResult.APPLIED

    def update(self, rows: Sequence[Text3]) -> SyncResult:
        if not self.synced:
            return SyncResult.IGNORED
        try:
            self.last_levels = self.book.apply_deltas(*_split(rows))
        except (ValueError, TypeError) as exc:
            return self.fail(f"malformed level ({exc})")
        return SyncResult.APPLIED

    def verify(self, expected: int) -> SyncResult:
        if not self.synced:
            return SyncResult.IGNORED
        local = checksum(self.book)
        if local != expected:
            return self.fail(f"checksum mismatch (local {local} != Bitfinex {expected})")
        self.checksums_ok += 1
        return SyncResult.APPLIED

    def fail(self, why: str) -> SyncResult:
        self.last_error = f"{self.book.symbol}: {why}"
        self.resyncs += 1
        self.reset()
        return SyncResult.RESYNC
