"""The plain single-instrument ``tradeloop backtest`` shows amounts in the account currency's
precision, console and report alike: a BTC-quoted run is not "0.84" nor "-0.00"."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tradeloop.cli import main

ROOT = Path(__file__).resolve().parents[2]
SMA = ROOT / "examples" / "sma_cross.py"


def test_a_btc_quoted_run_prints_and_reports_btc_amounts(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "bt"
    assert main(["backtest", str(SMA), "--symbol", "ETH-BTC", "--cash", "1", "--bars", "3000",
                 "--out", str(out)]) == 0  # fmt: skip
    final = json.loads((out / "result.json").read_text())["final_equity"]
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert f"final equity {final:.8f} BTC -> " in line, line
    html = (out / "report.html").read_text()
    assert f"Final equity</th><td>{final:.8f}</td>" in html
    assert not re.search(r">-?0\.00<", html)  # small BTC amounts are not rounded to cents
    assert re.search(r'<td class="num[^"]*">-?\d\.\d{8}</td>', html)  # per-strategy PnL


def test_a_usdt_run_keeps_cents(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "bt"
    assert main(["backtest", str(SMA), "--bars", "2000", "--out", str(out), "--no-report"]) == 0
    final = json.loads((out / "result.json").read_text())["final_equity"]
    assert f"final equity {final:,.2f} USDT -> " in capsys.readouterr().out
