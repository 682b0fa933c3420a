"""Command-line pieces shared by ``tradeloop sweep`` and ``tradeloop walkforward``.

Both take every ``tradeloop backtest`` flag (added by the backtest's own ``add_arguments``,
so the two commands can never drift apart), where ``--param`` takes a search spec instead of a
single value. The first argument is a strategy file or a TOML config holding the same options
(``strategy = "..."``, ``[param]`` table, ``constraint = [...]``, ``objective = "..."``);
options given on the command line win over the config.
"""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tradeloop.core.errors import ConfigError
from tradeloop.engine import cli_backtest

if TYPE_CHECKING:
    from tradeloop.sweep.sweep import SweepOptions

PARAM_HELP = (
    "NAME=SPEC, repeatable: START:END[:STEP] (END included), A,B,C, one value, "
    "or LOW~HIGH (random search)"
)


def add_arguments(p: argparse.ArgumentParser, out_default: str) -> None:
    cli_backtest.add_arguments(p)
    p.set_defaults(out=out_default)
    for action in p._actions:  # argparse has no public way to edit a help text
        if action.dest == "param":
            action.help = PARAM_HELP
        elif action.dest == "strategy":
            action.help = "strategy file, or a TOML config with the same options"
    p.add_argument(
        "--constraint",
        action="append",
        default=[],
        metavar="EXPR",
        help="keep only points where EXPR holds, e.g. 'fast < slow' (repeatable)",
    )
    p.add_argument("--search", choices=["grid", "random"], default="grid", help="grid or random")
    p.add_argument("--samples", type=int, default=50, help="points for --search random")
    p.add_argument("--search-seed", type=int, default=0, help="seed of --search random")
    p.add_argument(
        "--objective",
        default="sharpe",
        help="statistic to rank by (sharpe, return, calmar, sortino, max_drawdown, ...) "
        "or module:function / file.py:function taking a row dict",
    )
    p.add_argument(
        "--direction",
        choices=["auto", "max", "min"],
        default="auto",
        help="better is higher (max) or lower (min); auto: lower for drawdown-like statistics",
    )
    p.add_argument("--workers", type=int, help="parallel workers (default: all cores)")
    p.add_argument(
        "--ray",
        metavar="auto|local|ADDRESS",
        help="run on Ray: auto (a running cluster, else local), local, or a cluster address",
    )
    p.add_argument(
        "--resume", action="store_true", help="keep finished runs in --out, run the rest"
    )
    p.add_argument("--overwrite", action="store_true", help="discard earlier results in --out")
    p.add_argument("--top", type=int, default=5, help="equity curves of the best N in the report")
    p.set_defaults(
        _option_spec={a.dest: (a.default, a.type) for a in p._actions if a.dest != "help"}
    )


def _spec_text(name: str, v: Any) -> str:
    if isinstance(v, list):
        if not v:
            raise ConfigError(f"config: param {name}: empty list")
        return ",".join(_spec_text(name, x) for x in v)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float | str):
        return str(v)
    raise ConfigError(f"config: param {name}: expected a spec text, a number or a list")


def apply_config(args: argparse.Namespace) -> None:
    """When the first argument is a ``.toml`` file, fill options from it (in place)."""
    path = Path(args.strategy)
    if path.suffix.lower() != ".toml":
        return
    try:
        cfg = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    from tradeloop.sweep.inputs import refuse_run_config

    refuse_run_config(path, cfg)
    spec: dict[str, tuple[Any, Any]] = args._option_spec
    here = path.parent
    if "strategy" not in cfg:
        raise ConfigError(f'{path}: needs strategy = "path/to/strategy.py"')
    cli_params = {item.partition("=")[0].strip(): item for item in args.param}
    for key, value in cfg.items():
        dest = key.replace("-", "_")
        if dest == "strategy":
            args.strategy = str(here / str(value))
        elif dest == "param":
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: [param] must be a table of NAME = SPEC")
            merged = {n: f"{n}={_spec_text(n, v)}" for n, v in value.items()}
            merged.update(cli_params)
            args.param = list(merged.values())
        elif dest == "constraint":
            items = value if isinstance(value, list) else [value]
            args.constraint = [str(c) for c in items] + list(args.constraint)
        elif dest not in spec or dest.startswith("_"):
            raise ConfigError(f"{path}: unknown option {key!r}")
        elif getattr(args, dest) == spec[dest][0]:  # not given on the command line
            conv = spec[dest][1]
            if dest in ("data", "out") and isinstance(value, str):
                value = str(here / value)
            elif callable(conv) and isinstance(value, str):
                try:
                    value = conv(value)
                except (TypeError, ValueError):
                    raise ConfigError(f"{path}: {key} = {value!r} is not valid") from None
            setattr(args, dest, value)


def sweep_options(args: argparse.Namespace) -> SweepOptions:
    from tradeloop.sweep.sweep import SweepOptions

    if args.top < 0:
        raise ConfigError("--top must not be negative")
    return SweepOptions(
        params=list(args.param),
        constraints=list(args.constraint),
        search=args.search,
        samples=args.samples,
        search_seed=args.search_seed,
        objective=args.objective,
        direction=args.direction,
        workers=args.workers,
        ray=args.ray,
        top=args.top,
        report=not args.no_report,
        progress=args.progress,
        resume=args.resume,
        overwrite=args.overwrite,
    )
