"""The report's plotly figure, built as a plain dict (no plotly Python objects).

Building the JSON ourselves keeps the report fast and its size predictable: every series is
downsampled with :func:`~tradeloop.report.downsample.minmax_indices` before it is serialised,
fills are thinned evenly, times are sent as epoch milliseconds (plotly's native date unit, far
shorter than ISO strings) and non-finite numbers become ``null``.

One figure with stacked rows sharing a single x axis, so zooming into a period zooms every
panel (equity, drawdown, price with trade marks, position) together.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tradeloop.model.enums import Side
from tradeloop.model.events import Fill
from tradeloop.report.downsample import even_indices, minmax_indices
from tradeloop.report.stats import drawdown, finite_forward_filled

BUY_COLOUR = "#16a34a"
SELL_COLOUR = "#dc2626"
LINE_COLOUR = "#2563eb"


@dataclass(frozen=True, slots=True)
class ChartSummary:
    """What the page should tell the reader about thinning."""

    point_limit: int  # the per-series cap used
    longest_series: int  # the longest series as given
    fills_marked: int
    fills_total: int  # fills in the charted symbol


def _floats(a: npt.NDArray[np.float64]) -> list[float | None]:
    return [v if math.isfinite(v) else None for v in a.tolist()]


def _ms(ts: npt.NDArray[np.int64]) -> list[int]:
    return (ts // 1_000_000).tolist()


def _line(
    ts: npt.NDArray[np.int64], y: npt.NDArray[np.float64], max_points: int
) -> tuple[list[int], list[float | None]]:
    idx = minmax_indices(y, max_points)
    return _ms(ts[idx]), _floats(y[idx])


def _fill_label(f: Fill) -> str:
    who = f" ({f.strategy_id})" if f.strategy_id else ""
    return f"{f.side.value} {f.qty:g} @ {f.price:g}{who}"


def _fill_traces(fills: Sequence[Fill], max_marks: int) -> tuple[list[dict[str, object]], int]:
    """Buy/sell triangle traces from (already symbol-filtered, time-ordered) fills."""
    keep = even_indices(len(fills), max_marks)
    shown = [fills[i] for i in keep.tolist()]
    traces: list[dict[str, object]] = []
    for side, symbol, colour in (
        (Side.BUY, "triangle-up", BUY_COLOUR),
        (Side.SELL, "triangle-down", SELL_COLOUR),
    ):
        fs = [f for f in shown if f.side is side]
        if not fs:
            continue
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": side.value,
                "x": [f.ts // 1_000_000 for f in fs],
                "y": [f.price if math.isfinite(f.price) else None for f in fs],
                "text": [_fill_label(f) for f in fs],
                "hovertemplate": "%{text}<extra></extra>",
                "marker": {
                    "symbol": symbol,
                    "size": 9,
                    "color": colour,
                    "line": {"width": 0.5, "color": "#111"},
                },
                "xaxis": "x",
                "yaxis": "y3",
            }
        )
    return traces, len(shown)


def build_figure(
    ts: npt.ArrayLike,
    equity: npt.ArrayLike,
    position: npt.ArrayLike | None,
    price_symbol: str,
    price_ts: npt.ArrayLike | None,
    price_close: npt.ArrayLike | None,
    fills: Sequence[Fill],
    max_points: int = 4000,
    max_fill_marks: int = 2000,
) -> tuple[dict[str, object], ChartSummary]:
    """Figure dict (``data`` + ``layout``) and a summary of how much was thinned.

    Fills are marked on the price panel when their symbol is ``price_symbol`` (all fills when it
    is empty). Panels without data are left out.
    """
    t = np.asarray(ts, dtype=np.int64)
    eq = np.asarray(equity, dtype=np.float64)
    traces: list[dict[str, object]] = []
    rows: list[tuple[str, str, float]] = []  # (yaxis id, title, relative height)
    given = [len(eq)]

    def add_line(y_id: str, x: list[int], y: list[float | None], **extra: object) -> None:
        traces.append(
            {"type": "scatter", "mode": "lines", "x": x, "y": y, "xaxis": "x", "yaxis": y_id}
            | extra
        )

    if len(eq):
        x, y = _line(t, eq, max_points)
        add_line("y", x, y, name="equity", line={"color": LINE_COLOUR, "width": 1.5})
        rows.append(("y", "Equity", 3.0))
        dd_pct = 0.0 - drawdown(finite_forward_filled(eq)) * 100.0  # 0.0 - 0.0 is +0.0, not -0.0
        x, y = _line(t, dd_pct, max_points)
        add_line(
            "y2", x, y, name="drawdown %", fill="tozeroy", line={"color": SELL_COLOUR, "width": 1}
        )
        rows.append(("y2", "Drawdown %", 1.5))

    n_fills_total = n_marked = 0
    if price_ts is not None and price_close is not None and len(np.asarray(price_close)):
        pt = np.asarray(price_ts, dtype=np.int64)
        pc = np.asarray(price_close, dtype=np.float64)
        given.append(len(pc))
        x, y = _line(pt, pc, max_points)
        add_line("y3", x, y, name=price_symbol or "price", line={"color": "#475569", "width": 1})
        rows.append(("y3", f"{price_symbol} price".strip(), 3.0))
        marked = sorted(
            (f for f in fills if not price_symbol or f.symbol == price_symbol), key=lambda f: f.ts
        )
        n_fills_total = len(marked)
        fill_traces, n_marked = _fill_traces(marked, max_fill_marks)
        traces.extend(fill_traces)

    if position is not None and len(eq):
        pos = np.asarray(position, dtype=np.float64)
        given.append(len(pos))
        x, y = _line(t[: len(pos)], pos[: len(t)], max_points)
        add_line("y4", x, y, name="position", line={"color": "#7c3aed", "width": 1, "shape": "hv"})
        rows.append(("y4", "Position", 1.5))

    layout = _layout(rows)
    summary = ChartSummary(max_points, max(given), n_marked, n_fills_total)
    return {"data": traces, "layout": layout}, summary


def _layout(rows: list[tuple[str, str, float]]) -> dict[str, object]:
    """Stack the rows top to bottom with small gaps; one date x axis along the bottom."""
    gap = 0.03
    total = sum(h for _, _, h in rows) or 1.0
    usable = 1.0 - gap * max(0, len(rows) - 1)
    layout: dict[str, object] = {
        "height": 220 + 170 * len(rows),
        "margin": {"l": 70, "r": 20, "t": 20, "b": 40},
        "hovermode": "x unified",
        "showlegend": False,
        "plot_bgcolor": "#ffffff",
        "paper_bgcolor": "#ffffff",
        "font": {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12},
    }
    top = 1.0
    bottom_axis = "y"
    for y_id, title, h in rows:
        bottom = max(0.0, top - usable * h / total)
        key = "yaxis" + y_id[1:]
        layout[key] = {
            "domain": [round(bottom, 4), round(top, 4)],
            "title": {"text": title},
            "anchor": "x",
            "gridcolor": "#e5e7eb",
            "zeroline": False,
        }
        bottom_axis = y_id
        top = bottom - gap
    layout["xaxis"] = {
        "type": "date",
        "anchor": bottom_axis,
        "gridcolor": "#e5e7eb",
        "showspikes": True,
        "spikemode": "across",
        "spikethickness": 1,
    }
    return layout
