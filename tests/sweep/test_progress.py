"""The sweep's progress: ``--progress`` on a file or pipe (a log, CI) prints plain lines
with runs done, errors, best objective and ETA, ending with a final count; without it, a
non-terminal stays silent (a rich bar draws nothing there, so forcing it used to print
nothing at all)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradeloop.cli import main
from tradeloop.sweep.driver import Progress

from .helpers import SMA


def test_forced_progress_on_a_pipe_prints_plain_lines(capsys: pytest.CaptureFixture[str]) -> None:
    p = Progress(True, "sweep", 4, every_s=0.0)
    for i in range(4):
        p.advance(errors=i // 3, best=f"{i / 10:.2f}")
    p.close()
    p.close()  # once only
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[0].startswith("sweep: 1/4 runs · 0 errors · best 0.00 · ETA ")
    assert lines[-1] == "sweep: 4/4 runs · 1 errors · best 0.30 · ETA -"
    assert len(lines) == 5  # each advance (every_s=0) and the final line


def test_unforced_progress_off_a_terminal_is_silent(capsys: pytest.CaptureFixture[str]) -> None:
    p = Progress(None, "sweep", 3)
    p.advance(0, "1")
    p.close()
    assert capsys.readouterr().err == ""


def test_the_command_with_progress_reports_its_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["sweep", str(SMA), "--bars", "1500", "--param", "fast=3,5", "--param",
                 "slow=20", "--progress", "--no-report", "--out", str(tmp_path / "s")])  # fmt: skip
    assert code == 0
    err = capsys.readouterr().err
    assert "sweep: 2/2 runs · 0 errors · best " in err
