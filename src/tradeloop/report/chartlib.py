"""The price chart component, shared by the live dashboard and the backtest report.

One component draws a strategy everywhere: TradingView Lightweight Charts (the standalone
build from an installed package, never a CDN or a copy in this repo) driven by tradeloop's
``static/chart.js`` (``TLChart``: candles, fills as markers, strategy marks, lines and
indicator series). The dashboard serves both files; the report inlines them. This module sits
below both, so neither imports the other.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from importlib import resources
from pathlib import Path


def chart_library() -> Path | None:
    """The standalone Lightweight Charts build from an installed package, if any
    (``TRADELOOP_LIGHTWEIGHT_CHARTS`` names another file)."""
    env = os.environ.get("TRADELOOP_LIGHTWEIGHT_CHARTS")
    candidates: list[Path] = [Path(env)] if env else []
    spec = importlib.util.find_spec("lightweight_charts")
    if spec is not None and spec.submodule_search_locations:
        for loc in spec.submodule_search_locations:
            candidates.append(Path(loc) / "js" / "lightweight-charts.js")
    candidates.append(
        Path("node_modules/lightweight-charts/dist/lightweight-charts.standalone.production.js")
    )
    return next((c for c in candidates if c.is_file()), None)


@functools.cache
def chart_component() -> str:
    """``chart.js``: the TLChart/TLLine classes on top of the library."""
    return resources.files("tradeloop.report").joinpath("static", "chart.js").read_text("utf-8")
