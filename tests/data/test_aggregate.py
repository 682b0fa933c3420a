"""Streaming aggregators: clock closing, boundaries, empty-bar policy, tick and volume bars."""

from __future__ import annotations

import numpy as np
import pytest

from tradeloop.core.errors import ConfigError, DataError
from tradeloop.data import (
    BarSeries,
    EmptyBarPolicy,
    TickBarAggregator,
    TimeBarAggregator,
    VolumeBarAggregator,
    aggregate_stream,
    resample_trades,
    synthetic_trades,
)
from tradeloop.data.series import TradeSeries
from tradeloop.model.enums import Side
from tradeloop.model.events import Bar, TradeTick

S = 1_000_000_000
M = 60 * S


def tick(ts: int, price: float, qty: float = 1.0) -> TradeTick:
    return TradeTick(ts, "X", price, qty, Side.BUY)


def make(empty: EmptyBarPolicy = EmptyBarPolicy.SKIP) -> tuple[TimeBarAggregator, list[Bar]]:
    out: list[Bar] = []
    return TimeBarAggregator("X", M, out.append, empty), out


def test_bar_closed_by_clock_without_further_trades() -> None:
    agg, out = make()
    agg.on_trade(tick(10 * S, 100.0, 2.0))
    agg.on_trade(tick(20 * S, 105.0, 1.0))
    agg.on_trade(tick(30 * S, 95.0, 1.0))
    agg.on_trade(tick(59 * S, 101.0, 0.5))
    agg.on_time(59 * S + 999_999_999)
    assert out == []  # not yet: the bar covers [0, 60s)
    agg.on_time(M)
    assert out == [Bar(M, "X", 0, 100.0, 105.0, 95.0, 101.0, 4.5)]
    agg.on_time(10 * M)
    assert len(out) == 1  # SKIP: nothing for empty minutes


def test_bar_stamped_at_end_even_when_clock_is_late() -> None:
    agg, out = make()
    agg.on_trade(tick(5 * S, 1.0))
    agg.on_time(3 * M + 7)
    assert out[0].ts == M and out[0].start == 0


def test_trade_on_boundary_opens_new_bar() -> None:
    agg, out = make()
    agg.on_trade(tick(0, 1.0))
    agg.on_trade(tick(M - 1, 2.0))
    agg.on_trade(tick(M, 3.0))  # exactly on the boundary -> new bar [M, 2M)
    assert [b.close for b in out] == [2.0]
    agg.on_time(2 * M)
    assert out[1] == Bar(2 * M, "X", M, 3.0, 3.0, 3.0, 3.0, 1.0)


def test_alignment_to_epoch_multiples() -> None:
    out: list[Bar] = []
    agg = TimeBarAggregator("X", "5m", out.append, EmptyBarPolicy.SKIP)
    agg.on_trade(tick(7 * M + 3, 1.0))
    agg.on_time(10 * M)
    assert (out[0].start, out[0].ts) == (5 * M, 10 * M)


def test_carry_emits_flat_bars_at_previous_close() -> None:
    agg, out = make(EmptyBarPolicy.CARRY)
    agg.on_time(5 * S)
    assert out == []  # nothing before the first trade
    agg.on_trade(tick(10 * S, 100.0))
    agg.on_trade(tick(50 * S, 99.0))
    agg.on_time(3 * M + 1)
    assert out == [
        Bar(M, "X", 0, 100.0, 100.0, 99.0, 99.0, 2.0),
        Bar(2 * M, "X", M, 99.0, 99.0, 99.0, 99.0, 0.0),
        Bar(3 * M, "X", 2 * M, 99.0, 99.0, 99.0, 99.0, 0.0),
    ]
    agg.on_trade(tick(5 * M + 1, 98.0))  # gap filled up to the trade's bar
    assert [b.start for b in out] == [0, M, 2 * M, 3 * M, 4 * M]
    agg.on_time(6 * M)
    assert out[-1] == Bar(6 * M, "X", 5 * M, 98.0, 98.0, 98.0, 98.0, 1.0)


def test_skip_leaves_gaps() -> None:
    agg, out = make(EmptyBarPolicy.SKIP)
    agg.on_trade(tick(10 * S, 100.0))
    agg.on_trade(tick(5 * M + 1, 98.0))
    agg.on_time(6 * M)
    assert [b.start for b in out] == [0, 5 * M]


def test_late_trade_is_dropped_and_counted() -> None:
    agg, out = make()
    agg.on_trade(tick(10 * S, 100.0))
    agg.on_time(2 * M)
    agg.on_trade(tick(30 * S, 50.0))  # its bar [0, 60s) was already published
    agg.on_trade(tick(M + 5, 50.0))  # bar [60s, 120s) was closed by the clock at 120s
    assert agg.late_trades == 2
    agg.on_time(10 * M)
    assert len(out) == 1 and out[0].low == 100.0


def test_flush_emits_open_bar() -> None:
    agg, out = make(EmptyBarPolicy.CARRY)
    agg.on_trade(tick(10 * S, 100.0))
    agg.flush()
    assert out == [Bar(M, "X", 0, 100.0, 100.0, 100.0, 100.0, 1.0)]
    agg.flush()
    assert len(out) == 1
    agg.on_trade(tick(20 * S, 50.0))  # its interval was flushed: late, not a second bar
    assert agg.late_trades == 1
    agg.on_time(3 * M)  # CARRY continues after a flush
    assert [b.start for b in out] == [0, M, 2 * M] and out[-1].close == 100.0


def test_negative_timestamps_align_like_resample() -> None:
    trades = TradeSeries(
        ts=np.array([-90 * S, -30 * S, 0, 30 * S]),
        price=np.array([1.0, 2.0, 3.0, 4.0]),
        qty=np.ones(4),
        side=np.ones(4, dtype=np.int8),
        symbol="X",
    )
    bars = resample_trades(trades, M, EmptyBarPolicy.SKIP)
    assert bars.start.tolist() == [-2 * M, -M, 0]
    streamed = BarSeries.from_bars(aggregate_stream(trades, M, EmptyBarPolicy.SKIP), M)
    assert streamed.start.tolist() == bars.start.tolist()


@pytest.mark.parametrize("empty", list(EmptyBarPolicy))
@pytest.mark.parametrize("interval", ["1s", "1m", "1h"])
def test_streaming_equals_vectorised_synthetic(empty: EmptyBarPolicy, interval: str) -> None:
    trades = synthetic_trades(20_000, seed=2, mean_gap_ms=400.0)
    vec = resample_trades(trades, interval, empty)
    streamed = BarSeries.from_bars(aggregate_stream(trades, interval, empty), vec.interval_ns)
    for col in ("start", "end", "open", "high", "low", "close", "volume"):
        assert np.array_equal(getattr(vec, col), getattr(streamed, col)), col
    vec.validate()
    assert np.sum(vec.volume) == pytest.approx(np.sum(trades.qty))


def test_resample_rejects_unsorted_and_empty() -> None:
    bad = TradeSeries(np.array([2, 1]), np.ones(2), np.ones(2), np.zeros(2, np.int8), "X", "f")
    with pytest.raises(DataError, match="not sorted"):
        resample_trades(bad, M, EmptyBarPolicy.SKIP)
    with pytest.raises(DataError, match="no trades"):
        resample_trades(bad.slice(0, 0), M, EmptyBarPolicy.CARRY)


def test_tick_bars() -> None:
    out: list[Bar] = []
    agg = TickBarAggregator("X", 3, out.append)
    prices = [5.0, 7.0, 4.0, 6.0, 6.5, 8.0, 1.0]
    for i, p in enumerate(prices):
        agg.on_trade(tick(i * S, p, 1.0))
    assert out == [
        Bar(2 * S, "X", 0, 5.0, 7.0, 4.0, 4.0, 3.0),
        Bar(5 * S, "X", 3 * S, 6.0, 8.0, 6.0, 8.0, 3.0),
    ]
    agg.on_time(100 * S)  # the clock does not close activity bars
    assert len(out) == 2
    agg.flush()
    assert out[-1] == Bar(6 * S, "X", 6 * S, 1.0, 1.0, 1.0, 1.0, 1.0)


def test_volume_bars_overshoot_goes_whole_into_completing_bar() -> None:
    out: list[Bar] = []
    agg = VolumeBarAggregator("X", 10.0, out.append)
    for i, (p, q) in enumerate([(1.0, 4.0), (2.0, 5.0), (3.0, 6.0), (4.0, 10.0), (5.0, 1.0)]):
        agg.on_trade(tick(i * S, p, q))
    # 4+5+6 = 15 >= 10: the 6 lot is not split; the next bar starts from 0 and 10 completes it.
    assert out == [
        Bar(2 * S, "X", 0, 1.0, 3.0, 1.0, 3.0, 15.0),
        Bar(3 * S, "X", 3 * S, 4.0, 4.0, 4.0, 4.0, 10.0),
    ]
    agg.flush()
    assert out[-1].volume == 1.0
    assert sum(b.volume for b in out) == 26.0


def test_volume_bars_conserve_volume_on_synthetic() -> None:
    trades = synthetic_trades(5_000, seed=4)
    out: list[Bar] = []
    agg = VolumeBarAggregator("X", 2.0, out.append)
    for t in trades.iter_trades():
        agg.on_trade(t)
    agg.flush()
    assert sum(b.volume for b in out) == pytest.approx(float(trades.qty.sum()))
    assert all(b.volume >= 2.0 for b in out[:-1])
    assert all(b.low <= min(b.open, b.close) and b.high >= max(b.open, b.close) for b in out)


def test_bad_aggregator_arguments() -> None:
    with pytest.raises(ConfigError):
        TickBarAggregator("X", 0, print)
    with pytest.raises(ConfigError):
        VolumeBarAggregator("X", 0.0, print)
    with pytest.raises(ConfigError):
        TimeBarAggregator("X", "soon", print, EmptyBarPolicy.SKIP)
