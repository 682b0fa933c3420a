"""A parameter sweep end to end: check the inputs, plan the points, skip what an earlier run
finished (``--resume``), run the rest on the chosen executor, write the tables and the page.

Everything that can be refused is refused before the output folder is touched, so bad input
never leaves a half-made result behind.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tradeloop.sweep.choose import make_executor
from tradeloop.sweep.driver import Curve, Progress, TopCurves, run_batch, score_row
from tradeloop.sweep.executors import Executor
from tradeloop.sweep.objective import Objective, resolve
from tradeloop.sweep.plan import base_row, check_specs, columns, make_points
from tradeloop.sweep.runner import RESULT_TYPES, RunContext, Task, execute
from tradeloop.sweep.space import ParamSpec, Point, parse_specs
from tradeloop.sweep.store import ResultStore, normalise, prepare_folder

log = logging.getLogger(__name__)


@dataclass
class SweepOptions:
    """What to search and how; the backtest itself is fixed by the :class:`RunContext`."""

    params: list[str]
    constraints: list[str] = field(default_factory=list)
    search: str = "grid"
    samples: int = 50
    search_seed: int = 0
    objective: str = "sharpe"
    direction: str = "auto"
    workers: int | None = None
    ray: str | None = None
    top: int = 5
    report: bool = True
    progress: bool | None = False
    resume: bool = False
    overwrite: bool = False
    title: str = ""


@dataclass
class SweepOutcome:
    out: Path
    rows: list[dict[str, Any]]
    columns: dict[str, type]
    params: list[str]
    objective: Objective
    planned: int
    ran: int
    kept: int
    errors: int
    interrupted: bool
    elapsed_s: float
    executor: str
    workers: int
    curves: dict[int, Curve] = field(default_factory=dict)

    @property
    def best(self) -> dict[str, Any] | None:
        scored = [r for r in self.rows if r.get("objective") is not None]
        if not scored:
            return None
        return min(scored, key=lambda r: self.objective.sort_key(r["objective"], r["run"]))


def numeric_columns() -> list[str]:
    return [k for k, t in RESULT_TYPES.items() if t in (int, float)]


def data_digest(ctx: RunContext) -> str:
    """Content hash of the bars (all columns): cheap next to a sweep, and it catches a data
    file that changed between a run and its ``--resume``."""
    h = hashlib.sha256()
    b = ctx.bars
    for a in (b.start, b.end, b.open, b.high, b.low, b.close, b.volume):
        h.update(a.tobytes())
    return h.hexdigest()


def run_inputs(ctx: RunContext, kind: str, specs: list[ParamSpec]) -> dict[str, Any]:
    """What decides every run's result (and so whether old rows may be reused)."""
    inputs = {
        "kind": kind,
        "strategy": ctx.strategy_path,
        "strategy_sha256": ctx.strategy_sha,
        "data": ctx.bars.source,
        "data_sha256": data_digest(ctx),
        "bars": len(ctx.bars),
        "instrument": repr(ctx.instrument),
        "backtest_config": repr(ctx.config),
        "params": [s.name for s in specs],
    }
    m = ctx.backtest.multi
    if m is not None:  # derivative / resampled runs: leverage, margin, funding, bar period
        f = m.feed
        funding = None
        if f.funding is not None:
            funding = hashlib.sha256(f.funding.ts.tobytes() + f.funding.rate.tobytes()).hexdigest()
        inputs["multi"] = {
            "leverage": f.leverage,
            "margin": repr(f.margin),
            "funding_sha256": funding,
            "period_ns": m.period,
            "config": repr(m.config),
        }
    return inputs


def plan(ctx: RunContext, opts: SweepOptions) -> tuple[list[ParamSpec], list[Point], Objective]:
    """Check everything the user gave; raises ``UserError`` before anything is written."""
    specs = check_specs(ctx, parse_specs(opts.params))
    points = make_points(specs, opts.constraints, opts.search, opts.samples, opts.search_seed)
    objective = resolve(opts.objective, numeric_columns(), opts.direction)
    return specs, points, objective


def carry_over(
    earlier: Mapping[str, dict[str, Any]], keys: Mapping[str, int]
) -> tuple[list[dict[str, Any]], set[str]]:
    """Rows of finished runs that this plan still contains (renumbered to this plan); runs
    that failed before are run again, as a failure may have been transient."""
    kept, done = [], set()
    for key, row in earlier.items():
        if key in keys and row.get("status") == "ok":
            kept.append({**row, "run": keys[key]})
            done.add(key)
    dropped = sum(1 for k in earlier if k not in keys)
    if dropped:
        log.info("%d earlier rows are not part of this sweep and were left out", dropped)
    return kept, done


def run_sweep(
    ctx: RunContext, opts: SweepOptions, out: Path, executor: Executor | None = None
) -> SweepOutcome:
    specs, points, objective = plan(ctx, opts)
    cols = columns(specs)
    names = [s.name for s in specs]
    own = executor is None
    ex = executor or make_executor(ctx, opts.workers, opts.ray)
    try:
        resumed = prepare_folder(out, run_inputs(ctx, "sweep", specs), opts.resume, opts.overwrite)
        store = ResultStore(out, cols, names)
        base: dict[str, dict[str, Any]] = {}
        for p in points:
            row = normalise(base_row(p.index, p), cols)
            base[store.key(row)] = {k: row[k] for k in ("run", *names)}
        keys = {k: r["run"] for k, r in base.items()}
        kept, done = carry_over(store.load() if resumed else {}, keys)
        for row in kept:
            score_row(objective, row)
        tasks = [
            Task(run=r["run"], key=k, params=points[r["run"]].texts())
            for k, r in base.items()
            if k not in done
        ]
        store.open(kept)
        top = TopCurves(objective, opts.top if opts.report else 0)
        progress = Progress(opts.progress, "sweep", len(points), len(kept))
        try:
            batch = run_batch(ex, tasks, base, store, objective, progress, top)
        finally:
            progress.close()
            store.close()
        rows = store.sorted_rows()
        outcome = SweepOutcome(
            out=out,
            rows=rows,
            columns=cols,
            params=names,
            objective=objective,
            planned=len(points),
            ran=batch.done,
            kept=len(kept),
            errors=sum(1 for r in rows if r["status"] != "ok"),
            interrupted=batch.interrupted,
            elapsed_s=batch.elapsed_s,
            executor=ex.name,
            workers=ex.workers,
        )
        if opts.report:
            outcome.curves = top_curves(
                ctx, outcome, top, points, run_missing=not batch.interrupted
            )
            from tradeloop.sweep.report import write_sweep_report

            write_sweep_report(out / "report.html", outcome, opts.title or _title(ctx))
        return outcome
    finally:
        if own:
            ex.close()


def _title(ctx: RunContext) -> str:
    return f"Sweep: {Path(ctx.strategy_path).stem} on {ctx.instrument.symbol}"


def top_curves(
    ctx: RunContext,
    outcome: SweepOutcome,
    top: TopCurves,
    points: list[Point],
    run_missing: bool,
) -> dict[int, Curve]:
    """Curves of the best ``top.n`` rows. Rows carried over by ``--resume`` came without one;
    those few runs are repeated here, in this process (deterministic, so the same curve)."""
    ranked = sorted(
        (r for r in outcome.rows if r.get("objective") is not None),
        key=lambda r: outcome.objective.sort_key(r["objective"], r["run"]),
    )[: top.n]
    curves: dict[int, Curve] = {}
    for r in ranked:
        run = int(r["run"])
        if run in top.curves:
            curves[run] = top.curves[run][1]
        elif run_missing:
            res = execute(ctx, Task(run=run, key="", params=points[run].texts()))
            if res.curve is not None:
                curves[run] = res.curve
    return curves
