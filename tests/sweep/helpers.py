"""Helpers for the sweep tests: contexts built the way the CLI builds them, and a small
strategy that misbehaves on purpose."""

from __future__ import annotations

import argparse
from pathlib import Path

from tradeloop.sweep import cli_sweep
from tradeloop.sweep.inputs import build_context
from tradeloop.sweep.runner import RunContext

ROOT = Path(__file__).resolve().parents[2]
SMA = ROOT / "examples" / "sma_cross.py"

#: SmaCross that kills its worker process (os._exit) for fast == 7 and sleeps ``nap`` seconds
#: per run, for crash and Ctrl-C tests. With ``TRADELOOP_TEST_STALL=N:path`` in the environment
#: a run with fast >= N waits while ``path`` exists (at most 120 s): an interrupted sweep is
#: then interrupted in those runs however slow or fast the machine is.
MISBEHAVING = """
import os
import time

from tradeloop.engine.indicators import SMA
from tradeloop.engine.strategy import Strategy


class Misbehaving(Strategy):
    params = {"fast": 5, "slow": 20, "nap": 0.0}

    def on_start(self):
        if self.p.fast == 7:
            os._exit(3)
        if self.p.fast == 8:
            raise RuntimeError("eight is not allowed")
        time.sleep(self.p.nap)
        stall = os.environ.get("TRADELOOP_TEST_STALL")
        if stall:
            first, path = stall.split(":", 1)
            end = time.monotonic() + 120
            while self.p.fast >= int(first) and os.path.exists(path) and time.monotonic() < end:
                time.sleep(0.02)
        self.f, self.s = SMA(self.p.fast), SMA(self.p.slow)

    def on_bar(self, bar):
        f, s = self.f.update(bar.close), self.s.update(bar.close)
        if s is not None:
            self.target_percent(bar.symbol, 1.0 if f > s else 0.0)
"""


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    cli_sweep.add_arguments(p)
    return p.parse_args(argv)


def context(*argv: str) -> RunContext:
    return build_context(parse([str(a) for a in argv]))


def table(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """Rows without the one column that measures time (everything else is deterministic)."""
    return [{k: v for k, v in r.items() if k != "run_s"} for r in rows]
