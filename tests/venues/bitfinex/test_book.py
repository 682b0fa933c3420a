"""Bitfinex book checksums: the three published vectors (number text as received, ``1e-8``
included), the capture's books replayed with SEQ_ALL numbers, and the stream decoder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tradeloop.book.okx_sync import SyncResult
from tradeloop.venues.bitfinex.book import BitfinexBook, checksum
from tradeloop.venues.bitfinex.ws import decode_frame, texts

pytestmark = pytest.mark.shared


def _feed(book: BitfinexBook, text: str) -> SyncResult | None:
    frame = decode_frame(text)
    if frame is None or frame.data is None:
        return None
    if frame.kind == "cs":
        return book.verify(int(bytes(frame.data)))
    rows = texts(frame.data)
    if bytes(frame.data).startswith(b"[["):
        return book.snapshot(rows)
    return book.update(rows)


def test_published_vectors(shared_data: Path) -> None:
    cases = json.loads((shared_data / "bitfinex/book_checksum_vectors.json").read_text())["cases"]
    assert len(cases) == 3
    for case in cases:
        book = BitfinexBook(case["symbol"])
        for msg in case["messages"]:
            _feed(book, msg)
        assert checksum(book.book) == case["expected_checksum"], case["name"]
        assert book.verify(case["expected_checksum"]) is SyncResult.APPLIED
        assert book.verify(case["expected_checksum"] + 1) is SyncResult.RESYNC
        assert not book.synced  # a mismatch clears the book until a new snapshot


def test_capture_replay(shared_data: Path) -> None:
    """Every book in the real capture rebuilds level by level, and the connection's SEQ_ALL
    numbers are consecutive (``hb`` included), which is what the stream's gap check relies on."""
    chans: dict[int, tuple[str, str]] = {}
    books: dict[str, BitfinexBook] = {}
    last_seq = None
    applied = 0
    for line in (shared_data / "captures/BITFINEX.ws.11.0").read_text().splitlines():
        if " <- " in line or " <-> " in line or ": " not in line:
            continue
        text = line.split(": ", 1)[1]
        if text.startswith("{"):
            doc = json.loads(text)
            if doc.get("event") == "subscribed":
                chans[doc["chanId"]] = (doc["channel"], doc["symbol"])
            continue
        frame = decode_frame(text)
        assert frame is not None and frame.seq is not None
        if last_seq is not None:
            assert frame.seq == last_seq + 1
        last_seq = frame.seq
        channel, sym = chans.get(frame.chan, ("", ""))  # the capture logs some hb before acks
        if channel == "book":
            book = books.setdefault(sym, BitfinexBook(sym))
            if _feed(book, text) is SyncResult.APPLIED:
                applied += 1
    assert applied > 100 and books
    for book in books.values():
        bids, asks = book.book.top(1)
        assert bids and asks and bids[0][0] < asks[0][0]
