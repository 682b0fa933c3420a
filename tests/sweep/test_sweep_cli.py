"""``tradeloop sweep`` as a user runs it: rows equal single backtests, failures are rows, bad
input is one line and exit code 2, interrupted sweeps keep their rows and resume."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tradeloop.cli import main
from tradeloop.sweep.executors import InlineExecutor
from tradeloop.sweep.store import read_csv
from tradeloop.sweep.sweep import SweepOptions, SweepOutcome, run_sweep

from .helpers import SMA, context, table

BARS = ["--bars", "3000"]


def rows_of(out: Path) -> list[dict[str, str]]:
    with (out / "results.csv").open() as fh:
        return list(csv.DictReader(fh))


#: backtest flags that must mean the same in a sweep: plain spot; a perpetual with leverage,
#: isolated margin and constant funding; slippage, latency and a volume cap; resampled bars
SAME_AS_BACKTEST = {
    "spot": [],
    "swap_leverage_funding": ["--symbol", "BTC-USDT-SWAP", "--leverage", "3", "--margin",
                              "isolated", "--funding", "0.0001"],
    "execution": ["--slippage-bps", "2", "--latency", "50ms", "--max-volume-share", "0.5"],
}  # fmt: skip


@pytest.mark.parametrize("flags", SAME_AS_BACKTEST.values(), ids=SAME_AS_BACKTEST.keys())
def test_a_sweep_row_equals_a_single_backtest(tmp_path: Path, flags: list[str]) -> None:
    rc = main(["sweep", str(SMA), *BARS, *flags, "--param", "fast=5,10", "--param", "slow=30",
               "--workers", "2", "--out", str(tmp_path / "sw"), "--no-report"])  # fmt: skip
    assert rc == 0
    rows = rows_of(tmp_path / "sw")
    assert [(r["run"], r["fast"], r["slow"], r["status"]) for r in rows] == [
        ("0", "5", "30", "ok"),
        ("1", "10", "30", "ok"),
    ]
    multi = "--symbol" in flags  # the derivative path writes the multi summary (no "stats")
    for r in rows:
        bt = tmp_path / f"bt{r['fast']}"
        assert main(["backtest", str(SMA), *BARS, *flags, "--param", f"fast={r['fast']}",
                     "--param", "slow=30", "--out", str(bt)]) == 0  # fmt: skip
        single = json.loads((bt / "result.json").read_text())
        assert r["trades_fingerprint"] == single["trades_fingerprint"]
        assert float(r["final_equity"]) == single["final_equity"]
        assert int(r["n_fills"]) == single["fills"]
        assert float(r["fees_paid"]) == single["fees_paid"]
        if multi:
            assert single["funding_paid"] != 0.0  # the funding flag reached the run
            continue
        for k, v in single["stats"].items():  # every statistic of the single run, exactly
            assert r[k] == ("" if v is None else str(v).lower() if isinstance(v, bool) else repr(v))
    table_pq = pq.read_table(tmp_path / "sw" / "results.parquet").to_pylist()
    assert [t["trades_fingerprint"] for t in table_pq] == [r["trades_fingerprint"] for r in rows]


def test_leverage_and_funding_change_a_swap_sweep(tmp_path: Path) -> None:
    """The flags are applied, not just accepted: 3x leverage and funding move the result."""
    base = ["sweep", str(SMA), *BARS, "--symbol", "BTC-USDT-SWAP", "--param", "fast=5",
            "--param", "slow=30", "--workers", "1", "--no-report"]  # fmt: skip
    assert main([*base, "--out", str(tmp_path / "a")]) == 0
    assert main([*base, "--leverage", "3", "--funding", "0.001", "--out", str(tmp_path / "b")]) == 0
    (a,), (b,) = rows_of(tmp_path / "a"), rows_of(tmp_path / "b")
    assert a["status"] == b["status"] == "ok"
    assert a["final_equity"] != b["final_equity"]


def test_a_failing_point_is_a_row_and_the_sweep_goes_on(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    # SmaCross raises in on_start unless fast < slow
    out = tmp_path / "sw"
    rc = main(["sweep", str(SMA), *BARS, "--param", "fast=10,40", "--param", "slow=20",
               "--workers", "1", "--out", str(out)])  # fmt: skip
    assert rc == 0
    ok, bad = rows_of(out)
    assert ok["status"] == "ok" and ok["error"] == ""
    assert bad["status"] == "error" and bad["objective"] == "" and bad["sharpe"] == ""
    assert "sma_cross.py: line" in bad["error"] and "need 0 < fast < slow" in bad["error"]
    assert "1 errors" in capsys.readouterr().out
    html = (out / "report.html").read_text()
    assert 'src="http' not in html and "need 0 &lt; fast" not in html  # data travels as JSON
    assert '"need 0 < fast < slow' in html or "need 0 \\u003c" in html or "need 0 < fast" in html


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--param", "fats=5:10"], "unknown parameter of"),
        (["--param", "fast=5:x:1"], "'x' is not a number"),
        (["--param", "fast=5", "--constraint", "fast < slo"], "unknown parameter 'slo'"),
        (["--param", "fast=5", "--objective", "sharp"], "--objective 'sharp': unknown"),
        (["--param", "fast=5", "--workers", "0"], "--workers must be at least 1"),
        ([], "nothing to sweep"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    tmp_path: Path,
    capsys,
    args: list[str],
    message: str,  # type: ignore[no-untyped-def]
) -> None:
    out = tmp_path / "sw"
    assert main(["sweep", str(SMA), "--bars", "50", *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
    assert not out.exists()


def test_an_existing_folder_needs_resume_or_overwrite(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    args = ["sweep", str(SMA), "--bars", "300", "--param", "fast=3", "--param", "slow=9",
            "--out", str(tmp_path), "--no-report", "--workers", "1"]  # fmt: skip
    assert main(args) == 0
    assert main(args) == 2 and "--resume" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0
    assert main(["sweep", str(SMA), "--bars", "301", "--param", "fast=3", "--param", "slow=9",
                 "--out", str(tmp_path), "--resume"]) == 2  # fmt: skip
    assert "different inputs (bars, data_sha256)" in capsys.readouterr().err


def test_resume_runs_only_what_is_missing_and_gives_the_same_table(tmp_path: Path) -> None:
    ctx = context(SMA, *BARS)
    inline = InlineExecutor(ctx)

    def go(params: list[str], out: Path, resume: bool = False) -> SweepOutcome:
        opts = SweepOptions(params, report=False, resume=resume)
        return run_sweep(ctx, opts, out, executor=inline)

    full = go(["fast=3:9:3", "slow=20,40"], tmp_path / "full")
    # a sweep interrupted after some runs: keep 2 of its 6 rows in the journal
    part = tmp_path / "part"
    go(["fast=3:9:3", "slow=20,40"], part)
    lines = (part / "results.csv").read_text().splitlines()
    (part / "results.csv").write_text("\n".join([lines[0], lines[2], lines[5]]) + "\n")
    resumed = go(["fast=3:9:3", "slow=20,40"], part, resume=True)
    assert (resumed.kept, resumed.ran) == (2, 4)
    assert table(resumed.rows) == table(full.rows)
    assert table(read_csv(part / "results.csv", full.columns)) == table(full.rows)
    # a wider grid reuses every finished point
    wider = go(["fast=3:12:3", "slow=20,40"], part, resume=True)
    assert (wider.kept, wider.ran) == (6, 2)


def test_ctrl_c_keeps_finished_rows_then_resume_finishes(tmp_path: Path, misbehaving: Path) -> None:
    out = tmp_path / "sw"
    cmd = [sys.executable, "-m", "tradeloop.cli", "sweep", str(misbehaving), "--bars", "500",
           "--param", "fast=2:5", "--param", "slow=20",
           "--workers", "2", "--out", str(out), "--no-report"]  # fmt: skip
    # runs with fast >= 4 wait while this file exists: Ctrl-C comes while they run, on any machine
    stall = tmp_path / "stall"
    stall.touch()
    env = dict(os.environ, TRADELOOP_TEST_STALL=f"4:{stall}")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    journal = out / "results.csv"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # wait for the first finished row
        if journal.exists() and len(journal.read_text().splitlines()) >= 2:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    stall.unlink()
    assert proc.returncode == 130, err
    assert "rerun with --resume" in err
    kept = rows_of(out)
    assert 1 <= len(kept) <= 2 and all(r["status"] == "ok" for r in kept)
    assert {r["fast"] for r in kept} <= {"2", "3"}
    assert pq.read_table(out / "results.parquet").num_rows == len(kept)
    r = subprocess.run([*cmd, "--resume"], capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    done = rows_of(out)
    assert [row["fast"] for row in done] == ["2", "3", "4", "5"]
    assert f"{len(kept)} kept from before" in r.stdout
    assert os.path.getsize(out / "results.parquet") > 0


def test_config_file(tmp_path: Path) -> None:
    cfg = tmp_path / "sweep.toml"
    cfg.write_text(
        f'strategy = "{SMA}"\nbars = 2000\nobjective = "return"\nconstraint = ["fast < slow"]\n'
        'no-report = true\nworkers = 1\n[param]\nfast = "5:15:5"\nslow = [10, 20]\n'
    )
    out = tmp_path / "o"
    assert main(["sweep", str(cfg), "--out", str(out), "--param", "slow=20"]) == 0
    rows = rows_of(out)
    assert [(r["fast"], r["slow"]) for r in rows] == [("5", "20"), ("10", "20"), ("15", "20")]
    assert rows[0]["objective"] == rows[0]["total_return"] and rows[0]["bars"] == "2000"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--leverage", "3"], "--leverage/--margin/--funding apply to derivatives"),
        (["--symbol", "BTC-USDT-SWAP", "--latency", "soon"], "soon"),
    ],
)
def test_a_backtest_flag_that_makes_no_sense_is_one_line(
    tmp_path: Path,
    capsys,
    flags: list[str],
    message: str,  # type: ignore[no-untyped-def]
) -> None:
    out = tmp_path / "sw"
    assert main(["sweep", str(SMA), "--bars", "50", *flags, "--param", "fast=5",
                 "--out", str(out)]) == 2  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
    assert not out.exists()


def test_a_multi_instrument_run_config_is_refused_in_one_line(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    cfg = tmp_path / "run.toml"
    cfg.write_text('[[instrument]]\nsymbol = "BTC-USDT"\n\n[[strategy]]\nfile = "s.py"\n')
    assert main(["sweep", str(cfg), "--param", "fast=5", "--out", str(tmp_path / "sw")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "multi-instrument run configs are not supported" in err


def test_sigterm_is_handled_like_ctrl_c() -> None:
    from tradeloop.sweep.cli_sweep import term_as_interrupt

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt), term_as_interrupt():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the signal arrives first
    assert signal.getsignal(signal.SIGTERM) is before
