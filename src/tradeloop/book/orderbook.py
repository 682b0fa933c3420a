"""L2 order book that keeps each level's price and size *text* exactly as received.

Venue checksums (OKX, Bitfinex) are computed over the wire strings, so a book that stored only
floats could not verify them ("0.10" and "0.1" are the same float, different CRCs). Each level
is stored as ``"price_text:size_text"`` — the exact piece an OKX-style checksum string is made
of, so verifying after every message is one join, not a re-format — in a list kept aligned with
a sorted list of float prices. A delta is one bisect into a few hundred floats plus a list
insert/delete/assignment, and the best ``n`` levels (checksum, top of book) are one C-level
slice: no per-level dict lookups (float keys re-hash on every lookup) on the read side.

The core operations take each level twice, as a text pair and a float pair (anything with
``px``/``sz`` attributes): decoders such as msgspec can produce both in C, leaving no per-level
string parsing or formatting to Python on the hot path. ``apply_snapshot`` / ``apply_deltas``
accept plain ``[px, sz, ...]`` string lists for everyone else.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from typing import NamedTuple, Protocol

Level = Sequence[str]  # [price_text, size_text, ...extra venue fields]
TextLevel = tuple[str, str]
FloatLevels = tuple[list[tuple[float, float]], list[tuple[float, float]]]

_INF = float("inf")


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
    """One side of the book as two aligned arrays sorted by price, ascending on both sides:
    ``_keys`` (float prices) and ``_vals`` (``"px:sz"`` text as received), each ending with a
    sentinel (``+inf`` / ``""``). The best ask is at the front, the best bid just before the
    sentinel, so reading the top ``n`` is one C-level slice either way. Every delta is one
    bisect; the sentinel means ``keys[i]`` always exists, so "is this price in the book?" is a
    single comparison (no length check, no dict of float keys to hash)."""

    __slots__ = ("_is_bid", "_keys", "_vals")

    def __init__(self, is_bid: bool) -> None:
        self._is_bid = is_bid
        self._keys: list[float] = [_INF]  # prices ascending, then the +inf sentinel
        self._vals: list[str] = [""]  # "px:sz" as received, aligned with _keys

    def clear(self) -> None:
        self._keys = [_INF]
        self._vals = [""]

    def load(self, texts: Sequence[TextPair], floats: Sequence[FloatPair]) -> None:
        """Replace the side (zero sizes skipped; a repeated price keeps its last level);
        ``texts[i]`` and ``floats[i]`` are the same level."""
        d = {f.px: f"{t.px}:{t.sz}" for t, f in zip(texts, floats, strict=True) if f.sz}
        keys = sorted(d)
        vals = list(map(d.__getitem__, keys))
        keys.append(_INF)
        vals.append("")
        self._keys, self._vals = keys, vals

    def update(self, texts: Sequence[TextPair], floats: Sequence[FloatPair]) -> None:
        """Apply deltas in order: set each level's size, a zero size deletes the price."""
        keys = self._keys
        vals = self._vals
        for t, f in zip(texts, floats, strict=True):
            px = f.px
            i = bisect_left(keys, px)
            if f.sz:
                if keys[i] == px:
                    vals[i] = f"{t.px}:{t.sz}"
                else:
                    keys.insert(i, px)
                    vals.insert(i, f"{t.px}:{t.sz}")
            elif keys[i] == px:
                del keys[i]
                del vals[i]

    def __len__(self) -> int:
        return len(self._keys) - 1

    def _best_index(self) -> int:
        return len(self._keys) - 2 if self._is_bid else 0

    def best(self) -> tuple[float, float] | None:
        if len(self._keys) == 1:
            return None
        i = self._best_index()
        return self._keys[i], _size(self._vals[i])

    def top_joined(self, n: int) -> list[str]:
        """Best ``n`` levels, best first, as ``"px:sz"`` strings (checksum building blocks)."""
        v = self._vals
        if self._is_bid:
            return v[-2 : -2 - n : -1]
        return v[:n] if len(v) > n else v[:-1]

    def top_text(self, n: int) -> list[TextLevel]:
        return [_split(v) for v in self.top_joined(n)]

    def top(self, n: int) -> list[tuple[float, float]]:
        k = self._keys
        keys = k[-2 : -2 - n : -1] if self._is_bid else (k[:n] if len(k) > n else k[:-1])
        return list(zip(keys, map(_size, self.top_joined(n)), strict=True))

    def size_at(self, price: float) -> float:
        keys = self._keys
        i = bisect_left(keys, price)
        return _size(self._vals[i]) if keys[i] == price and price != _INF else 0.0


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
