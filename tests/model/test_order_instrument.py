from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeloop.model import (
    TRANSITIONS,
    IllegalTransition,
    Instrument,
    Order,
    OrderStatus,
    Position,
    Side,
)

S = OrderStatus


def new_order() -> Order:
    return Order("c1", "BTC-USDT", Side.BUY, 1.0)


def test_happy_path_and_terminal_states_are_final() -> None:
    o = new_order()
    for s in (S.SUBMITTED, S.ACCEPTED, S.PARTIALLY_FILLED, S.PARTIALLY_FILLED, S.FILLED):
        o.transition(s)
    assert o.is_terminal
    for s in S:
        with pytest.raises(IllegalTransition):
            o.transition(s)


@pytest.mark.parametrize(
    ("path", "bad"),
    [
        ((), S.ACCEPTED),  # must be submitted first
        ((), S.FILLED),
        ((S.SUBMITTED, S.ACCEPTED), S.SUBMITTED),
        ((S.SUBMITTED, S.CANCELED), S.ACCEPTED),
        ((S.SUBMITTED, S.REJECTED), S.FILLED),
        ((S.SUBMITTED, S.ACCEPTED, S.PARTIALLY_FILLED), S.ACCEPTED),
    ],
)
def test_illegal_transitions_are_refused_and_leave_state_unchanged(
    path: tuple[OrderStatus, ...], bad: OrderStatus
) -> None:
    o = new_order()
    for s in path:
        o.transition(s)
    before = o.status
    with pytest.raises(IllegalTransition):
        o.transition(bad)
    assert o.status is before


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list(S)), max_size=12))
def test_state_machine_property(seq: list[OrderStatus]) -> None:
    """Any sequence: legal steps are taken, illegal ones refused; terminal states never change."""
    o = new_order()
    for s in seq:
        legal = s in TRANSITIONS[o.status]
        was_terminal = o.is_terminal
        if legal:
            o.transition(s)
            assert o.status is s
        else:
            with pytest.raises(IllegalTransition):
                o.transition(s)
        assert not (was_terminal and legal)


def test_wire_strings_are_exact_decimals() -> None:
    inst = Instrument("BTC-USDT", "BTC", "USDT", tick_size=0.1, lot_size=0.00001)
    assert inst.format_price(0.1 + 0.2) == "0.3"
    assert inst.format_price(30000.04999) == "30000"
    assert inst.format_price(1e-9) == "0"
    assert inst.format_qty(0.30000000000000004) == "0.3"
    assert inst.format_qty(0.1 + 0.2) == "0.3"
    assert inst.format_qty(0.123456789) == "0.12345"  # floor to the lot
    assert inst.format_qty(1e-7) == "0"
    assert inst.round_qty(249959.0) == 249959.0  # huge lot counts are not nudged up
    assert Instrument("X-Y", "X", "Y", lot_size=1e-8).round_qty(249959.0) == 249959.0
    assert inst.round_qty(0.7 / 0.1 * 0.1) == 0.7  # 0.6999999999999999 is 0.7 lots-wise
    assert "e" not in Instrument("X-Y", "X", "Y", tick_size=1e-8).format_price(5e-8)


@settings(max_examples=200, deadline=None)
@given(
    st.floats(min_value=0, max_value=1e7, allow_nan=False), st.sampled_from([0.1, 0.01, 0.5, 1e-8])
)
def test_rounded_price_is_a_whole_number_of_ticks(px: float, tick: float) -> None:
    from decimal import Decimal

    inst = Instrument("X-Y", "X", "Y", tick_size=tick)
    d = Decimal(inst.format_price(px))
    assert d % Decimal(repr(tick)) == 0
    assert abs(float(d) - px) <= tick / 2 + 1e-9 * max(px, 1)


def test_position_average_realised_and_flip() -> None:
    p = Position("X")
    p.apply_fill(2, 100.0)
    p.apply_fill(2, 110.0)
    assert p.avg_price == 105.0
    assert p.apply_fill(-1, 120.0) == 15.0
    assert p.qty == 3 and p.avg_price == 105.0
    assert p.apply_fill(-5, 100.0) == pytest.approx(-15.0)  # closes 3, flips short 2
    assert p.qty == -2 and p.avg_price == 100.0
    assert p.unrealized(90.0) == pytest.approx(20.0)


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        st.floats(min_value=0, max_value=1e12, allow_nan=False),
        st.integers(0, 10**9).map(lambda i: i / 100),
    ),
    st.sampled_from([0.1, 0.01, 0.001, 1e-8, 1.0, 0.5, 0.25]),
)
def test_float_rounding_fast_path_equals_the_decimal_path(x: float, step: float) -> None:
    inst = Instrument("X-Y", "X", "Y", tick_size=step, lot_size=step)
    assert inst.round_qty(x) == float(inst.qty_decimal(x))
    assert inst.round_price(x) == float(inst.price_decimal(x))


@settings(max_examples=500, deadline=None)
@given(
    st.integers(0, 10**7),
    st.sampled_from([0.1, 0.01, 0.001, 1e-8, 1.0, 0.5, 0.25, 0.3, 7e-5]),
    st.sampled_from([0.0, 1e-12, -1e-12, 5e-10, -5e-10, 2e-9, -2e-9, 1e-7, -1e-7]),
)
def test_whole_lots_and_near_misses_round_as_the_decimal_path(
    n: int, step: float, nudge: float
) -> None:
    """Sizes at (or a hair off) a whole number of lots: the integer fast path must agree
    with the exact decimal rule, its billionth-of-a-lot tolerance included."""
    inst = Instrument("X-Y", "X", "Y", lot_size=step)
    x = (n + nudge) * step
    assert inst.round_qty(x) == float(inst.qty_decimal(x))


def test_quote_amounts_are_floored_to_the_quote_step() -> None:
    inst = Instrument("BTC-USDT", "BTC", "USDT", tick_size=0.1, lot_size=1e-8)
    assert inst.format_quote(9123.456789012345) == "9123.45678901"  # never spend more
    assert inst.format_quote(0.1 + 0.2) == "0.3"
    assert inst.format_quote(100) == "100"
    assert Instrument("X-Y", "X", "Y", quote_step=0.01).format_quote(12.349) == "12.34"
