"""Per-update cost of tradeloop's own SMA/EMA against talipp's, and of wrapped talipp indicators.

    .venv/bin/python bench/backtest_indicators.py [--n 1000000] [--repeat 3]

Why: the strategy API keeps its own moving averages only where they are measured faster than
the library (issue 15); this prints the evidence. Same input for every contender (a seeded
random walk), best of ``--repeat`` CPU timings, and the outputs compared on the way.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _best(fn: Callable[[], Any], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        c0 = time.process_time()
        fn()
        best = min(best, time.process_time() - c0)
    return best


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    import talipp.indicators as tp

    from tradeloop.engine import indicators as ind
    from tradeloop.engine.ta import TA

    xs = (100 + np.cumsum(np.random.default_rng(1).normal(0, 0.1, args.n))).tolist()

    def ours(cls: Any, n: int) -> Callable[[], Any]:
        def run() -> Any:
            u = cls(n).update
            for x in xs:
                u(x)
            return u

        return run

    def theirs(cls: Any, n: int) -> Callable[[], Any]:
        def run() -> Any:
            t = cls(n)
            add = t.add
            for x in xs:
                add(x)
            return t

        return run

    def wrapped(name: str, *a: Any) -> Callable[[], Any]:
        def run() -> Any:
            u = TA(name, *a).update
            for x in xs:
                u(x)

        return run

    print(f"{args.n:,} updates, best of {args.repeat} (CPU)")
    for name, n in (("SMA", 50), ("EMA", 50)):
        a = _best(ours(getattr(ind, name), n), args.repeat) / args.n * 1e9
        b = _best(theirs(getattr(tp, name), n), args.repeat) / args.n * 1e9
        print(f"{name}({n})  tradeloop {a:6.0f} ns  talipp {b:6.0f} ns  ratio {b / a:.2f}x")
    cases: tuple[tuple[str, tuple[float, ...]], ...] = (
        ("SMA", (50,)), ("RSI", (14,)), ("BB", (20, 2.0)),
    )  # fmt: skip
    for name, params in cases:
        w = _best(wrapped(name, *params), args.repeat) / args.n * 1e9
        print(f"TA {name}{params}  {w:6.0f} ns per update (wrapped talipp, bounded)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
