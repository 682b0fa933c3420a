"""The sweep / walk-forward page: one self-contained HTML file that works offline.

plotly.js is embedded inline (from the plotly wheel, no CDN), like the backtest report. The
results travel as inert JSON; a small fixed script builds a click-to-sort table and a heatmap
of any two parameters against any metric (the best or mean over the other parameters), so a
reader can explore without re-running anything. Very large sweeps embed their best
:data:`MAX_TABLE_ROWS` rows (by objective); the CSV/Parquet tables always hold every row.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from tradeloop.report.downsample import minmax_indices
from tradeloop.report.tables import fmt_pct, fmt_ratio, fmt_value
from tradeloop.sweep.objective import LOWER_IS_BETTER

if TYPE_CHECKING:
    from tradeloop.sweep.driver import Curve
    from tradeloop.sweep.sweep import SweepOutcome

log = logging.getLogger(__name__)

MAX_TABLE_ROWS = 20_000
MAX_POINTS = 4000
#: columns left out of the page's table (they are in the CSV / Parquet files)
HIDDEN = {"start_ts", "end_ts", "periods_per_year", "n_periods", "max_drawdown_duration_ns"}


@dataclass
class WalkForwardView:
    """What the page shows of a walk-forward: the per-window table and the stitched curve."""

    windows: list[dict[str, Any]]
    columns: list[str]
    ts: Any
    equity: Any
    summary: dict[str, Any] = field(default_factory=dict)


@functools.cache
def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, np.generic):
        return _clean(v.item())
    return v


def _json(obj: object) -> str:
    """JSON safe inside <script>: no NaN, and '</' cannot end the element."""
    return json.dumps(obj, allow_nan=False, separators=(",", ":")).replace("</", "<\\/")


def _line(name: str, curve: Curve) -> dict[str, Any]:
    ts, eq = np.asarray(curve[0]), np.asarray(curve[1], dtype=np.float64)
    idx = minmax_indices(eq, MAX_POINTS)
    return {
        "type": "scatter",
        "mode": "lines",
        "name": name,
        "x": (ts[idx] // 1_000_000).tolist(),
        "y": [_clean(v) for v in eq[idx].tolist()],
    }


def _layout(ytitle: str, height: int = 420) -> dict[str, Any]:
    return {
        "height": height,
        "margin": {"l": 70, "r": 20, "t": 10, "b": 40},
        "xaxis": {"type": "date", "gridcolor": "#e5e7eb"},
        "yaxis": {"title": {"text": ytitle}, "gridcolor": "#e5e7eb"},
        "legend": {"orientation": "h", "y": -0.15},
        "plot_bgcolor": "#ffffff",
        "paper_bgcolor": "#ffffff",
        "hovermode": "x unified",
    }


def _label(row: Mapping[str, Any], params: Sequence[str]) -> str:
    return ", ".join(f"{p}={fmt_value(row.get(p))}" for p in params)


_CSS = """
:root{--fg:#0f172a;--muted:#64748b;--line:#e2e8f0;--bg:#f8fafc}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);
 font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif}
main{max-width:1400px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:0 0 10px}
.sub,.note{color:var(--muted)}.note{font-size:12px;margin:6px 0 0}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:12px;margin:18px 0}
.card,section{background:#fff;border:1px solid var(--line);border-radius:8px;padding:14px 16px}
.card .k{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card .v{font-size:18px;font-weight:600;margin-top:2px;word-break:break-word}
section{margin-bottom:16px}
.scroll{overflow:auto;max-height:640px}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums;font-size:13px}
th,td{padding:4px 8px;border-bottom:1px solid var(--line);text-align:right;white-space:nowrap}
th{position:sticky;top:0;background:#fff;cursor:pointer;user-select:none;color:var(--muted);
 font-size:12px}
th.asc::after{content:" ▲"}th.desc::after{content:" ▼"}
td.err{color:#b91c1c;text-align:left;max-width:360px;overflow:hidden;text-overflow:ellipsis}
tbody tr:nth-child(even){background:#f8fafc}
label{margin-right:14px}select{margin-left:4px}
"""

# Fixed script: reads the JSON blocks, builds the sortable tables, the heatmap and charts.
_JS = r"""
(function(){
var D=JSON.parse(document.getElementById('sweep-data').textContent);
function fmt(v,c){if(c==='error')return v||'';if(v===null||v===undefined||v==='')return '—';
 if(typeof v==='number'){if(Number.isInteger(v))return v.toLocaleString('en-US');
  var a=Math.abs(v);return a>=1e4?v.toFixed(0):a>=100?v.toFixed(2):v.toPrecision(4);}
 return String(v);}
function cmp(a,b){var an=a===null||a===undefined||a==='',bn=b===null||b===undefined||b==='';
 if(an||bn)return an===bn?0:(an?1:-1);return a<b?-1:a>b?1:0;}
function table(id,cols,rows){
 var t=document.getElementById(id);if(!t)return;var head=t.createTHead().insertRow();
 var body=t.createTBody();var sortCol=-1,dir=1;
 cols.forEach(function(c,i){var th=document.createElement('th');th.textContent=c;
  th.onclick=function(){dir=(sortCol===i)?-dir:1;sortCol=i;
   head.querySelectorAll('th').forEach(function(h){h.className='';});
   th.className=dir>0?'asc':'desc';
   rows.sort(function(a,b){var r=cmp(a[i],b[i]);return (a[i]===null||b[i]===null)?r:dir*r;});
   fill();};head.appendChild(th);});
 function fill(){var h=[];rows.forEach(function(r){h.push('<tr>');r.forEach(function(v,i){
  var s=fmt(v,cols[i]).replace(/&/g,'&amp;').replace(/</g,'&lt;').replace(/"/g,'&quot;');
  var cls=cols[i]==='error'?' class="err" title="'+s+'"':'';
  h.push('<td'+cls+'>'+s+'</td>');});h.push('</tr>');});
  body.innerHTML=h.join('');}
 fill();}
table('runs',D.columns,D.rows);
if(D.windows)table('windows',D.windows.columns,D.windows.rows);
var cfg={responsive:true,displaylogo:false};
if(D.curves&&D.curves.data.length)Plotly.newPlot('curves',D.curves.data,D.curves.layout,cfg);
if(D.wf_chart)Plotly.newPlot('wf-chart',D.wf_chart.data,D.wf_chart.layout,cfg);
var hx=document.getElementById('hx'),hy=document.getElementById('hy'),
 hm=document.getElementById('hm'),ha=document.getElementById('ha');
if(!hx||D.params.length<2)return;
function opts(sel,items,pick){items.forEach(function(p){var o=document.createElement('option');
 o.value=o.textContent=p;sel.appendChild(o);});sel.value=pick;}
opts(hx,D.params,D.params[0]);opts(hy,D.params,D.params[1]);opts(hm,D.metrics,D.metrics[0]);
function uniq(vals){var u=Array.from(new Set(vals));u.sort(function(a,b){return cmp(a,b);});
 return u;}
function draw(){var xi=D.columns.indexOf(hx.value),yi=D.columns.indexOf(hy.value),
 mi=D.columns.indexOf(hm.value),si=D.columns.indexOf('status');
 var higher=D.lower.indexOf(hm.value)<0;if(hm.value==='objective')higher=D.maximize;
 var pi=D.columns.indexOf('phase');
 var ok=D.rows.filter(function(r){return r[si]==='ok'&&r[mi]!==null&&(pi<0||r[pi]==='is');});
 var xs=uniq(ok.map(function(r){return r[xi];})),ys=uniq(ok.map(function(r){return r[yi];}));
 var acc={};ok.forEach(function(r){var k=xs.indexOf(r[xi])+','+ys.indexOf(r[yi]);
  var a=acc[k]||(acc[k]={best:null,sum:0,n:0});var v=r[mi];a.sum+=v;a.n+=1;
  if(a.best===null||(higher?v>a.best:v<a.best))a.best=v;});
 var z=ys.map(function(_,j){return xs.map(function(_,i){var a=acc[i+','+j];
  if(!a)return null;return ha.value==='mean'?a.sum/a.n:a.best;});});
 Plotly.react('heatmap',[{type:'heatmap',x:xs.map(String),y:ys.map(String),z:z,
  colorscale:'Viridis',reversescale:!higher,
  hovertemplate:hx.value+'=%{x}<br>'+hy.value+'=%{y}<br>'+hm.value+'=%{z}<extra></extra>'}],
  {height:520,margin:{l:70,r:20,t:10,b:50},xaxis:{type:'category',title:{text:hx.value}},
   yaxis:{type:'category',title:{text:hy.value}}},cfg);}
[hx,hy,hm,ha].forEach(function(s){s.onchange=draw;});draw();
})();
"""


def _cards(items: Sequence[tuple[str, str]]) -> str:
    cells = "".join(
        f'<div class="card"><div class="k">{escape(k)}</div><div class="v">{escape(v)}</div></div>'
        for k, v in items
    )
    return f'<div class="cards">{cells}</div>'


def _table_rows(outcome: SweepOutcome) -> tuple[list[str], list[list[Any]], int]:
    cols = [c for c in outcome.columns if c not in HIDDEN]
    ranked = sorted(
        outcome.rows, key=lambda r: outcome.objective.sort_key(r.get("objective"), r["run"])
    )
    shown = ranked[:MAX_TABLE_ROWS]
    return cols, [[_clean(r.get(c)) for c in cols] for r in shown], len(ranked)


def render(outcome: SweepOutcome, title: str, walkforward: WalkForwardView | None = None) -> str:
    cols, rows, total = _table_rows(outcome)
    obj = outcome.objective
    best = outcome.best
    metrics = ["objective"] + [
        c for c in cols if outcome.columns[c] in (int, float) and c not in outcome.params
    ]
    metrics = list(dict.fromkeys(m for m in metrics if m not in ("run", "window")))
    curves = [
        _line(_label(next(r for r in outcome.rows if r["run"] == run), outcome.params), c)
        for run, c in sorted(
            outcome.curves.items(),
            key=lambda kv: obj.sort_key(
                next(r for r in outcome.rows if r["run"] == kv[0]).get("objective"), kv[0]
            ),
        )
    ]
    data: dict[str, Any] = {
        "columns": cols,
        "rows": rows,
        "params": outcome.params,
        "metrics": metrics,
        "lower": sorted(LOWER_IS_BETTER),
        "maximize": obj.maximize,
        "curves": {"data": curves, "layout": _layout("Equity")},
    }
    sections = []
    if walkforward is not None:
        wf_rows = [[_clean(w.get(c)) for c in walkforward.columns] for w in walkforward.windows]
        data["windows"] = {"columns": walkforward.columns, "rows": wf_rows}
        if len(walkforward.equity):
            data["wf_chart"] = {
                "data": [_line("stitched out-of-sample", (walkforward.ts, walkforward.equity))],
                "layout": _layout("Equity (out of sample)"),
            }
        sections.append(
            "<section><h2>Walk-forward: stitched out-of-sample equity</h2>"
            '<div id="wf-chart"></div><p class="note">Each window runs the best in-sample '
            "parameters on the bars that follow, starting flat; the segments are compounded."
            "</p></section>"
            '<section><h2>Windows</h2><div class="scroll"><table id="windows"></table></div>'
            "</section>"
        )
    if curves:
        sections.append(
            f"<section><h2>Equity of the best {len(curves)} runs by {escape(obj.name)}</h2>"
            '<div id="curves"></div></section>'
        )
    if len(outcome.params) >= 2:
        sections.append(
            "<section><h2>Heatmap</h2>"
            '<label>x<select id="hx"></select></label><label>y<select id="hy"></select></label>'
            '<label>metric<select id="hm"></select></label>'
            '<label>over other parameters<select id="ha"><option value="best">best</option>'
            '<option value="mean">mean</option></select></label><div id="heatmap"></div>'
            '<p class="note">Successful (in-sample) runs only; cells without one are blank.</p>'
            "</section>"
        )
    note = (
        f"Showing the best {len(rows):,} of {total:,} runs; the CSV/Parquet files hold all."
        if total > len(rows)
        else "Click a column to sort."
    )
    sections.append(
        f'<section><h2>Runs</h2><div class="scroll"><table id="runs"></table></div>'
        f'<p class="note">{escape(note)}</p></section>'
    )
    direction = "higher" if obj.maximize else "lower"
    cards = [
        ("Runs", f"{len(outcome.rows):,} of {outcome.planned:,}"),
        ("Errors", f"{outcome.errors:,}"),
    ]
    if walkforward is None:
        cards += [
            (
                f"Best {obj.name} ({direction} is better)",
                fmt_value(best["objective"]) if best else "—",
            ),
            ("Best parameters", _label(best, outcome.params) if best else "—"),
        ]
    else:
        s = walkforward.summary
        cards += [
            ("Windows", f"{len(walkforward.windows):,}"),
            ("Out-of-sample return", fmt_pct(s.get("total_return"))),
            ("Out-of-sample Sharpe", fmt_ratio(s.get("sharpe"))),
            ("Out-of-sample max drawdown", fmt_pct(s.get("max_drawdown"))),
        ]
    cards.append(("Executor", f"{outcome.executor} × {outcome.workers}"))
    if outcome.interrupted:
        cards.append(("Status", "interrupted (finish with --resume)"))
    return "".join(
        [
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width,initial-scale=1">',
            f"<title>{escape(title)}</title><style>{_CSS}</style>",
            '<script type="text/javascript">',
            _plotly_js(),
            "</script></head><body><main>",
            f"<h1>{escape(title)}</h1>",
            _cards(cards),
            *sections,
            '</main><script type="application/json" id="sweep-data">',
            _json(data),
            "</script><script>",
            _JS,
            "</script></body></html>\n",
        ]
    )


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_sweep_report(
    path: Path, outcome: SweepOutcome, title: str, walkforward: WalkForwardView | None = None
) -> None:
    page = render(outcome, title, walkforward)
    _write_atomic(path, page)
    log.info("report written to %s (%.1f MB)", path, len(page.encode()) / 1e6)
