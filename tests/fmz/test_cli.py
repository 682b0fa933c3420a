"""``tradeloop fmz`` as a real process, and config-file handling."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tradeloop.core.errors import ConfigError
from tradeloop.fmz.config import build_config, parse_venue_flag
from tradeloop.fmz.venue import VenueSpec


def test_venue_flag_and_config_file(tmp_path: Path) -> None:
    assert parse_venue_flag("okx=http://127.0.0.1:8100") == ("OKX", "http://127.0.0.1:8100")
    with pytest.raises(ConfigError):
        parse_venue_flag("OKX")
    cfg_file = tmp_path / "fmz.toml"
    cfg_file.write_text(
        'token = "t0k3n"\nport = 7000\n[venues.OKX_DEMO]\nkind = "OKX"\n'
        'rest_url = "http://127.0.0.1:8100"\nmarkets_ttl = 5\n'
    )
    cfg, data = build_config(file=str(cfg_file), venue_flags=["OKX=http://127.0.0.1:8200"],
                             token=None, capture=None)  # fmt: skip
    assert data["port"] == 7000 and cfg.token == "t0k3n"
    specs = cfg.specs()
    assert specs["OKX"] == VenueSpec("OKX", "http://127.0.0.1:8200", options={})
    assert specs["OKX_DEMO"].kind == "OKX" and specs["OKX_DEMO"].options == {"markets_ttl": 5}
    bad = tmp_path / "bad.toml"
    bad.write_text("[venues.X]\nrest_url = 5\n")
    with pytest.raises(ConfigError, match="rest_url"):
        build_config(file=str(bad), venue_flags=[], token=None, capture=None)
    with pytest.raises(ConfigError, match="cannot read"):
        build_config(file=str(tmp_path / "missing.toml"), venue_flags=[], token=None, capture=None)
    for text, says in (("prot = 7000\n", "unknown key 'prot'"), ('port = "abc"\n', "'port'"),
                       ("port = 70000\n", "0-65535"), ("host = 5\n", "'host'")):  # fmt: skip
        bad.write_text(text)
        with pytest.raises(ConfigError, match=says):
            build_config(file=str(bad), venue_flags=[], token=None, capture=None)


def test_cli_process_serves_and_stops(tmp_path: Path) -> None:
    cap = tmp_path / "cap.jsonl"
    # Nothing listens on port 9: every upstream call fails, which must still be a clean error.
    proc = subprocess.Popen(
        [sys.executable, "-m", "tradeloop.cli", "fmz", "--port", "0",
         "--venue", "OKX=http://127.0.0.1:9", "--capture", str(cap)],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        url = ""
        assert proc.stderr is not None
        for _ in range(50):
            line = proc.stderr.readline()
            m = re.search(r"listening on (http://\S+)", line)
            if m:
                url = m.group(1)
                break
        assert url, "bridge did not start"

        def post(body: dict[str, object]) -> dict[str, object]:
            req = urllib.request.Request(url + "/OKX", data=json.dumps(body).encode())
            with urllib.request.urlopen(req, timeout=20) as r:
                assert r.status == 200
                return json.loads(r.read())  # type: ignore[no-any-return]

        r = post({"access_key": "k", "secret_key": "s,p", "method": "ticker",
                  "params": {"symbol": "BTC_USDT"}})  # fmt: skip
        assert "upstream connection error" in str(r["error"])
        r = post({"method": "nope", "params": {}})
        assert str(r["error"]).startswith("unsupported method: nope")
    finally:
        proc.send_signal(signal.SIGINT)
        rc = proc.wait(20)
        if proc.stderr is not None:
            proc.stderr.close()
    assert rc in (0, 130)
    assert len(cap.read_text().splitlines()) == 2


def _start_cli(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[str], str, str]:
    """Start ``tradeloop fmz``; returns the process, its URL and the stderr read so far."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tradeloop.cli", "fmz", "--port", "0",
         "--venue", "OKX=http://127.0.0.1:9", *args],
        stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert proc.stderr is not None
    seen = ""
    for _ in range(50):
        line = proc.stderr.readline()
        seen += line
        m = re.search(r"listening on (http://\S+)", line)
        if m:
            return proc, m.group(1), seen
    proc.kill()
    raise AssertionError(f"bridge did not start: {seen}")


def _stop_cli(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=20)
    return rest


def _post(url: str, headers: dict[str, str]) -> dict[str, object]:
    body = json.dumps({"method": "nope", "params": {}}).encode()
    req = urllib.request.Request(url + "/OKX", data=body, headers=headers)
    with urllib.request.urlopen(req, timeout=20) as r:
        return json.loads(r.read())  # type: ignore[no-any-return]


def test_token_comes_from_the_environment() -> None:
    """Secrets on a command line show in ``ps``: the token is read from the environment, and
    ``--token`` still works but says so. The token never appears in the log."""
    import os

    token = "env-token-4f1c9a"
    env = {**os.environ, "TRADELOOP_FMZ_TOKEN": token}
    proc, url, head = _start_cli([], env)
    try:
        assert "unauthorized" in str(_post(url, {})["error"])
        assert "unsupported method" in str(_post(url, {"X-Fmz-Token": token})["error"])
    finally:
        log = head + _stop_cli(proc)
    assert token not in log and "visible to other users" not in log

    env.pop("TRADELOOP_FMZ_TOKEN")
    flag_token = "flag-token-77b2e0"
    proc, url, head = _start_cli(["--token", flag_token], env)
    try:
        assert "unsupported method" in str(_post(url, {"X-Fmz-Token": flag_token})["error"])
    finally:
        log = head + _stop_cli(proc)
    assert "visible to other users" in log and "TRADELOOP_FMZ_TOKEN" in log
    assert flag_token not in log
