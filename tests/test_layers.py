"""The package's shape, checked from the source: no import cycles among module-level imports,
and lower layers never import higher ones (docs/architecture.md, "Layers"). Entry-point
modules (``cli*.py``) are glue and may import a higher layer lazily, inside a function.
``if TYPE_CHECKING:`` imports are for annotations only and are not counted."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "tradeloop"
#: docs/architecture.md: model <- core <- book, data, sim <- venues <- engine, emulator, fmz,
#: report, store <- live, sweep <- dashboard <- cli (and ``python -m tradeloop``, the same)
RANK = {"model": 0, "core": 1, "book": 2, "data": 2, "sim": 2, "venues": 3, "engine": 4,
        "emulator": 4, "fmz": 4, "report": 4, "store": 4, "live": 5, "sweep": 5,
        "dashboard": 6, "cli": 7, "__main__": 7}  # fmt: skip


def _modules() -> dict[str, Path]:
    out = {}
    for p in SRC.rglob("*.py"):
        parts = list(p.relative_to(SRC.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = p
    return out


def _imports(mod: str, path: Path) -> list[tuple[str, bool, int]]:
    """(imported name, lazy, line) for every import outside ``if TYPE_CHECKING``."""
    found: list[tuple[str, bool, int]] = []
    package = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]

    def walk(node: ast.AST, lazy: bool) -> None:
        for ch in ast.iter_child_nodes(node):
            if isinstance(ch, ast.If) and "TYPE_CHECKING" in ast.unparse(ch.test):
                for c in ch.orelse:
                    walk(c, lazy)
            elif isinstance(ch, ast.Import):
                found.extend((a.name, lazy, ch.lineno) for a in ch.names)
            elif isinstance(ch, ast.ImportFrom):
                base = ch.module or ""
                if ch.level:
                    up = package[: len(package) - ch.level + 1]
                    base = ".".join(up + ([ch.module] if ch.module else []))
                # ``from pkg import mod`` needs ``pkg.mod``; ``from mod import name`` needs ``mod``
                found.extend((f"{base}.{a.name}", lazy, ch.lineno) for a in ch.names)
            else:
                walk(ch, lazy or isinstance(ch, ast.FunctionDef | ast.AsyncFunctionDef))

    walk(ast.parse(path.read_text("utf-8")), False)
    return found


def _edges() -> list[tuple[str, str, bool, int]]:
    mods = _modules()
    edges = []
    for mod, path in mods.items():
        for name, lazy, line in _imports(mod, path):
            while name not in mods and "." in name:
                name = name.rsplit(".", 1)[0]
            if name in mods and name != mod and name != "tradeloop":
                edges.append((mod, name, lazy, line))
    return edges


def _layer(mod: str) -> str:
    return mod.split(".")[1] if "." in mod else "cli"


def test_lower_layers_never_import_higher_ones() -> None:
    bad = [
        f"{a} imports {b} (line {line})"
        for a, b, lazy, line in _edges()
        if RANK.get(_layer(a), 0) < RANK.get(_layer(b), 0)
        and not (lazy and a.rsplit(".", 1)[-1].startswith("cli"))
    ]
    assert bad == []


def test_no_import_cycles() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for a, b, lazy, _ in _edges():
        if not lazy:
            graph[a].add(b)
    cycles = []
    state: dict[str, int] = {}  # 1 on the stack, 2 done

    def visit(v: str, stack: list[str]) -> None:
        state[v] = 1
        stack.append(v)
        for w in sorted(graph[v]):
            if state.get(w) == 1:
                cycles.append(" -> ".join([*stack[stack.index(w) :], w]))
            elif w not in state:
                visit(w, stack)
        stack.pop()
        state[v] = 2

    for v in sorted(graph):
        if v not in state:
            visit(v, [])
    assert cycles == []
