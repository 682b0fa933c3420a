"""The multi-instrument report: amounts to their currency's precision (never "-0.00"), every
curve and table present, trades capped with a pointer to trades.csv, atomic writes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tradeloop.data.synthetic import synthetic_bars
from tradeloop.engine.indicators import SMA
from tradeloop.engine.multi import Feed, MultiConfig, MultiResult, StrategyRun, run_multi_backtest
from tradeloop.engine.strategy import Strategy
from tradeloop.model import Bar, Instrument
from tradeloop.report import multi as rm


class Cross(Strategy):
    def on_start(self) -> None:
        self.f, self.s = SMA(3), SMA(9)

    def on_bar(self, bar: Bar) -> None:
        f, s = self.f.update(bar.close), self.s.update(bar.close)
        if f is not None and s is not None:
            self.target_percent(bar.symbol, 1.0 if f > s else 0.0)


@pytest.mark.parametrize(
    ("x", "ccy", "text"),
    [
        (-0.001, "USDT", "0.00"),
        (-0.004999, "usd", "0.00"),
        (1234.567, "USDT", "1,234.57"),
        (0.00041, "BTC", "0.00041000"),
        (-1e-12, "BTC", "0.00000000"),
        (-2.5, "ETH", "-2.50000000"),
    ],
)
def test_amounts_follow_the_currency(x: float, ccy: str, text: str) -> None:
    assert rm.fmt_amount(x, ccy) == text


def _run() -> tuple[MultiResult, dict[str, Any]]:
    feeds, runs = [], []
    for i, native in enumerate(("AAA-USDT", "BBB-USDT")):
        inst = Instrument.of(native, "SIM", native[:3], "USDT", tick_size=0.01, lot_size=1e-8)
        feeds.append(Feed(inst, synthetic_bars(n=800, symbol=inst.symbol, seed=i)))
        runs.append(StrategyRun(Cross(f"s{i}"), (native,)))
    res = run_multi_backtest(feeds, runs, MultiConfig(cash=1_000.0))
    p = res.kernel.portfolio
    summary = {
        "config": "run.toml", "currency": "USDT", "final_equity": res.final_equity,
        "initial_cash": res.initial_cash, "fills": len(res.fills), "fees_paid": p.fees_paid,
        "funding_paid": 0.0, "liquidations": 0,
        "strategies": [{"strategy": s.id, "capital": p.books[s.id].capital, "realized": 1.0,
                        "unrealized": -0.0001, "fees": 0.5, "funding": 0.0, "total": 0.4999,
                        "fills": p.books[s.id].fills} for s in res.kernel.strategies],
        "instruments": [{"instrument": f.instrument.symbol, "kind": "spot", "position": 0.0,
                         "pnl": -1e-9, "fees": 0.25, "funding": 0.0, "liquidations": 0,
                         "quote": "USDT", "settle": "USDT"} for f in feeds],
    }  # fmt: skip
    return res, summary


def test_report_has_every_curve_table_and_trade(tmp_path: Path, monkeypatch: Any) -> None:
    res, summary = _run()
    assert len(res.fills) > 10
    monkeypatch.setattr(rm, "MAX_TRADES", 10)
    path = tmp_path / "report.html"
    rm.write_multi_report(path, res, summary)
    page = path.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    for name in ("account", "strategies", "instruments"):
        m = re.search(rf'<script type="application/json" id="d-{name}">(.*?)</script>', page)
        assert m is not None, name
        traces = json.loads(m.group(1))
        assert traces and all(len(t["x"]) == len(t["y"]) > 0 for t in traces)
    names = [t["name"] for t in json.loads(re.findall(r'id="d-strategies">(.*?)</script>',
                                                        page)[0])]  # fmt: skip
    assert names == ["s0", "s1"]
    assert "-0.00" not in page  # -0.0001 and -1e-9 USDT print as 0.00
    assert page.count("<tr>") == 1 + 2 + 1 + 2 + 1 + 10  # header+rows of the three tables
    assert f"{len(res.fills) - 10} more in trades.csv" in page
    assert list(tmp_path.iterdir()) == [path]  # no temp file left behind


def test_a_failed_write_leaves_nothing(tmp_path: Path, monkeypatch: Any) -> None:
    res, summary = _run()
    summary.pop("strategies")
    with pytest.raises(KeyError):
        rm.write_multi_report(tmp_path / "report.html", res, summary)
    assert list(tmp_path.iterdir()) == []
