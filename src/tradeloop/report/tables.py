"""HTML tables for the report: statistics, per-strategy PnL, key/value (params, info).

All text goes through :func:`html.escape`: strategy names and params come from users' configs
and must never be able to inject markup into a report someone else opens.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from html import escape

from tradeloop.report.stats import Stats

NA = "—"  # shown for statistics that are None (not computable from the data)

STRATEGY_COLUMNS = ("realized", "unrealized", "fees", "total")


def fmt_pct(x: float | None) -> str:
    return NA if x is None or not math.isfinite(x) else f"{x * 100:.2f}%"


def fmt_ratio(x: float | None) -> str:
    return NA if x is None or not math.isfinite(x) else f"{x:.3f}"


#: currencies counted in cents; any other is shown with 8 decimals (crypto units)
FIAT_LIKE = frozenset({"USD", "USDT", "USDC", "BUSD", "TUSD", "DAI", "FDUSD", "EUR", "GBP"})


def money_decimals(ccy: str) -> int:
    return 2 if ccy.upper() in FIAT_LIKE else 8


def fmt_amount(x: float, ccy: str) -> str:
    """``x`` to ``ccy``'s precision, never ``-0.00``: a BTC amount of 0.00041 is
    ``0.00041000``, not ``0.00``."""
    d = money_decimals(ccy)
    v = round(float(x), d)
    if v == 0:
        v = 0.0
    return f"{v:,.{d}f}"


def fmt_money(x: float | None, ccy: str = "") -> str:
    """An amount: to ``ccy``'s precision when the currency is known, else two decimals."""
    if x is None or not math.isfinite(x):
        return NA
    return fmt_amount(x, ccy) if ccy else f"{x:,.2f}"


def fmt_ts(ns: int | None) -> str:
    if ns is None:
        return NA
    t = _dt.datetime.fromtimestamp(ns / 1e9, tz=_dt.UTC)
    return t.strftime("%Y-%m-%d %H:%M:%S UTC")


def fmt_duration(ns: int) -> str:
    """Compact human duration: '12d 3h', '4h 5m', '37s'."""
    s = max(0, int(ns // 1_000_000_000))
    d, s = divmod(s, 86_400)
    h, s = divmod(s, 3_600)
    m, s = divmod(s, 60)
    if d:
        return f"{d}d {h}h"
    if h:
        return f"{h}h {m}m"
    if m:
        return f"{m}m {s}s"
    return f"{s}s"


def fmt_value(v: object) -> str:
    """Generic cell text for params/info values."""
    if isinstance(v, bool) or v is None:
        return str(v)
    if isinstance(v, float):
        return f"{v:,.6g}" if math.isfinite(v) else str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, Mapping | list | tuple):
        return json.dumps(v, default=str, sort_keys=isinstance(v, Mapping))
    return str(v)


def _sign(x: float | None) -> str:
    """CSS class colouring a signed number: 'pos', 'neg' or '' for zero/unknown."""
    if x is None or not math.isfinite(x) or x == 0:
        return ""
    return "pos" if x > 0 else "neg"


def _num_class(x: float | None) -> str:
    return f"num {_sign(x)}".rstrip()


def _sign_class(x: float | None) -> str:
    cls = _sign(x)
    return f' class="{cls}"' if cls else ""


def stats_rows(s: Stats, ccy: str = "") -> list[tuple[str, str, float | None]]:
    """(label, text, signed value for colouring or None) in display order; amounts to
    ``ccy``'s precision when given."""
    dd_dur = fmt_duration(s.max_drawdown_duration_ns)
    if s.max_drawdown > 0 and not s.max_drawdown_recovered:
        dd_dur += " (not recovered)"
    return [
        ("Start", fmt_ts(s.start_ts), None),
        ("End", fmt_ts(s.end_ts), None),
        ("Periods", f"{s.n_periods:,}", None),
        ("Initial equity", fmt_money(s.initial_equity, ccy), None),
        ("Final equity", fmt_money(s.final_equity, ccy), None),
        ("Total return", fmt_pct(s.total_return), s.total_return),
        ("CAGR", fmt_pct(s.cagr), s.cagr),
        ("Annualised volatility", fmt_pct(s.volatility), None),
        ("Sharpe ratio", fmt_ratio(s.sharpe), s.sharpe),
        ("Sortino ratio", fmt_ratio(s.sortino), s.sortino),
        ("Max drawdown", fmt_pct(s.max_drawdown), -s.max_drawdown),
        ("Max drawdown duration", dd_dur, None),
        ("Calmar ratio", fmt_ratio(s.calmar), s.calmar),
        ("Round trips", f"{s.n_round_trips:,}", None),
        ("Fills", f"{s.n_fills:,}", None),
        ("Win rate", fmt_pct(s.win_rate), None),
        ("Profit factor", fmt_ratio(s.profit_factor), None),
        ("Average trade PnL", fmt_money(s.avg_trade_pnl, ccy), s.avg_trade_pnl),
        ("Exposure", fmt_pct(s.exposure), None),
        ("Total fees", fmt_money(s.total_fees, ccy), None),
    ]


def stats_table(s: Stats, ccy: str = "") -> str:
    body = "".join(
        f"<tr><th>{escape(label)}</th><td{_sign_class(v)}>{escape(text)}</td></tr>"
        for label, text, v in stats_rows(s, ccy)
    )
    return f'<table class="kv" id="stats-table"><tbody>{body}</tbody></table>'


def _num(row: Mapping[str, object], key: str) -> float:
    v = row.get(key, 0.0)
    try:
        x = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
    return x if math.isfinite(x) else 0.0


def strategy_table(rows: Sequence[Mapping[str, object]], ccy: str = "") -> str:
    """Per-strategy PnL with a total row. Missing/garbled numbers count as 0 rather than breaking
    the report; ``total`` defaults to realized + unrealized - fees when absent."""
    head = "".join(f"<th>{c}</th>" for c in ("Strategy", "Realized", "Unrealized", "Fees", "Total"))
    head += "<th>Fills</th>"
    sums = dict.fromkeys(STRATEGY_COLUMNS, 0.0)
    fills_sum = 0
    body: list[str] = []
    for row in rows:
        vals = {c: _num(row, c) for c in STRATEGY_COLUMNS}
        if "total" not in row:
            vals["total"] = vals["realized"] + vals["unrealized"] - vals["fees"]
        n_fills = int(_num(row, "fills"))
        for c in STRATEGY_COLUMNS:
            sums[c] += vals[c]
        fills_sum += n_fills
        body.append(_strategy_row(str(row.get("strategy", "")), vals, n_fills, "td", ccy))
    if not rows:
        body.append('<tr><td colspan="6" class="muted">no strategies reported</td></tr>')
    foot = _strategy_row("Total", sums, fills_sum, "th", ccy)
    return (
        f'<table class="grid" id="strategy-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody><tfoot>{foot}</tfoot></table>"
    )


def _strategy_row(
    name: str, vals: Mapping[str, float], n_fills: int, cell: str, ccy: str = ""
) -> str:
    # fees are a cost, not a signed result: never coloured as a gain
    cells = "".join(
        f'<td class="{_num_class(vals[c] if c != "fees" else None)}">{fmt_money(vals[c], ccy)}</td>'
        for c in STRATEGY_COLUMNS
    )
    name_cell = f'<{cell} class="name">{escape(name)}</{cell}>'
    return f'<tr>{name_cell}{cells}<td class="num">{n_fills:,}</td></tr>'


def kv_table(items: Iterable[tuple[str, object]], table_id: str) -> str:
    rows = "".join(
        f"<tr><th>{escape(str(k))}</th><td>{escape(fmt_value(v))}</td></tr>" for k, v in items
    )
    if not rows:
        rows = '<tr><td class="muted">none</td></tr>'
    return f'<table class="kv" id="{escape(table_id)}"><tbody>{rows}</tbody></table>'
