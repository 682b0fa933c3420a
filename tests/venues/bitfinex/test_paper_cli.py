"""``tradeloop paper --venue bitfinex`` on tBTCUSD, as processes: ``tradeloop emulator bitfinex
...`` in one, then two paper runs against it -- the SMA example (``examples/sma_cross.py``,
the issue's example; a short quiet market may leave it without a trade) and
``tests/strategies/flip.py`` (trades every bar) -- with orders over the authenticated
WebSocket, dead-man switch on. Each run must exit 0, write its outputs and log no secret, and
their fills must account exactly for the change in the emulator's BTC wallet (read afterwards
over signed REST)."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tradeloop.venues.bitfinex.rest import BitfinexRestClient

REPO = Path(__file__).resolve().parents[3]
KEY, SECRET = "K-bitfinex-paper", "S-bitfinex-paper-secret"


def _start_emulator(env: dict[str, str]) -> tuple[subprocess.Popen[str], str, list[str]]:
    cmd = [
        sys.executable, "-m", "tradeloop.cli", "emulator", "bitfinex", "--host", "127.0.0.1",
        "--port", "0", "--api-key", KEY, "--api-secret", SECRET,
        "--balance", "USD=100000", "--balance", "BTC=2", "--symbols", "tBTCUSD,tETHUSD",
        "--tick-ms", "50",
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True)
    assert proc.stderr is not None
    lines: list[str] = []
    for _ in range(50):
        line = proc.stderr.readline()
        if not line:
            break
        lines.append(line)
        found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
        if found:
            return proc, found.group(1), lines
    proc.kill()
    pytest.fail("emulator did not start:\n" + "".join(lines) + proc.communicate()[1])


def _paper(env: dict[str, str], url: str, strategy: Path, out: Path, seconds: int, *extra: str
           ) -> subprocess.CompletedProcess[str]:  # fmt: skip
    cmd = [
        sys.executable, "-m", "tradeloop.cli", "paper", str(strategy),
        "--venue", "bitfinex", "--url", url, "--api-key", KEY, "--api-secret", SECRET,
        "--symbol", "tBTCUSD", "--bar", "1s", "--duration", str(seconds),
        "--cash", "5000", "--out", str(out), *extra,
    ]  # fmt: skip
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    return run


async def test_paper_cli_spot_against_emulator_cli(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), TRADELOOP_STATE_DIR=str(tmp_path))
    emu, url, emu_log = _start_emulator(env)
    try:
        sma_out = tmp_path / "sma"
        sma = _paper(env, url, REPO / "examples/sma_cross.py", sma_out, 4,
                     "--param", "fast=1", "--param", "slow=2")  # fmt: skip
        out = tmp_path / "paper"
        paper = _paper(env, url, REPO / "tests/strategies/flip.py", out, 8)
        rest = BitfinexRestClient(url, KEY, SECRET)
        try:
            wallets = await rest.wallets()
        finally:
            await rest.close()
    finally:
        emu.send_signal(signal.SIGTERM)
        _, err = emu.communicate(timeout=20)
    assert emu.returncode == 0
    result = json.loads((out / "result.json").read_text())
    assert result["venue"] == "bitfinex" and result["symbols"] == ["tBTCUSD.BITFINEX"]
    assert result["bars"] >= 5  # 8 s of 1 s bars
    assert re.search(r"paper: \d+ bars, \d+ fills", paper.stdout)
    with (out / "trades.csv").open() as fh:
        fills = list(csv.DictReader(fh))
    assert len(fills) == result["fills"] and fills, "flip trades on every bar"
    sma_result = json.loads((sma_out / "result.json").read_text())
    assert sma_result["venue"] == "bitfinex" and sma_result["bars"] >= 2
    with (sma_out / "trades.csv").open() as fh:
        fills += list(csv.DictReader(fh))
    moved = sum(float(f["qty"]) * (1 if f["side"] == "buy" else -1) for f in fills)
    btc_fees = sum(float(f["fee"]) for f in fills if f["fee_ccy"] == "BTC")
    (btc,) = [w for w in wallets if w[0] == "exchange" and w[1] == "BTC"]
    assert float(btc[2]) == pytest.approx(2 + moved - btc_fees, abs=1e-8)
    logs = "".join(emu_log) + err + paper.stdout + paper.stderr + sma.stdout + sma.stderr
    assert SECRET not in logs
