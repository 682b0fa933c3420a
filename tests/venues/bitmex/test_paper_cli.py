"""``tradeloop paper --venue bitmex`` on the inverse XBTUSD, as processes: ``tradeloop emulator
bitmex ...`` (the issue's command: ``--balance XBt=100000000 --balance USDt=10000000000``) in
one, the paper run of ``tests/strategies/flip.py`` in another. The run must exit 0, keep its
money in BTC, log no secret, and its fills must account for the emulator's XBt wallet: every
commission to the satoshi, the wallet's move within half a satoshi per fill (the emulator books
float BTC and shows whole satoshi; BitMEX itself books whole satoshi per execution)."""

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

from tradeloop.venues.bitmex.rest import BitmexRestClient

REPO = Path(__file__).resolve().parents[3]
KEY, SECRET = "K-bitmex-paper", "S-bitmex-paper-secret"
SAT = 100_000_000


def _start_emulator(env: dict[str, str]) -> tuple[subprocess.Popen[str], str, list[str]]:
    cmd = [
        sys.executable, "-m", "tradeloop.cli", "emulator", "bitmex", "--host", "127.0.0.1",
        "--port", "0", "--api-key", KEY, "--api-secret", SECRET,
        "--balance", "XBt=100000000", "--balance", "USDt=10000000000",
        "--symbols", "XBTUSD,ETHUSD,XBTUSDT", "--tick-ms", "50",
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


async def test_paper_cli_inverse_xbtusd(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"), TRADELOOP_STATE_DIR=str(tmp_path))
    emu, url, emu_log = _start_emulator(env)
    try:
        out = tmp_path / "paper"
        cmd = [
            sys.executable, "-m", "tradeloop.cli", "paper", str(REPO / "tests/strategies/flip.py"),
            "--venue", "bitmex", "--url", url, "--api-key", KEY, "--api-secret", SECRET,
            "--symbol", "XBTUSD", "--bar", "1s", "--duration", "8", "--no-dashboard",
            "--cash", "0.5", "--out", str(out),
        ]  # fmt: skip
        paper = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
        assert paper.returncode == 0, paper.stderr[-3000:]
        rest = BitmexRestClient(url, KEY, SECRET)
        try:
            wallet = await rest.request("GET", "/api/v1/user/wallet", {"currency": "XBt"}, None,
                                        True)  # fmt: skip
            execs = await rest.all_executions()
            (pos,) = [p for p in await rest.positions() if p["symbol"] == "XBTUSD"]
        finally:
            await rest.close()
    finally:
        emu.send_signal(signal.SIGTERM)
        _, err = emu.communicate(timeout=20)
    assert emu.returncode == 0
    result = json.loads((out / "result.json").read_text())
    assert result["venue"] == "bitmex" and result["symbols"] == ["XBTUSD.BITMEX"]
    assert result["bars"] >= 5 and 0.4 < result["equity"] < 0.6  # BTC, not USD
    assert re.search(r"paper: \d+ bars, \d+ fills", paper.stdout)
    with (out / "trades.csv").open() as fh:
        fills = list(csv.DictReader(fh))
    assert len(fills) == result["fills"] and fills, "flip trades on every bar"
    assert {f["fee_ccy"] for f in fills} == {"BTC"}
    # the venue's executions are the paper's fills, commission for commission (whole satoshi)
    trades = [e for e in execs if e["execType"] == "Trade"]
    assert sorted(e["execID"] for e in trades) == sorted(f["trade_id"] for f in fills)
    paper_fee = {f["trade_id"]: round(float(f["fee"]) * SAT) for f in fills}
    assert {e["execID"]: e["execComm"] for e in trades} == paper_fee
    # inverse money: contracts net to the venue's position, cash moves as qty/price in BTC
    net = sum(float(f["qty"]) * (1 if f["side"] == "buy" else -1) for f in fills)
    assert pos["currentQty"] == net
    start = 1.0  # XBt=100000000
    moved = (wallet["amount"] - 100_000_000) / SAT
    engine = sum(s["realized"] - s["fees"] for s in result["strategies"].values())
    assert moved == pytest.approx(engine, abs=len(fills) * 0.5 / SAT + 1 / SAT)
    assert start + moved > 0.99  # a few seconds of taker fees on 0.5 BTC of XBTUSD
    logs = "".join(emu_log) + err + paper.stdout + paper.stderr
    assert SECRET not in logs
