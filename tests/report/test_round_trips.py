"""Round trips: opening, adding, partial closes, flips, fees, multipliers, several symbols."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeloop.model.enums import Side
from tradeloop.model.position import Position
from tradeloop.report.stats import round_trips

from .helpers import DAY, T0, fill


def test_simple_long_net_of_fees() -> None:
    trips = round_trips([fill(T0, "buy", 1, 100, 0.1), fill(T0 + DAY, "sell", 1, 110, 0.11)])
    assert len(trips) == 1
    t = trips[0]
    assert t.side is Side.BUY
    assert (t.entry_ts, t.exit_ts, t.duration_ns) == (T0, T0 + DAY, DAY)
    assert (t.entry_price, t.exit_price, t.qty) == (100, 110, 1)
    assert t.gross_pnl == pytest.approx(10)
    assert t.fees == pytest.approx(0.21)
    assert t.pnl == pytest.approx(9.79)
    assert t.n_fills == 2


def test_short_trip() -> None:
    (t,) = round_trips([fill(T0, "sell", 2, 50, 0.5), fill(T0 + 1, "buy", 2, 45, 0.5)])
    assert t.side is Side.SELL
    assert t.gross_pnl == pytest.approx(10)
    assert t.pnl == pytest.approx(9)


def test_adds_and_partial_closes_form_one_trip() -> None:
    # buy 2@100, sell 1@110, buy 1@120, sell 2@130: average-cost realised = 10 + 40 = 50
    fills = [
        fill(T0, "buy", 2, 100, 1.0),
        fill(T0 + 1, "sell", 1, 110, 1.0),
        fill(T0 + 2, "buy", 1, 120, 1.0),
        fill(T0 + 3, "sell", 2, 130, 1.0),
    ]
    (t,) = round_trips(fills)
    assert t.qty == 3
    assert t.entry_price == pytest.approx(320 / 3)
    assert t.exit_price == pytest.approx(370 / 3)
    assert t.gross_pnl == pytest.approx(50)
    assert t.fees == pytest.approx(4)
    assert t.pnl == pytest.approx(46)
    assert (t.entry_ts, t.exit_ts, t.n_fills) == (T0, T0 + 3, 4)


def test_flip_splits_fill_and_its_fee() -> None:
    fills = [
        fill(T0, "buy", 1, 100, 0.0),
        fill(T0 + 10, "sell", 3, 90, 0.3),  # closes the long (1) and opens a short (2)
        fill(T0 + 20, "buy", 2, 80, 0.0),
    ]
    long_, short = round_trips(fills)
    assert long_.side is Side.BUY and short.side is Side.SELL
    assert long_.gross_pnl == pytest.approx(-10)
    assert long_.fees == pytest.approx(0.1)
    assert long_.pnl == pytest.approx(-10.1)
    assert long_.exit_ts == T0 + 10
    assert short.entry_ts == T0 + 10 and short.entry_price == 90 and short.qty == 2
    assert short.gross_pnl == pytest.approx(20)
    assert short.fees == pytest.approx(0.2)
    assert short.pnl == pytest.approx(19.8)


def test_open_trip_at_end_is_not_reported() -> None:
    fills = [fill(T0, "buy", 1, 100), fill(T0 + 1, "sell", 1, 101), fill(T0 + 2, "buy", 1, 102)]
    assert len(round_trips(fills)) == 1


def test_float_dust_counts_as_flat() -> None:
    fills = [
        fill(T0, "buy", 0.3, 100),
        fill(T0 + 1, "sell", 0.1, 101),
        fill(T0 + 2, "sell", 0.2, 102),  # 0.3 - 0.1 - 0.2 != 0 in binary floating point
    ]
    (t,) = round_trips(fills)
    assert t.gross_pnl == pytest.approx(0.1 + 0.4)


def test_multiplier_and_symbols_are_separate() -> None:
    fills = [
        fill(T0, "buy", 10, 100, symbol="BTC-USDT-SWAP"),
        fill(T0 + 1, "sell", 1, 20, symbol="ETH-USDT"),
        fill(T0 + 2, "sell", 10, 110, symbol="BTC-USDT-SWAP"),
        fill(T0 + 3, "buy", 1, 25, symbol="ETH-USDT"),
    ]
    btc, eth = round_trips(fills, {"BTC-USDT-SWAP": 0.01})
    assert btc.symbol == "BTC-USDT-SWAP" and btc.gross_pnl == pytest.approx(1.0)
    assert eth.symbol == "ETH-USDT" and eth.gross_pnl == pytest.approx(-5.0)


def test_unsorted_input_is_taken_in_time_order() -> None:
    fills = [fill(T0 + 1, "sell", 1, 110), fill(T0, "buy", 1, 100)]
    (t,) = round_trips(fills)
    assert t.side is Side.BUY and t.gross_pnl == pytest.approx(10)


def test_no_fills() -> None:
    assert round_trips([]) == []


_steps = st.lists(
    st.tuples(
        st.sampled_from(["buy", "sell"]),
        st.integers(1, 5),
        st.integers(50, 150),
        st.integers(0, 3),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(_steps)
def test_matches_position_accounting(steps: list[tuple[str, int, int, int]]) -> None:
    """Closed trips' gross PnL equals what Position realises, and fees are conserved."""
    fills = [fill(T0 + i, s, q, p, fee / 10) for i, (s, q, p, fee) in enumerate(steps)]
    # close whatever is left so every fill belongs to a closed trip
    pos = sum(Side(s).sign * q for s, q, _, _ in steps)
    if pos:
        fills.append(fill(T0 + len(steps), "sell" if pos > 0 else "buy", abs(pos), 100, 0.05))
    ref = Position("BTC-USDT", multiplier=2.0)
    for f in fills:
        ref.apply_fill(f.side.sign * f.qty, f.price, f.fee)
    trips = round_trips(fills, {"BTC-USDT": 2.0})
    assert sum(t.gross_pnl for t in trips) == pytest.approx(ref.realized_pnl, abs=1e-6)
    assert sum(t.fees for t in trips) == pytest.approx(ref.fees, abs=1e-9)
    for t in trips:
        assert t.pnl == pytest.approx(t.gross_pnl - t.fees)
        assert t.entry_ts <= t.exit_ts
    assert [t.exit_ts for t in trips] == sorted(t.exit_ts for t in trips)
