"""The backtest report's price panel is the dashboard's chart component: ``tradeloop
backtest`` of the dashboard's own busy strategy (fills, a mark every other bar, a stop line,
an indicator series), its report.html opened from disk in headless chromium, offline. The
chart must draw every candle, a marker per fill and mark, the series, with no page error. A
config-file run draws one such chart per instrument. Screenshots in ``out/ci/dashboard/``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.cli.test_backtest_config_cli import write_bars
from tests.dashboard.test_browser import CHROMIUM, FLAGS, ROOT, _browser_or_skip, artifacts

from tradeloop.report.chartlib import chart_library

pytestmark = pytest.mark.browser
STRATS = Path(__file__).resolve().parent / "strategies.py"


def _price_data(html: str) -> list[dict[str, Any]]:
    found = re.findall(r'<script type="application/json" id="price-data[-0-9]*">(.*?)</script>',
                       html, re.S)  # fmt: skip
    return [json.loads(x) for x in found]


async def _open(report: Path, shot: str) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """Each chart's drawn counts, page errors and requests of ``report`` in chromium."""
    async_playwright = _browser_or_skip()
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = await browser.new_page(viewport={"width": 1400, "height": 1600})
            errors: list[str] = []
            requests: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            await page.goto(report.as_uri())
            await page.wait_for_function(
                "window.tlReportCharts && window.tlReportCharts.every((c) => c.rendered > 0)"
            )
            got = await page.evaluate(
                "tlReportCharts.map((c) => ({count: c.count, markers: c.markerCount,"
                " series: c.series.size, ok: c.ok}))"
            )
            await page.screenshot(path=str(artifacts() / shot), full_page=True)
        finally:
            await browser.close()
    return got, errors, requests


async def test_config_run_report_draws_a_chart_per_instrument(tmp_path: Path) -> None:
    _browser_or_skip()
    if chart_library() is None:
        pytest.skip("lightweight-charts is not installed (pip install 'tradeloop[dashboard]')")
    for name, seed in (("eth", 1), ("sol", 2)):
        write_bars(tmp_path / f"{name}.csv", 240, seed)
    cfg = tmp_path / "run.toml"
    cfg.write_text(
        "[run]\ncash = 10000\n"
        '[[instrument]]\nsymbol = "ETH-USDT"\ndata = "eth.csv"\n'
        '[[instrument]]\nsymbol = "SOL-USDT"\ndata = "sol.csv"\n'
        f'[[strategy]]\nfile = "{STRATS}"\nclass = "Busy"\nid = "busy"\n'
        'params = { qty = 1.0 }\ninstruments = ["ETH-USDT"]\n'
    )
    out = tmp_path / "bt"
    cmd = [sys.executable, "-m", "tradeloop.cli", "backtest", str(cfg), "--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    data = _price_data((out / "report.html").read_text())
    assert [d["symbol"].split(".")[0] for d in data] == ["ETH-USDT", "SOL-USDT"]
    eth, sol = data
    assert len(eth["candles"]) == len(sol["candles"]) == 240
    assert eth["fills"] and len(eth["marks"]) == 120 and len(eth["series"]) == 2
    assert sol["fills"] == [] and sol["marks"] == [] and sol["series"] == []
    got, errors, requests = await _open(out / "report.html", "report-config.png")
    assert errors == [] and requests == [(out / "report.html").as_uri()]
    assert got == [
        {"count": 240, "markers": len(eth["fills"]) + 120, "series": 2, "ok": True},
        {"count": 240, "markers": 0, "series": 0, "ok": True},
    ]


async def test_backtest_report_uses_the_dashboard_chart(tmp_path: Path) -> None:
    _browser_or_skip()
    if chart_library() is None:
        pytest.skip("lightweight-charts is not installed (pip install 'tradeloop[dashboard]')")
    out = tmp_path / "bt"
    cmd = [sys.executable, "-m", "tradeloop.cli", "backtest", str(STRATS), "--bars", "300",
           "--out", str(out)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    (data,) = _price_data((out / "report.html").read_text())
    trades = (out / "trades.csv").read_text().strip().splitlines()[1:]
    assert len(data["candles"]) == 300 and len(data["marks"]) == 150
    assert len(data["fills"]) == data["fills_total"] == len(trades) > 100
    assert sorted(s["name"].split(" ", 1)[1] for s in data["series"]) == ["close", "stop"]
    got, errors, requests = await _open(out / "report.html", "report.png")
    assert errors == [] and requests == [(out / "report.html").as_uri()]
    assert got == [{"count": 300, "markers": len(data["fills"]) + 150, "series": 2, "ok": True}]
