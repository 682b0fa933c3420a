"""The offline HTML report: one self-contained file, safe to e-mail or open on a plane.

plotly.js is embedded inline exactly once (no CDN, no external scripts, styles or fonts), so
the page renders with no network. The price panel, when ``price_chart`` is given and the chart
library is installed, is the live dashboard's own chart component (``report/chartlib.py``),
inlined the same way, so a strategy's candles, fills, marks and series look as they do live.
Chart series are downsampled (min/max per bucket, at most ``max_points`` per series) and
trade marks thinned (at most ``max_fill_marks``) so a million-bar backtest still gives a file
of a few MB that a browser opens instantly; the tables are computed by the caller from the
full data. The file is written atomically: a crash or a full disk leaves either the previous
report or none, never half of one.
"""

from __future__ import annotations

import functools
import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Any

import numpy.typing as npt

from tradeloop.model.events import Fill
from tradeloop.report.charts import ChartSummary, build_figure
from tradeloop.report.pricechart import price_panels
from tradeloop.report.pricechart import script_json as _script_json
from tradeloop.report.stats import Stats
from tradeloop.report.tables import (
    fmt_money,
    fmt_pct,
    fmt_ratio,
    fmt_ts,
    kv_table,
    stats_table,
    strategy_table,
)

log = logging.getLogger(__name__)

MAX_SERIES_POINTS = 4000
MAX_FILL_MARKS = 2000


@dataclass(eq=False, kw_only=True)
class ReportData:
    """Everything one report shows (keyword-only, so field order is not an API).

    Arrays may be numpy arrays or sequences; timestamps are int ns since the epoch.
    ``strategy_rows`` are dicts with keys strategy, realized, unrealized, fees, total, fills.
    ``info`` is free-form run metadata (data source, bars, elapsed, ...).
    """

    title: str
    ts: npt.ArrayLike
    equity: npt.ArrayLike
    stats: Stats
    position: npt.ArrayLike | None = None
    price_symbol: str = ""
    price_ts: npt.ArrayLike | None = None
    price_close: npt.ArrayLike | None = None
    fills: Sequence[Fill] = ()
    strategy_rows: list[dict[str, object]] = field(default_factory=list)
    params: dict[str, object] = field(default_factory=dict)
    info: dict[str, object] = field(default_factory=dict)
    #: :func:`tradeloop.report.pricechart.price_chart_data` for the candle panel
    price_chart: dict[str, Any] | None = None
    #: the account currency: amounts are shown to its precision (8 decimals for BTC)
    currency: str = ""


@functools.cache
def _plotly_js() -> str:
    """The plotly.js bundle shipped inside the plotly wheel (no network needed)."""
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())


_CSS = """
:root{--fg:#0f172a;--muted:#64748b;--line:#e2e8f0;--bg:#f8fafc;--pos:#15803d;--neg:#b91c1c}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);
 font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif}
main{max-width:1280px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:0 0 10px}
.sub,.muted,.note{color:var(--muted)}.note{font-size:12px;margin:6px 0 0}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px;margin:18px 0}
.card,section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:14px 16px}
.card .k{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card .v{font-size:20px;font-weight:600;margin-top:2px}
section{margin-bottom:16px}
.cols{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:16px}
@media (max-width:900px){.cols{grid-template-columns:1fr}}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{padding:5px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
table.kv th{font-weight:500;color:var(--muted);width:45%}
table.kv td{text-align:right;word-break:break-word}
table.grid thead th{font-size:12px;color:var(--muted);text-transform:uppercase}
table.grid td.num,table.grid thead th:not(:first-child){text-align:right}
table.grid tfoot th,table.grid tfoot td{font-weight:600;border-top:2px solid var(--fg)}
tbody tr:nth-child(even){background:#f8fafc}
.pos{color:var(--pos)}.neg{color:var(--neg)}
#chart{width:100%}
"""


def _cards(s: Stats, ccy: str = "") -> str:
    items = [
        ("Total return", fmt_pct(s.total_return)),
        ("Final equity", fmt_money(s.final_equity, ccy)),
        ("Sharpe", fmt_ratio(s.sharpe)),
        ("Max drawdown", fmt_pct(s.max_drawdown)),
        ("Round trips", f"{s.n_round_trips:,}"),
        ("Win rate", fmt_pct(s.win_rate)),
    ]
    cards = "".join(
        f'<div class="card"><div class="k">{escape(k)}</div><div class="v">{escape(v)}</div></div>'
        for k, v in items
    )
    return f'<div class="cards">{cards}</div>'


def _chart_notes(c: ChartSummary) -> str:
    notes = []
    if c.longest_series > c.point_limit:
        notes.append(
            f"Charts are downsampled from up to {c.longest_series:,} to at most "
            f"{c.point_limit:,} points per series, keeping each bucket's minimum and maximum "
            "so peaks and drawdowns stay visible."
        )
    if c.fills_total > c.fills_marked:
        notes.append(
            f"Showing {c.fills_marked:,} of {c.fills_total:,} fills on the price chart "
            "(evenly thinned)."
        )
    if notes:
        notes.append("All statistics and tables use the full data.")
    return "".join(f'<p class="note">{escape(n)}</p>' for n in notes)


def render_html(
    data: ReportData,
    max_points: int = MAX_SERIES_POINTS,
    max_fill_marks: int = MAX_FILL_MARKS,
) -> str:
    """The complete page as one string (plotly.js and, for the candle panel, the chart
    component included)."""
    panels = price_panels([data.price_chart]) if data.price_chart is not None else None
    candles = panels is not None
    fig, summary = build_figure(
        data.ts,
        data.equity,
        data.position,
        data.price_symbol,
        None if candles else data.price_ts,
        None if candles else data.price_close,
        data.fills,
        max_points=max_points,
        max_fill_marks=max_fill_marks,
    )
    s = data.stats
    title = escape(data.title)
    has_chart = bool(fig["data"])
    chart = (
        '<div id="chart"></div>' + _chart_notes(summary)
        if has_chart
        else '<p class="muted">No series to chart.</p>'
    )
    config = {"responsive": True, "displaylogo": False, "scrollZoom": False}
    # The figure travels as inert JSON (not code), parsed by a tiny fixed script.
    plot_js = (
        '<script type="application/json" id="chart-data">' + _script_json(fig) + "</script>"
        "<script>(function(){var f=JSON.parse(document.getElementById('chart-data').textContent);"
        "Plotly.newPlot('chart',f.data,f.layout," + _script_json(config) + ");})();</script>"
        if has_chart
        else ""
    )
    price_section, price_js = panels if panels is not None else ("", "")
    return "".join(
        [
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width,initial-scale=1">',
            f"<title>{title}</title><style>{_CSS}</style>",
            '<script type="text/javascript">',
            _plotly_js(),
            "</script></head><body><main>",
            f"<h1>{title}</h1>",
            f'<div class="sub">{escape(fmt_ts(s.start_ts))} → {escape(fmt_ts(s.end_ts))}</div>',
            _cards(s, data.currency),
            price_section,
            f"<section><h2>Charts</h2>{chart}</section>",
            '<div class="cols"><section><h2>Statistics</h2>',
            stats_table(s, data.currency),
            "</section><div><section><h2>PnL by strategy</h2>",
            strategy_table(data.strategy_rows, data.currency),
            "</section><section><h2>Parameters</h2>",
            kv_table(data.params.items(), "params-table"),
            "</section><section><h2>Run info</h2>",
            kv_table(data.info.items(), "info-table"),
            "</section></div></div></main>",
            plot_js,
            price_js,
            "</body></html>\n",
        ]
    )


def write_report(
    path: Path,
    data: ReportData,
    max_points: int = MAX_SERIES_POINTS,
    max_fill_marks: int = MAX_FILL_MARKS,
) -> None:
    """Render and write the report atomically (temp file in the same directory, fsync,
    ``os.replace``), creating the directory if needed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    page = render_html(data, max_points=max_points, max_fill_marks=max_fill_marks)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(page)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a report is meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    log.info("report written to %s (%.1f MB)", path, len(page.encode("utf-8")) / 1e6)
