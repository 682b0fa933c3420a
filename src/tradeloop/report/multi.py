"""The report of a multi-instrument run: account, per-strategy and per-instrument curves,
PnL / fees / funding per strategy and per instrument, and the trade list.

Amounts are printed to the precision of their currency (``money_decimals``): a BTC-quoted
PnL of 0.00041 shows as ``0.00041000``, not ``0.00`` (or ``-0.00``), and USDT amounts keep
two decimals. The page is self-contained (plotly.js inline) and written atomically, like the
single-instrument report.
"""

from __future__ import annotations

import os
import tempfile
from html import escape
from pathlib import Path
from typing import Any

import numpy as np

from tradeloop.report.downsample import minmax_indices
from tradeloop.report.html import _CSS, _plotly_js, _script_json
from tradeloop.report.pricechart import price_panels
from tradeloop.report.tables import FIAT_LIKE, fmt_amount, fmt_ts, money_decimals

__all__ = ["FIAT_LIKE", "fmt_amount", "money_decimals", "render_multi", "write_multi_report"]
MAX_TRADES = 5_000


def _series(ts: Any, y: Any, name: str) -> dict[str, Any]:
    y = np.asarray(y, dtype=float)
    idx = minmax_indices(y, 2000)
    t, v = np.asarray(ts, dtype=np.int64)[idx], np.nan_to_num(y[idx])
    return {"type": "scatter", "mode": "lines", "name": name,
            "x": (t // 1_000_000).tolist(), "y": [float(a) for a in v]}  # fmt: skip


def _table(head: list[str], rows: list[list[str]]) -> str:
    h = "".join(f"<th>{escape(c)}</th>" for c in head)
    body = "".join(
        "<tr>" + "".join(f'<td class="num">{escape(c)}</td>' for c in r) + "</tr>" for r in rows
    )
    return f'<table class="grid"><thead><tr>{h}</tr></thead><tbody>{body}</tbody></table>'


def render_multi(
    result: Any, summary: dict[str, Any], price_charts: list[dict[str, Any]] | None = None
) -> str:
    """The page; ``price_charts`` (:func:`~tradeloop.report.pricechart.price_chart_data`, one per
    instrument) are drawn with the live dashboard's chart component."""
    ccy = str(summary["currency"])
    ts = result.ts
    charts = {
        "account": [_series(ts, result.equity, "account equity")],
        "strategies": [_series(ts, v, k) for k, v in result.strategy_equity.items()],
        "instruments": [_series(ts, v, k) for k, v in result.instrument_pnl.items()],
    }
    layout = {"height": 320, "margin": {"l": 60, "r": 20, "t": 10, "b": 30},
              "xaxis": {"type": "date"}, "legend": {"orientation": "h"}}  # fmt: skip
    strat_rows = [
        [s["strategy"], fmt_amount(s["capital"], ccy), fmt_amount(s["realized"], ccy),
         fmt_amount(s["unrealized"], ccy), fmt_amount(s["fees"], ccy),
         fmt_amount(s["funding"], ccy), fmt_amount(s["total"], ccy), str(s["fills"])]
        for s in summary["strategies"]
    ]  # fmt: skip
    inst_rows = [
        [i["instrument"], i["kind"], f"{i['position']:g}", fmt_amount(i["pnl"], i["settle"]),
         fmt_amount(i["fees"], i["quote"]), fmt_amount(i["funding"], i["settle"]),
         str(i["liquidations"]), f"{i['settle']}"]
        for i in summary["instruments"]
    ]  # fmt: skip
    insts = result.kernel.instruments
    trades = [
        [fmt_ts(f.ts), f.symbol, f.side.value, insts[f.symbol].format_price(f.price),
         f"{f.qty:g}", fmt_amount(f.fee, f.fee_ccy), f.fee_ccy,
         "liquidation" if not f.client_order_id else f.liquidity.value]
        for f in result.fills[:MAX_TRADES]
    ]  # fmt: skip
    more = len(result.fills) - len(trades)
    blocks = []
    for name in charts:
        blocks.append(f'<section><h2>{escape(name)}</h2><div id="c-{name}"></div></section>')
    scripts = "".join(
        f'<script type="application/json" id="d-{n}">{_script_json(s)}</script>'
        for n, s in charts.items()
    )
    js = (
        "<script>(function(){var L=" + _script_json(layout) + ";"
        "['account','strategies','instruments'].forEach(function(n){"
        "var d=JSON.parse(document.getElementById('d-'+n).textContent);"
        "Plotly.newPlot('c-'+n,d,L,{responsive:true,displaylogo:false});});})();</script>"
    )
    panels = price_panels(price_charts or [])
    price_html, price_js = panels if panels is not None else ("", "")
    title = f"Backtest {summary['config']}"
    cards = (
        f"final equity {fmt_amount(summary['final_equity'], ccy)} {ccy} · initial "
        f"{fmt_amount(summary['initial_cash'], ccy)} · fills {summary['fills']} · fees "
        f"{fmt_amount(summary['fees_paid'], ccy)} · funding "
        f"{fmt_amount(summary['funding_paid'], ccy)} · liquidations {summary['liquidations']}"
    )
    return "".join([
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(title)}</title><style>{_CSS}</style>",
        '<script type="text/javascript">', _plotly_js(), "</script></head><body><main>",
        f"<h1>{escape(title)}</h1><p class='sub'>{escape(cards)}</p>", *blocks, price_html,
        "<section><h2>PnL by strategy</h2>",
        _table(["strategy", "capital", "realized", "unrealized", "fees", "funding", "total",
                "fills"], strat_rows),
        "</section><section><h2>PnL, fees and funding by instrument</h2>",
        _table(["instrument", "kind", "position", "pnl", "fees", "funding", "liquidations",
                "settle"], inst_rows),
        "</section><section><h2>Trades</h2>",
        _table(["time", "instrument", "side", "price", "qty", "fee", "fee ccy", "liquidity"],
               trades),
        f"<p class='note'>{more} more in trades.csv</p>" if more > 0 else "",
        "</section></main>", scripts, js, price_js, "</body></html>\n",
    ])  # fmt: skip


def write_multi_report(
    path: Path,
    result: Any,
    summary: dict[str, Any],
    price_charts: list[dict[str, Any]] | None = None,
) -> None:
    page = render_multi(result, summary, price_charts)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(page)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
