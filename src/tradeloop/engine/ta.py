"""talipp's incremental indicators behind tradeloop's one-call ``update`` API.

Strategies get ~60 maintained indicators (RSI, ATR, Bollinger bands, MACD, Stochastics ...)
without tradeloop growing its own zoo: ``indicators.RSI(14)`` builds a :class:`TA` around
``talipp.indicators.RSI(14)``. What the wrapper adds is what a long backtest and a live
process need:

* **one call per bar**: ``update(x)`` takes a float or a :class:`~tradeloop.model.Bar` (a bar
  is fed as OHLCV to indicators that want it, as its close to the others) and returns the
  latest value, ``None`` while the indicator warms up — the same contract as tradeloop's own
  SMA/EMA, so a strategy can swap one for the other;
* **bounded memory**: talipp keeps every input and output for its whole life (5M bars of RSI
  hold three 5M-element lists); the wrapper drops the oldest values once ``2 × history`` are
  held (``purge_oldest``), amortised O(1), so memory stays flat. ``history`` must cover the
  longest look-back of the indicator (default 2048 bars).

talipp is imported on first use only: a run without these indicators does not pay for it.
"""

from __future__ import annotations

import importlib
from typing import Any

from tradeloop.model import Bar

#: values kept by default; an indicator never looks further back than this
HISTORY = 2048


def _talipp_class(name: str) -> type[Any]:
    mod = importlib.import_module("talipp.indicators")
    cls = getattr(mod, name, None)
    if not isinstance(cls, type) or name.startswith("_") or name == "Indicator":
        raise AttributeError(f"no indicator named {name!r} in talipp")
    return cls


def _wants_ohlcv(cls: type[Any]) -> bool:
    # talipp documents each indicator's input in its docstring ("Input type: `float`" or
    # "Input type: [OHLCV][talipp.ohlcv.OHLCV]"); that is the only place it is recorded
    doc = cls.__doc__ or ""
    line = next((ln for ln in doc.splitlines() if "Input type" in ln), "")
    return "OHLCV" in line


class TA:
    """One talipp indicator, fed one value (or bar) at a time; see the module docstring."""

    __slots__ = ("_ind", "_limit", "_ohlcv", "_ohlcv_cls", "history", "name", "value")

    def __init__(self, name: str, *args: Any, history: int = HISTORY, **kwargs: Any) -> None:
        cls = _talipp_class(name)
        if history < 16:
            raise ValueError("history must be at least 16 values")
        self.name = name
        self._ind = cls(*args, **kwargs)
        self._ohlcv = _wants_ohlcv(cls)
        self._ohlcv_cls = importlib.import_module("talipp.ohlcv").OHLCV
        self.history = history
        self._limit = 2 * history
        #: the latest output (a float, or a talipp value tuple such as ``BBVal``); None = warm-up
        self.value: Any = None

    @property
    def indicator(self) -> Any:
        """The wrapped talipp object (for its own API: sub-values, ``remove`` ...)."""
        return self._ind

    def update(self, x: float | Bar) -> Any:
        """Feed one value (a close, or a whole bar) and return the latest output."""
        if isinstance(x, Bar):
            x = (
                self._ohlcv_cls(x.open, x.high, x.low, x.close, x.volume, x.ts)
                if self._ohlcv
                else x.close
            )
        elif self._ohlcv:
            raise TypeError(f"{self.name} needs bars (OHLCV), got {type(x).__name__}")
        ind = self._ind
        ind.add(x)
        if len(ind.input_values) >= self._limit:
            ind.purge_oldest(len(ind.input_values) - self.history)
        self.value = ind.output_values[-1]
        return self.value

    def __repr__(self) -> str:
        return f"TA({self.name}, value={self.value!r})"
