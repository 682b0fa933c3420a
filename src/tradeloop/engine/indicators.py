"""Streaming indicators: O(1) per update, so they cost the same on bar 10 as on bar 10 million.

Every indicator has ``update(x) -> value | None`` (None while warming up) and ``.value``.
``SMA`` and ``EMA`` are tradeloop's own: the moving averages most strategies call on every
bar, measured faster than the library's (``bench/backtest_indicators.py``: 2-3x). Any other
name comes from talipp through :class:`~tradeloop.engine.ta.TA` —
``indicators.RSI(14)``, ``indicators.ATR(14)`` (fed bars), ``indicators.BB(20, 2.0)`` — so
the library, not this module, is where indicator formulas live.
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Any, Final


class PySMA:
    """Simple moving average over the last ``n`` values; ``value`` is None until warm.

    A ring buffer with a running sum. Each time the ring wraps, the sum is recomputed exactly
    (``math.fsum``) so float drift can never build up over millions of updates; that costs one
    O(n) pass per n updates, i.e. O(1) amortised.
    """

    __slots__ = ("_i", "_ring", "_sum", "n", "value")

    def __init__(self, n: int) -> None:
        if n < 1:
            raise ValueError("SMA period must be >= 1")
        self.n = n
        self._ring = [0.0] * n
        self._i = 0
        self._sum = 0.0
        self.value: float | None = None

    def update(self, x: float) -> float | None:
        i = self._i
        ring = self._ring
        s = self._sum + x - ring[i]
        ring[i] = x
        i += 1
        if i == self.n:
            i = 0
            s = math.fsum(ring)
            self.value = s / self.n  # marks the average warm from here on
        elif self.value is not None:
            self.value = s / self.n
        self._i = i
        self._sum = s
        return self.value


def _compiled_sma() -> Any:
    """The C SMA (``_cind.c``: the same float operations in the same order, so the same
    numbers), or None when it was not built or ``TRADELOOP_PURE_PYTHON`` is set."""
    if os.environ.get("TRADELOOP_PURE_PYTHON"):
        return None
    try:
        from tradeloop.engine import _cind
    except ImportError:  # installed without a C compiler: the Python class is used
        return None
    return _cind.SMA


CSMA = _compiled_sma()
if TYPE_CHECKING:
    SMA = PySMA
else:
    #: what strategies get: the C class when built (about 5x faster per update), else Python
    SMA = CSMA if CSMA is not None else PySMA
#: which SMA ``SMA`` is: ``"c"`` or ``"python"``
SMA_IMPLEMENTATION: Final = "c" if CSMA is not None else "python"


class EMA:
    """Exponential moving average, ``alpha = 2 / (n + 1)``, seeded with the SMA of the first
    ``n`` values (the usual convention, and talipp's); ``value`` is None until then."""

    __slots__ = ("_a", "_b", "_seed", "n", "value")

    def __init__(self, n: int) -> None:
        if n < 1:
            raise ValueError("EMA period must be >= 1")
        self.n = n
        self._a = 2.0 / (n + 1.0)
        self._b = 1.0 - self._a
        self._seed: list[float] | None = []
        self.value: float | None = None

    def update(self, x: float) -> float | None:
        v = self.value
        if v is not None:
            v = self._a * x + self._b * v
            self.value = v
            return v
        seed = self._seed
        assert seed is not None
        seed.append(x)
        if len(seed) == self.n:
            self.value = math.fsum(seed) / self.n
            self._seed = None
        return self.value


def __getattr__(name: str) -> Any:
    """Any other indicator name is talipp's, wrapped (``indicators.RSI(14)``)."""
    if name.startswith("_"):
        raise AttributeError(name)
    from tradeloop.engine.ta import TA, _talipp_class

    try:
        _talipp_class(name)
    except (AttributeError, ImportError):
        raise AttributeError(f"module {__name__!r} has no indicator {name!r}") from None

    def make(*args: Any, **kwargs: Any) -> TA:
        return TA(name, *args, **kwargs)

    make.__name__ = make.__qualname__ = name
    make.__doc__ = f"talipp's {name} behind tradeloop's update() API (see engine.ta)."
    return make
