"""An instrument settling in a currency the run can neither value nor fund is refused at build
time in one line (it used to trade nothing, silently); multi-currency runs the reporting
currency can value — USD-par stablecoins, a currency valued at another instrument's mark —
still build and run, with one warning per instrument settling outside the run's cash currency
(the backtest's sim account holds only that one)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tradeloop.core.errors import ConfigError
from tradeloop.engine.accounts import unfundable
from tradeloop.engine.multi import run_multi_backtest
from tradeloop.engine.runbuild import build_run
from tradeloop.engine.runconfig import parse_run_config
from tradeloop.model import Instrument

STRATEGY = """
from tradeloop.engine.strategy import Strategy

class Hold(Strategy):
    def on_bar(self, bar):
        self.target_percent(bar.symbol, 0.2)
"""

PRICES = {"BTC-USDT": 100.0, "ETH-BTC": 0.05, "XRP-ETH": 0.002, "ETH-USDC": 5.0,
          "BTC-USD-SWAP": 100.0}  # fmt: skip


def _run(tmp: Path, symbols: list[str], currency: str | None = None) -> dict[str, object]:
    (tmp / "hold.py").write_text(STRATEGY)
    insts = []
    for sym in symbols:
        px = PRICES[sym]
        rows = [f"{1_700_000_000_000 + i * 60_000},{px},{px * 1.01},{px * 0.99},{px},5"
                for i in range(20)]  # fmt: skip
        (tmp / f"{sym}.csv").write_text("timestamp,open,high,low,close,volume\n"
                                        + "\n".join(rows) + "\n")  # fmt: skip
        insts.append({"symbol": sym, "data": f"{sym}.csv", "lot": 1e-6})
    run: dict[str, object] = {"cash": 10_000}
    if currency:
        run["currency"] = currency
    strategies = [{"file": "hold.py", "id": s, "instruments": [s]} for s in symbols]
    return {"run": run, "instrument": insts, "strategy": strategies}


@pytest.mark.parametrize(
    ("symbols", "currency", "needle"),
    [
        (["BTC-USDT", "ETH-BTC"][1:], "USDT", "ETH-BTC.SIM settles in BTC, which this run"),
        (["XRP-ETH"], "BTC", "XRP-ETH.SIM settles in ETH"),
        (["BTC-USDT", "XRP-ETH"], None, "neither fund (its cash is USDT) nor value in USDT"),
    ],
)
def test_unvaluable_unfundable_settle_currency_is_one_line(
    tmp_path: Path, symbols: list[str], currency: str | None, needle: str
) -> None:
    cfg = parse_run_config(_run(tmp_path, symbols, currency), "run.toml", tmp_path)
    with pytest.raises(ConfigError) as exc:
        build_run(cfg)
    assert needle in str(exc.value) and "\n" not in str(exc.value)


@pytest.mark.parametrize(
    ("symbols", "currency"),
    [
        (["BTC-USDT", "ETH-BTC"], "USDT"),  # BTC valued at BTC-USDT's mark
        (["BTC-USDT", "ETH-USDC"], None),  # USDC is worth 1 USDT
        (["ETH-BTC", "XRP-ETH"], None),  # BTC cash; ETH valued at ETH-BTC's mark
        (["BTC-USD-SWAP"], "BTC"),  # inverse: settles in the cash currency
    ],
)
def test_multi_currency_runs_still_build_and_run(
    tmp_path: Path, symbols: list[str], currency: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, "tradeloop.engine.runbuild"):
        built = build_run(parse_run_config(_run(tmp_path, symbols, currency), "run.toml",
                                           tmp_path))  # fmt: skip
    result = run_multi_backtest(built.feeds, built.runs, built.config)
    assert result.fills
    # valued but not held: said at build (the sim account holds only the run's currency)
    cash = currency or built.feeds[0].instrument.settle
    other = {f.instrument.symbol for f in built.feeds if f.instrument.settle != cash}
    said = {m.split()[0] for m in caplog.messages if "trades only with" in m}
    assert said == other


def test_two_strategies_with_one_id_is_one_line(tmp_path: Path) -> None:
    data = _run(tmp_path, ["BTC-USDT"])
    data["strategy"] = [{"file": "hold.py"}, {"file": "hold.py"}]
    with pytest.raises(ConfigError, match="strategy id 'Hold' is used twice"):
        build_run(parse_run_config(data, "run.toml", tmp_path))


def test_unfundable_is_the_rule_accounts_use() -> None:
    insts = {i.symbol: i for i in (Instrument.of("ETH-BTC", "SIM", "ETH", "BTC"),)}
    assert [i.symbol for i in unfundable(insts, "USDT", ["USDT"])] == ["ETH-BTC.SIM"]
    assert unfundable(insts, "USDT", ["USDT", "BTC"]) == []  # cash held in BTC funds it
    assert unfundable(insts, "BTC", ["BTC"]) == []


def test_backtest_cli_refuses_it_exit_2_no_traceback(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    _run(tmp_path, ["ETH-BTC"])  # writes the data and the strategy
    cfg = tmp_path / "run.toml"
    cfg.write_text('[run]\ncash = 10000\ncurrency = "USDT"\n[[instrument]]\nsymbol = "ETH-BTC"\n'
                   'data = "ETH-BTC.csv"\n[[strategy]]\nfile = "hold.py"\n')  # fmt: skip
    src = Path(__file__).resolve().parents[2] / "src"
    r = subprocess.run([sys.executable, "-m", "tradeloop.cli", "backtest", str(cfg)],
                       capture_output=True, text=True, timeout=60,
                       env={**os.environ, "PYTHONPATH": str(src)})  # fmt: skip
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2 and len(lines) == 1, r.stderr
    assert "settles in BTC, which this run can neither fund" in lines[0]
