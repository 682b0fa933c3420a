"""What one worker does: hold the loaded data once, then run one backtest per task.

A :class:`RunContext` (what ``engine.cli_backtest.build_backtest`` builds from the command
line, and the strategy file) is built once in the driver and handed to each worker once — as
a process-pool initializer argument or a single Ray object — so a sweep never reloads or
re-ships data per run. :func:`execute` then runs a parameter set through the same public calls
as ``tradeloop backtest`` (``build_strategies``, ``BuiltBacktest.run``, ``compute_stats``),
which is why a sweep row has the same trades fingerprint as the single run. Any exception in a
run becomes an error row; the worker goes on.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
import os
import signal
import tempfile
import time
import traceback
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from tradeloop.core.errors import UserError
from tradeloop.data.series import BarSeries
from tradeloop.engine.backtest import BacktestConfig, BacktestResult, trades_fingerprint
from tradeloop.engine.cli_backtest import BuiltBacktest
from tradeloop.engine.loader import build_strategies, strategy_errors
from tradeloop.model import Instrument
from tradeloop.report.downsample import minmax_indices
from tradeloop.report.stats import Stats, compute_stats, round_trips

log = logging.getLogger(__name__)

CURVE_POINTS = 600  # points kept of each run's equity curve for the report's top-N chart
MAX_ERROR_CHARS = 500


@dataclass(frozen=True, eq=False)
class RunContext:
    """Everything a run needs besides its parameters; built once, shipped once per worker.

    The strategy travels as source text too, so a worker on another machine (a Ray cluster)
    can run it even where the path does not exist; locally the original file is used, so
    error messages name it.
    """

    backtest: BuiltBacktest
    strategy_path: str
    strategy_source: bytes

    @property
    def bars(self) -> BarSeries:
        return self.backtest.bars

    @property
    def instrument(self) -> Instrument:
        return self.backtest.instrument

    @property
    def config(self) -> BacktestConfig:
        return self.backtest.config

    @property
    def strategy_sha(self) -> str:
        return hashlib.sha256(self.strategy_source).hexdigest()


@dataclass(frozen=True, slots=True)
class Task:
    """One backtest: parameter texts, and optionally a bar range ``[lo, hi)`` (walk-forward).
    ``full_curve`` asks for the whole equity curve (out-of-sample windows are stitched)."""

    run: int
    key: str
    params: dict[str, str]
    lo: int | None = None
    hi: int | None = None
    full_curve: bool = False


@dataclass(slots=True)
class TaskResult:
    """A finished task: its row (statistics or error) and equity curve (``None`` on error).
    ``curve`` is (ts ns, equity): downsampled unless the task asked for the full curve."""

    run: int
    key: str
    row: dict[str, Any]
    curve: tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]] | None = None


def _stats_types() -> dict[str, type]:
    """Column types of :class:`Stats` (int, float, bool), read from its annotations so a new
    statistic shows up in sweep tables without touching this package."""
    hints = typing.get_type_hints(Stats)
    out: dict[str, type] = {}
    for f in dataclasses.fields(Stats):
        args = [a for a in typing.get_args(hints[f.name]) if a is not type(None)]
        t = args[0] if args else hints[f.name]
        out[f.name] = t if t in (int, float, bool, str) else float
    return out


STATS_TYPES = _stats_types()
#: result columns after the statistics, with their types
EXTRA_TYPES: dict[str, type] = {
    "trades_fingerprint": str,
    "fees_paid": float,
    "bars": int,
    "run_s": float,
}
RESULT_TYPES: dict[str, type] = {**STATS_TYPES, **EXTRA_TYPES}


_CTX: RunContext | None = None
_STRATEGY_FILES: dict[tuple[str, str], str] = {}  # (path, sha) -> file to load in this process


def init_worker(ctx: RunContext, ignore_sigint: bool = True) -> None:
    """Process-pool initializer: keep the context for every later task in this process.

    Workers ignore Ctrl-C: the driver owns the interrupt, keeps finished rows and stops the
    workers itself; a worker dying mid-run on SIGINT would break the pool instead.
    """
    global _CTX
    if ignore_sigint:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    _CTX = ctx


def run_task(task: Task) -> TaskResult:
    """Run ``task`` with the context given to :func:`init_worker` (pool entry point)."""
    if _CTX is None:
        raise RuntimeError("run_task called before init_worker")
    return execute(_CTX, task)


def strategy_file(ctx: RunContext) -> str:
    """The original path when it holds the same source, else a private copy of the source
    (a cluster node without the file, or a file edited since the sweep started)."""
    ident = (ctx.strategy_path, ctx.strategy_sha)
    known = _STRATEGY_FILES.get(ident)
    if known is not None:
        return known
    path = Path(ctx.strategy_path)
    try:
        same = path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == ctx.strategy_sha
    except OSError:
        same = False
    if same:
        use = str(path)
    else:
        folder = tempfile.mkdtemp(prefix="tradeloop-sweep-")
        copy = Path(folder) / path.name
        copy.write_bytes(ctx.strategy_source)
        use = str(copy)
        log.info("strategy %s not found as shipped; running a copy at %s", path, copy)
    _STRATEGY_FILES[ident] = use
    return use


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_ERROR_CHARS else flat[: MAX_ERROR_CHARS - 1] + "…"


def _describe(exc: BaseException) -> str:
    """One line: the user-facing message for a ``UserError``, else type, message and the
    innermost frame (a run's failure must be diagnosable from the table alone)."""
    if isinstance(exc, UserError):
        return _one_line(str(exc))
    tb = traceback.extract_tb(exc.__traceback__)
    where = f" (at {Path(tb[-1].filename).name}:{tb[-1].lineno})" if tb else ""
    return _one_line(f"{type(exc).__name__}: {exc}{where}")


def error_row(message: str, run_s: float = 0.0) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(RESULT_TYPES)
    row.update(status="error", error=message, run_s=run_s)
    return row


def _finite(x: Any) -> Any:
    return None if isinstance(x, float) and not math.isfinite(x) else x


def execute(ctx: RunContext, task: Task) -> TaskResult:
    """Run one task; never raises for a failing run (the row carries the error)."""
    t0 = time.perf_counter()
    built = ctx.backtest.window(task.lo, task.hi)
    bars = built.bars
    path = strategy_file(ctx)
    params = task.params
    try:
        if len(bars) < 2:
            raise UserError(f"need at least 2 bars, got {len(bars)}")
        with strategy_errors(path):
            strategies = build_strategies(path, params)
            result = built.run(strategies)
        multipliers = {s: i.contract_value for s, i in result.kernel.instruments.items()}
        trips = round_trips(result.fills, multipliers)
        if isinstance(result, BacktestResult):
            position = result.position
        else:  # the multi path samples a position per instrument
            position = result.positions[built.instrument.symbol]
        stats = compute_stats(
            result.ts, result.equity, position, result.fills, trips, result.initial_cash
        )
    except Exception as exc:  # any failure of a run is data, not a crash of the sweep
        log.debug("run %d %s failed", task.run, params, exc_info=True)
        return TaskResult(task.run, task.key, error_row(_describe(exc), time.perf_counter() - t0))
    row: dict[str, Any] = {k: _finite(v) for k, v in stats.as_dict().items()}
    row.update(
        status="ok",
        error="",
        trades_fingerprint=trades_fingerprint(result.fills),
        fees_paid=result.kernel.portfolio.fees_paid,
        bars=len(bars),
    )
    if task.full_curve:
        curve = (result.ts.copy(), result.equity.copy())
    else:
        idx = minmax_indices(result.equity, CURVE_POINTS)
        curve = (result.ts[idx], result.equity[idx])
    row["run_s"] = time.perf_counter() - t0
    return TaskResult(task.run, task.key, row, curve)


def default_workers() -> int:
    """Cores this process may use (respects CPU affinity, e.g. in containers)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)
