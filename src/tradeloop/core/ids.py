"""Client order ids: short, alphanumeric (OKX allows ≤32 [A-Za-z0-9]) and unique per run.

Backtests use a fixed prefix so ids — and so the trades fingerprint — are deterministic; live
sessions add a time-based prefix so ids never collide with a previous session's orders.
"""

from __future__ import annotations

import time


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if not n:
            return out


class IdGenerator:
    __slots__ = ("_prefix", "_n")

    def __init__(self, prefix: str = "tl") -> None:
        self._prefix = prefix
        self._n = 0

    @classmethod
    def live(cls) -> IdGenerator:
        return cls("tl" + _base36(time.time_ns() // 1_000_000))

    def next(self) -> str:
        self._n += 1
        return f"{self._prefix}{self._n}"
