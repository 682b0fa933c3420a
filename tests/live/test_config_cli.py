"""Config and key problems are one line naming the key, exit 2; ``--check`` validates against
the venue without trading; keys never go in the config."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tradeloop.core.errors import ConfigError
from tradeloop.live.config import parse_live_config
from tradeloop.live.keys import read_key_file

from .helpers import STRATS

REPO = Path(__file__).resolve().parents[2]


def _cfg(**over: object) -> dict[str, object]:
    data: dict[str, object] = {
        "run": {"cash": 1000},
        "instrument": [{"symbol": "BTC-USDT.OKX"}],
        "strategy": [{"file": str(STRATS), "class": "Flip", "account": "a"}],
        "account": [{"name": "a", "venue": "okx", "url": "http://127.0.0.1:1"}],
    }
    data.update(over)
    return data


@pytest.mark.parametrize(
    ("over", "needle"),
    [
        ({"live": {"on_mismach": "halt"}}, "[live]: unknown key 'on_mismach'"),
        ({"live": {"on_mismatch": "panic"}}, "on_mismatch = 'panic'"),
        ({"live": {"dashboard": "0.0.0.0:80"}}, "loopback only"),
        ({"account": [{"name": "a", "venue": "nope"}]}, "venue: unknown venue 'nope'"),
        (
            {"account": [{"name": "a", "venue": "okx", "keys": {"secret": "s3cr3t-v@lue!"}}]},
            "environment variable NAME",
        ),
        ({"strategy": [{"file": "x.py", "account": "zz"}]}, "account 'zz' is not declared"),
        ({"strategy": [{"file": "x.py", "mode": "paper"}]}, "mode = 'paper'"),
        ({"filter": {"instrument": {"BTC-USDT.OKX": {"k": -1}}}}, "k must be >= 0"),
        ({"strategy": [{"file": "x.py", "account": ["a", "a"]}]}, "lists an account twice"),
        (
            {"account": [{"name": "a", "venue": "okx", "orders_per_second": 0}]},
            "orders_per_second must be > 0",
        ),
    ],
)
def test_config_errors_name_the_key(over: dict[str, object], needle: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_live_config(_cfg(**over), "live.toml", Path("."), "d")
    assert needle in str(exc.value) and "\n" not in str(exc.value)


def test_key_file_inside_a_repo_or_readable_by_others_is_refused(tmp_path: Path) -> None:
    inside = REPO / "tests" / "live" / "never-a-key-file.toml"
    with pytest.raises(ConfigError, match="inside the git work tree"):
        read_key_file(inside, "a")
    f = tmp_path / "keys.toml"
    f.write_text('api_key = "abcd1234"\n')
    f.chmod(0o644)
    with pytest.raises(ConfigError, match="readable by others"):
        read_key_file(f, "a")
    f.chmod(0o600)
    assert read_key_file(f, "a") == {"api_key": "abcd1234"}


def test_cli_missing_key_is_one_line_exit_2(tmp_path: Path) -> None:
    cfg = tmp_path / "live.toml"
    cfg.write_text(
        f'[[instrument]]\nsymbol = "BTC-USDT.OKX"\n[[strategy]]\nfile = "{STRATS}"\n'
        'class = "Flip"\n[[account]]\nname = "a"\nvenue = "okx"\nurl = "http://127.0.0.1:9"\n'
        'keys = { api_key = "NOPE_KEY_1", secret = "NOPE_SECRET_1", passphrase = "NOPE_P_1" }\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOPE_")}
    env.update(PYTHONPATH=str(REPO / "src"), TRADELOOP_STATE_DIR=str(tmp_path))
    r = subprocess.run([sys.executable, "-m", "tradeloop.cli", "live", str(cfg), "--check"],
                       capture_output=True, text=True, env=env, timeout=60)  # fmt: skip
    assert r.returncode == 2, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "set NOPE_KEY_1, NOPE_SECRET_1, NOPE_P_1" in lines[0]
    assert "Traceback" not in r.stderr


def test_a_live_config_may_name_custom_data_sources(tmp_path: Path) -> None:
    """``[[source]]`` tables (store/sources.py) belong in a live config: ``tradeloop live``
    starts them beside the strategies; a misspelt table is still refused by name."""
    from tradeloop.live.config import load_live_config
    from tradeloop.store.sources import read_sources

    base = (
        f'[[instrument]]\nsymbol = "BTC-USDT.OKX"\n[[strategy]]\nfile = "{STRATS}"\n'
        'class = "Flip"\n[[account]]\nname = "a"\nvenue = "okx"\nurl = "http://127.0.0.1:9"\n'
        'keys = { api_key = "K", secret = "S", passphrase = "P" }\n'
    )
    (tmp_path / "signals.py").write_text("def parse_line(data, ts):\n    return []\n")
    (tmp_path / "e.jsonl").write_text("{}\n")
    cfg = tmp_path / "live.toml"
    cfg.write_text(
        base + '[[source]]\ntype = "file"\npath = "e.jsonl"\nparse = "signals.py:parse_line"\n'
    )
    load_live_config(cfg, None, ":memory:")
    assert [type(s).__name__ for s in read_sources(cfg)] == ["FileSource"]
    cfg.write_text(base + "[[sourcez]]\nx = 1\n")
    with pytest.raises(ConfigError, match="unknown key 'sourcez'"):
        load_live_config(cfg, None, ":memory:")


def test_the_journal_key_is_known_also_when_a_flag_overrides_it(tmp_path: Path) -> None:
    """``[live] journal`` (docs/live.md) is read when ``--journal`` (or ``--check``, which
    journals nowhere) overrides it: before, it was then reported as an unknown key."""
    data = _cfg(live={"journal": str(tmp_path / "j.sqlite")})
    assert parse_live_config(data, "l.toml", tmp_path, "d").live.journal == tmp_path / "j.sqlite"
    over = parse_live_config(data, "l.toml", tmp_path, "d", ":memory:")
    assert str(over.live.journal) == ":memory:"
    with pytest.raises(ConfigError, match="journal must be text"):
        parse_live_config(_cfg(live={"journal": 5}), "l.toml", tmp_path, "d", ":memory:")
