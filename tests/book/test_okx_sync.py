"""OKX books sync: every books message of a real capture rebuilds the book with all 290
checksums matching; sequence rules (doc example, gap, heartbeat, maintenance reset)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeloop.book.checksum import okx_checksum
from tradeloop.book.okx_sync import BookResyncNeeded, OkxBookSync, SyncResult
from tradeloop.book.orderbook import OrderBook

from .capture import okx_books
from .conftest import require_compiled


@pytest.mark.shared
def test_capture_all_290_checksums_match(shared_data: Path, compiled: bool) -> None:
    syncs: dict[str, OkxBookSync] = {}
    results = []
    actions: dict[str, list[str]] = {}
    for inst, action, item in okx_books(shared_data / "captures" / "OKX.ws.1.0"):
        sync = syncs.setdefault(inst, OkxBookSync(inst, compiled=compiled))
        results.append(sync.apply_message(action, item))
        actions.setdefault(inst, []).append(action)
    assert len(results) == 290
    assert all(r is SyncResult.APPLIED for r in results), [s.last_error for s in syncs.values()]
    assert sum(s.checksums_ok for s in syncs.values()) == 290
    assert set(syncs) == {"BTC-USD-220527", "UNI-USD-SWAP", "BTC-USDT"}
    assert all(a[0] == "snapshot" and "snapshot" not in a[1:] for a in actions.values())
    for s in syncs.values():
        bb, ba = s.book.best_bid(), s.book.best_ask()
        assert bb and ba and bb[0] < ba[0]


@pytest.mark.shared
def test_capture_corrupted_size_is_detected(shared_data: Path, compiled: bool) -> None:
    sync = OkxBookSync("BTC-USDT", compiled=compiled)
    outcomes = []
    for n, (inst, action, item) in enumerate(okx_books(shared_data / "captures" / "OKX.ws.1.0")):
        if inst != "BTC-USDT":
            continue
        if (
            action == "update"
            and item["bids"]
            and n > 150
            and not any(o is SyncResult.RESYNC for o in outcomes)
        ):
            item = dict(item, bids=[[item["bids"][0][0], "123456", *item["bids"][0][2:]]])
        outcomes.append(sync.apply_message(action, item))
    assert SyncResult.RESYNC in outcomes
    assert "checksum mismatch" in sync.last_error
    first = outcomes.index(SyncResult.RESYNC)
    assert all(o is SyncResult.IGNORED for o in outcomes[first + 1 :])


def _msg(bids: list[list[str]], asks: list[list[str]]) -> dict[str, object]:
    return {"bids": bids, "asks": asks}


def _apply(
    sync: OkxBookSync,
    action: str,
    prev: int,
    seq: int,
    bids: list[list[str]],
    asks: list[list[str]],
) -> SyncResult:
    # Compute the checksum the venue would send for the book after this message.
    shadow = OkxBookSync(verify=False)
    if action == "update":
        shadow.book.apply_snapshot(*sync.book.top_text(1000))
        shadow.book.apply_deltas(bids, asks)
    else:
        shadow.book.apply_snapshot(bids, asks)
    cs = okx_checksum(*shadow.book.top_text(25))
    return sync.apply(action, bids, asks, cs, prev, seq)


def test_doc_sequence_example_including_heartbeat_and_maintenance_reset() -> None:
    s = OkxBookSync("BTC-USDT")
    assert _apply(s, "snapshot", -1, 10, [["100", "1"]], [["101", "1"]]) is SyncResult.APPLIED
    assert _apply(s, "update", 10, 15, [["100.5", "2"]], []) is SyncResult.APPLIED
    assert _apply(s, "update", 15, 15, [], []) is SyncResult.APPLIED  # heartbeat
    assert _apply(s, "update", 15, 3, [], [["101", "0"], ["102", "5"]]) is SyncResult.APPLIED
    assert _apply(s, "update", 3, 5, [["99", "1"]], []) is SyncResult.APPLIED
    assert s.seq_id == 5 and s.checksums_ok == 5
    assert s.book.top(5) == ([(100.5, 2.0), (100.0, 1.0), (99.0, 1.0)], [(102.0, 5.0)])


def test_gap_requires_resync_and_ignores_until_snapshot() -> None:
    s = OkxBookSync("BTC-USDT")
    _apply(s, "snapshot", -1, 10, [["100", "1"]], [["101", "1"]])
    assert _apply(s, "update", 11, 12, [["100", "2"]], []) is SyncResult.RESYNC
    assert "sequence gap" in s.last_error and s.resyncs == 1
    assert not s.synced and s.book.best_bid() is None
    assert s.apply("update", [["100", "3"]], [], None, 12, 13) is SyncResult.IGNORED
    assert _apply(s, "snapshot", -1, 20, [["90", "1"]], [["91", "1"]]) is SyncResult.APPLIED
    assert _apply(s, "update", 20, 21, [["90", "2"]], []) is SyncResult.APPLIED


def test_update_before_snapshot_is_ignored_and_exception_api() -> None:
    s = OkxBookSync("X")
    assert s.apply("update", [["1", "1"]], [], None, 1, 2) is SyncResult.IGNORED
    assert s.apply_or_raise("snapshot", [["1", "1"]], [["2", "1"]], None, -1, 5)
    with pytest.raises(BookResyncNeeded, match="checksum"):
        s.apply_or_raise("update", [["1", "2"]], [], 12345, 5, 6)


def test_malformed_level_resyncs(compiled: bool) -> None:
    """A level that is not a finite decimal string invalidates the book like a gap does."""
    s = OkxBookSync("BTC-USDT", compiled=compiled)
    assert s.apply("snapshot", [["100", "1"]], [["101", "1"]], None, -1, 1) is SyncResult.APPLIED
    assert s.apply("update", [["100", "oops"]], [], None, 1, 2) is SyncResult.RESYNC
    assert "malformed book level" in s.last_error and "'oops'" in s.last_error
    assert not s.synced and s.book.best_ask() is None
    assert s.apply("update", [["100", "2"]], [], None, 2, 3) is SyncResult.IGNORED


levels_text = st.lists(
    st.tuples(st.decimals(1, 10**6, places=3).map(str), st.sampled_from(["1", "0.25", "7"])),
    max_size=40,
    unique_by=lambda lv: float(lv[0]),
)


@settings(max_examples=200, deadline=None)
@given(levels_text, levels_text, st.booleans())
def test_book_checksum_equals_reference(
    bids: list[tuple[str, str]], asks: list[tuple[str, str]], compiled: bool
) -> None:
    """OrderBook.okx_checksum (both sides, C and Python) == the spec-shaped reference."""
    if compiled:
        require_compiled()
    bids.sort(key=lambda lv: -float(lv[0]))
    asks.sort(key=lambda lv: float(lv[0]))
    book = OrderBook(compiled=compiled)
    book.apply_snapshot(bids, asks)
    assert book.okx_checksum(25) == okx_checksum(bids, asks, 25)
