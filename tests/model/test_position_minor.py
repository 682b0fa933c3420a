"""Positions on a venue that books PnL per execution in whole minor units (BitMEX) realise
exactly what the venue's wallet books: the engine's Position against the BitMEX emulator's
integer ledger (exact rational arithmetic, written separately), fill for fill, and against
hand-computed cases. A float position drifts from the wallet by up to a unit per fill; this
one must not drift at all."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tradeloop.emulator.bitmex import contracts as ct
from tradeloop.emulator.bitmex.ledger import SatLedger
from tradeloop.model import Position

XBTUSD = ct.instrument("XBTUSD")
XBTUSDT = ct.instrument("XBTUSDT")
SAT = 100_000_000


def test_bitmex_instruments_round_as_the_venue_does() -> None:
    assert XBTUSD.settle_per_unit == SAT and XBTUSD.inverse
    assert XBTUSDT.settle_per_unit == 1_000_000 and not XBTUSDT.inverse
    assert Position.of(XBTUSD).per_unit == SAT


def test_inverse_round_trip_by_hand() -> None:
    """Buy 100 at 30,012.5 then sell 100 at 30,100.5: worth round(100e8/30012.5) = 333,195
    sat and round(100e8/30100.5) = 332,220 sat; the long realises 333,195 - 332,220 = 975
    sat, where the continuous formula gives 974.107 sat."""
    p = Position.of(XBTUSD)
    assert p.apply_fill(100, 30_012.5) == 0.0 and p.cost == 333_195
    r = p.apply_fill(-100, 30_100.5)
    assert round(r * SAT) == 975 and r == 975 / SAT
    assert p.qty == 0.0 and p.cost == 0
    float_pnl = (1 / 30_012.5 - 1 / 30_100.5) * 100 * SAT
    assert abs(float_pnl - 975) > 0.85  # the continuous figure is not the wallet's


def test_partial_close_takes_the_rounded_proportional_cost() -> None:
    p = Position.of(XBTUSD)
    p.apply_fill(3, 29_000.0)  # cost round(3e8/29000) = 10,345
    assert p.cost == 10_345
    r = p.apply_fill(-1, 29_500.0)  # part round(10345/3) = 3,448; worth round(1e8/29500) = 3,390
    assert round(r * SAT) == 3_448 - 3_390 and p.cost == 10_345 - 3_448


def test_flip_closes_then_opens_at_its_own_value() -> None:
    p = Position.of(XBTUSD)
    p.apply_fill(-2, 30_000.0)  # short 2: cost 6,667
    r = p.apply_fill(5, 29_000.0)  # close 2 (worth 6,897) and open 3 long
    assert round(r * SAT) == -(6_667 - 6_897)
    assert p.qty == 3.0 and p.cost == round(3 * SAT / 29_000)


fills = st.lists(
    st.tuples(
        st.booleans(),
        st.integers(1, 500),  # contracts (lot 1 on XBTUSD)
        st.integers(20_000 * 2, 70_000 * 2).map(lambda h: h / 2),  # tick 0.5
        st.integers(0, 900),  # commission in satoshi
    ),
    min_size=1,
    max_size=40,
)


@given(fills)
def test_inverse_position_equals_the_emulator_ledger(
    seq: list[tuple[bool, int, float, int]],
) -> None:
    _same_as_ledger(XBTUSD, SAT, seq)


@given(fills)
def test_linear_position_equals_the_emulator_ledger(
    seq: list[tuple[bool, int, float, int]],
) -> None:
    _same_as_ledger(XBTUSDT, 1_000_000, seq)


def _same_as_ledger(inst: object, unit: int, seq: list[tuple[bool, int, float, int]]) -> None:
    assert isinstance(inst, type(XBTUSD))
    ledger = SatLedger({"XBt": 100 * SAT, "USDt": 10**12}, 0)
    pos = Position.of(inst)
    for n, (buy, qty, price, comm) in enumerate(seq):
        want = ledger.execution(inst, buy, float(qty), price, comm, f"e{n}", 0)
        got = pos.apply_fill(qty if buy else -qty, price, comm / unit)
        assert round(got * unit) == want and got == want / unit  # the nearest float
        assert pos.cost == ledger.holding(inst.symbol).cost
    h = ledger.holding(inst.symbol)
    assert round((pos.realized_pnl - pos.fees) * unit) == h.realised - h.comm
    assert pos.qty == float(h.qty)
