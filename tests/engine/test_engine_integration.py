"""Engine behaviour through the real simulated venue (no mocks)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from tradeloop.core.clock import SimClock
from tradeloop.data.series import BarSeries
from tradeloop.data.synthetic import synthetic_bars
from tradeloop.engine.backtest import BacktestConfig, run_backtest
from tradeloop.engine.kernel import Kernel
from tradeloop.engine.oms import ExecAlgo, ExecConfig
from tradeloop.engine.risk import NS_PER_DAY, RiskConfig
from tradeloop.engine.strategy import Strategy
from tradeloop.model import Bar, Instrument, Order, OrderStatus, Side, TradingState
from tradeloop.sim.config import SimConfig
from tradeloop.venues.sim.client import SimExecutionClient

ROOT = Path(__file__).resolve().parents[2]
BTC = Instrument(
    "BTC-USDT", "BTC", "USDT", tick_size=0.01, lot_size=1e-6, maker_fee=0.0005, taker_fee=0.001
)
MIN = 60_000_000_000


def bars_from_closes(closes: list[float], start: int = 0, symbol: str = "BTC-USDT") -> BarSeries:
    c = np.asarray(closes, dtype=float)
    o = np.r_[c[0], c[:-1]]
    starts = start + np.arange(len(c), dtype=np.int64) * MIN
    return BarSeries(
        starts,
        starts + MIN,
        o,
        np.maximum(o, c) * 1.001,
        np.minimum(o, c) * 0.999,
        c,
        np.full(len(c), 100.0),
        symbol,
        MIN,
        "test",
    )


def kernel_with_latency(
    latency_ns: int, algo: ExecAlgo = ExecAlgo.MARKET
) -> tuple[Kernel, SimExecutionClient, SimClock]:
    clock = SimClock(0)
    client = SimExecutionClient([BTC], {"USDT": 100_000.0}, clock, SimConfig(latency_ns=latency_ns))
    k = Kernel([BTC], 100_000.0, client, clock, execution=ExecConfig(algo))
    return k, client, clock


def feed(k: Kernel, client: SimExecutionClient, clock: SimClock, bar: Bar) -> None:
    clock.advance_to(bar.ts)
    client.exchange.on_bar(bar)
    k.on_market_data(bar)


def mk_bar(i: int, price: float) -> Bar:
    return Bar((i + 1) * MIN, "BTC-USDT", i * MIN, price, price * 1.01, price * 0.99, price, 10.0)


class Holder(Strategy):
    def on_bar(self, bar: Bar) -> None:  # targets are set from the test
        pass


def test_one_order_in_flight_per_target_and_replan_after_it_finishes() -> None:
    k, client, clock = kernel_with_latency(latency_ns=3 * MIN)
    s = Holder()
    k.add_strategy(s)
    k.start()
    feed(k, client, clock, mk_bar(0, 100.0))
    s.target("BTC-USDT", 1.0)
    assert len(k.oms.orders) == 1
    s.target("BTC-USDT", 3.0)  # target moves while the first order is in flight
    s.target("BTC-USDT", 2.0)
    assert len(k.oms.orders) == 1  # no second order for the same unmet target
    for i in range(1, 12):
        feed(k, client, clock, mk_bar(i, 100.0))
    orders = sorted(k.oms.orders.values(), key=lambda o: o.ts_created)
    assert [o.qty for o in orders] == [1.0, 1.0]  # then exactly the remainder for the new target
    assert all(o.status is OrderStatus.FILLED for o in orders)
    assert orders[0].ts_updated <= orders[1].ts_created
    assert k.portfolio.position_qty("BTC-USDT") == pytest.approx(2.0)


def test_limit_chase_reprices_until_filled() -> None:
    k, client, clock = kernel_with_latency(0, ExecAlgo.LIMIT_CHASE)
    s = Holder()
    k.add_strategy(s)
    k.start()
    feed(k, client, clock, mk_bar(0, 100.0))
    s.target("BTC-USDT", 1.0)
    # price runs away upward: a resting bid at the old close never trades
    for i, px in enumerate([101.0, 102.5, 104.0], start=1):
        feed(
            k,
            client,
            clock,
            Bar((i + 1) * MIN, "BTC-USDT", i * MIN, px, px + 0.2, px - 0.2, px, 5.0),
        )
    orders = sorted(k.oms.orders.values(), key=lambda o: o.ts_created)
    assert len(orders) >= 2
    assert all(o.side is Side.BUY and o.price > 0 for o in orders)
    assert [o.price for o in orders] == sorted(o.price for o in orders)  # chased up
    assert sum(o.is_open for o in orders) <= 1
    assert all(o.status is OrderStatus.CANCELED for o in orders[:-1])
    # now the market comes back through the last bid: it fills and the chase stops
    last = orders[-1].price
    feed(
        k,
        client,
        clock,
        Bar(5 * MIN, "BTC-USDT", 4 * MIN, last + 0.1, last + 0.2, last - 1, last, 5.0),
    )
    assert k.portfolio.position_qty("BTC-USDT") == pytest.approx(1.0)
    assert k.oms.in_flight("BTC-USDT") is None


class Bleeder(Strategy):
    """Buys on the first bar, keeps a far-away bid working, and keeps trying to add."""

    def on_start(self) -> None:
        self.n = 0
        self.resting: Order | None = None
        self.results: list[tuple[int, str, OrderStatus]] = []

    def on_bar(self, bar: Bar) -> None:
        self.n += 1
        if self.n == 1:
            self.buy(bar.symbol, 50.0)
            self.resting = self.buy(bar.symbol, 1.0, price=round(bar.close * 0.5, 2))
        elif self.n % 10 == 0:
            o = self.buy(bar.symbol, 1.0)
            self.results.append((bar.ts, "buy", o.status))
            if self.position(bar.symbol) > 0:
                o = self.sell(bar.symbol, 1.0)
                self.results.append((bar.ts, "sell", o.status))


def test_daily_loss_limit_cancels_working_orders_and_blocks_new_risk_until_next_day() -> None:
    day = 20_000 * NS_PER_DAY
    # a steady fall through the first day, then flat on the next
    closes = [100.0 - 0.01 * i for i in range(1440)] + [85.0] * 600
    bars = bars_from_closes(closes, start=day)
    s = Bleeder()
    res = run_backtest(
        [s], bars, BTC, BacktestConfig(cash=10_000.0, risk=RiskConfig(daily_loss_limit=200.0))
    )
    k = res.kernel
    assert s.resting is not None and s.resting.status is OrderStatus.CANCELED
    breach_ts = s.resting.ts_updated
    assert day < breach_ts < day + NS_PER_DAY
    before = [r for r in s.results if r[0] < breach_ts]
    blocked = [r for r in s.results if breach_ts < r[0] < day + NS_PER_DAY]
    after = [r for r in s.results if r[0] >= day + NS_PER_DAY]
    assert before and blocked and after
    assert all(
        st is OrderStatus.REJECTED for side, st in ((r[1], r[2]) for r in blocked) if side == "buy"
    )
    assert any(r[1] == "sell" and r[2] is not OrderStatus.REJECTED for r in blocked)  # reducing ok
    assert all(r[2] is not OrderStatus.REJECTED for r in after)  # next UTC day: trading again
    assert k.risk.state is TradingState.ACTIVE
    rejected = [o for o in k.oms.orders.values() if o.status is OrderStatus.REJECTED]
    assert rejected and all("REDUCING" in o.reason for o in rejected)


def load_example(name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_two_strategies_net_into_one_account_and_pnl_adds_up() -> None:
    mod = load_example("two_strategies")
    strategies = mod.create_strategies({"trend.slow": "100", "revert.window": "20"})
    bars = synthetic_bars(n=20_000, seed=9)
    inst = Instrument("BTC-USDT", "BTC", "USDT", tick_size=0.01, lot_size=1e-8)
    res = run_backtest(strategies, bars, inst, BacktestConfig(cash=100_000.0))
    rows = {r["strategy"]: r for r in res.strategy_rows()}
    assert set(rows) == {"trend", "revert"}
    assert all(r["fills"] > 0 for r in rows.values())
    total = sum(r["total"] for r in rows.values())
    assert total == pytest.approx(res.final_equity - 100_000.0, abs=1e-6)
    # the account position is always the sum of the strategies' virtual positions
    p = res.kernel.portfolio
    virtual = sum(
        b.positions["BTC-USDT"].qty for b in p.books.values() if "BTC-USDT" in b.positions
    )
    assert virtual == pytest.approx(p.position_qty("BTC-USDT"), abs=1e-9)


class Timed(Strategy):
    def on_start(self) -> None:
        self.fired: list[tuple[str, int, int]] = []
        self.set_timer("hourly", 60 * MIN, start_ns=self.now - self.now % (60 * MIN) + 60 * MIN)

    def on_timer(self, name: str, ts: int) -> None:
        self.fired.append((name, ts, self.now))


def test_strategy_timers_fire_on_simulated_time() -> None:
    bars = synthetic_bars(n=300, seed=1)  # 5 hours of 1m bars
    s = Timed()
    run_backtest([s], bars, BTC, BacktestConfig())
    start = int(bars.start[0])
    first = start - start % (60 * MIN) + 60 * MIN
    assert [t for _, t, _ in s.fired] == [first + k * 60 * MIN for k in range(len(s.fired))]
    assert len(s.fired) == 5
    assert all(now == ts for _, ts, now in s.fired)  # the clock reads the timer's own time
