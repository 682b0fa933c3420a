"""A backtest never loads the network stack: the order lifecycle and the simulated venue it
runs on classify errors through :mod:`tradeloop.venues.outcomes`, not ``venues.http``
(aiohttp costs ~90 ms of start-up). Checked in a fresh process, since this one has long
imported aiohttp for other tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = """
import sys
from tradeloop.cli import main
rc = main(["backtest", sys.argv[1], "--bars", "300", "--param", "fast=5", "--param", "slow=20",
           "--out", sys.argv[2]])
assert rc == 0, rc
print(sorted(m for m in sys.modules if m == "aiohttp" or m.startswith("aiohttp.")))
"""


def test_backtest_process_does_not_import_aiohttp(tmp_path: Path) -> None:
    sma = ROOT / "examples" / "sma_cross.py"
    r = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(sma), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "result.json").exists()  # the backtest really ran
    assert r.stdout.strip().splitlines()[-1] == "[]", r.stdout


def test_http_still_exports_the_transport_errors() -> None:
    """Callers (venue clients, tests) keep importing the errors from ``venues.http``."""
    from tradeloop.venues import http, outcomes

    for name in ("NetworkError", "RequestTimeout", "UnknownOutcome", "outcome_unknown"):
        assert getattr(http, name) is getattr(outcomes, name)
