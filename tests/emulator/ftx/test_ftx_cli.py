"""``tradeloop emulator ftx``: flags and defaults, and a real process that serves FTX's REST
with the environment's credentials and stops cleanly without logging them."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import urllib.request

import pytest

from tradeloop.cli import build_parser
from tradeloop.core.errors import ConfigError
from tradeloop.emulator.admin import ADMIN_TOKEN_ENV
from tradeloop.emulator.cli import VENUES
from tradeloop.emulator.ftx.server import FtxEmulator

from ..test_cli import REPO, _lines, _until
from .helpers import signed


def test_issue_command_line() -> None:
    args = build_parser().parse_args(
        [
            "emulator",
            "ftx",
            "--port",
            "8500",
            "--api-key",
            "K",
            "--api-secret",
            "S",
            "--balance",
            "USD=100000",
            "--balance",
            "BTC=2",
        ]
    )
    server = VENUES["ftx"](args)
    assert isinstance(server, FtxEmulator) and args.port == 8500
    cfg = server.config
    assert (cfg.api_key, cfg.api_secret) == ("K", "S")
    assert cfg.balances == {"USD": 100_000.0, "BTC": 2.0}
    assert cfg.symbols == ["BTC-PERP", "ETH-PERP", "BTC/USD"]
    assert set(server.instruments) == {"BTC-PERP", "ETH-PERP", "BTC/USD"}


def test_defaults_and_symbols(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADELOOP_EMULATOR_API_KEY", "env-key")
    args = build_parser().parse_args(["emulator", "ftx", "--symbols", "SOL-PERP,eth/usd"])
    server = VENUES["ftx"](args)
    assert server.config.balances == {"USD": 100_000.0}
    assert server.config.api_key == "env-key"
    assert list(server.instruments) == ["SOL-PERP", "ETH/USD"]
    bad = build_parser().parse_args(["emulator", "ftx", "--symbols", "BTC-USDT-SWAP"])
    with pytest.raises(ConfigError, match="not an FTX market"):
        VENUES["ftx"](bad)


def test_process_serves_and_stops() -> None:
    env = dict(
        os.environ,
        PYTHONPATH=str(REPO / "src"),
        TRADELOOP_EMULATOR_API_KEY="ftx-cli-key",
        TRADELOOP_EMULATOR_API_SECRET="ftx-cli-secret-456",
    )
    env.pop(ADMIN_TOKEN_ENV, None)
    cmd = [sys.executable, "-m", "tradeloop.cli", "emulator", "ftx", "--port", "0"]
    cmd += ["--balance", "USD=5000", "--tick-ms", "100"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True)
    errs: queue.Queue[str] = queue.Queue()
    assert proc.stderr is not None and proc.stdout is not None
    threading.Thread(target=_lines, args=(proc.stderr, errs), daemon=True).start()
    threading.Thread(target=_lines, args=(proc.stdout, queue.Queue()), daemon=True).start()
    seen: list[str] = []
    try:
        url = _until(errs, r"listening on (http://127\.0\.0\.1:\d+)", seen)
        _until(errs, r"WS (ws://127\.0\.0\.1:\d+/ws/)", seen)
        with urllib.request.urlopen(url + "/api/markets", timeout=10) as r:
            assert len(json.load(r)["result"]) == 3
        headers = signed(
            "GET", "/api/wallet/balances", key="ftx-cli-key", secret="ftx-cli-secret-456"
        )
        req = urllib.request.Request(url + "/api/wallet/balances", headers=headers)
        with urllib.request.urlopen(req, timeout=10) as r:  # the environment's keys work
            balances = json.load(r)["result"]
        assert [(b["coin"], b["total"]) for b in balances] == [("USD", 5000.0)]
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    while not errs.empty():
        seen.append(errs.get())
    assert "ftx-cli-secret-456" not in "".join(seen)
