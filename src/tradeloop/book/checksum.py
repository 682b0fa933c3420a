"""Venue book checksums, computed on the price/size *strings exactly as received* (re-formatting
a float would change the text and the CRC)."""

from __future__ import annotations

import zlib
from collections.abc import Sequence

Level = Sequence[str]  # (price_text, size_text, ...)


def _signed32(x: int) -> int:
    return x - (1 << 32) if x & 0x80000000 else x


def okx_checksum_string(bids: Sequence[Level], asks: Sequence[Level], depth: int = 25) -> str:
    """OKX v5: interleave bid[i] and ask[i] as ``px:sz`` for the top ``depth`` levels; when one
    side is shorter its missing entries are simply skipped."""
    parts: list[str] = []
    nb, na = min(len(bids), depth), min(len(asks), depth)
    for i in range(max(nb, na)):
        if i < nb:
            parts.append(f"{bids[i][0]}:{bids[i][1]}")
        if i < na:
            parts.append(f"{asks[i][0]}:{asks[i][1]}")
    return ":".join(parts)


def okx_checksum(bids: Sequence[Level], asks: Sequence[Level], depth: int = 25) -> int:
    """Signed 32-bit CRC32 of :func:`okx_checksum_string` (what OKX puts in ``checksum``)."""
    return _signed32(zlib.crc32(okx_checksum_string(bids, asks, depth).encode()))


def crc32_interleaved(
    bids: Sequence[Level], asks: Sequence[Level], depth: int, *, signed: bool
) -> int:
    """CRC32 of :func:`okx_checksum_string`, the layout OKX and FTX share: signed 32-bit as
    OKX sends it, or unsigned as FTX does."""
    crc = zlib.crc32(okx_checksum_string(bids, asks, depth).encode())
    return _signed32(crc) if signed else crc
