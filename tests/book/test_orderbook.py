"""OrderBook on both side implementations: text preserved, ordering, deletes, snapshot replace,
bad input rejected without changing anything; property tests against a dict-and-sort model;
and a differential test that the C side and the Python reference agree on every output."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeloop.book.checksum import okx_checksum
from tradeloop.book.orderbook import OrderBook, PySide

from .conftest import require_compiled


def test_snapshot_and_deltas_keep_text_and_order(compiled: bool) -> None:
    b = OrderBook("X", compiled=compiled)
    assert b.compiled is compiled
    got = b.apply_snapshot([["100.10", "1.50"], ["99", "2"]], [["101", "3"], ["100.5", "0.10"]])
    assert got == ([(100.1, 1.5), (99.0, 2.0)], [(101.0, 3.0), (100.5, 0.1)])
    assert b.best_bid() == (100.1, 1.5)
    assert b.best_ask() == (100.5, 0.1)
    assert b.top_text(5) == ([("100.10", "1.50"), ("99", "2")], [("100.5", "0.10"), ("101", "3")])
    got = b.apply_deltas([["100.10", "0"], ["99.5", "4"]], [["100.7", "1"], ["101", "0.000"]])
    assert got == ([(100.1, 0.0), (99.5, 4.0)], [(100.7, 1.0), (101.0, 0.0)])
    assert b.top(5) == ([(99.5, 4.0), (99.0, 2.0)], [(100.5, 0.1), (100.7, 1.0)])
    b.apply_deltas([["98", "0"]], [])  # deleting a missing price is a no-op
    assert len(b.bids) == 2
    assert b.mid() == (99.5 + 100.5) / 2
    assert not b.is_crossed()
    b.apply_snapshot([["1", "1"]], [])
    assert b.top(5) == ([(1.0, 1.0)], [])
    assert b.best_ask() is None and b.mid() is None


def test_checksum_doc_strings(compiled: bool) -> None:
    """Spec §2.5 example books give the documented checksum strings / computed CRCs."""
    b = OrderBook(compiled=compiled)
    b.apply_snapshot([["3366.1", "7"], ["3366", "6"]], [["3366.8", "9"], ["3368", "8"]])
    assert okx_checksum(*b.top_text(25)) == -1881014294 == b.okx_checksum()
    b.apply_deltas([["3366", "0"]], [["3372", "8"]])
    assert okx_checksum(*b.top_text(25)) == 831078360 == b.okx_checksum()


class _Lv(msgspec.Struct, array_like=True):
    px: str
    sz: str


def test_levels_as_lists_tuples_or_px_sz_structs(compiled: bool) -> None:
    """The OKX decoder hands over array-like structs with .px/.sz; users pass lists/tuples."""
    lv = msgspec.json.decode(b'[["10.5","1","0","2"],["10","2","0","1"]]', type=list[_Lv])
    b = OrderBook(compiled=compiled)
    b.apply_snapshot(lv, [("11", "1"), ["12", "3", "0", "1"]])
    assert b.top_text(5) == ([("10.5", "1"), ("10", "2")], [("11", "1"), ("12", "3")])

    class Attr:  # any object with px/sz attributes (not a struct): the slow lookup path
        def __init__(self, px: str, sz: str) -> None:
            self.px, self.sz = px, sz

    b.apply_deltas([Attr("10.5", "0")], [])
    assert b.best_bid() == (10.0, 2.0)


@pytest.mark.parametrize(
    ("level", "exc", "match"),
    [
        (["abc", "1"], ValueError, "price is not a finite number: 'abc'"),
        (["1", "nan"], ValueError, "size is not a finite number"),
        (["inf", "1"], ValueError, "price is not a finite number"),
        (["1e400", "1"], ValueError, "price is not a finite number"),
        (["1", " 2"], ValueError, "size is not a finite number"),
        (["1_0", "2"], ValueError, "price is not a finite number"),
        (["١", "2"], ValueError, "price is not a finite number"),
        (["", "2"], ValueError, "price is not a finite number"),
        (["1", "-2"], ValueError, "size is negative"),
        (["1"], ValueError, r"needs \[price, size\]"),
        ([1.5, "2"], TypeError, "price must be a str"),
        (["1", None], TypeError, "size must be a str"),
        (42, TypeError, "must be"),
    ],
)
def test_bad_levels_raise_and_change_nothing(
    compiled: bool, level: Any, exc: type[Exception], match: str
) -> None:
    b = OrderBook("X", compiled=compiled)
    b.apply_snapshot([["10", "1"]], [["11", "1"]])
    with pytest.raises(exc, match=match):
        b.bids.update([["9", "5"], level])  # the good level before it is not applied either
    assert b.top_text(5) == ([("10", "1")], [("11", "1")])
    with pytest.raises(exc, match=match):
        b.asks.load([["12", "1"], level])
    assert b.top_text(5) == ([("10", "1")], [("11", "1")])
    with pytest.raises(exc, match=match):
        b.apply_snapshot([["9", "1"]], [level])
    assert b.top_text(5) == ([], [])  # a snapshot that fails leaves an empty book, not half


prices = st.integers(min_value=1, max_value=60).map(lambda i: f"{i / 4:g}")
sizes = st.sampled_from(["0", "1", "2.5", "0.001", "7"])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.booleans(), prices, sizes), max_size=80), st.booleans())
def test_matches_a_naive_model(ops: list[tuple[bool, str, str]], compiled: bool) -> None:
    if compiled:
        require_compiled()
    book = OrderBook(compiled=compiled)
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


def test_empty_and_short_sides_edges(compiled: bool) -> None:
    b = OrderBook("X", compiled=compiled)
    assert len(b.bids) == len(b.asks) == 0
    assert b.best_bid() is None and b.best_ask() is None
    assert b.top(25) == ([], []) and b.top_text(25) == ([], [])
    assert b.bids.size_at(float("inf")) == 0.0 and b.asks.size_at(float("inf")) == 0.0
    b.apply_deltas([["5", "0"]], [["6", "0"]])  # deleting from an empty side is a no-op
    assert len(b.bids) == len(b.asks) == 0
    b.apply_snapshot(
        [["10", "1"], ["9", "0"], ["10", "2"], ["8", "3"]],  # zero skipped, repeat: last wins
        [["12", "1"], ["11", "4"]],  # worst first: not the usual order, still sorted
    )
    assert b.top_text(25) == ([("10", "2"), ("8", "3")], [("11", "4"), ("12", "1")])
    assert b.top_text(1) == ([("10", "2")], [("11", "4")])
    assert b.top_text(0) == ([], []) and b.top(-3) == ([], [])
    assert b.top(3) == ([(10.0, 2.0), (8.0, 3.0)], [(11.0, 4.0), (12.0, 1.0)])
    assert b.bids.size_at(8.0) == 3.0 and b.bids.size_at(9.0) == 0.0
    assert b.asks.size_at(11.0) == 4.0 and b.asks.size_at(1e9) == 0.0
    b.apply_deltas([["10", "0"], ["8", "0"], ["1", "0"]], [["13", "2"], ["11", "0"], ["12", "0"]])
    assert b.best_bid() is None and b.best_ask() == (13.0, 2.0)
    assert b.top_text(25) == ([], [("13", "2")])
    b.clear()
    assert len(b.asks) == 0 and b.top_text(5) == ([], [])
    big = [[str(1000 - i), "1"] for i in range(300)]  # > the C side's on-stack batch size
    b.apply_snapshot(big, [])
    b.apply_deltas(big[::-1], [])
    assert len(b.bids) == 300 and b.best_bid() == (1000.0, 1.0)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), prices, sizes), max_size=120),
    st.integers(min_value=0, max_value=70),
    st.booleans(),
)
def test_reads_match_a_naive_model(
    ops: list[tuple[bool, str, str]], n: int, compiled: bool
) -> None:
    """Every read (top, top_text, best, size_at, len) against a dict-and-sort model, with
    deltas applied one at a time and in batches."""
    if compiled:
        require_compiled()
    book = OrderBook(compiled=compiled)
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
        assert side.top_text(n) == [m[p] for p in order[:n]]
        assert side.top(n) == [(p, float(m[p][1])) for p in order[:n]]
        assert side.best() == ((order[0], float(m[order[0]][1])) if order else None)
        for p in {*m, 0.25, 100.0}:
            assert side.size_at(p) == (float(m[p][1]) if p in m else 0.0)


# -- C side vs Python reference ------------------------------------------------------------

# Number texts that stress the parser: the plain-decimal fast path (long fractions, leading
# and trailing zeros, negative zero), what falls back to CPython's parser (exponents, 16+
# digits, '+'), the same float written two ways, and malformed text.
_number_text = st.one_of(
    st.decimals(min_value=0, max_value=10**7, places=8, allow_nan=False).map(str),
    st.floats(min_value=0, max_value=1e9, allow_nan=False).map(repr),
    st.integers(min_value=0, max_value=10**20).map(str),
    st.sampled_from(
        ["0", "-0", "0.0", "1", "1.0", "1.00", ".5", "5.", "1e3", "1E-3", "+2", "00012.50",
         "0.30000000000000004", "12345678901234567890.5", "1" + "0" * 22 + ".5",
         "0." + "0" * 21 + "1", "0." + "0" * 22 + "1", "9007199254740993",
         "x", "", ".", "-", "1.2.3", "nan", "inf", " 1", "1_0", "1e999"]
    ),
)  # fmt: skip
_level = st.tuples(_number_text, _number_text)
_op = st.tuples(st.booleans(), st.booleans(), st.lists(_level, max_size=12))


def _outcome(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except (ValueError, TypeError) as exc:
        return type(exc), str(exc)


@settings(max_examples=400, deadline=None)
@given(st.lists(_op, max_size=25))
def test_c_side_matches_python_reference(ops: list[tuple[bool, bool, list[Any]]]) -> None:
    require_compiled()
    c, py = OrderBook(compiled=True), OrderBook(compiled=False)
    for is_bid, snapshot, levels in ops:
        cs, ps = (c.bids, py.bids) if is_bid else (c.asks, py.asks)
        assert isinstance(ps, PySide) and not isinstance(cs, PySide)
        meth = "load" if snapshot else "update"
        # Same floats returned (bit for bit: compare reprs), or the same error.
        got_c = _outcome(getattr(cs, meth), [list(lv) for lv in levels])
        got_py = _outcome(getattr(ps, meth), [list(lv) for lv in levels])
        assert repr(got_c) == repr(got_py)
        assert c.top_text(1000) == py.top_text(1000)
        assert repr(c.top(1000)) == repr(py.top(1000))
        assert repr(c.best_bid()) == repr(py.best_bid())
        assert repr(c.best_ask()) == repr(py.best_ask())
        assert (len(c.bids), len(c.asks)) == (len(py.bids), len(py.asks))
        for depth in (0, 1, 25):
            assert c.okx_checksum(depth) == py.okx_checksum(depth)
        for px, _ in py.bids.top(3) + py.asks.top(3):
            assert c.bids.size_at(px) == py.bids.size_at(px)
            assert c.asks.size_at(px) == py.asks.size_at(px)


def test_c_parser_matches_float_on_exactness_edges() -> None:
    """The C fast path must give float()'s correctly rounded result, bit for bit."""
    require_compiled()
    texts = ["0.1", "0.3", "123456.789012345", "999999999999999.9", "0.000000000000000000001",
             "8.5e-5", "30236.1", "0.30000000000000004", "-0.0", "1.7976931348623157e308",
             "4.9e-324", "2.2250738585072014e-308", "100000000000000000000000"]  # fmt: skip
    b = OrderBook(compiled=True)
    got = b.bids.update([[t, t.lstrip("-")] for t in texts])
    assert [repr(p) for p, _ in got] == [repr(float(t)) for t in texts]
