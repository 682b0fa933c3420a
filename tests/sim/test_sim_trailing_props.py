"""Property tests of the trailing stop's path: the simulator against a brute-force reading of
the documented rule, and the rule's own consistency (straight segments can be cut anywhere)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeloop.model import Order, OrderType, Side
from tradeloop.model.enums import TriggerKind
from tradeloop.model.order import Trigger
from tradeloop.sim import triggers
from tradeloop.sim.records import SimOrder

from .helpers import MIN, SPOT, T0, bar, make

prices = st.integers(min_value=50, max_value=150).map(float)


@st.composite
def ohlc(draw: st.DrawFn) -> tuple[float, float, float, float]:
    o, c = draw(prices), draw(prices)
    h = max(o, c) + draw(st.integers(0, 10))
    lo = min(o, c) - draw(st.integers(0, 10))
    return o, h, lo, c


def reference(
    start: float, bars: list[tuple[float, float, float, float]], side: Side, rate: float
) -> float | None:
    """The rule written out the slow way: the whole path, best price = extreme of the prefix."""
    pts: list[tuple[float, bool]] = []  # (price, is a bar's open)
    for o, h, lo, c in bars:
        mid = (lo, h) if c >= o else (h, lo)
        pts += [(o, True), (mid[0], False), (mid[1], False), (c, False)]
    best = start
    for p, is_open in pts:
        if side is Side.SELL:
            level = best * (1 - rate)
            if p <= level:
                return p if is_open else level
            best = max(best, p)
        else:
            level = best * (1 + rate)
            if p >= level:
                return p if is_open else level
            best = min(best, p)
    return None


@settings(max_examples=150, deadline=None)
@given(
    bars=st.lists(ohlc(), min_size=1, max_size=12),
    side=st.sampled_from([Side.SELL, Side.BUY]),
    rate=st.sampled_from([0.01, 0.05, 0.1, 0.25]),
)
def test_sim_trailing_matches_the_brute_force_rule(
    bars: list[tuple[float, float, float, float]], side: Side, rate: float
) -> None:
    ex, rec = make(balances={"USDT": 1e9, "BTC": 10.0})
    ex.on_bar(bar(0, 100, 100, 100, 100))
    t = Trigger(TriggerKind.TRAILING, callback_rate=rate)
    ex.submit(Order("tr", SPOT.symbol, side, 0.1, OrderType.MARKET, trigger=t), T0 + MIN)
    for i, b in enumerate(bars, 1):
        ex.on_bar(bar(i, *b))
    want = reference(100.0, bars, side, rate)
    got = [f.price for f in rec.fills("tr")]
    if want is None:
        assert got == []
    else:
        assert got == [pytest.approx(want)]


@settings(max_examples=150, deadline=None)
@given(
    path=st.lists(prices, min_size=2, max_size=10),
    cuts=st.lists(st.floats(0.01, 0.99), min_size=1, max_size=4),
    side=st.sampled_from([Side.SELL, Side.BUY]),
    amount=st.sampled_from([1.0, 5.0, 20.0]),
)
def test_cutting_straight_segments_changes_nothing(
    path: list[float], cuts: list[float], side: Side, amount: float
) -> None:
    """Points added on a straight segment (after the open) move neither the fire price nor
    the final best price: the answer depends on the path, not on how finely it is sampled."""

    def run(pts: list[float]) -> tuple[float | None, float]:
        rec = SimOrder("x", SPOT.symbol, side, OrderType.MARKET, Order("", "", side, 1).tif,
                       0.0, 1.0, 0.0, False, "", 0, 0,
                       trigger=Trigger(TriggerKind.TRAILING, callback_amount=amount))  # fmt: skip
        rec.extreme = 100.0
        hit = triggers.fire_on_path(rec, tuple(pts))
        return (hit[1] if hit else None), rec.extreme

    dense = [path[0]]
    for a, b in itertools.pairwise(path):
        dense += [a + (b - a) * f for f in sorted(cuts)] + [b]
    fine, coarse = run(dense), run(path)
    assert (fine[0] is None) == (coarse[0] is None)
    if fine[0] is not None:
        assert fine[0] == pytest.approx(coarse[0])
    else:
        assert fine[1] == pytest.approx(coarse[1])


@settings(max_examples=100, deadline=None)
@given(path=st.lists(prices, min_size=1, max_size=20))
def test_sell_level_only_rises(path: list[float]) -> None:
    rec = SimOrder("x", SPOT.symbol, Side.SELL, OrderType.MARKET, Order("", "", Side.SELL, 1).tif,
                   0.0, 1.0, 0.0, False, "", 0, 0,
                   trigger=Trigger(TriggerKind.TRAILING, callback_rate=0.5))  # fmt: skip
    rec.extreme = 60.0
    levels = [triggers.trail_level(rec)]
    for p in path:
        if triggers.fire_on_path(rec, (p,)) is not None:
            assert p <= levels[-1]  # fired at or below the level it had
            break
        levels.append(triggers.trail_level(rec))
    assert levels == sorted(levels)
