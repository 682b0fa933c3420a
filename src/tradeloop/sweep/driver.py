"""The driver's loop, shared by sweeps and walk-forward: hand tasks to an executor, turn each
result into a table row as it arrives (objective, journal, progress, best curves), and keep
what finished when the user presses Ctrl-C.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from tradeloop.sweep.executors import Executor
from tradeloop.sweep.objective import Objective
from tradeloop.sweep.runner import Task
from tradeloop.sweep.store import ResultStore

log = logging.getLogger(__name__)

Curve = tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]


class Progress:
    """Runs done, errors, best objective and ETA on stderr: a rich bar on a terminal; with
    ``--progress`` forced on a file or pipe (a log, CI), one plain line at most every
    ``every_s`` seconds and one at the end, since a live bar draws nothing there. Silent when
    disabled (not a terminal without ``--progress``, or ``--no-progress``)."""

    def __init__(
        self, enabled: bool | None, label: str, total: int, done: int = 0, every_s: float = 2.0
    ) -> None:
        tty = sys.stderr.isatty()
        self.enabled = tty if enabled is None else enabled
        self._bar: Any = None
        self._plain = self.enabled and not tty
        self._label, self._total, self._done = label, total, done
        self._errors, self._best = 0, "—"
        self._every, self._t0 = every_s, time.monotonic()
        self._last = self._t0
        self._start_done = done
        if not self.enabled or self._plain:
            return
        import rich.progress as rp

        self._bar = rp.Progress(
            rp.TextColumn(label),
            rp.BarColumn(),
            rp.MofNCompleteColumn(),
            rp.TextColumn("runs · {task.fields[errors]} errors · best {task.fields[best]}"),
            rp.TimeElapsedColumn(),
            rp.TextColumn("ETA"),
            rp.TimeRemainingColumn(),
            transient=True,
        )
        self._task = self._bar.add_task(label, total=total, completed=done, errors=0, best="—")
        self._bar.start()

    def advance(self, errors: int, best: str) -> None:
        if self._bar is not None:
            self._bar.update(self._task, advance=1, errors=errors, best=best)
        elif self._plain:
            self._done += 1
            self._errors, self._best = errors, best
            now = time.monotonic()
            if now - self._last >= self._every:
                self._last = now
                self._line(now)

    def add_total(self, n: int) -> None:
        if self._bar is not None:
            self._bar.update(self._task, total=(self._bar.tasks[0].total or 0) + n)
        self._total += n

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        elif self._plain:
            self._plain = False
            self._line(time.monotonic())

    def _line(self, now: float) -> None:
        ran, left = self._done - self._start_done, self._total - self._done
        eta = f"{(now - self._t0) / ran * left:.0f}s" if ran and left > 0 else "-"
        print(f"{self._label}: {self._done}/{self._total} runs · {self._errors} errors · "
              f"best {self._best} · ETA {eta}", file=sys.stderr, flush=True)  # fmt: skip


@dataclass
class TopCurves:
    """Equity curves of the best ``n`` runs so far (the report's top-N chart): bounded memory
    however large the sweep."""

    objective: Objective
    n: int
    curves: dict[int, tuple[float | None, Curve]] = field(default_factory=dict)

    def offer(self, run: int, score: float | None, curve: Curve | None) -> None:
        if curve is None or self.n <= 0 or score is None:
            return
        self.curves[run] = (score, curve)
        if len(self.curves) > self.n:
            worst = max(self.curves, key=lambda r: self.objective.sort_key(self.curves[r][0], r))
            del self.curves[worst]


@dataclass
class BatchOutcome:
    done: int = 0
    errors: int = 0
    interrupted: bool = False
    elapsed_s: float = 0.0
    curves: dict[int, Curve] = field(default_factory=dict)  # only runs that asked for one


def score_row(objective: Objective, row: dict[str, Any]) -> None:
    """Set ``row['objective']``; a user function that raises leaves it empty and says why in
    the row's error column (the run itself succeeded, so its statistics are kept)."""
    if row.get("status") != "ok":
        row["objective"] = None
        return
    try:
        row["objective"] = objective.score(row)
    except Exception as exc:  # user code
        row["objective"] = None
        row["error"] = f"objective {objective.name}: {type(exc).__name__}: {exc}"


def fmt_score(x: float | None) -> str:
    return "—" if x is None else f"{x:.4g}"


def run_batch(
    executor: Executor,
    tasks: Sequence[Task],
    base_rows: Mapping[str, dict[str, Any]],
    store: ResultStore,
    objective: Objective,
    progress: Progress,
    top: TopCurves | None = None,
    keep_curve: Callable[[Task], bool] = lambda t: t.full_curve,
) -> BatchOutcome:
    """Run ``tasks``; each result is merged with its planned row (run, parameters, window),
    scored, journaled and shown. Ctrl-C stops the executor and returns with
    ``interrupted=True``: everything finished so far is already in the store."""
    out = BatchOutcome()
    wanted = {t.key: t for t in tasks}
    best: float | None = None
    best_run = -1
    t0 = time.perf_counter()
    stream = executor.results(tasks)
    try:
        for res in stream:
            row = {**base_rows[res.key], **res.row}
            score_row(objective, row)
            store.add(row)
            out.done += 1
            if row["status"] != "ok":
                out.errors += 1
                log.debug("run %s failed: %s", row.get("run"), row.get("error"))
            score = row["objective"]
            run = int(row["run"])
            if score is not None and objective.sort_key(score, run) < objective.sort_key(
                best, best_run
            ):
                best, best_run = score, run
            if top is not None:
                top.offer(run, score, res.curve)
            if res.curve is not None and keep_curve(wanted[res.key]):
                out.curves[run] = res.curve
            progress.advance(out.errors, fmt_score(best))
    except KeyboardInterrupt:
        out.interrupted = True
        log.debug("interrupted after %d runs", out.done)
    finally:
        stream_close = getattr(stream, "close", None)
        if stream_close is not None:
            stream_close()
    out.elapsed_s = time.perf_counter() - t0
    return out
