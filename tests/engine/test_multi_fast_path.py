"""The multi-instrument replay's fast paths against the original ones, and the shared cash pool.

Bars reach strategies through one router keyed by (instrument, bar period); the original
path (one filtered bus handler per strategy, ``Kernel.route_bars = False``) is kept as the
reference, and both must produce the same run, fill for fill. A fill nobody needs any more
(an order in flight whose need was crossed internally) must stay with the strategies that
trade that instrument, not be parked in every strategy's book.
"""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pytest

from tradeloop.data.synthetic import synthetic_bars
from tradeloop.engine.backtest import trades_fingerprint
from tradeloop.engine.indicators import SMA
from tradeloop.engine.kernel import Kernel
from tradeloop.engine.multi import Feed, MultiConfig, MultiResult, StrategyRun, run_multi_backtest
from tradeloop.engine.strategy import Strategy
from tradeloop.model import Bar, Instrument

MIN = 60_000_000_000


class Cross(Strategy):
    params = {"fast": 5, "slow": 20}

    def on_start(self) -> None:
        self.f, self.s = SMA(self.p.fast), SMA(self.p.slow)
        self.seen: list[tuple[int, str, int]] = []

    def on_bar(self, bar: Bar) -> None:
        self.seen.append((bar.ts, bar.symbol, bar.ts - bar.start))
        f, s = self.f.update(bar.close), self.s.update(bar.close)
        if s is not None and f is not None:
            self.target_percent(bar.symbol, 1.0 if f > s * (1 + 1e-10) else 0.0)


class Everything(Strategy):
    """No symbols, no periods: sees every bar of the run (the unfiltered subscription)."""

    def on_start(self) -> None:
        self.seen: list[tuple[int, str, int]] = []

    def on_bar(self, bar: Bar) -> None:
        self.seen.append((bar.ts, bar.symbol, bar.ts - bar.start))


def _run(n_inst: int = 4, bars: int = 3_000) -> tuple[MultiResult, list[Strategy]]:
    feeds, runs = [], []
    strategies: list[Strategy] = []
    for i in range(n_inst):
        inst = Instrument.of(f"C{i}-USDT", "SIM", f"C{i}", "USDT", tick_size=0.01, lot_size=1e-8)
        feeds.append(Feed(inst, synthetic_bars(n=bars, symbol=inst.symbol, interval="1m", seed=i)))
        n = inst.native
        a, b = Cross(f"m{i}", {"fast": 5, "slow": 20}), Cross(f"q{i}", {"fast": 3, "slow": 8})
        runs += [StrategyRun(a, (n,), {n: (MIN,)}), StrategyRun(b, (n,), {n: (15 * MIN,)})]
        strategies += [a, b]
    every = Everything("all")
    runs.append(StrategyRun(every, None, None, capital=0.0))
    strategies.append(every)
    return run_multi_backtest(feeds, runs, MultiConfig(cash=100_000.0)), strategies


def test_routed_bars_equal_the_per_strategy_filters(monkeypatch: pytest.MonkeyPatch) -> None:
    fast, fast_s = _run()
    monkeypatch.setattr(Kernel, "route_bars", False)
    slow, slow_s = _run()
    assert len(fast.fills) == len(slow.fills) > 100
    assert trades_fingerprint(fast.fills) == trades_fingerprint(slow.fills)
    assert fast.final_equity == slow.final_equity
    np.testing.assert_array_equal(fast.equity, slow.equity)
    for k in fast.strategy_equity:
        np.testing.assert_array_equal(fast.strategy_equity[k], slow.strategy_equity[k])
    for a, b in zip(fast_s, slow_s, strict=True):
        assert a.seen == b.seen  # type: ignore[attr-defined]
    assert len(fast_s[-1].seen) == fast.events  # type: ignore[attr-defined]


def test_a_raising_strategy_still_stops_the_run_after_the_others_saw_the_bar() -> None:
    class Boom(Strategy):
        def on_bar(self, bar: Bar) -> None:
            raise RuntimeError("bug")

    inst = Instrument.of("C0-USDT", "SIM", "C0", "USDT", tick_size=0.01, lot_size=1e-8)
    after = Everything("after")
    feeds = [Feed(inst, synthetic_bars(n=50, symbol=inst.symbol, interval="1m", seed=1))]
    runs = [StrategyRun(Boom("boom"), ("C0-USDT",), {"C0-USDT": (MIN,)}),
            StrategyRun(after, ("C0-USDT",), {"C0-USDT": (MIN,)})]  # fmt: skip
    with pytest.raises(RuntimeError, match="bug"):
        run_multi_backtest(feeds, runs)
    assert len(after.seen) == 1


def test_shared_cash_pool_all_in_strategies_are_not_refused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    res, strategies = _run(n_inst=6, bars=6_000)
    refused = [r for r in caplog.records if "refused" in r.getMessage()]
    assert refused == []
    books = res.kernel.portfolio.books
    for s in strategies[:-1]:  # each holds only the instrument it trades
        own = {sym for sym, p in books[s.id].positions.items() if p.qty}
        assert own <= {f"{s.id[1:].join(('C', '-USDT'))}.SIM"}
    # per-strategy PnL still sums to the account's
    total = sum(res.kernel.portfolio.strategy_equity(s.id) for s in strategies)
    assert total == pytest.approx(res.final_equity, rel=1e-9)


def test_a_stream_with_a_bar_of_another_period_is_routed_bar_by_bar(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The replay names a stream's topic once when all its bars share a period; a stream with
    one odd bar (here a 2-minute bar in 1-minute data) is named bar by bar, so a strategy that
    wants 1m bars does not see it, exactly as the per-strategy filters decide."""
    inst = Instrument.of("C0-USDT", "SIM", "C0", "USDT", tick_size=0.01, lot_size=1e-8)
    base = synthetic_bars(n=400, symbol=inst.symbol, interval="1m", seed=3)
    start = base.start.copy()
    start[100] -= MIN  # bar 100 covers two minutes
    odd = dataclasses.replace(base, start=start)

    def run() -> tuple[list[tuple[int, str, int]], list[tuple[int, str, int]], float]:
        minute, every = Cross("m", {"fast": 5, "slow": 20}), Everything("all")
        runs = [StrategyRun(minute, ("C0-USDT",), {"C0-USDT": (MIN,)}),
                StrategyRun(every, None, None, capital=0.0)]  # fmt: skip
        res = run_multi_backtest([Feed(inst, odd)], runs, MultiConfig(cash=10_000.0))
        return minute.seen, every.seen, res.final_equity

    routed = run()
    monkeypatch.setattr(Kernel, "route_bars", False)
    assert routed == run()
    minute_seen, every_seen, _ = routed
    assert (int(odd.end[100]), inst.symbol, 2 * MIN) in every_seen
    assert len(minute_seen) == len(every_seen) - 1 == 399
