"""The backtest report's price panel is the dashboard's chart component: ``tradeloop
backtest`` of the dashboard's own busy strategy (fills, a mark every other bar, a stop line,
an indicator series), its report.html opened from disk in headless chromium, offline. The
chart must draw every candle, a marker per fill and mark, the series, with no page error.
Screenshot in ``out/ci/dashboard/report.png``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from tests.dashboard.test_browser import CHROMIUM, FLAGS, ROOT, _browser_or_skip, artifacts

from tradeloop.report.chartlib import chart_library

pytestmark = pytest.mark.browser
STRATS = Path(__file__).resolve().parent / "strategies.py"


async def test_backtest_report_uses_the_dashboard_chart(tmp_path: Path) -> None:
    async_playwright = _browser_or_skip()
    if chart_library() is None:
        pytest.skip("lightweight-charts is not installed (pip install 'tradeloop[dashboard]')")
    out = tmp_path / "bt"
    cmd = [sys.executable, "-m", "tradeloop.cli", "backtest", str(STRATS), "--bars", "300",
           "--out", str(out)]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    page_html = (out / "report.html").read_text()
    data = json.loads(
        re.search(r'<script type="application/json" id="price-data">(.*?)</script>',
                  page_html, re.S).group(1)  # type: ignore[union-attr]
    )  # fmt: skip
    trades = (out / "trades.csv").read_text().strip().splitlines()[1:]
    assert len(data["candles"]) == 300 and len(data["marks"]) == 150
    assert len(data["fills"]) == data["fills_total"] == len(trades) > 100
    assert sorted(s["name"].split(" ", 1)[1] for s in data["series"]) == ["close", "stop"]
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = await browser.new_page(viewport={"width": 1400, "height": 1600})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            # offline: any request that is not the file itself fails the test
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            await page.goto((out / "report.html").as_uri())
            await page.wait_for_function(
                "window.tlReportChart && window.tlReportChart.rendered > 0"
            )
            got = await page.evaluate(
                "({count: tlReportChart.count, markers: tlReportChart.markerCount,"
                " series: tlReportChart.series.size, ok: tlReportChart.ok})"
            )
            await page.screenshot(path=str(artifacts() / "report.png"), full_page=True)
        finally:
            await browser.close()
    assert errors == []
    assert requests == [(out / "report.html").as_uri()]
    assert got == {"count": 300, "markers": len(data["fills"]) + 150, "series": 2, "ok": True}
