"""The paper-CLI process harness: ``tradeloop emulator <venue> ...`` in one process, one or
more ``tradeloop paper ...`` runs against it in others -- the issue's own commands, as a user
types them.

Why one module: every venue's paper-CLI test started the emulator the same way (read its
stderr until ``listening on``), ran ``tradeloop paper`` the same way, read ``result.json`` and
``trades.csv`` the same way and checked the logs for secrets the same way. What stays in a
venue's test is only its own: the emulator's flags, the paper run's flags, and how the venue's
money must account for the fills.

A new venue's test is::

    with emulator(env, "okx", "--balance", "USDT=100000", ...) as emu:
        run = paper(env, FLIP, out, "--venue", "okx", "--url", emu.url, ...)
        balance = ...  # read the venue's truth over signed REST
    assert run.result["venue"] == "okx"
    assert_no_secret(emu.logs + run.logs, SECRET)
"""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
#: trades on every bar: a paper run of a few seconds always has fills
FLIP = REPO / "tests/strategies/flip.py"
#: the issue's example (a short quiet market may leave it without a trade)
SMA = REPO / "examples/sma_cross.py"
_LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")


def cli_env(state_dir: Path) -> dict[str, str]:
    """The environment for CLI subprocesses: this checkout's sources, a private state dir."""
    return dict(os.environ, PYTHONPATH=str(REPO / "src"), TRADELOOP_STATE_DIR=str(state_dir))


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "tradeloop.cli", *args]


@dataclass
class Emulator:
    """A ``tradeloop emulator`` process: its base URL and everything it wrote to stderr."""

    proc: subprocess.Popen[str]
    url: str
    lines: list[str] = field(default_factory=list)
    rest: str = ""  # stderr after the ``listening on`` line, read once it has exited

    @property
    def logs(self) -> str:
        return "".join(self.lines) + self.rest


@contextmanager
def emulator(env: dict[str, str], venue: str, *flags: str) -> Iterator[Emulator]:
    """``tradeloop emulator <venue> --host 127.0.0.1 --port 0 <flags>``, started (its stderr
    read until ``listening on``, at most 50 lines), then stopped with SIGTERM on leaving. On a
    clean exit from the block it must have exited 0."""
    cmd = _cli("emulator", venue, "--host", "127.0.0.1", "--port", "0", *flags)
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True)
    assert proc.stderr is not None
    lines: list[str] = []
    url = None
    for _ in range(50):
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line)
        if found := _LISTENING.search(line):
            url = found.group(1)
            break
    if url is None:
        proc.kill()
        pytest.fail("emulator did not start:\n" + "".join(lines) + proc.communicate()[1])
    emu = Emulator(proc, url, lines)
    try:
        yield emu
    finally:
        proc.send_signal(signal.SIGTERM)
        _, emu.rest = proc.communicate(timeout=20)
    assert proc.returncode == 0, emu.logs[-3000:]


@dataclass
class PaperRun:
    """One finished ``tradeloop paper`` run and its outputs in ``out``."""

    run: subprocess.CompletedProcess[str]
    out: Path

    @property
    def stdout(self) -> str:
        return self.run.stdout

    @property
    def logs(self) -> str:
        return self.run.stdout + self.run.stderr

    @cached_property
    def result(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((self.out / "result.json").read_text())
        return loaded

    @cached_property
    def fills(self) -> list[dict[str, str]]:
        """trades.csv's rows, checked to be as many as result.json's ``fills``."""
        with (self.out / "trades.csv").open() as fh:
            rows = list(csv.DictReader(fh))
        assert len(rows) == self.result["fills"], (len(rows), self.result["fills"])
        return rows

    def assert_summary(self) -> None:
        """The run printed its one-line summary."""
        assert re.search(r"paper: \d+ bars, \d+ fills", self.stdout), self.stdout[-2000:]


def paper(env: dict[str, str], strategy: Path, out: Path, *flags: str) -> PaperRun:
    """``tradeloop paper <strategy> <flags> --out <out>``; it must exit 0 within two minutes."""
    cmd = _cli("paper", str(strategy), *flags, "--out", str(out))
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    return PaperRun(run, out)


def signed_qty(fills: list[dict[str, str]]) -> float:
    """Bought minus sold, from trades.csv rows."""
    return sum(float(f["qty"]) * (1 if f["side"] == "buy" else -1) for f in fills)


def fees_in(fills: list[dict[str, str]], currency: str) -> float:
    """The fees paid in ``currency``, from trades.csv rows."""
    return sum(float(f["fee"]) for f in fills if f["fee_ccy"] == currency)


def assert_no_secret(logs: str, *secrets: str) -> None:
    """None of ``secrets`` appears in ``logs`` (named by position, never printed)."""
    for i, secret in enumerate(secrets):
        assert secret not in logs, f"secret #{i} found in the logs"
