"""The HTML report: self-contained, correct tables, bounded size, atomic writes."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from plotly.offline import get_plotlyjs

from tradeloop.model.events import Fill
from tradeloop.report import html as report_html
from tradeloop.report.html import ReportData, write_report
from tradeloop.report.stats import compute_stats, round_trips

from .helpers import DAY, T0, fill

MINUTE = 60 * 1_000_000_000
_EXTERNAL = re.compile(r"""<(script|link|img|iframe)\b[^>]*\b(src|href)\s*=""", re.IGNORECASE)


def _small_data(title: str = "BTC trend <v1> & co") -> ReportData:
    ts = T0 + np.arange(6, dtype=np.int64) * DAY
    eq = np.array([100, 120, 90, 110, 130, 117], dtype=float)
    pos = np.array([0, 1, 1, 0, -1, 0], dtype=float)
    fills = [
        fill(int(ts[1]), "buy", 1, 20_000, 0.5),
        fill(int(ts[3]), "sell", 1, 21_000, 0.5),
        fill(int(ts[4]), "sell", 1, 21_500, 0.5),
        fill(int(ts[5]), "buy", 1, 21_000, 0.5),
        fill(int(ts[5]), "buy", 3, 3_000, 0.1, symbol="ETH-USDT"),
    ]
    trips = round_trips(fills)
    stats = compute_stats(ts, eq, pos, fills, trips, 100.0)
    return ReportData(
        title=title,
        ts=ts,
        equity=eq,
        position=pos,
        price_symbol="BTC-USDT",
        price_ts=ts,
        price_close=np.array([20_000, 20_100, 20_500, 21_000, 21_500, 21_000.0]),
        fills=fills,
        strategy_rows=[
            {"strategy": "trend", "realized": 10.0, "unrealized": 2.5, "fees": 1.0, "fills": 3},
            {
                "strategy": "mean<rev>",
                "realized": -4.0,
                "unrealized": 0.0,
                "fees": 0.5,
                "total": -4.5,
                "fills": 2,
            },
        ],
        stats=stats,
        params={"fast": 10, "slow": 50, "note": "<b>bold</b>"},
        info={"data source": "synthetic", "bars": 6, "elapsed": "0.1 s"},
    )


def _figure(page: str) -> dict[str, Any]:
    m = re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', page)
    assert m, "figure script not found"
    return json.loads(m.group(1).replace("<\\/", "</"))


def _table(page: str, table_id: str) -> str:
    m = re.search(rf'<table[^>]*id="{table_id}".*?</table>', page, re.DOTALL)
    assert m, table_id
    return m.group(0)


@pytest.fixture(scope="module")
def small_page(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("rep") / "sub" / "report.html"
    write_report(path, _small_data())
    assert path.is_file()
    return path.read_text(encoding="utf-8")


def test_plotly_embedded_once_and_nothing_external(small_page: str) -> None:
    bundle = get_plotlyjs()
    assert small_page.count(bundle[:400]) == 1
    assert bundle in small_page
    assert 'src="http' not in small_page and "src='http" not in small_page
    assert not _EXTERNAL.search(small_page), "external resource referenced"
    assert "cdn.plot.ly/plotly" not in small_page.replace(bundle, "")
    assert "@import" not in small_page and "fonts.googleapis" not in small_page


def test_tables_and_numbers(small_page: str) -> None:
    stats = _table(small_page, "stats-table")
    assert "Max drawdown" in stats and "25.00%" in stats
    assert "Total return" in stats and "17.00%" in stats
    assert "117.00" in stats  # final equity
    assert "Exposure" in stats and "50.00%" in stats
    assert "Round trips" in stats

    strat = _table(small_page, "strategy-table")
    assert "trend" in strat and "mean&lt;rev&gt;" in strat
    assert "11.50" in strat  # trend total defaults to realized + unrealized - fees
    foot = strat.split("<tfoot>")[1]
    for total in ("6.00", "2.50", "1.50", "7.00", ">5<"):  # realized, unreal, fees, total, fills
        assert total in foot

    params = _table(small_page, "params-table")
    assert "fast" in params and "&lt;b&gt;bold&lt;/b&gt;" in params
    info = _table(small_page, "info-table")
    assert "synthetic" in info and "elapsed" in info


def test_user_text_is_escaped(small_page: str) -> None:
    assert "<title>BTC trend &lt;v1&gt; &amp; co</title>" in small_page
    assert "<b>bold</b>" not in small_page.split("</script></head>", 1)[1]


def test_chart_panels_and_trade_marks(small_page: str) -> None:
    fig = _figure(small_page)
    traces = fig["data"]
    assert isinstance(traces, list)
    names = [t["name"] for t in traces]
    assert names == ["equity", "drawdown %", "BTC-USDT", "buy", "sell", "position"]
    by_name = {t["name"]: t for t in traces}
    assert by_name["equity"]["x"][0] == T0 // 1_000_000  # epoch ms on a date axis
    assert min(by_name["drawdown %"]["y"]) == pytest.approx(-25.0)
    assert by_name["buy"]["marker"]["symbol"] == "triangle-up"
    assert by_name["sell"]["marker"]["symbol"] == "triangle-down"
    assert len(by_name["buy"]["x"]) == 2 and len(by_name["sell"]["x"]) == 2  # ETH not marked
    assert by_name["buy"]["text"][0] == "buy 1 @ 20000 (s1)"
    assert "-0.0" not in json.dumps(by_name["drawdown %"]["y"])
    layout = fig["layout"]
    assert isinstance(layout, dict) and layout["xaxis"]["type"] == "date"


def test_empty_run_still_writes_a_page(tmp_path: Path) -> None:
    empty = np.array([], dtype=np.int64)
    stats = compute_stats(empty, np.array([]), None, [], [], 1000.0)
    data = ReportData(title="empty", ts=empty, equity=np.array([]), stats=stats)
    path = tmp_path / "r.html"
    write_report(path, data)
    page = path.read_text(encoding="utf-8")
    assert "No series to chart" in page and 'id="stats-table"' in page
    assert "no strategies reported" in page


def test_nan_prices_become_null(tmp_path: Path) -> None:
    data = _small_data()
    data.price_close = np.array([20_000, np.nan, 20_500, np.inf, 21_500, 21_000.0])
    write_report(tmp_path / "r.html", data)
    fig = _figure((tmp_path / "r.html").read_text(encoding="utf-8"))
    price = next(t for t in fig["data"] if t["name"] == "BTC-USDT")
    assert price["y"][1] is None and price["y"][3] is None


def test_write_is_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "report.html"
    path.write_text("previous report", encoding="utf-8")

    def boom(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(report_html.os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        write_report(path, _small_data())
    assert path.read_text(encoding="utf-8") == "previous report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # temp file cleaned up

    monkeypatch.undo()
    write_report(path, _small_data())
    assert path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def _big_data(n: int = 1_000_000, n_fills: int = 6_000) -> tuple[ReportData, float]:
    rng = np.random.default_rng(3)
    ts = T0 + np.arange(n, dtype=np.int64) * MINUTE
    price = 30_000 * np.exp(np.cumsum(rng.normal(0, 5e-4, n)))
    eq = 10_000 + np.cumsum(rng.normal(0, 1, n))
    crash = 777_777
    eq[crash] = eq.min() - 500  # a one-bar drawdown that must stay visible
    pos = np.sign(np.sin(np.arange(n) / 1000.0))
    at = np.sort(rng.choice(n, n_fills, replace=False))
    fills: list[Fill] = [
        fill(int(ts[i]), "buy" if k % 2 == 0 else "sell", 0.1, float(price[i]), 0.01)
        for k, i in enumerate(at)
    ]
    stats = compute_stats(ts, eq, pos, fills, round_trips(fills), 10_000.0)
    data = ReportData(
        title="million",
        ts=ts,
        equity=eq,
        position=pos,
        price_symbol="BTC-USDT",
        price_ts=ts,
        price_close=price,
        fills=fills,
        strategy_rows=[],
        stats=stats,
        params={},
        info={"bars": n},
    )
    return data, float(eq[crash])


def test_million_points_bounded(tmp_path: Path) -> None:
    data, crash_value = _big_data()
    path = tmp_path / "big.html"
    write_report(path, data)
    size = path.stat().st_size
    assert size < 6_000_000, size
    page = path.read_text(encoding="utf-8")
    fig = _figure(page)
    traces = {t["name"]: t for t in fig["data"]}
    for name in ("equity", "drawdown %", "BTC-USDT", "position"):
        assert len(traces[name]["x"]) <= 4000, name
    assert crash_value in traces["equity"]["y"]  # min/max buckets kept the spike
    marks = len(traces["buy"]["x"]) + len(traces["sell"]["x"])
    assert marks <= 2000
    assert "Showing 2,000 of 6,000 fills" in page
    assert "downsampled from up to 1,000,000 to at most 4,000 points" in page
    assert "6,000" in _table(page, "stats-table")  # stats count every fill


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_inline_chart_script_is_valid_js(small_page: str, tmp_path: Path) -> None:
    scripts = re.findall(r"<script>(.*?)</script>", small_page, re.DOTALL)
    assert len(scripts) == 1
    assert "JSON.parse" in scripts[0]
    js = tmp_path / "chart.js"
    js.write_text(scripts[0], encoding="utf-8")
    subprocess.run(["node", "--check", str(js)], check=True, timeout=30)


def test_bad_equity_mark_does_not_blank_the_drawdown_chart(tmp_path: Path) -> None:
    data = _small_data()
    data.equity = np.array([100, 120, np.nan, 110, 130, 117], dtype=float)
    write_report(tmp_path / "r.html", data)
    fig = _figure((tmp_path / "r.html").read_text(encoding="utf-8"))
    dd = next(t for t in fig["data"] if t["name"] == "drawdown %")
    assert all(v is not None for v in dd["y"])
    assert min(dd["y"]) == pytest.approx(-10.0)  # 120 -> 110 once the NaN is carried forward


def test_package_exports() -> None:
    import tradeloop.report as rep

    assert rep.write_report is write_report and rep.ReportData is ReportData
    assert rep.compute_stats is compute_stats and rep.round_trips is round_trips
