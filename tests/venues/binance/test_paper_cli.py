"""``tradeloop paper --venue binance`` on spot and on the USD-M perpetual, as processes:
``tradeloop emulator binance ...`` in one, the paper run of ``tests/strategies/flip.py`` in
another. The run must exit 0, write its outputs, log no secret, and its fills must account
exactly for the change in the emulator's BTC balance (spot) or position (perpetual), read
afterwards over signed REST."""

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

from tradeloop.venues.binance.auth import Credentials
from tradeloop.venues.binance.rest import BinanceRestClient

REPO = Path(__file__).resolve().parents[3]
KEY, SECRET = "K-binance-paper", "S-binance-paper-secret"


def _start_emulator(env: dict[str, str]) -> tuple[subprocess.Popen[str], str, list[str]]:
    cmd = [
        sys.executable, "-m", "tradeloop.cli", "emulator", "binance", "--host", "127.0.0.1",
        "--port", "0", "--api-key", KEY, "--api-secret", SECRET,
        "--balance", "USDT=100000", "--balance", "BTC=2", "--symbols", "BTCUSDT,ETHUSDT",
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


async def test_paper_cli_spot_against_emulator_cli(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), TRADELOOP_STATE_DIR=str(tmp_path))
    emu, url, emu_log = _start_emulator(env)
    try:
        out = tmp_path / "paper"
        cmd = [
            sys.executable, "-m", "tradeloop.cli", "paper", str(REPO / "tests/strategies/flip.py"),
            "--venue", "binance", "--url", url, "--api-key", KEY, "--api-secret", SECRET,
            "--symbol", "BTCUSDT", "--bar", "1s", "--duration", "8",
            "--cash", "5000", "--out", str(out),
        ]  # fmt: skip
        paper = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
        assert paper.returncode == 0, paper.stderr[-3000:]
        rest = BinanceRestClient(url, Credentials(KEY, SECRET))
        try:
            account = await rest.call("GET", "/api/v3/account", signed=True)
        finally:
            await rest.close()
    finally:
        emu.send_signal(signal.SIGTERM)
        _, err = emu.communicate(timeout=20)
    assert emu.returncode == 0
    result = json.loads((out / "result.json").read_text())
    assert result["venue"] == "binance" and result["symbols"] == ["BTCUSDT.BINANCE"]
    assert result["bars"] >= 5  # 8 s of 1 s bars
    assert re.search(r"paper: \d+ bars, \d+ fills", paper.stdout)
    with (out / "trades.csv").open() as fh:
        fills = list(csv.DictReader(fh))
    assert len(fills) == result["fills"] and fills, "flip trades on every bar"
    moved = sum(float(f["qty"]) * (1 if f["side"] == "buy" else -1) for f in fills)
    btc_fees = sum(float(f["fee"]) for f in fills if f["fee_ccy"] == "BTC")
    btc = next(b for b in account["balances"] if b["asset"] == "BTC")
    venue_btc = float(btc["free"]) + float(btc["locked"])
    assert venue_btc == pytest.approx(2 + moved - btc_fees, abs=1e-8)  # 8 decimals shown
    logs = "".join(emu_log) + err + paper.stdout + paper.stderr
    assert SECRET not in logs


async def test_paper_cli_perpetual_against_emulator_cli(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), TRADELOOP_STATE_DIR=str(tmp_path))
    emu, url, emu_log = _start_emulator(env)
    try:
        out = tmp_path / "paper"
        cmd = [
            sys.executable, "-m", "tradeloop.cli", "paper", str(REPO / "tests/strategies/flip.py"),
            "--venue", "binance", "--url", url, "--api-key", KEY, "--api-secret", SECRET,
            "--symbol", "BTCUSDT-PERP", "--bar", "1s", "--duration", "6",
            "--cash", "5000", "--out", str(out),
        ]  # fmt: skip
        paper = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
        assert paper.returncode == 0, paper.stderr[-3000:]
        rest = BinanceRestClient(url, Credentials(KEY, SECRET))
        try:
            pos = await rest.call("GET", "/fapi/v2/positionRisk", {"symbol": "BTCUSDT"},
                                  signed=True)  # fmt: skip
            account = await rest.call("GET", "/api/v3/account", signed=True)
        finally:
            await rest.close()
    finally:
        emu.send_signal(signal.SIGTERM)
        _, err = emu.communicate(timeout=20)
    assert emu.returncode == 0
    result = json.loads((out / "result.json").read_text())
    assert result["symbols"] == ["BTCUSDT-PERP.BINANCE"] and result["bars"] >= 3
    with (out / "trades.csv").open() as fh:
        fills = list(csv.DictReader(fh))
    assert len(fills) == result["fills"] and fills, "flip trades on every bar"
    assert {f["fee_ccy"] for f in fills} == {"USDT"}  # a perpetual pays fees in its margin asset
    held = sum(float(f["qty"]) * (1 if f["side"] == "buy" else -1) for f in fills)
    assert float(pos[0]["positionAmt"]) == pytest.approx(held, abs=1e-9)
    btc = next(b for b in account["balances"] if b["asset"] == "BTC")
    assert float(btc["free"]) + float(btc["locked"]) == 2.0  # the spot wallet is untouched
    assert SECRET not in "".join(emu_log) + err + paper.stdout + paper.stderr
