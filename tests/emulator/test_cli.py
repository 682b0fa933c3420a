"""The ``tradeloop emulator okx`` command: flag parsing, secrets from the environment, and a
real process serving on a port, answering, guarding its admin endpoint with the token it
printed, and exiting cleanly on SIGTERM without logging secrets."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import pytest

from tradeloop.cli import build_parser
from tradeloop.core.errors import ConfigError
from tradeloop.emulator.admin import ADMIN_TOKEN_ENV
from tradeloop.emulator.cli import SECRET_ENV, VENUES, apply_fault_flags, parse_pairs
from tradeloop.emulator.okx.auth import sign

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
    with pytest.raises(ConfigError, match="at least 0"):
        parse_pairs(["USDT=-5"], "--balance")
    with pytest.raises(ConfigError, match="above 0"):
        parse_pairs(["BTC-USDT=0"], "--start-price", positive=True)
    assert parse_pairs(["USDT=0"], "--balance") == {"USDT": 0.0}


def test_unknown_venue_rejected() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["emulator", "nasdaq"])


def test_secrets_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for dest, (env, _default) in SECRET_ENV.items():
        monkeypatch.setenv(env, f"env-{dest}-value")
    server = VENUES["okx"](build_parser().parse_args(["emulator", "okx"]))
    cfg = server.config
    assert (cfg.api_key, cfg.api_secret, cfg.passphrase) == (
        "env-api_key-value",
        "env-api_secret-value",
        "env-passphrase-value",
    )
    assert server.admin_token == "env-admin_token-value" and not server.admin_token_generated
    flagged = VENUES["okx"](
        build_parser().parse_args(
            ["emulator", "okx", "--api-key", "flag-wins", "--admin-token", "flag-token-1"]
        )
    )
    assert flagged.config.api_key == "flag-wins" and flagged.admin_token == "flag-token-1"
    for env, _default in SECRET_ENV.values():
        monkeypatch.delenv(env)
    plain = VENUES["okx"](build_parser().parse_args(["emulator", "okx"]))
    assert plain.config.api_key == "emulator-key" and plain.admin_token_generated


def test_help_names_the_environment_variables(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["emulator", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for env, _default in SECRET_ENV.values():
        assert env in out


def test_bad_fault_flags_and_short_tokens_are_user_errors() -> None:
    with pytest.raises(ConfigError):
        VENUES["okx"](build_parser().parse_args(["emulator", "okx", "--admin-token", "abc"]))
    args = build_parser().parse_args(["emulator", "okx", "--fail-next", "-3"])
    with pytest.raises(ValueError):
        apply_fault_flags(VENUES["okx"](args).faults, args)


def _lines(stream: IO[str], sink: queue.Queue[str]) -> None:
    for line in stream:
        sink.put(line)


def _until(sink: queue.Queue[str], pattern: str, seen: list[str], timeout: float = 20) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = sink.get(timeout=0.2)
        except queue.Empty:
            continue
        seen.append(line)
        found = re.search(pattern, line)
        if found:
            return found.group(1)
    raise AssertionError(f"no {pattern!r} in {''.join(seen)!r}")


def test_process_serves_and_stops() -> None:
    """The README's way: secrets in the environment, none on the command line; the generated
    admin token is printed once on stdout and guards the admin endpoint; nothing secret is
    logged."""
    env = dict(
        os.environ,
        PYTHONPATH=str(REPO / "src"),
        TRADELOOP_EMULATOR_API_KEY="cli-key-123",
        TRADELOOP_EMULATOR_API_SECRET="cli-secret-456",
        TRADELOOP_EMULATOR_PASSPHRASE="cli-pass-789",
    )
    env.pop(ADMIN_TOKEN_ENV, None)
    cmd = [
        sys.executable,
        "-m",
        "tradeloop.cli",
        "emulator",
        "okx",
        "--port",
        "0",
        "--symbols",
        "BTC-USDT",
        "--tick-ms",
        "100",
    ]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.PIPE, env=env, text=True)
    errs: queue.Queue[str] = queue.Queue()
    outs: queue.Queue[str] = queue.Queue()
    assert proc.stderr is not None and proc.stdout is not None
    readers = [
        threading.Thread(target=_lines, args=(proc.stderr, errs), daemon=True),
        threading.Thread(target=_lines, args=(proc.stdout, outs), daemon=True),
    ]
    for reader in readers:
        reader.start()
    err_lines: list[str] = []
    out_lines: list[str] = []
    try:
        url = _until(errs, r"listening on (http://127\.0\.0\.1:\d+)", err_lines)
        token = _until(outs, r"admin token .*: (\S+)$", out_lines)
        with urllib.request.urlopen(url + "/api/v5/public/time", timeout=10) as r:
            assert json.load(r)["code"] == "0"
        path = "/api/v5/account/balance"
        ts = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        signed = {
            "OK-ACCESS-KEY": "cli-key-123",
            "OK-ACCESS-SIGN": sign("cli-secret-456", ts + "GET" + path),
            "OK-ACCESS-TIMESTAMP": ts,
            "OK-ACCESS-PASSPHRASE": "cli-pass-789",
        }
        with urllib.request.urlopen(urllib.request.Request(url + path, headers=signed)) as r:
            assert json.load(r)["code"] == "0"  # the environment's credentials are in force
        admin = url + "/__admin/faults"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(admin, timeout=10)
        assert refused.value.code == 401
        req = urllib.request.Request(admin, headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(req, timeout=10) as r:
            assert json.load(r)["fail_remaining"] == 0
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    for reader in readers:  # the process has ended: each reader stops at its pipe's end
        reader.join(timeout=30)
    while not errs.empty():
        err_lines.append(errs.get())
    logged = "".join(err_lines)
    for secret in ("cli-secret-456", "cli-pass-789", token):
        assert secret not in logged
