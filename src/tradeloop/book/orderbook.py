"""L2 order book that keeps each level's price and size *text* exactly as received.

Venue checksums (OKX, Bitfinex) are computed over the wire strings, so a book that stored only
floats could not verify them ("0.10" and "0.1" are the same float, different CRCs). Each level
is stored as ``"price_text:size_text"`` — the exact piece an OKX-style checksum string is made
of, so verifying after every message is one join, not a re-format — keyed by its float price.
A sorted list of those keys per side gives ordered access; inserting a new price is a bisect
into a few hundred floats, far cheaper than re-sorting, and deletes are the same.

The core operations take each level twice, as a text pair and a float pair (anything with
``px``/``sz`` attributes): decoders such as msgspec can produce both in C, leaving no per-level
string parsing or formatting to Python on the hot path. ``apply_snapshot`` / ``apply_deltas``
accept plain ``[px, sz, ...]`` string lists for everyone else.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Sequence
from typing import NamedTuple, Protocol

Level = Sequence[str]  # [price_text, size_text, ...extra venue fields]
TextLevel = tuple[str, str]
FloatLevels = tuple[list[tuple[float, float]], list[tuple[float, float]]]


class TextPair(Protocol):
    @property
    def px(self) -> str: ...

    @property
    def sz(self) -> str: ...


class FloatPair(Protocol):
    @property
    def px(self) -> float: ...

    @property
    def sz(self) -> float: ...


class Texts(NamedTuple):
    px: str
    sz: str


class Floats(NamedTuple):
    """A (price, size) float pair that is also a plain tuple (what model events carry)."""

    px: float
    sz: float


def split_levels(levels: Sequence[Level]) -> tuple[list[Texts], list[Floats]]:
    """``[px, sz, ...]`` string lists → text pairs and parsed float pairs."""
    texts = [Texts(lv[0], lv[1]) for lv in levels]
    return texts, [Floats(float(t[0]), float(t[1])) for t in texts]


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

    def load(self, texts: Sequence[TextPair], floats: Sequence[FloatPair]) -> None:
        """Replace the side (zero sizes skipped); ``texts[i]`` and ``floats[i]`` are the same
        level."""
        sign = self._sign
        self._levels = {
            sign * f.px: t.px + ":" + t.sz for t, f in zip(texts, floats, strict=True) if f.sz
        }
        self._keys = sorted(self._levels)

    def update(self, texts: Sequence[TextPair], floats: Sequence[FloatPair]) -> None:
        """Apply deltas: set each level's size, a zero size deletes the price."""
        d = self._levels
        keys = self._keys
        sign = self._sign
        for t, f in zip(texts, floats, strict=True):
            k = sign * f.px
            if f.sz == 0.0:
                if d.pop(k, None) is not None:
                    # d and keys always hold the same prices, so k is exactly at the bisect.
                    del keys[bisect_left(keys, k)]
            else:
                if k not in d:
                    insort(keys, k)
                d[k] = t.px + ":" + t.sz

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

    def apply_snapshot(self, bids: Sequence[Level], asks: Sequence[Level]) -> FloatLevels:
        """Replace the whole book from ``[px, sz, ...]`` string levels (zero sizes ignored).
        Returns the levels as (price, size) floats."""
        (bt, bf), (at, af) = split_levels(bids), split_levels(asks)
        self.apply_pairs(True, bt, bf, at, af)
        return list(bf), list(af)

    def apply_deltas(self, bids: Sequence[Level], asks: Sequence[Level]) -> FloatLevels:
        """Set each level's size (zero deletes the price). Returns the deltas as floats."""
        (bt, bf), (at, af) = split_levels(bids), split_levels(asks)
        self.apply_pairs(False, bt, bf, at, af)
        return list(bf), list(af)

    def apply_pairs(
        self,
        snapshot: bool,
        bid_texts: Sequence[TextPair],
        bid_floats: Sequence[FloatPair],
        ask_texts: Sequence[TextPair],
        ask_floats: Sequence[FloatPair],
    ) -> None:
        """The hot path: each level given as an aligned text pair and float pair."""
        if snapshot:
            self.bids.load(bid_texts, bid_floats)
            self.asks.load(ask_texts, ask_floats)
        else:
            self.bids.update(bid_texts, bid_floats)
            self.asks.update(ask_texts, ask_floats)

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
