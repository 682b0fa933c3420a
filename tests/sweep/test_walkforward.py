"""Walk-forward, checked by hand on small cases: the windows, the in-sample choice (recomputed
here with plain engine calls), the out-of-sample run (equal to ``tradeloop backtest`` on
exactly those bars) and the stitched curve."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from tradeloop.cli import main
from tradeloop.core.errors import ConfigError
from tradeloop.data.synthetic import synthetic_bars
from tradeloop.engine.backtest import run_backtest
from tradeloop.engine.loader import build_strategies
from tradeloop.report.stats import compute_stats, round_trips
from tradeloop.sweep.sweep import SweepOptions
from tradeloop.sweep.walkforward import WalkForwardSpec, make_windows, run_walkforward, stitch

from .helpers import SMA, context

FEE_TICK = ["--tick", "0.01"]


def spans(windows: list) -> list[tuple[int, int, int]]:  # type: ignore[type-arg]
    return [(w.is_lo, w.is_hi, w.oos_hi) for w in windows]


def test_windows_rolling_anchored_and_by_time() -> None:
    bars = synthetic_bars(n=100, seed=1)
    assert spans(make_windows(bars, WalkForwardSpec("40", "20"))) == [
        (0, 40, 60),
        (20, 60, 80),
        (40, 80, 100),
    ]
    assert spans(make_windows(bars, WalkForwardSpec("40", "20", "30"))) == [
        (0, 40, 60),
        (30, 70, 90),
    ]
    assert spans(make_windows(bars, WalkForwardSpec("40", "20", anchored=True))) == [
        (0, 40, 60),
        (0, 60, 80),
        (0, 80, 100),
    ]
    # 1-minute bars: durations mean the same windows
    assert spans(make_windows(bars, WalkForwardSpec("40m", "20m"))) == spans(
        make_windows(bars, WalkForwardSpec("40", "20"))
    )
    for bad, msg in [
        (WalkForwardSpec("40", "20", "10"), "overlap"),
        (WalkForwardSpec("40", "20m"), "all be bar counts"),
        (WalkForwardSpec("90", "20"), "too few"),
        (WalkForwardSpec("40", "x"), "duration"),
        (WalkForwardSpec("40", "1"), "fewer than 2"),
    ]:
        with pytest.raises(ConfigError, match=msg):
            make_windows(bars, bad)


def test_stitching_compounds_segments_and_keeps_failed_windows_flat() -> None:
    ts = np.arange(7, dtype=np.int64)
    segs = [
        (ts[0:3], np.array([100.0, 110.0, 120.0])),
        (ts[3:5], None),
        (ts[5:7], np.array([100.0, 90.0])),
    ]
    t, eq, ends = stitch(segs, 100.0)
    assert t.tolist() == list(range(7))
    assert eq.tolist() == [100.0, 110.0, 120.0, 120.0, 120.0, 120.0, 108.0]
    assert ends == [120.0, 120.0, 108.0]


def _sharpe(bars, fast: int, slow: int, ctx) -> float | None:  # type: ignore[no-untyped-def]
    strategies = build_strategies(SMA, {"fast": str(fast), "slow": str(slow)})
    res = run_backtest(strategies, bars, ctx.instrument, ctx.config)
    trips = round_trips(res.fills)
    st = compute_stats(res.ts, res.equity, res.position, res.fills, trips, res.initial_cash)
    return st.sharpe


def test_walkforward_by_hand(tmp_path: Path) -> None:
    ctx = context(SMA, "--bars", "1200", *FEE_TICK)
    opts = SweepOptions(["fast=3,5", "slow=20,30"], workers=2, report=True, top=2)
    wf = run_walkforward(ctx, opts, WalkForwardSpec("400", "200"), tmp_path / "wf")
    assert len(wf.windows) == 4
    stitched = ctx.config.cash
    for w in wf.windows:
        k = w["window"]
        lo, hi, oos_hi = 200 * k, 200 * k + 400, 200 * k + 600
        assert (w["is_bars"], w["oos_bars"], w["is_runs"], w["is_errors"]) == (400, 200, 4, 0)
        # the in-sample choice, recomputed: highest Sharpe, ties to the earlier grid point
        grid = [(3, 20), (3, 30), (5, 20), (5, 30)]
        scores = [_sharpe(ctx.bars.slice(lo, hi), f, s, ctx) for f, s in grid]
        best = max(range(4), key=lambda i: (scores[i] is not None, scores[i] or 0.0, -i))
        assert (w["fast"], w["slow"]) == grid[best]
        assert w["is_objective"] == scores[best]
        # the out-of-sample run is a plain backtest on exactly those bars
        oos = ctx.bars.slice(hi, oos_hi)
        f, s = grid[best]
        strategies = build_strategies(SMA, {"fast": str(f), "slow": str(s)})
        res = run_backtest(strategies, oos, ctx.instrument, ctx.config)
        assert w["oos_fingerprint"] == res.fingerprint
        stitched *= res.equity[-1] / ctx.config.cash
        assert w["stitched_equity"] == pytest.approx(stitched, rel=1e-12)
    assert wf.equity[-1] == pytest.approx(stitched, rel=1e-12)
    assert len(wf.ts) == 800 and wf.ts.tolist() == ctx.bars.end[400:1200].tolist()
    curve = list(csv.DictReader((tmp_path / "wf" / "oos_equity.csv").open()))
    assert len(curve) == 800 and float(curve[-1]["equity"]) == wf.equity[-1]
    phases = [r["phase"] for r in wf.sweep.rows]
    assert phases.count("is") == 16 and phases.count("oos") == 4
    html = (tmp_path / "wf" / "report.html").read_text()
    assert 'id="wf-chart"' in html and 'id="windows"' in html


SWAP = [
    "--symbol",
    "BTC-USDT-SWAP",
    "--leverage",
    "3",
    "--margin",
    "isolated",
    "--funding",
    "0.001",
]


@pytest.mark.parametrize("flags", [[], SWAP], ids=["spot", "swap_leverage_funding"])
def test_cli_oos_window_equals_tradeloop_backtest_on_that_slice(
    tmp_path: Path, flags: list[str]
) -> None:
    args = ["--bars", "900", *FEE_TICK, *flags]
    out = tmp_path / "wf"
    assert main(["walkforward", str(SMA), *args, "--param", "fast=3,6", "--param", "slow=25",
                 "--train", "300m", "--test", "300m", "--anchored", "--out", str(out),
                 "--no-report"]) == 0  # fmt: skip
    windows = list(csv.DictReader((out / "windows.csv").open()))
    assert [w["is_bars"] for w in windows] == ["300", "600"]
    # write window 1's out-of-sample bars to a file and backtest it the ordinary way
    bars = context(SMA, *args).bars.slice(600, 900)
    data = tmp_path / "oos.csv"
    with data.open("w", newline="") as fh:
        wr = csv.writer(fh)
        wr.writerow(["timestamp", "open", "high", "low", "close", "volume"])
        cols = (bars.start, bars.open, bars.high, bars.low, bars.close, bars.volume)
        for row in zip(*(c.tolist() for c in cols), strict=True):
            wr.writerow([row[0], *map(repr, row[1:])])
    w = windows[1]
    assert main(["backtest", str(SMA), "--data", str(data), *FEE_TICK, *flags, "--param",
                 f"fast={w['fast']}", "--param", "slow=25", "--out", str(tmp_path / "bt"),
                 "--no-report"]) == 0  # fmt: skip
    single = json.loads((tmp_path / "bt" / "result.json").read_text())
    assert w["oos_fingerprint"] == single["trades_fingerprint"]
