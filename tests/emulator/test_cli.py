"""The ``tradeloop emulator okx`` command: flag parsing, and a real process serving on a
port, answering, and exiting cleanly on SIGTERM without logging secrets."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tradeloop.cli import build_parser
from tradeloop.core.errors import ConfigError
from tradeloop.emulator.cli import VENUES, parse_pairs

REPO = Path(__file__).resolve().parents[2]


def test_parse_flags_into_config() -> None:
    args = build_parser().parse_args(
        [
            "emulator",
            "okx",
            "--port",
            "0",
            "--api-key",
            "K-cli",
            "--api-secret",
            "S-cli",
            "--passphrase",
            "P-cli",
            "--balance",
            "USDT=5000",
            "--balance",
            "btc=1.5",
            "--symbols",
            "BTC-USDT,BTC-USDT-SWAP",
            "--seed",
            "3",
            "--latency-ms",
            "2",
            "--drop-ws-every",
            "30",
        ]
    )
    assert args.venue == "okx"
    server = VENUES["okx"](args)
    cfg = server.config
    assert cfg.balances == {"USDT": 5000.0, "BTC": 1.5}
    assert cfg.symbols == ["BTC-USDT", "BTC-USDT-SWAP"] and cfg.seed == 3
    assert server.faults.latency_ms == 2 and cfg.periodic_faults.drop_ws_every_s == 30


def test_bad_pairs_are_user_errors() -> None:
    with pytest.raises(ConfigError):
        parse_pairs(["USDT"], "--balance")
    with pytest.raises(ConfigError):
        parse_pairs(["USDT=lots"], "--balance")


def test_unknown_venue_rejected() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["emulator", "nasdaq"])


def test_process_serves_and_stops() -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    cmd = [
        sys.executable,
        "-m",
        "tradeloop.cli",
        "emulator",
        "okx",
        "--port",
        "0",
        "--api-key",
        "cli-key-123",
        "--api-secret",
        "cli-secret-456",
        "--passphrase",
        "cli-pass-789",
        "--symbols",
        "BTC-USDT",
        "--tick-ms",
        "100",
    ]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True)
    lines: list[str] = []
    try:
        assert proc.stderr is not None
        url = ""
        for _ in range(50):
            line = proc.stderr.readline()
            if not line:
                break
            lines.append(line)
            found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
            if found:
                url = found.group(1)
                break
        assert url, "".join(lines)
        with urllib.request.urlopen(url + "/api/v5/public/time", timeout=10) as r:
            assert json.load(r)["code"] == "0"
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=20)
        lines.append(err)
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    text = "".join(lines)
    for secret in ("cli-secret-456", "cli-pass-789"):
        assert secret not in text
