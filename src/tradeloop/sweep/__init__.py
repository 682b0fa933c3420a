"""Parameter sweeps and walk-forward analysis over the backtest engine.

``tradeloop sweep`` runs one backtest per parameter set (grid or random search, with
constraints) and ranks them by an objective; ``tradeloop walkforward`` picks the best
in-sample parameters per window and runs them out of sample. Runs execute on a local process
pool (default: all cores) or on Ray (``--ray``); each worker receives the data once. See
``docs/sweep.md``. Names are imported on first use so ``tradeloop --help`` stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tradeloop.sweep.runner import RunContext, Task, TaskResult
    from tradeloop.sweep.sweep import SweepOptions, SweepOutcome, run_sweep

_WHERE = {
    "RunContext": "runner",
    "Task": "runner",
    "TaskResult": "runner",
    "SweepOptions": "sweep",
    "SweepOutcome": "sweep",
    "run_sweep": "sweep",
}
__all__ = ["RunContext", "SweepOptions", "SweepOutcome", "Task", "TaskResult", "run_sweep"]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(f"tradeloop.sweep.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'tradeloop.sweep' has no attribute {name!r}")
