"""Multi-instrument, multi-timeframe backtests (issue 15): merge, resampling, funding,
liquidation, allocation, algos and config errors, each against an independent computation."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from tradeloop.core.errors import ConfigError
from tradeloop.data.funding import load_funding
from tradeloop.data.loaders import load_bars
from tradeloop.data.resample import resample_bars
from tradeloop.data.series import BarSeries
from tradeloop.data.synthetic import synthetic_bars
from tradeloop.engine.allocation import inverse_vol_weights
from tradeloop.engine.backtest import BacktestConfig, run_backtest
from tradeloop.engine.indicators import SMA
from tradeloop.engine.multi import Feed, MultiConfig, StrategyRun, run_multi_backtest
from tradeloop.engine.oms import AlgoSpec, ExecAlgo, ExecConfig
from tradeloop.engine.strategy import Strategy
from tradeloop.model import Bar, Instrument, InstrumentKind
from tradeloop.sim.margin import MarginRule

MIN = 60_000_000_000


class Cross(Strategy):
    params = {"fast": 5, "slow": 20}

    def on_start(self) -> None:
        self.f, self.s = SMA(self.p.fast), SMA(self.p.slow)
        self.seen: list[int] = []

    def on_bar(self, bar: Bar) -> None:
        self.seen.append(bar.ts - bar.start)
        f, s = self.f.update(bar.close), self.s.update(bar.close)
        if s is not None and f is not None:
            self.target_percent(bar.symbol, 1.0 if f > s * (1 + 1e-10) else 0.0)


class Hold(Strategy):
    """Sets one target on its first bar and never again."""

    params = {"qty": 1.0}

    def on_bar(self, bar: Bar) -> None:
        if not getattr(self, "done", False):
            self.done = True
            self.target(bar.symbol, self.p.qty)


def spot(native: str) -> Instrument:
    base, quote = native.split("-")
    return Instrument.of(native, "SIM", base, quote, tick_size=0.01, lot_size=1e-8)


def swap(native: str = "BTC-USDT-SWAP", tick: float = 0.01) -> Instrument:
    return Instrument.of(native, "SIM", native.split("-")[0], "USDT", tick_size=tick,
                         lot_size=1.0, maker_fee=0.0005, taker_fee=0.0005,
                         kind=InstrumentKind.SWAP)  # fmt: skip


def bars_of(sym: str, n: int, seed: int) -> BarSeries:
    return synthetic_bars(n=n, symbol=sym, interval="1m", seed=seed)


def test_two_independent_strategies_equal_their_solo_runs() -> None:
    a, b = spot("BTC-USDT"), spot("ETH-USDT")
    ba, bb = bars_of(a.symbol, 3000, 1), bars_of(b.symbol, 3000, 2)
    runs = [StrategyRun(Cross("a"), ("BTC-USDT",), None, 4000.0),
            StrategyRun(Cross("b"), ("ETH-USDT",), None, 6000.0)]  # fmt: skip
    both = run_multi_backtest([Feed(a, ba), Feed(b, bb)], runs, MultiConfig(cash=10_000.0))
    solo_a = run_backtest([Cross("a")], ba, a, BacktestConfig(cash=4000.0))
    solo_b = run_backtest([Cross("b")], bb, b, BacktestConfig(cash=6000.0))
    p = both.kernel.portfolio
    assert p.strategy_equity("a") == pytest.approx(solo_a.final_equity, rel=1e-9)
    assert p.strategy_equity("b") == pytest.approx(solo_b.final_equity, rel=1e-9)
    fa = [f for f in both.fills if f.symbol == a.symbol]
    assert len(fa) == len(solo_a.fills) and len(both.fills) == len(fa) + len(solo_b.fills)
    assert [(f.ts, f.price) for f in fa] == [(f.ts, f.price) for f in solo_a.fills]
    assert both.final_equity == pytest.approx(solo_a.final_equity + solo_b.final_equity)


def test_events_merge_by_time_finer_periods_first_and_strategy_sees_its_period() -> None:
    a = spot("BTC-USDT")
    ba = bars_of(a.symbol, 600, 3)
    hourly, minute = Cross("h"), Cross("m")
    runs = [StrategyRun(hourly, ("BTC-USDT",), {"BTC-USDT": (60 * MIN,)}),
            StrategyRun(minute, ("BTC-USDT",), {"BTC-USDT": (MIN,)})]  # fmt: skip
    res = run_multi_backtest([Feed(a, ba)], runs, MultiConfig(cash=1000.0))
    assert set(hourly.seen) == {60 * MIN} and set(minute.seen) == {MIN}
    assert len(hourly.seen) == len(resample_bars(ba, 60 * MIN))
    assert res.events == len(ba) + len(hourly.seen)


def test_resampling_equals_pandas(shared_data: Path) -> None:
    pd = pytest.importorskip("pandas")
    bars = load_bars(shared_data / "candles/UNITTEST_BTC-1m.feather")
    for period in ("5min", "15min", "1h", "4h"):
        ns = pd.Timedelta(period).value
        mine = resample_bars(bars, ns)
        df = pd.DataFrame({"open": bars.open, "high": bars.high, "low": bars.low,
                           "close": bars.close, "volume": bars.volume},
                          index=pd.to_datetime(bars.start, unit="ns"))  # fmt: skip
        ref = df.resample(period).agg({"open": "first", "high": "max", "low": "min",
                                       "close": "last", "volume": "sum"}).dropna()  # fmt: skip
        assert np.array_equal(mine.start, ref.index.asi8.astype(np.int64))
        for col in ("open", "high", "low", "close"):
            assert np.array_equal(getattr(mine, col), ref[col].to_numpy()), col
        assert np.allclose(mine.volume, ref["volume"].to_numpy(), rtol=1e-12)


def test_finer_period_than_data_is_an_error() -> None:
    bars = synthetic_bars(n=100, symbol="X", interval="5m", seed=1)
    with pytest.raises(ConfigError, match="finer than the data"):
        resample_bars(bars, MIN)
    with pytest.raises(ConfigError, match="whole multiple"):
        resample_bars(bars, 7 * MIN)


def test_funding_total_equals_hand_computation_on_the_real_file(shared_data: Path) -> None:
    d = shared_data / "candles/futures"
    inst = swap("XRP-USDT-SWAP", tick=1e-5)
    bars = load_bars(d / "XRP_USDT_USDT-5m-futures.feather", symbol=inst.symbol)
    funding = load_funding(d / "XRP_USDT_USDT-8h-funding_rate.feather")
    assert len(funding) == 91 and funding.rate[0] == 0.0001
    qty = 1000.0
    res = run_multi_backtest(
        [Feed(inst, bars, funding, None, None, 1.0)],
        [StrategyRun(Hold("h", {"qty": qty}))],
        MultiConfig(cash=100_000.0),
    )
    fills = [f for f in res.fills if f.symbol == inst.symbol]
    first_fill = fills[0].ts
    # by hand: every payment after the position opened, at the last close known at its time
    want = 0.0
    n = 0
    for ts, rate in zip(funding.ts.tolist(), funding.rate.tolist(), strict=True):
        i = int(np.searchsorted(bars.end, ts, side="right")) - 1
        if ts < first_fill or i < 0 or ts > int(bars.end[-1]):
            continue
        want += qty * float(bars.close[i]) * rate
        n += 1
    assert n > 10
    p = res.kernel.portfolio
    assert p.funding[inst.symbol] == pytest.approx(want, rel=1e-12)
    assert sum(x.amount for x in res.funding) == pytest.approx(want, rel=1e-12)
    assert p.books["h"].funding == pytest.approx(want, rel=1e-12)


def _liq_bars(sym: str, path: list[tuple[float, float, float, float]]) -> BarSeries:
    t0 = 1_700_000_000 * 1_000_000_000
    start = np.arange(len(path), dtype=np.int64) * MIN + t0
    o, h, lo, c = (np.array(x) for x in zip(*path, strict=True))
    return BarSeries(start, start + MIN, o, h, lo, c, np.full(len(path), 1e6), sym, MIN)


@pytest.mark.parametrize(("mode", "low", "open_", "want"), [
    # isolated long 10x at 100, maintenance 0.5 %: liquidated where
    # 100/10 + (p - 100) = 0.005 p  ->  p = 90 / 0.995 = 90.4522...
    ("isolated", 85.0, 99.0, round(90 / 0.995, 2)),
    ("isolated", 79.0, 80.0, 80.0),  # the bar opens through the level: closed at the open
])  # fmt: skip
def test_liquidation_by_hand(mode: str, low: float, open_: float, want: float) -> None:
    inst = swap()
    path = [(100.0, 100.0, 100.0, 100.0)] * 3 + [(open_, open_, low, low), (low,) * 4]
    bars = _liq_bars(inst.symbol, path)
    res = run_multi_backtest(
        [Feed(inst, bars, None, None, MarginRule(mode, 0.005), 10.0)],
        [StrategyRun(Hold("h", {"qty": 10.0}))],
        MultiConfig(cash=1000.0),
    )
    (liq,) = res.liquidations
    assert liq.price == pytest.approx(want) and liq.qty == 10.0 and liq.client_order_id == ""
    p = res.kernel.portfolio
    assert p.positions[inst.symbol].qty == 0.0
    entry_fee = 10 * 100.0 * 0.0005
    want_cash = 1000.0 - entry_fee + (want - 100.0) * 10 - 10 * want * 0.0005
    assert p.equity() == pytest.approx(want_cash)
    assert p.strategy_equity("h") == pytest.approx(want_cash)


def test_cross_margin_survives_what_isolated_does_not() -> None:
    inst = swap()
    path = [(100.0, 100.0, 100.0, 100.0)] * 3 + [(99.0, 99.0, 85.0, 88.0)] * 2
    res = run_multi_backtest(
        [Feed(inst, _liq_bars(inst.symbol, path), None, None, MarginRule("cross", 0.005), 10.0)],
        [StrategyRun(Hold("h", {"qty": 10.0}))],
        MultiConfig(cash=1000.0),
    )
    assert not res.liquidations  # 1000 of wallet covers a 150 loss


def test_unknown_instrument_is_an_error() -> None:
    a = spot("BTC-USDT")
    with pytest.raises(ConfigError, match="wants 'ETH-USDT'"):
        run_multi_backtest([Feed(a, bars_of(a.symbol, 50, 1))],
                           [StrategyRun(Cross("x"), ("ETH-USDT",))])  # fmt: skip


def test_inverse_vol_weights_equal_numpy() -> None:
    rng = np.random.default_rng(5)
    px = {k: 100 * np.exp(np.cumsum(rng.normal(0, s, 50))) for k, s in
          (("a", 0.01), ("b", 0.02), ("c", 0.005))}  # fmt: skip
    vols = {k: float(np.std(np.diff(np.log(v)), ddof=1)) for k, v in px.items()}
    w = inverse_vol_weights(vols)
    inv = np.array([1 / vols[k] for k in "abc"])
    assert np.allclose([w[k] for k in "abc"], inv / inv.sum())
    assert math.isclose(sum(w.values()), 1.0)


@pytest.mark.parametrize("algo", [ExecAlgo.LIMIT_CHASE, ExecAlgo.TWAP, ExecAlgo.ICEBERG,
                                  ExecAlgo.VWAP])  # fmt: skip
def test_all_in_targets_fill_with_every_algo(algo: ExecAlgo) -> None:
    a = spot("BTC-USDT")
    bars = bars_of(a.symbol, 3000, 4)
    spec = AlgoSpec(algo, slices=4, interval_ns=5 * MIN, participation=0.5, display=0.02)
    ex = ExecConfig(per_symbol={a.symbol: spec})
    res = run_multi_backtest([Feed(a, bars)], [StrategyRun(Cross("c"))],
                             MultiConfig(cash=10_000.0, execution=ex))  # fmt: skip
    buys = [f for f in res.fills if f.side.value == "buy"]
    assert buys, f"{algo.value}: no fills"
    # the first all-in buy spends (nearly) all cash: the fee no longer blocks it
    assert res.kernel.portfolio.fees_paid > 0
