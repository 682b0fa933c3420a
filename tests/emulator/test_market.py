"""The synthetic market and the fault switches, without sockets."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from tradeloop.emulator.faults import Faults, PeriodicFaults
from tradeloop.emulator.market import SECONDS_KEPT, MarketParams, SymbolMarket
from tradeloop.emulator.okx.instruments import okx_rows, to_instrument

NOW = 1_700_000_000_000


def _market(seed: int) -> SymbolMarket:
    inst = to_instrument(okx_rows(["BTC-USDT"])["BTC-USDT"])
    return SymbolMarket(inst, 60_000.0, seed, MarketParams(history_minutes=120), NOW)


def test_same_seed_same_market() -> None:
    a, b = _market(5), _market(5)
    for k in range(200):
        ca, cb = a.step(NOW + k * 150), b.step(NOW + k * 150)
        assert (ca.bids, ca.asks, [t.price for t in ca.trades]) == (
            cb.bids,
            cb.asks,
            [t.price for t in cb.trades],
        )
    assert a.sorted_bids() == b.sorted_bids()
    assert _market(6).sorted_bids() != a.sorted_bids()


def test_ladder_invariants_over_many_steps() -> None:
    m = _market(1)
    inst = m.instrument
    for k in range(1000):
        m.step(NOW + k * 150)
        assert m.best_bid() < m.best_ask()
        assert len(m.bids) >= 50 and len(m.asks) >= 50
    for p, s in list(m.bids.items()) + list(m.asks.items()):
        assert float(s) >= inst.lot_size and s == inst.format_qty(s)
        assert m.px(p) == inst.format_price(m.px(p))
    c = m.candles[-1]
    assert c.low <= c.close <= c.high


def test_candle_aggregation_is_consistent() -> None:
    m = _market(2)
    hourly = m.aggregate(3_600_000)
    minutes = m.aggregate(60_000)
    assert sum(c.vol for c in hourly) == pytest.approx(sum(c.vol for c in minutes))
    last = m.latest(3_600_000)
    assert last.start == hourly[-1].start and last.vol == pytest.approx(hourly[-1].vol)


def test_fault_switches_count_down() -> None:
    f = Faults()
    f.fail_next_429(2)
    assert [f.take_failure() for _ in range(3)] == ["429", "429", None]
    f.skip_seq_once()
    assert f.take_skip_seq() and not f.take_skip_seq()
    with pytest.raises(ValueError):
        f.fail_next(1, "418")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        f.apply({"latency": 5})
    state = f.apply({"fail_next": 3, "latency_ms": 7, "corrupt_checksum": 2})
    assert state["fail_remaining"] == 3 and state["corrupt_checksum_pending"] == 2


async def test_periodic_faults_fire() -> None:
    f = Faults()
    dropped: list[int] = []
    f.register_drop_hook(lambda: dropped.append(1) or 0)
    tasks = PeriodicFaults(drop_ws_every_s=0.01, skip_seq_every_s=0.01).tasks(f)
    try:
        for _ in range(500):
            if dropped and f.skip_seq_pending:
                break
            await asyncio.sleep(0.01)
        assert dropped and f.skip_seq_pending >= 1
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def test_second_bars_add_up_to_the_minute() -> None:
    """Every trade lands in both series, so the seconds of a minute sum to that minute."""
    m = _market(3)
    start = (NOW // 60_000 + 1) * 60_000  # a minute that starts after construction
    for k in range(800):  # 120 s of 150 ms steps
        m.step(start + k * 150)
    minute = next(c for c in m.aggregate(60_000) if c.start == start)
    seconds = [c for c in m.aggregate(1_000) if start <= c.start < start + 60_000]
    assert [c.start for c in seconds] == list(range(start, start + 60_000, 1_000))
    assert sum(c.vol for c in seconds) == pytest.approx(minute.vol)
    assert sum(c.vol_quote for c in seconds) == pytest.approx(minute.vol_quote)
    assert max(c.high for c in seconds) == minute.high and min(c.low for c in seconds) == minute.low
    assert (seconds[0].open, seconds[-1].close) == (minute.open, minute.close)
    # since() is the tail of aggregate(), for any bar length
    for bar in (1_000, 5_000, 60_000, 3_600_000):
        rows = m.aggregate(bar)
        assert m.since(bar, 0, rows[-3].start) == rows[-3:]
        assert m.latest(bar) == rows[-1]


def test_long_pause_keeps_a_bounded_second_series() -> None:
    m = _market(4)
    m.step(NOW + 1_000)
    m.step(NOW + 6 * 3_600_000)  # six hours later (a frozen emulator stepped by hand)
    secs = m.aggregate(1_000)
    assert len(secs) == SECONDS_KEPT
    assert {b.start - a.start for a, b in itertools.pairwise(secs)} == {1_000}
    assert secs[-1].start == (NOW + 6 * 3_600_000) // 1_000 * 1_000
