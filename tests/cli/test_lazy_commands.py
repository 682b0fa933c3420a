"""`tradeloop` imports only the subcommand it runs, yet lists and helps every one."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tradeloop.cli import COMMANDS, _command_in

#: modules only other subcommands (live, paper, emulator, fmz, store) need
FOREIGN = ("tradeloop.fmz", "tradeloop.emulator", "tradeloop.store", "tradeloop.live",
           "tradeloop.sweep", "tradeloop.dashboard")  # fmt: skip


def _modules_after(argv: list[str]) -> set[str]:
    code = (
        "import sys\n"
        "from tradeloop.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('\\n'.join(sys.modules))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    return set(r.stdout.split())


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["backtest", "x.py"], "backtest"),
        (["--log-level", "DEBUG", "sweep", "x.py"], "sweep"),
        (["--log-level=DEBUG", "data", "list"], "data"),
        (["--help"], None),
        (["nope"], None),
        ([], None),
    ],
)
def test_command_in(argv: list[str], command: str | None) -> None:
    assert _command_in(argv) == command


def test_backtest_imports_no_other_subcommand() -> None:
    mods = _modules_after(["backtest", "--help"])
    assert "tradeloop.engine.cli_backtest" in mods
    loaded = sorted(m for m in mods if m.startswith(FOREIGN))
    assert loaded == []


def test_top_level_help_lists_every_command_and_imports_none() -> None:
    r = subprocess.run([sys.executable, "-m", "tradeloop.cli", "--help"], capture_output=True,
                       text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0
    for name, (_module, help_text) in COMMANDS.items():
        assert name in r.stdout
        assert help_text.split()[0] in r.stdout
    mods = _modules_after(["--help"])
    assert not any(m in mods for m, _ in COMMANDS.values())


@pytest.mark.parametrize("command", ["backtest", "sweep", "emulator"])
def test_subcommand_help_shows_its_own_options(command: str) -> None:
    r = subprocess.run([sys.executable, "-m", "tradeloop.cli", command, "--help"],
                       capture_output=True, text=True, timeout=120)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert f"usage: tradeloop {command}" in r.stdout
    assert "--" in r.stdout.split("options:", 1)[1]


def test_unknown_command_is_a_usage_error() -> None:
    r = subprocess.run([sys.executable, "-m", "tradeloop.cli", "nope"], capture_output=True,
                       text=True, timeout=120)  # fmt: skip
    assert r.returncode == 2
    assert "invalid choice" in r.stderr
