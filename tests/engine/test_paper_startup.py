"""``tradeloop paper`` start-up failures are one line and exit code 2, never a traceback, and
leave no HTTP session open: the venue down, a 429 storm on every request, refused credentials.
The CLI runs as a real subprocess against a real emulator on loopback."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

emulator = pytest.importorskip("tradeloop.emulator.okx.server")

REPO = Path(__file__).resolve().parents[2]
KEY, SECRET, PASS = "start-key-1", "start-secret-2", "start-pass-3"


async def paper(url: str, passphrase: str = PASS) -> tuple[int, str]:
    env = dict(
        os.environ,
        PYTHONPATH=str(REPO / "src"),
        TRADELOOP_OKX_API_KEY=KEY,
        TRADELOOP_OKX_API_SECRET=SECRET,
        TRADELOOP_OKX_PASSPHRASE=passphrase,
        PYTHONWARNINGS="default",  # make an unclosed session visible on stderr
        PYTHONASYNCIODEBUG="1",
        TRADELOOP_STATE_DIR=tempfile.mkdtemp(prefix="tl-paper-state-"),
    )
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "tradeloop.cli", "paper", str(REPO / "examples/sma_cross.py")),
        *("--url", url, "--duration", "1", "--out", "/nonexistent/never-written"),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, (out + err).decode()


def check_one_line_failure(rc: int, output: str, expected: str) -> None:
    assert rc == 2, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    assert "Unclosed" not in output, output[-3000:]
    errors = [ln for ln in output.splitlines() if ln.startswith("tradeloop paper: error:")]
    assert len(errors) == 1 and expected in errors[0], output[-3000:]
    for secret in (SECRET, PASS):
        assert secret not in output


@pytest.fixture
async def emu() -> AsyncIterator[tuple[Any, str]]:
    e = emulator.OkxEmulator(
        emulator.EmulatorConfig(
            api_key=KEY,
            api_secret=SECRET,
            passphrase=PASS,
            balances={"USDT": 10_000.0},
            symbols=["BTC-USDT"],
            seed=3,
        )
    )
    url = await e.start("127.0.0.1", 0)
    try:
        yield e, url
    finally:
        await e.stop()


async def test_venue_down() -> None:
    # A port nobody listens on: kept bound (not listening) for the whole run, so connecting
    # is refused and no other process can take the port meanwhile (a closed one can be).
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        rc, output = await paper(f"http://127.0.0.1:{port}")
    check_one_line_failure(rc, output, "OKX unavailable after 3 tries")


async def test_rate_limit_storm_on_every_request(emu: tuple[Any, str]) -> None:
    e, url = emu
    e.faults.fail_next_429(100_000)
    rc, output = await paper(url)
    check_one_line_failure(rc, output, "OKX unavailable after 3 tries")
    assert "429" in output


async def test_wrong_passphrase(emu: tuple[Any, str]) -> None:
    _, url = emu
    rc, output = await paper(url, passphrase="not-the-passphrase")
    check_one_line_failure(rc, output, "OKX refused the credentials")
