"""``python -m tradeloop`` is the ``tradeloop`` command: same help, same one-line refusal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=SRC)
    return subprocess.run([sys.executable, "-m", "tradeloop", *args], capture_output=True,
                          text=True, env=env, timeout=60)  # fmt: skip


def test_module_runs_the_command() -> None:
    ok = _run("--help")
    assert ok.returncode == 0 and "backtest" in ok.stdout
    bad = _run("backtest", "no-such-strategy.py")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1, bad.stderr
