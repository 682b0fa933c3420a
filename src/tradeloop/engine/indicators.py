"""Streaming indicators: O(1) per update, so they cost the same on bar 10 as on bar 10 million."""

from __future__ import annotations

import math


class SMA:
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
