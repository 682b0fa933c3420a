"""L2 order book that keeps each level's price and size *text* exactly as received.

Venue checksums (OKX, Bitfinex) are computed over the wire strings, so a book that stored only
floats could not verify them ("0.10" and "0.1" are the same float, different CRCs). Levels are
therefore stored as ``price -> "price_text:size_text"`` (the exact piece an OKX/Bitfinex-style
checksum string is made of, so verifying after every message is a join, not a re-format) with
the float price as the key, and a sorted list of float keys per side gives ordered access.
Inserting a new price is a bisect into a list of a few hundred floats — far cheaper than
re-sorting, and deletes are the same.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Sequence

Level = Sequence[str]  # [price_text, size_text, ...extra venue fields]
TextLevel = tuple[str, str]
FloatLevels = tuple[list[tuple[float, float]], list[tuple[float, float]]]


class _Side:
    """One side of the book. Prices are keyed *signed* (bids negated) so ascending key order is
    best-first on both sides and the same code serves both; the dict and the sorted key list
    use the same signed key, so reading the top is a C-level ``map`` over the key list."""

    __slots__ = ("_keys", "_levels", "_sign")

    def __init__(self, is_bid: bool) -> None:
        self._sign = -1.0 if is_bid else 1.0
        self._levels: dict[float, str] = {}  # signed price -> "px:sz" as received
        self._keys: list[float] = []  # signed prices, ascending = best first

    def clear(self) -> None:
        self._levels.clear()
        self._keys.clear()

    def load(
        self, levels: Sequence[Level], parsed: list[tuple[float, float]] | None = None
    ) -> list[tuple[float, float]]:
        """Replace the side; returns the levels as (price, size) floats (``parsed``, when the
        caller already has them, saves parsing the strings again)."""
        if parsed is None:
            parsed = [(float(lv[0]), float(lv[1])) for lv in levels]
        self.load_joined([lv[0] + ":" + lv[1] for lv in levels], parsed)
        return parsed

    def load_joined(self, joined: Sequence[str], parsed: Sequence[tuple[float, float]]) -> None:
        """Replace the side from ``"px:sz"`` texts and their aligned (price, size) floats."""
        sign = self._sign
        self._levels = {sign * p: j for j, (p, q) in zip(joined, parsed, strict=True) if q != 0.0}
        self._keys = sorted(self._levels)

    def update(
        self, levels: Sequence[Level], parsed: list[tuple[float, float]] | None = None
    ) -> list[tuple[float, float]]:
        """Apply deltas (size 0 deletes); returns them as (price, size) floats so a caller
        publishing the delta does not parse the strings twice (or passes ``parsed`` itself,
        e.g. floats msgspec already decoded, aligned with ``levels``)."""
        if parsed is None:
            parsed = [(float(lv[0]), float(lv[1])) for lv in levels]
        self.update_joined([lv[0] + ":" + lv[1] for lv in levels], parsed)
        return parsed

    def update_joined(self, joined: Sequence[str], parsed: Sequence[tuple[float, float]]) -> None:
        """Apply deltas given as ``"px:sz"`` texts and their aligned (price, size) floats —
        the hot path: no string parsing or formatting in Python at all."""
        d = self._levels
        keys = self._keys
        sign = self._sign
        for j, (p, q) in zip(joined, parsed, strict=True):
            k = sign * p
            if q == 0.0:
                if d.pop(k, None) is not None:
                    i = bisect_left(keys, k)
                    if i < len(keys) and keys[i] == k:
                        del keys[i]
            else:
                if k not in d:
                    insort(keys, k)
                d[k] = j

    def __len__(self) -> int:
        return len(self._keys)

    def best(self) -> tuple[float, float] | None:
        if not self._keys:
            return None
        k = self._keys[0]
        return self._sign * k, _size(self._levels[k])

    def top_joined(self, n: int) -> list[str]:
        """Best ``n`` levels as ``"px:sz"`` strings (checksum building blocks)."""
        return list(map(self._levels.__getitem__, self._keys[:n]))

    def top_text(self, n: int) -> list[TextLevel]:
        return [_split(v) for v in self.top_joined(n)]

    def top(self, n: int) -> list[tuple[float, float]]:
        d, sign = self._levels, self._sign
        return [(sign * k, _size(d[k])) for k in self._keys[:n]]

    def size_at(self, price: float) -> float:
        lv = self._levels.get(self._sign * price)
        return _size(lv) if lv else 0.0


def _split(joined: str) -> TextLevel:
    px, _, sz = joined.partition(":")
    return px, sz


def _size(joined: str) -> float:
    return float(joined.partition(":")[2])


class OrderBook:
    """Price-level book for one instrument. Not thread-safe (one event loop owns it)."""

    __slots__ = ("asks", "bids", "symbol")

    def __init__(self, symbol: str = "") -> None:
        self.symbol = symbol
        self.bids = _Side(is_bid=True)
        self.asks = _Side(is_bid=False)

    def clear(self) -> None:
        self.bids.clear()
        self.asks.clear()

    def apply_snapshot(
        self, bids: Sequence[Level], asks: Sequence[Level], parsed: FloatLevels | None = None
    ) -> FloatLevels:
        """Replace the whole book (zero-size levels in a snapshot are ignored). Returns the
        levels as (price, size) floats; ``parsed`` supplies them pre-parsed."""
        if parsed is None:
            return self.bids.load(bids), self.asks.load(asks)
        return self.bids.load(bids, parsed[0]), self.asks.load(asks, parsed[1])

    def apply_deltas(
        self, bids: Sequence[Level], asks: Sequence[Level], parsed: FloatLevels | None = None
    ) -> FloatLevels:
        """Set each level's size; a size of zero deletes the price. Returns the deltas as
        (price, size) floats; ``parsed`` supplies them pre-parsed."""
        if parsed is None:
            return self.bids.update(bids), self.asks.update(asks)
        return self.bids.update(bids, parsed[0]), self.asks.update(asks, parsed[1])

    def apply_joined(
        self,
        snapshot: bool,
        bids: Sequence[str],
        asks: Sequence[str],
        parsed: FloatLevels,
    ) -> None:
        """Fast path for decoders that already split each level into a ``"px:sz"`` text and a
        (price, size) float pair (see ``venues/okx/ws.py``)."""
        if snapshot:
            self.bids.load_joined(bids, parsed[0])
            self.asks.load_joined(asks, parsed[1])
        else:
            self.bids.update_joined(bids, parsed[0])
            self.asks.update_joined(asks, parsed[1])

    def best_bid(self) -> tuple[float, float] | None:
        return self.bids.best()

    def best_ask(self) -> tuple[float, float] | None:
        return self.asks.best()

    def mid(self) -> float | None:
        b, a = self.bids.best(), self.asks.best()
        return (b[0] + a[0]) / 2.0 if b and a else None

    def top(self, n: int) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        """Best ``n`` levels per side as floats (bids descending, asks ascending)."""
        return self.bids.top(n), self.asks.top(n)

    def top_text(self, n: int) -> tuple[list[TextLevel], list[TextLevel]]:
        """Best ``n`` levels per side as the original (price, size) strings."""
        return self.bids.top_text(n), self.asks.top_text(n)

    def top_joined(self, n: int) -> tuple[list[str], list[str]]:
        """Best ``n`` levels per side as ``"px:sz"`` strings exactly as received."""
        return self.bids.top_joined(n), self.asks.top_joined(n)

    def is_crossed(self) -> bool:
        b, a = self.bids.best(), self.asks.best()
        return bool(b and a and b[0] >= a[0])

    def __repr__(self) -> str:
        return (
            f"OrderBook({self.symbol!r}, bids={len(self.bids)}, asks={len(self.asks)}, "
            f"best={self.best_bid()}/{self.best_ask()})"
        )
