"""The report's candle panel data: merged candles keep every bar's extremes, fills and
annotations arrive in the shapes the shared chart component draws live."""

from __future__ import annotations

import json

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tradeloop.report.chartlib import chart_library
from tradeloop.report.html import ReportData, render_html
from tradeloop.report.pricechart import AnnotationLog, price_chart_data
from tradeloop.report.stats import compute_stats

from .helpers import T0, fill

MIN = 60_000_000_000
SYM = "BTC-USDT"


def _bars(n: int, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    close = 100 + np.cumsum(rng.normal(0, 1, n))
    open_ = np.concatenate([[100.0], close[:-1]])
    high = np.maximum(open_, close) + rng.random(n)
    low = np.minimum(open_, close) - rng.random(n)
    return {"start": T0 + np.arange(n, dtype=np.int64) * MIN, "open_": open_, "high": high,
            "low": low, "close": close}  # fmt: skip


@given(n=st.integers(1, 400), cap=st.integers(2, 50), skip=st.integers(0, 399))
def test_merged_candles_keep_open_close_and_extremes(n: int, cap: int, skip: int) -> None:
    b = _bars(n)
    b["start"] = b["start"] + (b["start"] >= T0 + skip * MIN) * 7 * MIN  # a gap in the data
    d = price_chart_data(SYM, **b, interval_ns=MIN, fills=[], max_candles=cap)
    rows, period = d["candles"], d["period"]
    assert 0 < len(rows) <= cap and period % 60 == 0
    times = [r[0] for r in rows]
    assert times == sorted(set(times)) and all(t % period == 0 for t in times)
    # every bar is in the candle of its period, which keeps its first open, last close, extremes
    bar_bucket = (b["start"] // 1_000_000_000) // period * period
    for t, o, h, lo, c in rows:
        mine = np.flatnonzero(bar_bucket == t)
        assert o == b["open_"][mine[0]] and c == b["close"][mine[-1]]
        assert (h, lo) == (b["high"][mine].max(), b["low"][mine].min())
    assert sum(len(np.flatnonzero(bar_bucket == r[0])) for r in rows) == n


def test_fills_of_the_symbol_thinned_and_annotations_as_live() -> None:
    b = _bars(100)
    fills = [fill(int(T0 + i * MIN), "buy" if i % 2 else "sell", 1, 100.0) for i in range(30)]
    fills.append(fill(int(T0), "buy", 1, 5.0, symbol="ETH-USDT"))
    log = AnnotationLog()
    for i, px in ((1, 99.0), (5, 98.0), (9, None)):
        log("line", {"strategy": "s", "symbol": SYM, "ts": T0 + i * MIN, "name": "stop",
                     "price": px, "color": ""})  # fmt: skip
    log("mark", {"strategy": "s", "symbol": SYM, "ts": T0 + 3 * MIN, "text": "entry",
                 "price": None, "color": "", "shape": "circle"})  # fmt: skip
    log("mark", {"strategy": "s", "symbol": "ETH-USDT", "ts": T0, "text": "other",
                 "price": None, "color": "", "shape": "circle"})  # fmt: skip
    for i in range(4):
        log("series", {"strategy": "s", "symbol": SYM, "ts": T0 + i * MIN, "name": "sma",
                       "value": 100.0 + i, "color": "#fff"})  # fmt: skip
    d = price_chart_data(SYM, **b, interval_ns=MIN, fills=fills, annotations=log,
                         max_fill_marks=10)  # fmt: skip
    assert d["fills_total"] == 30 and len(d["fills"]) == 10
    assert {f["side"] for f in d["fills"]} <= {"buy", "sell"}
    assert [m["text"] for m in d["marks"]] == ["entry"] and d["marks"][0]["t"] == T0 / 1e9 + 180
    by_name = {s["name"]: s["points"] for s in d["series"]}
    at = lambda i: (T0 // 1_000_000_000 + 60 * i) // 60 * 60  # noqa: E731 (candle of bar i)
    assert by_name["s stop"] == [[at(1), 99.0], [at(5), 98.0]]  # the removal leaves a gap
    assert by_name["s sma"] == [[at(i), 100.0 + i] for i in range(4)]
    json.dumps(d, allow_nan=False)


def test_report_draws_the_price_with_the_shared_component() -> None:
    b = _bars(50)
    ts = b["start"]
    eq = np.linspace(100, 110, 50)
    stats = compute_stats(ts, eq, np.zeros(50), [], [], 100.0)
    pc = price_chart_data(SYM, **b, interval_ns=MIN, fills=[])
    page = render_html(ReportData(title="t", ts=ts, equity=eq, stats=stats, price_symbol=SYM,
                                  price_ts=ts, price_close=b["close"], price_chart=pc))  # fmt: skip
    plain = render_html(ReportData(title="t", ts=ts, equity=eq, stats=stats, price_symbol=SYM,
                                   price_ts=ts, price_close=b["close"]))  # fmt: skip
    assert 'id="price-data"' not in plain and "class TLChart" not in plain
    if chart_library() is None:  # without the library the plotly price panel stays
        assert "class TLChart" not in page
        return
    assert 'id="price-chart"' in page and "class TLChart" in page and "new TLChart" in page
    assert f"{SYM} price" not in page.split('id="price-chart"')[1]  # no second, plotly panel
