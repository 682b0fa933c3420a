"""Parameter spaces: what ``--param`` specs mean, constraints between parameters, and the
ordered list of points a grid or random search runs.

Every value is kept as the *text* a user would type after ``--param name=`` (``"0.3"``, not
``0.30000000000000004``) next to its typed value. The text is what the strategy receives, so a
sweep's run for a point is exactly ``tradeloop backtest --param name=text ...``; the typed value
is what tables, constraints and heatmaps use.

Spec syntax (one ``--param NAME=SPEC`` per parameter):

* ``5:50:5`` — inclusive range with a step (decimal arithmetic, so ``0.1:0.5:0.1`` gives five
  exact values); ``5:50`` steps by 1.
* ``20,50,100`` — a list (any text, e.g. ``market,limit``).
* ``7`` — one fixed value.
* ``0.5~2.0`` — continuous uniform (random search only); ``5~50`` with integers draws integers.
"""

from __future__ import annotations

import ast
import itertools
import json
import math
import operator
import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from tradeloop.core.errors import ConfigError

MAX_GRID_POINTS = 5_000_000  # a grid larger than this is refused rather than enumerated
_MAX_RANGE_VALUES = 1_000_000
_CONTINUOUS_DIGITS = 8  # significant digits kept from a continuous draw (readable tables)

Value = int | float | bool | str


@dataclass(frozen=True, slots=True)
class ParamValue:
    """One value: ``text`` goes to the strategy, ``value`` to tables and constraints."""

    text: str
    value: Value


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """A parameter's search domain: discrete ``values`` or a continuous ``[low, high]``."""

    name: str
    spec: str
    values: tuple[ParamValue, ...] = ()
    low: float | None = None
    high: float | None = None
    integer: bool = False

    @property
    def continuous(self) -> bool:
        return self.low is not None


@dataclass(frozen=True, slots=True)
class Point:
    """One parameter set, in plan order (``index`` is its row's ``run`` number)."""

    index: int
    values: tuple[tuple[str, ParamValue], ...]

    def texts(self) -> dict[str, str]:
        return {k: v.text for k, v in self.values}

    def typed(self) -> dict[str, Value]:
        return {k: v.value for k, v in self.values}

    def key(self) -> str:
        """Stable identity for resuming: the texts, sorted by name."""
        return json.dumps(self.texts(), sort_keys=True, separators=(",", ":"))


def guess_value(text: str) -> Value:
    """Typed value of a token when the strategy does not say: int, float, bool, else text."""
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        x = float(text)
    except ValueError:
        return text
    return x if math.isfinite(x) else text


def _decimal(text: str, name: str, spec: str) -> Decimal:
    try:
        d = Decimal(text.strip())
    except InvalidOperation:
        raise ConfigError(f"--param {name}={spec}: {text.strip()!r} is not a number") from None
    if not d.is_finite():
        raise ConfigError(f"--param {name}={spec}: {text.strip()!r} is not a finite number")
    return d


def _plain(d: Decimal) -> str:
    """``Decimal`` as plain text without exponent or trailing zeros ("5", "0.25")."""
    text = format(d.normalize(), "f")
    return text if text not in ("-0", "") else "0"


def _range_values(name: str, spec: str, parts: list[str]) -> list[str]:
    lo = _decimal(parts[0], name, spec)
    hi = _decimal(parts[1], name, spec)
    step = _decimal(parts[2], name, spec) if len(parts) == 3 else Decimal(1)
    if step <= 0:
        raise ConfigError(f"--param {name}={spec}: step must be positive")
    if hi < lo:
        raise ConfigError(f"--param {name}={spec}: range end {parts[1]} is below its start")
    count = int((hi - lo) / step) + 1
    if count > _MAX_RANGE_VALUES:
        raise ConfigError(f"--param {name}={spec}: {count:,} values is too many")
    return [_plain(lo + i * step) for i in range(count)]


def parse_spec(name: str, spec: str) -> ParamSpec:
    """Parse one ``SPEC`` (see the module docstring); raise ``ConfigError`` on bad syntax."""
    s = spec.strip()
    if not s:
        raise ConfigError(f"--param {name}=: empty value (expected e.g. 5:50:5, 1,2,3 or 7)")
    if "~" in s:
        parts = s.split("~")
        if len(parts) != 2:
            raise ConfigError(f"--param {name}={spec}: expected LOW~HIGH, e.g. 0.5~2.0")
        lo, hi = (_decimal(p, name, spec) for p in parts)
        if hi <= lo:
            raise ConfigError(f"--param {name}={spec}: HIGH must be above LOW")
        integer = all(p.strip().lstrip("+-").isdigit() for p in parts)
        return ParamSpec(name, spec, low=float(lo), high=float(hi), integer=integer)
    if ":" in s:
        parts = s.split(":")
        if len(parts) not in (2, 3) or not all(p.strip() for p in parts):
            raise ConfigError(f"--param {name}={spec}: expected START:END[:STEP], e.g. 5:50:5")
        texts = _range_values(name, spec, parts)
    elif "," in s:
        texts = [t.strip() for t in s.split(",")]
        if not all(texts):
            raise ConfigError(f"--param {name}={spec}: empty item in the list")
        if len(set(texts)) != len(texts):
            raise ConfigError(f"--param {name}={spec}: a value is listed twice")
    else:
        texts = [s]
    return ParamSpec(name, spec, values=tuple(ParamValue(t, guess_value(t)) for t in texts))


def parse_specs(items: Sequence[str]) -> list[ParamSpec]:
    """``["fast=5:50:5", "slow=20,50"]`` -> specs, in the order given; names must be unique."""
    specs: list[ParamSpec] = []
    seen: set[str] = set()
    for item in items:
        name, sep, spec = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ConfigError(f"--param {item!r}: expected NAME=SPEC, e.g. fast=5:50:5")
        if not name.isidentifier():
            raise ConfigError(f"--param {item!r}: {name!r} is not a parameter name")
        if name in seen:
            raise ConfigError(f"--param {name} is given twice")
        seen.add(name)
        specs.append(parse_spec(name, spec))
    return specs


def retype(spec: ParamSpec, coerce: Callable[[str], Value]) -> ParamSpec:
    """The same spec with each value's typed form from ``coerce`` (the strategy's own type),
    so a float parameter swept as ``5:50:5`` shows 5.0 in tables, as the strategy sees it."""
    if spec.continuous:
        return spec
    values = tuple(ParamValue(v.text, coerce(v.text)) for v in spec.values)
    return ParamSpec(spec.name, spec.spec, values=values)


# -- constraints ----------------------------------------------------------------------------
_BINOPS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_CMPOPS: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}
_FUNCS: dict[str, Callable[..., Any]] = {"abs": abs, "min": min, "max": max}


class Constraint:
    """A boolean expression over parameter names (``fast < slow``, ``slow >= 2 * fast``).

    Parsed with :mod:`ast` and evaluated by a small interpreter that knows only names,
    numbers, strings, arithmetic, comparisons, ``and/or/not`` and ``abs/min/max``: a config
    file shared between people must not be able to run code.
    """

    def __init__(self, text: str, names: Sequence[str]) -> None:
        self.text = text
        try:
            tree = ast.parse(text.strip(), mode="eval")
        except SyntaxError:
            raise ConfigError(f"--constraint {text!r}: not an expression") from None
        self._tree = tree.body
        self._check(self._tree, set(names))

    def _check(self, node: ast.AST, names: set[str]) -> None:
        allowed = (
            ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd, ast.BinOp,
            ast.Compare, ast.Name, ast.Load, ast.Constant, ast.Call,
            *_BINOPS, *_CMPOPS,
        )  # fmt: skip
        for sub in ast.walk(node):
            if not isinstance(sub, allowed):
                raise ConfigError(
                    f"--constraint {self.text!r}: {type(sub).__name__} is not allowed "
                    "(use names, numbers, arithmetic, comparisons, and/or/not, abs/min/max)"
                )
            if isinstance(sub, ast.Call) and not (
                isinstance(sub.func, ast.Name) and sub.func.id in _FUNCS and not sub.keywords
            ):
                raise ConfigError(f"--constraint {self.text!r}: only abs/min/max can be called")
            if isinstance(sub, ast.Name) and sub.id not in names and sub.id not in _FUNCS:
                known = ", ".join(sorted(names)) or "none"
                raise ConfigError(
                    f"--constraint {self.text!r}: unknown parameter {sub.id!r} (swept: {known})"
                )

    def __call__(self, values: Mapping[str, Value]) -> bool:
        try:
            return bool(self._eval(self._tree, values))
        except (TypeError, ZeroDivisionError, ValueError, OverflowError) as exc:
            raise ConfigError(
                f"--constraint {self.text!r} failed on {dict(values)}: {type(exc).__name__}: {exc}"
            ) from None

    def _eval(self, node: ast.AST, env: Mapping[str, Value]) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return env[node.id]
        if isinstance(node, ast.BoolOp):
            vals = (self._eval(v, env) for v in node.values)
            return all(vals) if isinstance(node.op, ast.And) else any(vals)
        if isinstance(node, ast.UnaryOp):
            x = self._eval(node.operand, env)
            if isinstance(node.op, ast.Not):
                return not x
            return -x if isinstance(node.op, ast.USub) else +x
        if isinstance(node, ast.BinOp):
            return _BINOPS[type(node.op)](self._eval(node.left, env), self._eval(node.right, env))
        if isinstance(node, ast.Compare):
            left = self._eval(node.left, env)
            for op, comp in zip(node.ops, node.comparators, strict=True):
                right = self._eval(comp, env)
                if not _CMPOPS[type(op)](left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            return _FUNCS[node.func.id](*(self._eval(a, env) for a in node.args))
        raise AssertionError(f"unchecked node {type(node).__name__}")  # _check refuses these


def feasible(point: Mapping[str, Value], constraints: Sequence[Constraint]) -> bool:
    return all(c(point) for c in constraints)


# -- plans ------------------------------------------------------------------------------------
def grid_size(specs: Sequence[ParamSpec]) -> int:
    return math.prod(len(s.values) for s in specs)


def _combos(specs: Sequence[ParamSpec]) -> Iterator[tuple[tuple[str, ParamValue], ...]]:
    names = [s.name for s in specs]
    for combo in itertools.product(*(s.values for s in specs)):
        yield tuple(zip(names, combo, strict=True))


def grid_points(specs: Sequence[ParamSpec], constraints: Sequence[Constraint]) -> list[Point]:
    """Every combination (first parameter varies slowest) that meets the constraints."""
    cont = [s.name for s in specs if s.continuous]
    if cont:
        raise ConfigError(f"--param {cont[0]}: a continuous range (LOW~HIGH) needs --search random")
    size = grid_size(specs)
    if size > MAX_GRID_POINTS:
        raise ConfigError(
            f"the grid has {size:,} points (limit {MAX_GRID_POINTS:,}); "
            "narrow it or use --search random --samples N"
        )
    out: list[Point] = []
    for combo in _combos(specs):
        if feasible({k: v.value for k, v in combo}, constraints):
            out.append(Point(len(out), combo))
    return out


def _draw(spec: ParamSpec, rng: random.Random) -> ParamValue:
    if not spec.continuous:
        return spec.values[rng.randrange(len(spec.values))]
    lo, hi = float(spec.low or 0.0), float(spec.high or 0.0)
    if spec.integer:
        x = rng.randint(int(lo), int(hi))
        return ParamValue(str(x), x)
    y = float(f"{rng.uniform(lo, hi):.{_CONTINUOUS_DIGITS}g}")
    return ParamValue(repr(y), y)


def random_points(
    specs: Sequence[ParamSpec],
    constraints: Sequence[Constraint],
    samples: int,
    seed: int,
) -> list[Point]:
    """``samples`` distinct feasible points drawn with ``random.Random(seed)``.

    Drawn in the driver, never in workers, so the plan (and hence the table) depends only on
    the seed. A small discrete space is enumerated and sampled without replacement (all of it
    if it has fewer feasible points than asked); otherwise points are drawn one by one,
    skipping duplicates and infeasible ones, and the search gives up after many misses.
    """
    if samples <= 0:
        raise ConfigError("--samples must be positive")
    rng = random.Random(seed)
    if not any(s.continuous for s in specs) and grid_size(specs) <= 200_000:
        pool = [c for c in _combos(specs) if feasible({k: v.value for k, v in c}, constraints)]
        picked = pool if samples >= len(pool) else rng.sample(pool, samples)
        return [Point(i, c) for i, c in enumerate(picked)]
    out: list[Point] = []
    seen: set[tuple[str, ...]] = set()
    misses = 0
    while len(out) < samples:
        combo = tuple((s.name, _draw(s, rng)) for s in specs)
        ident = tuple(v.text for _, v in combo)
        if ident in seen or not feasible({k: v.value for k, v in combo}, constraints):
            misses += 1
            if misses > 100 * samples + 10_000:
                break
            continue
        seen.add(ident)
        out.append(Point(len(out), combo))
    if not out:
        raise ConfigError("no parameter set meets the constraints")
    return out
