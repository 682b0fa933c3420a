"""From ``--param`` specs to checked, typed points and the tasks that run them.

Parameters are checked against the strategy *before* anything runs or is written: an unknown
name or a value the strategy's type refuses is one error line and exit code 2, like
``tradeloop backtest``. Values are typed by the strategy's own defaults (``coerce_param``), so
the table shows what the strategy saw.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tradeloop.core.errors import ConfigError
from tradeloop.engine.loader import build_strategies, load_module
from tradeloop.engine.strategy import coerce_param
from tradeloop.sweep.runner import RESULT_TYPES, RunContext, Task
from tradeloop.sweep.space import (
    Constraint,
    ParamSpec,
    Point,
    Value,
    grid_points,
    random_points,
    retype,
)

#: columns that come before the parameters / between parameters and statistics
LEAD_TYPES: dict[str, type] = {"run": int}
WINDOW_TYPES: dict[str, type] = {"window": int, "phase": str, "start_bar": int, "end_bar": int}
MID_TYPES: dict[str, type] = {"objective": float, "status": str, "error": str}


def _defaults(ctx: RunContext) -> dict[str, Any] | None:
    """Declared parameter defaults, or None for a ``create_strategies`` file (its factory
    decides what parameters mean, so they cannot be checked up front)."""
    module = load_module(ctx.strategy_path)
    if callable(getattr(module, "create_strategies", None)):
        return None
    out: dict[str, Any] = {}
    for s in build_strategies(ctx.strategy_path, {}):
        for k, v in vars(s.p).items():
            out.setdefault(k, v)
    return out


def check_specs(ctx: RunContext, specs: Sequence[ParamSpec]) -> list[ParamSpec]:
    """Refuse unknown or clashing names and values of the wrong type; type every value."""
    if not specs:
        raise ConfigError("nothing to sweep: give at least one --param NAME=SPEC")
    reserved = set(LEAD_TYPES) | set(WINDOW_TYPES) | set(MID_TYPES) | set(RESULT_TYPES)
    for s in specs:
        if s.name in reserved:
            raise ConfigError(f"--param {s.name}: the name clashes with a result column")
    defaults = _defaults(ctx)
    if defaults is None:
        return list(specs)
    out = []
    for s in specs:
        if s.name not in defaults:
            known = ", ".join(sorted(defaults)) or "none"
            raise ConfigError(
                f"--param {s.name}: unknown parameter of {ctx.strategy_path} (known: {known})"
            )
        default = defaults[s.name]
        if s.continuous and not isinstance(default, int | float):
            raise ConfigError(f"--param {s.name}: a LOW~HIGH range needs a numeric parameter")

        def coerce(text: str, name: str = s.name, default: Any = default) -> Value:
            v = coerce_param(name, default, text)
            return v if isinstance(v, int | float | bool | str) else text

        out.append(retype(s, coerce))
    return out


def make_points(
    specs: Sequence[ParamSpec],
    constraints: Sequence[str],
    search: str,
    samples: int,
    seed: int,
) -> list[Point]:
    names = [s.name for s in specs]
    checks = [Constraint(c, names) for c in constraints]
    if search == "grid":
        points = grid_points(specs, checks)
    elif search == "random":
        points = random_points(specs, checks, samples, seed)
    else:
        raise ConfigError(f"--search {search!r}: expected grid or random")
    if not points:
        raise ConfigError("no parameter set meets the constraints")
    return points


def param_types(specs: Sequence[ParamSpec]) -> dict[str, type]:
    """One column type per parameter: the type all its values share (float if ints and floats
    mix, text if anything else mixes)."""
    out: dict[str, type] = {}
    for s in specs:
        if s.continuous:
            out[s.name] = int if s.integer else float
            continue
        kinds = {type(v.value) for v in s.values}
        if len(kinds) == 1:
            out[s.name] = kinds.pop()
        elif kinds <= {int, float}:
            out[s.name] = float
        else:
            out[s.name] = str
    return out


def columns(specs: Sequence[ParamSpec], windows: bool = False) -> dict[str, type]:
    cols = dict(LEAD_TYPES)
    if windows:
        cols.update(WINDOW_TYPES)
    cols.update(param_types(specs))
    cols.update(MID_TYPES)
    cols.update(RESULT_TYPES)
    return cols


def base_row(run: int, point: Point, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"run": run, **(extra or {}), **point.typed()}


def task_for(key: str, run: int, point: Point, **kw: Any) -> Task:
    return Task(run=run, key=key, params=point.texts(), **kw)
