"""Property test: random trade streams through the time-bar aggregator."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeloop.data import (
    BarSeries,
    EmptyBarPolicy,
    TickBarAggregator,
    TimeBarAggregator,
    VolumeBarAggregator,
    resample_trades,
)
from tradeloop.data.series import TradeSeries
from tradeloop.model.enums import Side
from tradeloop.model.events import Bar, TradeTick

trade_lists = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=5_000),  # gap to the previous trade
        st.floats(min_value=0.01, max_value=1e6, allow_nan=False),
        st.floats(min_value=0.0, max_value=1e3, allow_nan=False),
        st.one_of(st.none(), st.floats(min_value=0.0, max_value=1.0)),  # clock tick before?
    ),
    min_size=1,
    max_size=200,
)


@settings(max_examples=150, deadline=None)
@given(
    rows=trade_lists,
    interval=st.sampled_from([1, 7, 100, 1_000, 60_000]),
    start=st.integers(min_value=-(10**6), max_value=10**12),
    empty=st.sampled_from(list(EmptyBarPolicy)),
)
def test_time_bars_properties(
    rows: list[tuple[int, float, float, float | None]],
    interval: int,
    start: int,
    empty: EmptyBarPolicy,
) -> None:
    ts = start + np.cumsum([r[0] for r in rows])
    price = np.array([r[1] for r in rows])
    qty = np.array([r[2] for r in rows])
    out: list[Bar] = []
    agg = TimeBarAggregator("P", interval, out.append, empty)
    prev = int(ts[0])
    for t, p, q, row in zip(ts.tolist(), price.tolist(), qty.tolist(), rows, strict=True):
        frac = row[3]
        if frac is not None:
            # the clock may reach any time up to (and including) the next trade's
            agg.on_time(prev + int(frac * (t - prev)))
        agg.on_trade(TradeTick(t, "P", p, q, Side.SELL))
        prev = t
    last_end = int(ts[-1]) - int(ts[-1]) % interval + interval
    agg.on_time(last_end)
    assert agg.late_trades == 0
    bars = BarSeries.from_bars(out, interval)

    # bars sorted, aligned, non-overlapping
    assert np.all(np.diff(bars.start) >= interval)
    assert np.all(bars.start % interval == 0)
    assert np.array_equal(bars.end, bars.start + interval)
    # every trade in exactly one bar, and volume conserved
    idx = np.searchsorted(bars.start, ts, side="right") - 1
    assert np.all(idx >= 0)
    assert np.all(ts < bars.end[idx])
    per_bar = np.bincount(idx, weights=qty, minlength=len(bars))
    np.testing.assert_allclose(per_bar, bars.volume, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(bars.volume.sum(), qty.sum(), rtol=1e-9, atol=1e-9)
    traded = np.zeros(len(bars), dtype=bool)
    traded[idx] = True
    assert np.all(bars.volume[~traded] == 0)
    if empty is EmptyBarPolicy.SKIP:
        assert np.all(traded)
    else:
        assert np.all(np.diff(bars.start) == interval)
    assert np.all(bars.low <= np.minimum(bars.open, bars.close))
    assert np.all(bars.high >= np.maximum(bars.open, bars.close))

    # the vectorised resampler gives exactly the same bars
    series = TradeSeries(ts, price, qty, np.full(len(ts), -1, np.int8), "P")
    vec = resample_trades(series, interval, empty)
    for col in ("start", "end", "open", "high", "low", "close", "volume"):
        assert np.array_equal(getattr(vec, col), getattr(bars, col)), col


@settings(max_examples=100, deadline=None)
@given(
    rows=trade_lists,
    n_trades=st.integers(min_value=1, max_value=10),
    volume=st.floats(min_value=0.5, max_value=2_000.0),
)
def test_tick_and_volume_bars_properties(
    rows: list[tuple[int, float, float, float | None]], n_trades: int, volume: float
) -> None:
    ts = np.cumsum([r[0] for r in rows])
    qty = np.array([r[2] for r in rows])
    ticks = [
        TradeTick(int(t), "P", r[1], r[2], Side.BUY) for t, r in zip(ts.tolist(), rows, strict=True)
    ]
    aggregators: list[tuple[str, list[Bar], TickBarAggregator | VolumeBarAggregator]] = []
    for kind in ("tick", "volume"):
        out: list[Bar] = []
        agg = (
            TickBarAggregator("P", n_trades, out.append)
            if kind == "tick"
            else VolumeBarAggregator("P", volume, out.append)
        )
        aggregators.append((kind, out, agg))
    for kind, out, agg in aggregators:
        for t in ticks:
            agg.on_trade(t)
        agg.flush()
        bars = BarSeries.from_bars(out, 1)
        np.testing.assert_allclose(bars.volume.sum(), qty.sum(), rtol=1e-9, atol=1e-9)
        assert np.all(bars.start <= bars.end)
        assert np.all(bars.start[1:] >= bars.end[:-1])  # sorted, each trade in one bar
        if kind == "tick":
            assert all(
                b.volume == pytest.approx(qty[i * n_trades : (i + 1) * n_trades].sum())
                for i, b in enumerate(out)
            )
        else:
            assert np.all(bars.volume[:-1] >= volume)
