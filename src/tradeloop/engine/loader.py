"""Load a user's strategy file: one clear error line when it can't be used, never a traceback."""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import sys
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

from tradeloop.core.errors import ConfigError, StrategyLoadError, UserError
from tradeloop.engine.strategy import Strategy


def load_module(path: str | Path) -> ModuleType:
    """Import a strategy file. Its folder goes on ``sys.path`` first, so the file can import
    helper modules kept beside it (``from mysignals import zscore``), as a script could."""
    p = Path(path)
    if not p.is_file():
        raise StrategyLoadError(f"{p}: strategy file not found")
    name = f"tradeloop_user_{p.stem}"
    spec = importlib.util.spec_from_file_location(name, p)
    if spec is None or spec.loader is None:
        raise StrategyLoadError(f"{p}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    folder = str(p.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise StrategyLoadError(f"{p}: line {exc.lineno}: syntax error: {exc.msg}") from None
    except Exception as exc:  # user code: any failure is reported, not raised
        tb = traceback.extract_tb(exc.__traceback__)
        line = next((f.lineno for f in reversed(tb) if f.filename == str(p)), None)
        where = f"line {line}: " if line else ""
        raise StrategyLoadError(
            f"{p}: {where}failed to import: {type(exc).__name__}: {exc}"
        ) from None
    return module


def build_strategies(path: str | Path, params: Mapping[str, Any]) -> list[Strategy]:
    """A file either defines ``create_strategies(params) -> list[Strategy]`` (several strategies,
    e.g. sharing one account) or exactly one ``Strategy`` subclass, built with ``params``."""
    module = load_module(path)
    factory = getattr(module, "create_strategies", None)
    if callable(factory):
        strategies = factory(dict(params))
        if not strategies or not all(isinstance(s, Strategy) for s in strategies):
            raise StrategyLoadError(f"{path}: create_strategies() must return Strategy objects")
        return list(strategies)
    classes = _strategy_classes(module)
    if not classes:
        raise StrategyLoadError(f"{path}: defines no Strategy subclass")
    if len(classes) > 1:
        names = ", ".join(c.__name__ for c in classes)
        raise StrategyLoadError(
            f"{path}: defines several strategies ({names}); add create_strategies(params)"
        )
    try:
        return [classes[0](params=params)]
    except ConfigError:
        raise
    except Exception as exc:
        raise StrategyLoadError(
            f"{path}: {classes[0].__name__}() failed: {type(exc).__name__}: {exc}"
        ) from None


def _strategy_classes(module: ModuleType) -> list[type[Strategy]]:
    return [
        obj
        for obj in vars(module).values()
        if inspect.isclass(obj)
        and issubclass(obj, Strategy)
        and obj is not Strategy
        and obj.__module__ == module.__name__
    ]


def build_strategy(
    path: str | Path, class_name: str | None, params: Mapping[str, Any], strategy_id: str | None
) -> Strategy:
    """One strategy of a run config: the file's single Strategy subclass, or ``class_name``
    when it holds several; ``strategy_id`` defaults to the class name."""
    module = load_module(path)
    classes = _strategy_classes(module)
    if class_name is not None:
        classes = [c for c in classes if c.__name__ == class_name]
        if not classes:
            raise StrategyLoadError(f"{path}: defines no Strategy subclass {class_name!r}")
    if not classes:
        raise StrategyLoadError(f"{path}: defines no Strategy subclass")
    if len(classes) > 1:
        names = ", ".join(c.__name__ for c in classes)
        raise StrategyLoadError(f"{path}: defines several strategies ({names}); set class = ...")
    try:
        return classes[0](strategy_id=strategy_id, params=params)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except Exception as exc:
        raise StrategyLoadError(
            f"{path}: {classes[0].__name__}() failed: {type(exc).__name__}: {exc}"
        ) from None


@contextlib.contextmanager
def strategy_errors(path: str | Path, *more: str | Path) -> Iterator[None]:
    """Turn an exception raised *inside the user's strategy file(s)* into one clear line naming
    the file, line and callback; engine bugs (no frame in those files) keep their traceback."""
    targets = {str(Path(p).resolve()): p for p in (path, *more)}
    try:
        yield
    except UserError:
        raise
    except Exception as exc:
        frames = [
            f
            for f in traceback.extract_tb(exc.__traceback__)
            if str(Path(f.filename).resolve()) in targets
        ]
        if not frames:
            raise
        f = frames[-1]
        where = targets[str(Path(f.filename).resolve())]
        raise StrategyLoadError(
            f"{where}: line {f.lineno} in {f.name}: {type(exc).__name__}: {exc}"
        ) from None
