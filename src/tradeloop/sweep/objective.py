"""The number a sweep ranks runs by, and which way is better.

Chosen by name (any statistic of the backtest, or a short alias such as ``return``) or as a
user function ``module:function`` / ``path/to/file.py:function`` that receives a run's row
(parameters and every statistic, as a dict) and returns a number or ``None``. Objectives are
evaluated in the driver, not in workers, so a user function needs no shipping to a cluster and
changing the objective never invalidates finished runs (``--resume`` re-ranks them).
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import math
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tradeloop.core.errors import ConfigError

log = logging.getLogger(__name__)

ALIASES = {
    "return": "total_return",
    "ret": "total_return",
    "equity": "final_equity",
    "drawdown": "max_drawdown",
    "dd": "max_drawdown",
    "trades": "n_round_trips",
}
#: statistics where smaller is better (used when the direction is ``auto``)
LOWER_IS_BETTER = {"max_drawdown", "max_drawdown_duration_ns", "volatility", "total_fees"}


@dataclass(frozen=True)
class Objective:
    """``name`` is what tables show; ``fn`` maps a row to a score (``None`` = no score)."""

    name: str
    fn: Callable[[Mapping[str, Any]], float | None]
    maximize: bool

    def score(self, row: Mapping[str, Any]) -> float | None:
        """The row's objective, ``None`` if it has none. Raises what the user function raises."""
        x = self.fn(row)
        if x is None or isinstance(x, bool):
            return None
        x = float(x)
        return x if math.isfinite(x) else None

    def sort_key(self, score: float | None, run: int) -> tuple[int, float, int]:
        """Best first; runs without a score last; ties go to the earlier run (deterministic)."""
        if score is None:
            return (1, 0.0, run)
        return (0, -score if self.maximize else score, run)


def _column(name: str) -> Callable[[Mapping[str, Any]], float | None]:
    def get(row: Mapping[str, Any]) -> float | None:
        v = row.get(name)
        return v if isinstance(v, int | float) and not isinstance(v, bool) else None

    return get


def _load_function(spec: str) -> Callable[[Mapping[str, Any]], Any]:
    where, _, fname = spec.rpartition(":")
    if where.endswith(".py"):
        path = Path(where)
        if not path.is_file():
            raise ConfigError(f"--objective {spec}: file {where} not found")
        mod_spec = importlib.util.spec_from_file_location(f"tradeloop_objective_{path.stem}", path)
        if mod_spec is None or mod_spec.loader is None:
            raise ConfigError(f"--objective {spec}: {where} is not a Python file")
        module = importlib.util.module_from_spec(mod_spec)
        try:
            mod_spec.loader.exec_module(module)
        except Exception as exc:  # user code: report in one line
            raise ConfigError(f"--objective {spec}: {type(exc).__name__}: {exc}") from None
    else:
        # the console script does not put the working directory on sys.path; a user's
        # module beside their data is the common case, so look there too
        added = os.getcwd() not in sys.path
        if added:
            sys.path.insert(0, os.getcwd())
        try:
            module = importlib.import_module(where)
        except Exception as exc:  # ImportError or the module's own failure
            raise ConfigError(f"--objective {spec}: {type(exc).__name__}: {exc}") from None
        finally:
            if added:
                sys.path.remove(os.getcwd())
    fn = getattr(module, fname, None)
    if not callable(fn):
        raise ConfigError(f"--objective {spec}: {where} has no function {fname!r}")
    return fn


def resolve(spec: str, columns: Iterable[str], direction: str = "auto") -> Objective:
    """Build the objective named by ``spec``; ``columns`` are the result columns a name may use.

    ``direction`` is ``max``, ``min`` or ``auto`` (minimise drawdown-like statistics, maximise
    everything else and user functions).
    """
    if direction not in ("auto", "max", "min"):
        raise ConfigError(f"--direction {direction!r}: expected auto, max or min")
    spec = spec.strip()
    if ":" in spec:
        fn = _load_function(spec)
        maximize = direction != "min"
        return Objective(spec, fn, maximize)
    name = ALIASES.get(spec.lower(), spec.lower())
    cols = set(columns)
    if name not in cols:
        known = ", ".join(sorted(set(ALIASES) | cols))
        raise ConfigError(f"--objective {spec!r}: unknown (known: {known}; or module:function)")
    maximize = name not in LOWER_IS_BETTER if direction == "auto" else direction == "max"
    return Objective(name, _column(name), maximize)
