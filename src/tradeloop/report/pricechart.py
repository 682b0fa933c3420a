"""The report's price panel: the dashboard's chart component (``TLChart``) drawn from a backtest.

A strategy should look the same in its backtest as it does live, so the report hands the same
component the same shapes the dashboard pushes: candles ``[t, o, h, l, c]`` (UTC seconds),
fills ``{id, t, side, qty, price}``, marks ``{id, t, text, price, color, shape}`` and
indicator series (``Strategy.plot``; ``Strategy.line`` levels drawn as the series of their
moves). Long runs are merged into coarser candles (at most ``max_candles``) and fills thinned
evenly, so a million-bar report stays a few MB.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from typing import Any

import numpy as np
import numpy.typing as npt

from tradeloop.data.series import BarSeries
from tradeloop.model.events import Fill
from tradeloop.report.chartlib import chart_component, chart_library
from tradeloop.report.downsample import even_indices

NS = 1_000_000_000
MAX_CANDLES = 3000


@dataclass
class AnnotationLog:
    """Collects ``Strategy.on_annotation`` calls during a backtest (the live dashboard's
    model receives the same calls)."""

    marks: list[dict[str, Any]] = field(default_factory=list)
    series: dict[str, dict[str, Any]] = field(default_factory=dict)
    max_marks: int = 2000

    def __call__(self, kind: str, a: dict[str, Any]) -> None:
        t = a["ts"] / NS
        if kind == "mark":
            if len(self.marks) < self.max_marks:
                self.marks.append(dict(a, t=t, id=str(len(self.marks))))
            return
        value = a.get("value") if kind == "series" else a.get("price")
        key = f"{kind}|{a['strategy']}|{a['symbol']}|{a['name']}"
        s = self.series.setdefault(
            key,
            {
                "id": key,
                "symbol": a["symbol"],
                "color": a["color"],
                "points": [],
                "name": f"{a['strategy']} {a['name']}",
            },
        )
        if value is None or not math.isfinite(value):
            return  # a removed line leaves a gap after its last level
        s["points"].append((t, float(value)))


def _candles(
    start: npt.NDArray[np.int64],
    o: npt.NDArray[np.float64],
    h: npt.NDArray[np.float64],
    lo: npt.NDArray[np.float64],
    c: npt.NDArray[np.float64],
    interval_ns: int,
    max_candles: int,
) -> tuple[list[list[float]], int]:
    """Bars merged into candles of ``period`` seconds (a whole number of bars), at most
    ``max_candles`` of them; (rows, period). Candle times sit on the period's grid, where the
    chart component also places fills and marks (``TLChart.bucket``)."""
    n = len(c)
    span = int((start[-1] - start[0]) // interval_ns) + 1 if n else 0  # bar slots, gaps too
    k = 1 if span <= max_candles else math.ceil(span / (max_candles - 1))
    period = max(1, interval_ns * k // NS)
    bucket = (start // NS) // period
    idx = np.flatnonzero(np.diff(bucket, prepend=bucket[0] - 1)) if n else bucket
    last = np.append(idx[1:], n) - 1
    rows = np.column_stack(
        [
            bucket[idx] * period,
            o[idx],
            np.maximum.reduceat(h, idx),
            np.minimum.reduceat(lo, idx),
            c[last],
        ]
    )
    return rows.tolist(), period


def _points(points: list[tuple[float, float]], period: int) -> list[list[float]]:
    """One point per candle (the last value in it), strictly increasing times."""
    out: dict[int, float] = {}
    for t, v in points:
        out[int(t) // period * period] = v
    return [[t, out[t]] for t in sorted(out)]


def price_chart_data(
    symbol: str,
    start: npt.ArrayLike,
    open_: npt.ArrayLike,
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    interval_ns: int,
    fills: Sequence[Fill],
    annotations: AnnotationLog | None = None,
    max_candles: int = MAX_CANDLES,
    max_fill_marks: int = 2000,
) -> dict[str, Any]:
    """The JSON the report's ``TLChart`` is built from (see the module docstring)."""
    if max_candles < 2:
        raise ValueError(f"max_candles must be at least 2, got {max_candles}")
    f64 = lambda a: np.asarray(a, dtype=np.float64)  # noqa: E731
    candles, period = _candles(
        np.asarray(start, dtype=np.int64),
        f64(open_),
        f64(high),
        f64(low),
        f64(close),
        interval_ns,
        max_candles,
    )
    mine = sorted((f for f in fills if f.symbol == symbol), key=lambda f: f.ts)
    shown = [mine[i] for i in even_indices(len(mine), max_fill_marks).tolist()]
    fill_rows = [
        {"id": str(i), "t": f.ts / NS, "side": f.side.value, "qty": f.qty, "price": f.price}
        for i, f in enumerate(shown)
    ]
    marks: list[dict[str, Any]] = []
    series: list[dict[str, Any]] = []
    if annotations is not None:
        keys = ("id", "t", "text", "price", "color", "shape")
        marks = [{k: m[k] for k in keys} for m in annotations.marks if m["symbol"] == symbol]
        series = [
            {
                "id": s["id"],
                "name": s["name"],
                "color": s["color"],
                "points": _points(s["points"], period),
            }
            for s in annotations.series.values()
            if s["symbol"] == symbol and s["points"]
        ]
    return {
        "symbol": symbol,
        "period": period,
        "candles": candles,
        "fills": fill_rows,
        "fills_total": len(mine),
        "marks": marks,
        "series": series,
    }


def bars_chart_data(
    symbol: str,
    bars: BarSeries,
    fills: Sequence[Fill],
    annotations: AnnotationLog | None = None,
) -> dict[str, Any]:
    """:func:`price_chart_data` of a run's bar series."""
    b = bars
    return price_chart_data(
        symbol, b.start, b.open, b.high, b.low, b.close, b.interval_ns, fills, annotations
    )


#: draws ``#price-chart<key>`` from the inert JSON in ``#price-data<key>`` with the component
_INIT_JS = """(function(){
var d=JSON.parse(document.getElementById('price-data%(key)s').textContent);
var c=new TLChart(document.getElementById('price-chart%(key)s'),{period:d.period});
c.setCandles(d.candles,d.period);c.setFills(d.fills);c.setMarks(d.marks);
d.series.forEach(function(s){c.seriesPoints(s.id,s.name,s.color,s.points,false);});
c.fit();window.tlReportCharts=window.tlReportCharts||[];window.tlReportCharts.push(c);
window.tlReportChart=window.tlReportChart||c;})();"""


def script_json(obj: object) -> str:
    """JSON safe to inline in <script>: no NaN literals, and '</' cannot close the tag."""
    return json.dumps(obj, allow_nan=False, separators=(",", ":")).replace("</", "<\\/")


@functools.cache
def _library_js() -> str | None:
    lib = chart_library()
    return lib.read_text("utf-8").replace("</script", "<\\/script") if lib is not None else None


def price_panels(charts: Sequence[dict[str, Any]]) -> tuple[str, str] | None:
    """(sections, scripts) drawing each of ``charts`` (:func:`price_chart_data`) with the
    shared component, the library and component inlined once; None without the library."""
    lib = _library_js()
    if lib is None or not charts:
        return None
    sections, scripts = [], ["<script>", lib, "</script><script>", chart_component(), "</script>"]
    for i, pc in enumerate(charts):
        key = "" if i == 0 else f"-{i}"
        notes = []
        if len(pc["candles"]) >= 2:
            notes.append(f"One candle per {pc['period']:,} s.")
        if pc["fills_total"] > len(pc["fills"]):
            shown, total = len(pc["fills"]), pc["fills_total"]
            notes.append(f"Showing {shown:,} of {total:,} fills (evenly thinned).")
        sections.append(
            f"<section><h2>{escape(str(pc['symbol']))} price</h2>"
            f'<div id="price-chart{key}" style="height:460px"></div>'
            + "".join(f'<p class="note">{escape(n)}</p>' for n in notes)
            + "</section>"
        )
        scripts.append(
            f'<script type="application/json" id="price-data{key}">{script_json(pc)}</script>'
            f"<script>{_INIT_JS % {'key': key}}</script>"
        )
    return "".join(sections), "".join(scripts)
