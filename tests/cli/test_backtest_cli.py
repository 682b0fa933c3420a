"""The `tradeloop backtest` command end to end, as a user runs it (real subprocess)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SMA = ROOT / "examples" / "sma_cross.py"
GOOD_CSV = "timestamp,open,high,low,close,volume\n" + "".join(
    f"2024-01-01 00:{i:02d}:00,{100 + i % 7},108,99,{100 + (i * 3) % 7},5\n" for i in range(60)
)


def tradeloop(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tradeloop.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def test_synthetic_backtest_writes_all_outputs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = tradeloop(
        "backtest", SMA, "--bars", "3000", "--param", "fast=5", "--param", "slow=20", "--out", out
    )
    assert r.returncode == 0, r.stderr
    result = json.loads((out / "result.json").read_text())
    for key in ("final_equity", "fills", "trades_fingerprint", "bars", "elapsed_s"):
        assert key in result
    assert result["bars"] == 3000 and result["fills"] > 0
    lines = (out / "trades.csv").read_text().splitlines()
    assert len(lines) == result["fills"] + 1
    html = (out / "report.html").read_text()
    assert "<html" in html.lower() and 'src="http' not in html
    # same inputs, same trades
    r2 = tradeloop(
        "backtest",
        SMA,
        "--bars",
        "3000",
        "--param",
        "fast=5",
        "--param",
        "slow=20",
        "--out",
        tmp_path / "again",
        "--no-report",
    )
    assert r2.returncode == 0
    again = json.loads((tmp_path / "again" / "result.json").read_text())
    assert again["trades_fingerprint"] == result["trades_fingerprint"]


def test_backtest_on_a_csv_file(tmp_path: Path) -> None:
    data = tmp_path / "bars.csv"
    data.write_text(GOOD_CSV)
    r = tradeloop(
        "backtest",
        SMA,
        "--data",
        data,
        "--param",
        "fast=2",
        "--param",
        "slow=5",
        "--out",
        tmp_path / "o",
        "--no-report",
    )
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "o" / "result.json").read_text())["bars"] == 60


BAD_DATA = {
    "missing": ("timestamp,open,high,low,volume\n2024-01-01 00:00:00,1,1,1,1\n", "close"),
    "nan": (GOOD_CSV.replace(",99,103,5\n", ",99,nan,5\n", 1), "row"),
    "unsorted": (
        "timestamp,open,high,low,close,volume\n2024-01-01 00:01:00,1,1,1,1,1\n"
        "2024-01-01 00:00:00,1,1,1,1,1\n2024-01-01 00:02:00,1,1,1,1,1\n",
        "row",
    ),
    "duplicate": (
        "timestamp,open,high,low,close,volume\n2024-01-01 00:00:00,1,1,1,1,1\n"
        "2024-01-01 00:00:00,1,1,1,1,1\n2024-01-01 00:02:00,1,1,1,1,1\n",
        "row",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_DATA))
def test_bad_data_is_one_clear_line_and_nothing_is_written(tmp_path: Path, case: str) -> None:
    text, must_mention = BAD_DATA[case]
    data = tmp_path / f"{case}.csv"
    data.write_text(text)
    out = tmp_path / "out"
    r = tradeloop("backtest", SMA, "--data", data, "--out", out)
    assert r.returncode == 2
    err = r.stderr.strip()
    assert "Traceback" not in r.stderr and len(err.splitlines()) == 1, r.stderr
    assert f"{case}.csv" in err and must_mention in err.lower()
    assert not out.exists()
    assert not list(tmp_path.glob(".out.*"))  # no temp leftovers either


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


STRATEGY_ERRORS = {
    "syntax": ("def broken(:\n", "syntax error"),
    "import": ("import no_such_module_xyz\n", "ModuleNotFoundError"),
    "empty": ("x = 1\n", "no Strategy subclass"),
    "runtime": (
        "from tradeloop.engine.strategy import Strategy\n"
        "class S(Strategy):\n"
        "    def on_bar(self, bar):\n"
        "        1 / 0\n",
        "line 4 in on_bar: ZeroDivisionError",
    ),
}


@pytest.mark.parametrize("case", sorted(STRATEGY_ERRORS))
def test_strategy_file_problems_are_one_clear_line(tmp_path: Path, case: str) -> None:
    src, must_mention = STRATEGY_ERRORS[case]
    strat = write(tmp_path, f"strat_{case}.py", src)
    out = tmp_path / "out"
    r = tradeloop("backtest", strat, "--bars", "200", "--out", out)
    assert r.returncode == 2, r.stderr
    err = r.stderr.strip()
    assert "Traceback" not in r.stderr and len(err.splitlines()) == 1, r.stderr
    assert f"strat_{case}.py" in err and must_mention in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("param", "must_mention"),
    [
        ("nope=1", "unknown parameter 'nope'"),
        ("fast=abc", "not a valid int"),
        ("fast", "NAME=VALUE"),
    ],
)
def test_bad_parameters(tmp_path: Path, param: str, must_mention: str) -> None:
    r = tradeloop("backtest", SMA, "--bars", "200", "--param", param, "--out", tmp_path / "o")
    assert r.returncode == 2
    assert must_mention in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "o").exists()


def test_missing_data_file(tmp_path: Path) -> None:
    r = tradeloop("backtest", SMA, "--data", tmp_path / "nope.csv", "--out", tmp_path / "o")
    assert r.returncode == 2 and "nope.csv" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize(
    ("example", "extra"),
    [("two_strategies.py", []), ("daily_loss.py", ["--daily-loss-limit", "50"])],
)
def test_other_examples_run(tmp_path: Path, example: str, extra: list[str]) -> None:
    out = tmp_path / "o"
    r = tradeloop("backtest", ROOT / "examples" / example, "--bars", "6000", "--out", out, *extra)
    assert r.returncode == 0, r.stderr
    result = json.loads((out / "result.json").read_text())
    assert result["fills"] > 0
    if example == "two_strategies.py":
        total = sum(s["total"] for s in result["strategies"])
        assert total == pytest.approx(result["final_equity"] - result["initial_cash"], abs=1e-6)
        assert len(result["strategies"]) == 2


def test_backtest_on_real_trades_aggregated_to_bars(tmp_path: Path, shared_data: Path) -> None:
    trades = shared_data / "candles" / "XRP_ETH-trades.parquet"
    r = tradeloop(
        "backtest",
        SMA,
        "--data",
        trades,
        "--trades",
        "--interval",
        "1m",
        "--symbol",
        "XRP-ETH",
        "--param",
        "fast=3",
        "--param",
        "slow=8",
        "--out",
        tmp_path / "o",
        "--no-report",
    )
    assert r.returncode == 0, r.stderr
    result = json.loads((tmp_path / "o" / "result.json").read_text())
    assert result["bars"] > 100 and result["fills"] > 0


def _one_line(r: subprocess.CompletedProcess[str]) -> str:
    err = r.stderr.strip()
    assert "Traceback" not in r.stderr and len(err.splitlines()) == 1, r.stderr
    return err


def test_an_unforeseen_error_is_still_one_line(tmp_path: Path) -> None:
    """A callback with the wrong signature fails where the engine calls it, outside the
    strategy file: the command's last guard still says it in one line, exit 1."""
    strat = write(tmp_path, "badsig.py", "from tradeloop.engine.strategy import Strategy\n\n"
                  "class S(Strategy):\n    def on_bar(self):\n        pass\n")  # fmt: skip
    r = tradeloop("backtest", strat, "--bars", "200", "--out", tmp_path / "o")
    assert r.returncode == 1
    line = _one_line(r)
    assert "on_bar() takes 1 positional argument" in line
    saved = Path(line.rsplit("(traceback: ", 1)[1].rstrip(")"))  # every frame, for a report
    try:
        assert "Traceback" in saved.read_text() and "on_bar" in saved.read_text()
        assert saved.stat().st_mode & 0o077 == 0
    finally:
        saved.unlink()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--lot", "-1"), "--lot: -1 must be above 0"),
        (("--cash", "-100"), "--cash: -100 must be above 0"),
        (("--fee", "2"), "not a fee rate"),
        (("--max-volume-share", "0"), "above 0 and at most 1"),
        (("--slippage-bps", "x"), "'x' is not a number"),
        (("--bogus",), "unrecognized arguments: --bogus"),
        (("--symbol", "BTC-USDT."), "expected BASE-QUOTE"),
        (("--log-level", "LOUD"), "invalid choice"),
    ],
)
def test_bad_numbers_and_names_are_one_line(tmp_path: Path, args: tuple[str, ...], says: str
                                            ) -> None:  # fmt: skip
    lead, rest = (args, ()) if args[0] == "--log-level" else ((), args)
    r = tradeloop(*lead, "backtest", SMA, "--bars", "200", *rest, "--out", tmp_path / "o")
    assert r.returncode == 2 and says in _one_line(r)
    assert not (tmp_path / "o").exists()


def test_an_unusable_out_is_refused_before_the_run(tmp_path: Path) -> None:
    taken = tmp_path / "results"
    taken.write_text("not a folder")
    r = tradeloop("backtest", SMA, "--bars", "200", "--out", taken)
    assert r.returncode == 2 and "exists and is not a folder" in _one_line(r)
    assert taken.read_text() == "not a folder"


@pytest.mark.parametrize(
    "command", [("backtest", "{f}"), ("live", "{f}", "--check"), ("fmz", "--config", "{f}")]
)
def test_a_binary_file_given_as_a_config_is_one_line(tmp_path: Path, command: tuple[str, ...]
                                                     ) -> None:  # fmt: skip
    f = tmp_path / "cfg.toml"
    f.write_bytes(bytes(range(128, 256)) * 3)
    r = tradeloop(*(a.format(f=f) for a in command))
    assert r.returncode == 2 and "not a TOML file" in _one_line(r) and str(f) in r.stderr


def test_record_against_an_unreachable_venue_or_into_a_file_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = ("--venue", "okx", "--url", f"http://127.0.0.1:{port}", "--symbols", "BTC-USDT",
            "--channels", "trades", "--duration", "2")  # fmt: skip
    r = tradeloop("record", "--store", tmp_path / "st", *args)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert (
        r.stderr.strip()
        .splitlines()[-1]
        .startswith("tradeloop record: error: OKX: cannot start recording")
    )
    taken = tmp_path / "file"
    taken.write_text("x")
    r = tradeloop("record", "--store", taken, *args)
    assert r.returncode == 2 and "exists and is not a folder" in _one_line(r)
