"""OrderBook: text preserved, ordering, deletes, snapshot replace; a property test against a
dict-and-sort model."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tradeloop.book.checksum import okx_checksum
from tradeloop.book.orderbook import OrderBook


def test_snapshot_and_deltas_keep_text_and_order() -> None:
    b = OrderBook("X")
    b.apply_snapshot([["100.10", "1.50"], ["99", "2"]], [["101", "3"], ["100.5", "0.10"]])
    assert b.best_bid() == (100.1, 1.5)
    assert b.best_ask() == (100.5, 0.1)
    assert b.top_text(5) == ([("100.10", "1.50"), ("99", "2")], [("100.5", "0.10"), ("101", "3")])
    b.apply_deltas([["100.10", "0"], ["99.5", "4"]], [["100.7", "1"], ["101", "0.000"]])
    assert b.top(5) == ([(99.5, 4.0), (99.0, 2.0)], [(100.5, 0.1), (100.7, 1.0)])
    b.apply_deltas([["98", "0"]], [])  # deleting a missing price is a no-op
    assert len(b.bids) == 2
    assert b.mid() == (99.5 + 100.5) / 2
    assert not b.is_crossed()
    b.apply_snapshot([["1", "1"]], [])
    assert b.top(5) == ([(1.0, 1.0)], [])
    assert b.best_ask() is None and b.mid() is None


def test_checksum_doc_strings() -> None:
    """Spec §2.5 example books give the documented checksum strings / computed CRCs."""
    b = OrderBook()
    b.apply_snapshot([["3366.1", "7"], ["3366", "6"]], [["3366.8", "9"], ["3368", "8"]])
    assert okx_checksum(*b.top_text(25)) == -1881014294
    b.apply_deltas([["3366", "0"]], [["3372", "8"]])
    assert okx_checksum(*b.top_text(25)) == 831078360


prices = st.integers(min_value=1, max_value=60).map(lambda i: f"{i / 4:g}")
sizes = st.sampled_from(["0", "1", "2.5", "0.001", "7"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.booleans(), prices, sizes), max_size=80))
def test_matches_a_naive_model(ops: list[tuple[bool, str, str]]) -> None:
    book = OrderBook()
    model: dict[bool, dict[float, tuple[str, str]]] = {True: {}, False: {}}
    for is_bid, px, sz in ops:
        if is_bid:
            book.apply_deltas([[px, sz]], [])
        else:
            book.apply_deltas([], [[px, sz]])
        if float(sz) == 0:
            model[is_bid].pop(float(px), None)
        else:
            model[is_bid][float(px)] = (px, sz)
    want_bids = [model[True][p] for p in sorted(model[True], reverse=True)]
    want_asks = [model[False][p] for p in sorted(model[False])]
    assert book.top_text(1000) == (want_bids, want_asks)


def test_empty_and_short_sides_sorted_arrays_edges() -> None:
    """The sides are sorted arrays ending in a +inf sentinel: it must never leak out."""
    b = OrderBook("X")
    assert len(b.bids) == len(b.asks) == 0
    assert b.best_bid() is None and b.best_ask() is None
    assert b.top(25) == ([], []) and b.top_joined(25) == ([], [])
    assert b.bids.size_at(float("inf")) == 0.0 and b.asks.size_at(float("inf")) == 0.0
    b.apply_deltas([["5", "0"]], [["6", "0"]])  # deleting from an empty side is a no-op
    assert len(b.bids) == len(b.asks) == 0
    b.apply_snapshot(
        [["10", "1"], ["9", "0"], ["10", "2"], ["8", "3"]],  # zero skipped, repeat: last wins
        [["12", "1"], ["11", "4"]],
    )
    assert b.top_joined(25) == (["10:2", "8:3"], ["11:4", "12:1"])
    assert b.top_joined(2) == (["10:2", "8:3"], ["11:4", "12:1"])
    assert b.top_joined(1) == (["10:2"], ["11:4"])
    assert b.top_joined(0) == ([], [])
    assert b.top(3) == ([(10.0, 2.0), (8.0, 3.0)], [(11.0, 4.0), (12.0, 1.0)])
    assert b.bids.size_at(8.0) == 3.0 and b.bids.size_at(9.0) == 0.0
    assert b.asks.size_at(11.0) == 4.0 and b.asks.size_at(1e9) == 0.0
    b.apply_deltas([["10", "0"], ["8", "0"], ["1", "0"]], [["13", "2"], ["11", "0"], ["12", "0"]])
    assert b.best_bid() is None and b.best_ask() == (13.0, 2.0)
    assert b.top_joined(25) == ([], ["13:2"])
    b.clear()
    assert len(b.asks) == 0 and b.top_joined(5) == ([], [])


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), prices, sizes), max_size=120),
    st.integers(min_value=0, max_value=70),
)
def test_reads_match_a_naive_model(ops: list[tuple[bool, str, str]], n: int) -> None:
    """Every read (top, top_joined, best, size_at, len) against a dict-and-sort model, with
    deltas applied one at a time and in batches."""
    book = OrderBook()
    model: dict[bool, dict[float, tuple[str, str]]] = {True: {}, False: {}}
    for start in range(0, len(ops), 7):
        batch = ops[start : start + 7]
        book.apply_deltas(
            [[px, sz] for is_bid, px, sz in batch if is_bid],
            [[px, sz] for is_bid, px, sz in batch if not is_bid],
        )
        for is_bid, px, sz in batch:
            if float(sz) == 0:
                model[is_bid].pop(float(px), None)
            else:
                model[is_bid][float(px)] = (px, sz)
    for is_bid, side in ((True, book.bids), (False, book.asks)):
        m = model[is_bid]
        order = sorted(m, reverse=is_bid)
        assert len(side) == len(m)
        assert side.top_joined(n) == [":".join(m[p]) for p in order[:n]]
        assert side.top(n) == [(p, float(m[p][1])) for p in order[:n]]
        assert side.best() == ((order[0], float(m[order[0]][1])) if order else None)
        for p in {*m, 0.25, 100.0}:
            assert side.size_at(p) == (float(m[p][1]) if p in m else 0.0)
