"""OKX books sync: every books message of a real capture rebuilds the book with all 290
checksums matching; sequence rules (doc example, gap, heartbeat, maintenance reset)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeloop.book.checksum import okx_checksum
from tradeloop.book.okx_sync import BookResyncNeeded, OkxBookSync, SyncResult, okx_book_checksum

from .capture import okx_books


@pytest.mark.shared
def test_capture_all_290_checksums_match(shared_data: Path) -> None:
    syncs: dict[str, OkxBookSync] = {}
    results = []
    actions: dict[str, list[str]] = {}
    for inst, action, item in okx_books(shared_data / "captures" / "OKX.ws.1.0"):
        sync = syncs.setdefault(inst, OkxBookSync(inst))
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
def test_capture_corrupted_size_is_detected(shared_data: Path) -> None:
    sync = OkxBookSync("BTC-USDT")
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


levels_text = st.lists(
    st.tuples(st.decimals(1, 10**6, places=3).map(str), st.sampled_from(["1", "0.25", "7"])),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(levels_text, levels_text)
def test_fast_checksum_equals_reference(
    bids: list[tuple[str, str]], asks: list[tuple[str, str]]
) -> None:
    joined_b = [f"{p}:{s}" for p, s in bids[:25]]
    joined_a = [f"{p}:{s}" for p, s in asks[:25]]
    assert okx_book_checksum(joined_b, joined_a) == okx_checksum(bids, asks, 25)
