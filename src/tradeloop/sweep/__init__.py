"""Parameter sweeps and walk-forward analysis over the backtest engine.

``tradeloop sweep`` runs one backtest per parameter set (grid or random search, with
constraints) and ranks them by an objective; ``tradeloop walkforward`` picks the best
in-sample parameters per window and runs them out of sample. Runs execute in this process, on a
local process pool (default: all cores) or on Ray (``--ray``); each worker receives the data
once. See ``docs/sweep.md``.
"""

from tradeloop.sweep.runner import RunContext, Task, TaskResult
from tradeloop.sweep.sweep import SweepOptions, SweepOutcome, run_sweep

__all__ = ["RunContext", "SweepOptions", "SweepOutcome", "Task", "TaskResult", "run_sweep"]
