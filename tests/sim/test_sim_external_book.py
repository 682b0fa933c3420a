"""The external book's venue view: ``venue_top`` equals the top of a second book that only
ever receives the venue's messages, however our fills consumed the simulator's copy.

Why: a tick replay takes its quotes from ``venue_top`` instead of applying every message to a
second book (the bench's largest cost); this pins it to that plain definition.
"""

from __future__ import annotations

import random

from tradeloop.model import BookLevels
from tradeloop.sim.liquidity import ExternalBook


def _plain_top(bids: dict[float, float], asks: dict[float, float]) -> object:
    if not bids or not asks:
        return None
    b, a = max(bids), min(asks)
    return b, bids[b], a, asks[a]


def test_venue_top_equals_a_second_book_under_random_deltas_and_consumption() -> None:
    rng = random.Random(11)
    ext = ExternalBook()
    bids: dict[float, float] = {}
    asks: dict[float, float] = {}
    consumed = 0
    for step in range(20_000):
        if step % 2_000 == 0:  # a snapshot now and then
            b = [(100.0 - i * 0.5, float(rng.randint(1, 5))) for i in range(8)]
            a = [(100.5 + i * 0.5, float(rng.randint(1, 5))) for i in range(8)]
            msg = BookLevels(step, "X", b, a, True)
            bids, asks = dict(b), dict(a)
        else:
            b = [(100.0 - rng.randint(-1, 8) * 0.5, float(rng.choice((0, 0, 1, 2, 3))))
                 for _ in range(rng.randint(0, 3))]  # fmt: skip
            a = [(100.5 + rng.randint(-1, 8) * 0.5, float(rng.choice((0, 0, 1, 2, 3))))
                 for _ in range(rng.randint(0, 3))]  # fmt: skip
            msg = BookLevels(step, "X", b, a, False)
            for side, levels in ((bids, b), (asks, a)):
                for p, s in levels:
                    if s > 0:
                        side[p] = s
                    else:
                        side.pop(p, None)
        ext.apply(msg)
        assert ext.venue_top() == _plain_top(bids, asks)
        if rng.random() < 0.3:  # our order takes part or all of a top level
            is_bid = rng.random() < 0.5
            px = ext.best_bid() if is_bid else ext.best_ask()
            if px is not None:
                ext.consume(is_bid, px, ext.size(is_bid, px) * rng.choice((0.5, 1.0, 2.0)))
                consumed += 1
        assert ext.venue_top() == _plain_top(bids, asks)
    assert consumed > 1_000


# -- the compiled delta step against the Python one -------------------------------------------
import math  # noqa: E402
import os  # noqa: E402

import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tradeloop.sim import liquidity as L  # noqa: E402


def _c_apply() -> object:
    if L._c_apply_levels is None:
        if os.environ.get("TRADELOOP_REQUIRE_CEXT"):
            pytest.fail("tradeloop.sim._clevels is not built but TRADELOOP_REQUIRE_CEXT is set")
        pytest.skip("tradeloop.sim._clevels not built (no C compiler at install time)")
    return L._c_apply_levels


_price = st.one_of(
    st.sampled_from([99.5, 100.0, 100.5, 101.0, -0.0, 0.0, math.inf, math.nan]),
    st.floats(90, 110).map(lambda x: round(x, 1)),
    st.integers(95, 105),
)
_size = st.one_of(
    st.sampled_from([0.0, -1.0, 0.5, 2.0, math.nan, math.inf, 0]),
    st.floats(0, 5).map(lambda x: round(x, 2)),
    st.integers(-1, 3),
)
_msg = st.lists(st.tuples(_price, _size), max_size=8)


def _state(side: dict[float, float], prices: list[float], taken: dict[float, float]) -> str:
    return repr((list(side.items()), prices, list(taken.items())))


@settings(max_examples=300, deadline=None)
@given(msgs=st.lists(_msg, max_size=25), taken=st.lists(_price, max_size=4))
def test_compiled_delta_step_does_what_the_python_loop_does(
    msgs: list[list[tuple[float, float]]], taken: list[float]
) -> None:
    c_apply = _c_apply()
    sides = []
    for impl in (c_apply, L._apply_levels):
        side: dict[float, float] = {}
        prices: list[float] = []
        tk = dict.fromkeys(taken, 1.0)
        trail = []
        for m in msgs:
            try:
                assert impl(side, prices, tk, m)  # type: ignore[operator]
                trail.append(_state(side, prices, tk))
            except TypeError as exc:  # e.g. a NaN price never found again: same either way
                trail.append(type(exc).__name__)
        sides.append(trail)
    assert sides[0] == sides[1]


def test_compiled_delta_step_declines_what_it_does_not_handle() -> None:
    c_apply = _c_apply()
    assert c_apply({}, [], {}, [[100.0, 1.0]]) is False  # lists as levels: Python's loop
    assert c_apply({}, [], {}, [(100.0, 1.0, 3)]) is False
    side: dict[float, float] = {}
    prices: list[float] = []
    with pytest.raises(TypeError):
        c_apply(side, prices, {}, [(100.0, 1.0), (101.0, None)])
    assert side == {100.0: 1.0} and prices == [100.0]  # as far as the Python loop gets
    assert L.LEVELS_IMPLEMENTATION == "c"
