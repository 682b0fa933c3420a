"""L2 order book that keeps each level's price and size *text* exactly as received.

Venue checksums (OKX, Bitfinex) are computed over the wire strings, so a book that stored only
floats could not verify them ("0.10" and "0.1" are the same float, different CRCs). Levels are
therefore stored as ``price -> (price_text, size_text)`` with the float price as the key, and a
sorted list of float keys per side gives ordered access. Inserting a new price is a bisect into
a list of a few hundred floats — far cheaper than re-sorting, and deletes are the same.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Sequence

Level = Sequence[str]  # [price_text, size_text, ...extra venue fields]
TextLevel = tuple[str, str]


class _Side:
    """One side of the book. Keys are stored so that ascending order = best first (bids are
    negated), which lets both sides share the same code."""

    __slots__ = ("_keys", "_levels", "_sign")

    def __init__(self, is_bid: bool) -> None:
        self._sign = -1.0 if is_bid else 1.0
        self._levels: dict[float, TextLevel] = {}
        self._keys: list[float] = []

    def clear(self) -> None:
        self._levels.clear()
        self._keys.clear()

    def load(self, levels: Iterable[Level]) -> None:
        self.clear()
        d = self._levels
        for lv in levels:
            px, sz = lv[0], lv[1]
            if float(sz) != 0.0:
                d[float(px)] = (px, sz)
        sign = self._sign
        self._keys = sorted(sign * p for p in d)

    def update(self, levels: Iterable[Level]) -> None:
        d = self._levels
        keys = self._keys
        sign = self._sign
        for lv in levels:
            px, sz = lv[0], lv[1]
            p = float(px)
            if float(sz) == 0.0:
                if d.pop(p, None) is not None:
                    k = sign * p
                    i = bisect_left(keys, k)
                    if i < len(keys) and keys[i] == k:
                        del keys[i]
            else:
                if p not in d:
                    insort(keys, sign * p)
                d[p] = (px, sz)

    def __len__(self) -> int:
        return len(self._keys)

    def best(self) -> tuple[float, float] | None:
        if not self._keys:
            return None
        p = self._sign * self._keys[0]
        return p, float(self._levels[p][1])

    def top_text(self, n: int) -> list[TextLevel]:
        d, sign = self._levels, self._sign
        return [d[sign * k] for k in self._keys[:n]]

    def top(self, n: int) -> list[tuple[float, float]]:
        d, sign = self._levels, self._sign
        out = []
        for k in self._keys[:n]:
            p = sign * k
            out.append((p, float(d[p][1])))
        return out

    def size_at(self, price: float) -> float:
        lv = self._levels.get(price)
        return float(lv[1]) if lv else 0.0


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

    def apply_snapshot(self, bids: Iterable[Level], asks: Iterable[Level]) -> None:
        """Replace the whole book (zero-size levels in a snapshot are ignored)."""
        self.bids.load(bids)
        self.asks.load(asks)

    def apply_deltas(self, bids: Iterable[Level], asks: Iterable[Level]) -> None:
        """Set each level's size; a size of zero deletes the price."""
        self.bids.update(bids)
        self.asks.update(asks)

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

    def is_crossed(self) -> bool:
        b, a = self.bids.best(), self.asks.best()
        return bool(b and a and b[0] >= a[0])

    def __repr__(self) -> str:
        return (
            f"OrderBook({self.symbol!r}, bids={len(self.bids)}, asks={len(self.asks)}, "
            f"best={self.best_bid()}/{self.best_ask()})"
        )
