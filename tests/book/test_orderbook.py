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
