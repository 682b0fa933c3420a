"""``tradeloop sweep STRATEGY_OR_CONFIG --param fast=5:50:5 --param slow=20,50,100 ...``:
run a backtest per parameter set, in parallel, and write results.csv / results.parquet and
report.html into ``--out``."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from tradeloop.core.outdir import writable_dir
from tradeloop.sweep.cli_common import add_arguments as _add_common
from tradeloop.sweep.cli_common import apply_config, sweep_options

if TYPE_CHECKING:  # the CLI imports the machinery only when a sweep runs (fast --help)
    from tradeloop.sweep.sweep import SweepOutcome


def add_arguments(p: argparse.ArgumentParser) -> None:
    _add_common(p, "out/sweep")


def summary_line(o: SweepOutcome, show_best: bool = True) -> str:
    from tradeloop.report.tables import fmt_value

    best = o.best
    text = (
        f"{o.ran:,} runs ({o.errors} errors"
        + (f", {o.kept:,} kept from before" if o.kept else "")
        + f") in {o.elapsed_s:.1f}s on {o.executor} × {o.workers}"
    )
    if best is not None and show_best:
        params = ", ".join(f"{p}={fmt_value(best[p])}" for p in o.params)
        text += f"; best {o.objective.name} {fmt_value(best['objective'])} at {params}"
    return f"{text} -> {o.out}/"


def finish(o: SweepOutcome, what: str, show_best: bool = True) -> int:
    """Print the outcome; 130 if interrupted, 1 if no run succeeded, else 0."""
    print(f"{what}: {summary_line(o, show_best)}")
    if o.interrupted:
        print(
            f"{what}: interrupted: {len(o.rows):,} of {o.planned:,} runs kept in {o.out}/; "
            "rerun with --resume to finish",
            file=sys.stderr,
        )
        return 130
    if o.rows and all(r["status"] != "ok" for r in o.rows):
        print(f"{what}: every run failed, e.g.: {o.rows[0]['error']}", file=sys.stderr)
        return 1
    return 0


@contextlib.contextmanager
def term_as_interrupt() -> Iterator[None]:
    """SIGTERM (a batch scheduler, ``kill``) stops a sweep like Ctrl-C: workers stopped,
    finished rows kept and written, exit 130 — instead of dying with the tables mid-update."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        old = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def run(args: argparse.Namespace) -> int:
    writable_dir(args.out)  # before the run: a bad --out must not cost its results
    from tradeloop.sweep.choose import workers_warming
    from tradeloop.sweep.inputs import build_context
    from tradeloop.sweep.sweep import run_sweep

    apply_config(args)
    opts = sweep_options(args)
    with workers_warming(args.workers, args.ray):  # start-up overlaps with loading the data
        ctx = build_context(args)
        with term_as_interrupt():
            outcome = run_sweep(ctx, opts, Path(args.out))
    return finish(outcome, "sweep")
