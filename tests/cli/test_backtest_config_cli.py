"""`tradeloop backtest CONFIG.toml` end to end (real subprocess): outputs, what is printed at
start, and bad input as one line with exit code 2 and nothing written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def tradeloop(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tradeloop.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=180)  # fmt: skip


def write_bars(path: Path, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    close = 100 + np.cumsum(rng.normal(0, 0.5, n))
    lines = ["timestamp,open,high,low,close,volume"]
    prev = close[0]
    for i, c in enumerate(close):
        hh, mm = divmod(i, 60)
        ts = f"2024-01-{1 + hh // 24:02d} {hh % 24:02d}:{mm:02d}:00"
        lines.append(f"{ts},{prev:.2f},{max(prev, c) + 0.1:.2f},{min(prev, c) - 0.1:.2f},"
                     f"{c:.2f},5")  # fmt: skip
        prev = c
    path.write_text("\n".join(lines) + "\n")


def make_run(tmp: Path, extra: str = "") -> Path:
    write_bars(tmp / "ethusdt-1m.csv", 1_500, 1)
    write_bars(tmp / "solusdt-1m.csv", 1_500, 2)
    cfg = tmp / "run.toml"
    cfg.write_text(
        "[run]\ncash = 10000\n"
        '[[instrument]]\nsymbol = "ETH-USDT"\ndata = "ethusdt-1m.csv"\n'
        '[[instrument]]\nsymbol = "SOL-USDT"\ndata = "solusdt-1m.csv"\n'
        f'[[strategy]]\nfile = "{ROOT / "examples" / "sma_cross.py"}"\nid = "fast"\n'
        'params = { fast = 5, slow = 20 }\ninstruments = ["ETH-USDT"]\n'
        f'[[strategy]]\nfile = "{ROOT / "examples" / "sma_cross.py"}"\nid = "slow"\n'
        'params = { fast = 3, slow = 8 }\ninstruments = ["SOL-USDT"]\nbar = "15m"\n' + extra
    )
    return cfg


def test_config_run_writes_every_output_and_says_what_it_runs(tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = tradeloop("backtest", make_run(tmp_path), "--out", out)
    assert r.returncode == 0, r.stderr
    assert "2 instrument(s), 2 strategy(ies)" in r.stdout
    assert "ETH-USDT" in r.stdout and "SOL-USDT" in r.stdout and "spot" in r.stdout
    assert {p.name for p in out.iterdir()} == {"trades.csv", "equity.csv", "result.json",
                                               "report.html"}  # fmt: skip
    res = json.loads((out / "result.json").read_text())
    assert res["fills"] > 0 and res["events"] == 1_500 * 2 + 100
    assert [s["strategy"] for s in res["strategies"]] == ["fast", "slow"]
    total = sum(s["total"] for s in res["strategies"])
    assert abs(res["initial_cash"] + total - res["final_equity"]) < 1e-6
    trades = (out / "trades.csv").read_text().splitlines()
    assert len(trades) == res["fills"] + 1
    header = (out / "equity.csv").read_text().splitlines()[0].split(",")
    assert header[:4] == ["ts_ns", "equity", "strategy:fast", "strategy:slow"]


def test_the_same_config_gives_the_same_run(tmp_path: Path) -> None:
    cfg = make_run(tmp_path)
    a = tradeloop("backtest", cfg, "--out", tmp_path / "a", "--no-report")
    b = tradeloop("backtest", cfg, "--out", tmp_path / "b", "--no-report")
    assert a.returncode == b.returncode == 0, a.stderr + b.stderr
    fa = json.loads((tmp_path / "a" / "result.json").read_text())["trades_fingerprint"]
    fb = json.loads((tmp_path / "b" / "result.json").read_text())["trades_fingerprint"]
    assert fa == fb


def test_config_errors_are_one_line_exit_2_and_nothing_written(tmp_path: Path) -> None:
    sma = ROOT / "examples" / "sma_cross.py"
    cases = {
        "typo": ('[risk]\ndaily_los_limit = 5\n', "unknown key 'daily_los_limit'"),
        "finer": (f'[[strategy]]\nfile = "{sma}"\nid = "x"\nbar = "30s"\n',
                  "finer than the data"),
        "foreign": (f'[[strategy]]\nfile = "{sma}"\nid = "x"\ninstruments = ["BTC-USDT"]\n',
                    "'BTC-USDT'"),
    }  # fmt: skip
    for name, (extra, words) in cases.items():
        d = tmp_path / name
        d.mkdir()
        out = d / "out"
        r = tradeloop("backtest", make_run(d, extra), "--out", out)
        assert r.returncode == 2, (name, r.stdout, r.stderr)
        err = r.stderr.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("tradeloop backtest: error:"), (name, err)
        assert words in err[0], (name, err)
        assert "Traceback" not in r.stderr
        assert not out.exists(), name
