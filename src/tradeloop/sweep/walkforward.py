"""Walk-forward analysis: does the best in-sample choice survive out of sample?

The data is cut into windows, each an in-sample (IS) span followed by an out-of-sample (OOS)
span. *Rolling* windows slide the IS span forward by ``step``; *anchored* windows keep the IS
start at the first bar and grow it. In every window the whole parameter plan runs on the IS
bars, the best IS row by the objective is chosen (ties: the earlier run), and that parameter
set runs once on the OOS bars. The OOS equity curves, laid end to end, are the result: the
curve a trader would have had re-optimising at each window boundary.

Choices worth knowing:

* Each OOS run starts flat with the initial cash, from its first bar (no warm-up bars from the
  IS span), so indicators start cold. Segments are stitched by compounding: window k's curve is
  scaled by the stitched equity at the end of window k-1 over the initial cash.
* Only whole windows are used; OOS spans must not overlap (``step >= test``).
* A window where no IS run succeeded stays flat (no trading) and says so in its row.
* Spans are bar counts (``5000``) or durations (``14d``, ``12h``), all of one kind.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tradeloop.core.errors import ConfigError
from tradeloop.data.intervals import parse_interval
from tradeloop.data.series import BarSeries, fmt_ts
from tradeloop.report.stats import compute_stats
from tradeloop.sweep.choose import make_executor
from tradeloop.sweep.driver import Progress, run_batch, score_row
from tradeloop.sweep.executors import Executor
from tradeloop.sweep.objective import Objective
from tradeloop.sweep.plan import base_row, columns
from tradeloop.sweep.runner import RunContext, Task
from tradeloop.sweep.space import Point
from tradeloop.sweep.store import (
    ResultStore,
    normalise,
    prepare_folder,
    write_csv,
    write_parquet,
)
from tradeloop.sweep.sweep import SweepOptions, SweepOutcome, carry_over, plan, run_inputs

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Window:
    """Bar index ranges ``[is_lo, is_hi)`` then ``[oos_lo, oos_hi)``; ``oos_lo == is_hi``."""

    index: int
    is_lo: int
    is_hi: int
    oos_hi: int

    @property
    def oos_lo(self) -> int:
        return self.is_hi


@dataclass(frozen=True)
class WalkForwardSpec:
    train: str
    test: str
    step: str | None = None
    anchored: bool = False


def _span(text: str, what: str) -> tuple[str, int]:
    """``("bars", n)`` for a plain count, ``("time", ns)`` for a duration."""
    t = str(text).strip()
    if re.fullmatch(r"\d+", t):
        n = int(t)
        if n <= 0:
            raise ConfigError(f"--{what} must be positive")
        return "bars", n
    try:
        return "time", parse_interval(t)
    except ConfigError:
        raise ConfigError(
            f"--{what} {text!r}: expected a bar count (5000) or a duration (14d, 12h)"
        ) from None


def make_windows(bars: BarSeries, spec: WalkForwardSpec) -> list[Window]:
    kind, train = _span(spec.train, "train")
    kind_t, test = _span(spec.test, "test")
    kind_s, step = _span(spec.step, "step") if spec.step else (kind_t, test)
    if len({kind, kind_t, kind_s}) != 1:
        raise ConfigError("--train, --test and --step must all be bar counts or all durations")
    if step < test:
        raise ConfigError("--step is shorter than --test: out-of-sample windows would overlap")
    n = len(bars)
    out: list[Window] = []
    k = 0
    while True:
        if kind == "bars":
            lo = 0 if spec.anchored else k * step
            hi = train + k * step
            oos_hi = hi + test
            if oos_hi > n:
                break
        else:
            t0 = int(bars.start[0])
            is_end = t0 + train + k * step
            if is_end + test > int(bars.end[-1]):
                break
            lo = 0 if spec.anchored else int(np.searchsorted(bars.start, t0 + k * step))
            hi = int(np.searchsorted(bars.start, is_end))
            oos_hi = int(np.searchsorted(bars.start, is_end + test))
        if hi - lo < 2 or oos_hi - hi < 2:
            raise ConfigError(f"window {k}: fewer than 2 bars in-sample or out of sample")
        out.append(Window(k, lo, hi, oos_hi))
        k += 1
    if not out:
        raise ConfigError(
            f"{bars.source}: {n:,} bars are too few for one window of --train {spec.train} "
            f"and --test {spec.test}"
        )
    return out


@dataclass
class WalkForwardOutcome:
    sweep: SweepOutcome
    windows: list[dict[str, Any]]
    window_columns: dict[str, type]
    ts: npt.NDArray[np.int64]
    equity: npt.NDArray[np.float64]
    summary: dict[str, Any] = field(default_factory=dict)


def select_best(
    rows: list[dict[str, Any]], objective: Objective, window: int
) -> dict[str, Any] | None:
    """The winning in-sample row of ``window`` (None if no run there has a score)."""
    cands = [
        r
        for r in rows
        if r.get("window") == window
        and r.get("phase") == "is"
        and r.get("status") == "ok"
        and r.get("objective") is not None
    ]
    if not cands:
        return None
    return min(cands, key=lambda r: objective.sort_key(r["objective"], r["run"]))


def stitch(
    segments: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.float64] | None]], cash: float
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64], list[float]]:
    """Chain OOS curves by compounding; a ``None`` curve is a flat (untraded) segment.
    Returns the curve and the stitched equity at the end of each segment."""
    level = cash
    ts_parts, eq_parts, ends = [], [], []
    for ts, eq in segments:
        part = np.full(len(ts), level) if eq is None else eq * (level / cash)
        ts_parts.append(ts)
        eq_parts.append(part)
        if len(part):
            level = float(part[-1])
        ends.append(level)
    if not ts_parts:
        return np.zeros(0, np.int64), np.zeros(0), ends
    return np.concatenate(ts_parts), np.concatenate(eq_parts), ends


def window_columns(names: list[str], types: dict[str, type]) -> dict[str, type]:
    cols: dict[str, type] = {
        "window": int,
        "is_start": str,
        "is_end": str,
        "oos_start": str,
        "oos_end": str,
        "is_bars": int,
        "oos_bars": int,
        "is_runs": int,
        "is_errors": int,
    }
    cols.update({n: types[n] for n in names})
    cols.update(
        {
            "is_objective": float,
            "oos_objective": float,
            "oos_total_return": float,
            "oos_sharpe": float,
            "oos_max_drawdown": float,
            "oos_fills": int,
            "oos_fingerprint": str,
            "stitched_equity": float,
            "note": str,
        }
    )
    return cols


def run_walkforward(
    ctx: RunContext,
    opts: SweepOptions,
    spec: WalkForwardSpec,
    out: Path,
    executor: Executor | None = None,
) -> WalkForwardOutcome:
    specs, points, objective = plan(ctx, opts)
    windows = make_windows(ctx.bars, spec)
    cols = columns(specs, windows=True)
    names = [s.name for s in specs]
    own = executor is None
    ex = executor or make_executor(ctx, opts.workers, opts.ray)
    try:
        inputs = run_inputs(ctx, "walkforward", specs)
        resumed = prepare_folder(out, inputs, opts.resume, opts.overwrite)
        store = ResultStore(out, cols, ["phase", "start_bar", "end_bar", *names])
        n_is = len(windows) * len(points)
        base: dict[str, dict[str, Any]] = {}
        tasks: dict[str, Task] = {}
        for w in windows:
            for p in points:
                run = w.index * len(points) + p.index
                extra = {"window": w.index, "phase": "is", "start_bar": w.is_lo, "end_bar": w.is_hi}
                row = normalise(base_row(run, p, extra), cols)
                key = store.key(row)
                base[key] = {k: row[k] for k in ("run", *extra, *names)}
                tasks[key] = Task(run, key, p.texts(), w.is_lo, w.is_hi)
        earlier = store.load() if resumed else {}
        earlier = {k: r for k, r in earlier.items() if r.get("phase") == "is"}
        kept, done = carry_over(earlier, {k: r["run"] for k, r in base.items()})
        for row in kept:
            score_row(objective, row)
        store.open(kept)
        progress = Progress(opts.progress, "walk-forward", n_is + len(windows), len(kept))
        try:
            todo = [t for k, t in tasks.items() if k not in done]
            batch = run_batch(ex, todo, base, store, objective, progress)
            oos_batch = None
            if not batch.interrupted:
                rows = store.sorted_rows()
                winners = {w.index: select_best(rows, objective, w.index) for w in windows}
                oos_tasks, oos_base = _oos_plan(windows, winners, points, names, n_is, store, cols)
                oos_batch = run_batch(ex, oos_tasks, oos_base, store, objective, progress)
        finally:
            progress.close()
            store.close()
        rows = store.sorted_rows()
        interrupted = batch.interrupted or (oos_batch is not None and oos_batch.interrupted)
        sweep = SweepOutcome(
            out=out,
            rows=rows,
            columns=cols,
            params=names,
            objective=objective,
            planned=n_is + len(windows),
            ran=batch.done + (oos_batch.done if oos_batch else 0),
            kept=len(kept),
            errors=sum(1 for r in rows if r["status"] != "ok"),
            interrupted=interrupted,
            elapsed_s=batch.elapsed_s + (oos_batch.elapsed_s if oos_batch else 0.0),
            executor=ex.name,
            workers=ex.workers,
        )
        result = _assemble(ctx, sweep, windows, oos_batch.curves if oos_batch else {}, n_is)
        title = (
            opts.title or f"Walk-forward: {Path(ctx.strategy_path).stem} on {ctx.instrument.symbol}"
        )
        _write(out, result, opts, title)
        return result
    finally:
        if own:
            ex.close()


def _oos_plan(
    windows: list[Window],
    winners: dict[int, dict[str, Any] | None],
    points: list[Point],
    names: list[str],
    n_is: int,
    store: ResultStore,
    cols: dict[str, type],
) -> tuple[list[Task], dict[str, dict[str, Any]]]:
    tasks, base = [], {}
    for w in windows:
        best = winners[w.index]
        if best is None:
            continue
        point = points[int(best["run"]) - w.index * len(points)]
        extra = {"window": w.index, "phase": "oos", "start_bar": w.oos_lo, "end_bar": w.oos_hi}
        row = normalise(base_row(n_is + w.index, point, extra), cols)
        key = store.key(row)
        base[key] = {k: row[k] for k in ("run", *extra, *names)}
        tasks.append(Task(n_is + w.index, key, point.texts(), w.oos_lo, w.oos_hi, True))
    return tasks, base


def _assemble(
    ctx: RunContext,
    sweep: SweepOutcome,
    windows: list[Window],
    curves: dict[int, Any],
    n_is: int,
) -> WalkForwardOutcome:
    """Per-window table and the stitched OOS curve from the finished rows."""
    names = sweep.params
    by_run = {r["run"]: r for r in sweep.rows}
    end = ctx.bars.end
    segments: list[tuple[npt.NDArray[np.int64], npt.NDArray[np.float64] | None]] = []
    table: list[dict[str, Any]] = []
    for w in windows:
        is_rows = [r for r in sweep.rows if r.get("window") == w.index and r["phase"] == "is"]
        best = select_best(sweep.rows, sweep.objective, w.index)
        oos = by_run.get(n_is + w.index)
        curve = curves.get(n_is + w.index)
        note = ""
        if sweep.interrupted and oos is None:
            note = "interrupted: not run (finish with --resume)"
        elif best is None:
            note = "no in-sample run with a score: flat"
        elif oos is None or oos["status"] != "ok" or curve is None:
            note = f"out-of-sample run failed: {oos['error'] if oos else 'not run'}: flat"
        ts = end[w.oos_lo : w.oos_hi]
        segments.append((ts, None if note or curve is None else np.asarray(curve[1], np.float64)))
        row: dict[str, Any] = {
            "window": w.index,
            "is_start": fmt_ts(int(ctx.bars.start[w.is_lo])),
            "is_end": fmt_ts(int(end[w.is_hi - 1])),
            "oos_start": fmt_ts(int(ctx.bars.start[w.oos_lo])),
            "oos_end": fmt_ts(int(end[w.oos_hi - 1])),
            "is_bars": w.is_hi - w.is_lo,
            "oos_bars": w.oos_hi - w.oos_lo,
            "is_runs": len(is_rows),
            "is_errors": sum(1 for r in is_rows if r["status"] != "ok"),
            **{n: best[n] if best else None for n in names},
            "is_objective": best["objective"] if best else None,
            "note": note,
        }
        if oos is not None and oos["status"] == "ok":
            row.update(
                oos_objective=oos["objective"],
                oos_total_return=oos["total_return"],
                oos_sharpe=oos["sharpe"],
                oos_max_drawdown=oos["max_drawdown"],
                oos_fills=oos["n_fills"],
                oos_fingerprint=oos["trades_fingerprint"],
            )
        table.append(row)
    cash = ctx.config.cash
    ts, eq, ends = stitch(segments, cash)
    for row, level in zip(table, ends, strict=True):
        row["stitched_equity"] = level
    wcols = window_columns(names, sweep.columns)
    table = [normalise(r, wcols) for r in table]
    summary: dict[str, Any] = {}
    if len(eq):
        st = compute_stats(ts, eq, None, [], [], cash)
        summary = {
            "total_return": st.total_return,
            "sharpe": st.sharpe,
            "max_drawdown": st.max_drawdown,
            "final_equity": st.final_equity,
        }
    return WalkForwardOutcome(sweep, table, wcols, ts, eq, summary)


def _write(out: Path, wf: WalkForwardOutcome, opts: SweepOptions, title: str) -> None:
    write_csv(out / "windows.csv", wf.windows, list(wf.window_columns))
    write_parquet(out / "windows.parquet", wf.windows, wf.window_columns)
    curve = [
        {"ts_ns": int(t), "time": fmt_ts(int(t)), "equity": float(e)}
        for t, e in zip(wf.ts.tolist(), wf.equity.tolist(), strict=True)
    ]
    write_csv(out / "oos_equity.csv", curve, ["ts_ns", "time", "equity"])
    if opts.report:
        from tradeloop.sweep.report import WalkForwardView, write_sweep_report

        view = WalkForwardView(wf.windows, list(wf.window_columns), wf.ts, wf.equity, wf.summary)
        write_sweep_report(out / "report.html", wf.sweep, title, view)
