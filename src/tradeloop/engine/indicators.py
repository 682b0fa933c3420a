"""Streaming indicators: O(1) per update, so they cost the same on bar 10 as on bar 10 million."""

from __future__ import annotations

from collections import deque


class SMA:
    """Simple moving average over the last ``n`` values; ``value`` is None until warm.

    Keeps a running sum, re-summed every ``n`` updates so float drift can't accumulate.
    """

    __slots__ = ("n", "_buf", "_sum", "_count", "value")

    def __init__(self, n: int) -> None:
        if n < 1:
            raise ValueError("SMA period must be >= 1")
        self.n = n
        self._buf: deque[float] = deque(maxlen=n)
        self._sum = 0.0
        self._count = 0
        self.value: float | None = None

    def update(self, x: float) -> float | None:
        buf = self._buf
        if len(buf) == self.n:
            self._sum += x - buf[0]
        else:
            self._sum += x
        buf.append(x)
        self._count += 1
        if self._count == self.n:
            self._count = 0
            self._sum = sum(buf)
        if len(buf) == self.n:
            self.value = self._sum / self.n
        return self.value
