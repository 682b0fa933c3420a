"""L2 order book that keeps each level's price and size *text* exactly as received.

Venue checksums (OKX, Bitfinex) are computed over the wire strings, so a book that stored only
floats could not verify them ("0.10" and "0.1" are the same float, different CRCs).

A book is two sides. Each side exists twice with one behaviour:

* :class:`PySide` — the pure-Python reference, always available;
* ``tradeloop.book._cbook.BookSide`` — the same in C (built at install time when a compiler
  is present), several times faster on the hot path (a stream applies ~25 levels and checks a
  checksum per message). The tests run both on the same inputs and compare every output.

:data:`IMPLEMENTATION` says which one :class:`OrderBook` uses; ``TRADELOOP_PURE_PYTHON=1``
forces the reference.

A side takes levels as ``[price_text, size_text, ...]`` sequences or as objects with ``px`` and
``sz`` text attributes (what the OKX decoder produces), parses each price and size once, and
returns the levels as ``(price, size)`` floats, which is what book events carry.
"""

from __future__ import annotations

import math
import os
import zlib
from bisect import bisect_left
from collections.abc import Sequence
from operator import attrgetter
from typing import Any, Final, Protocol

import msgspec

Level = Any  # [price_text, size_text, ...] or an object with .px / .sz text attributes
TextLevel = tuple[str, str]
FloatLevel = tuple[float, float]
FloatLevels = tuple[list[FloatLevel], list[FloatLevel]]

_INF = float("inf")


class BookSideLike(Protocol):
    """What both side implementations provide."""

    @property
    def is_bid(self) -> bool: ...

    def load(self, levels: Sequence[Level], /) -> list[FloatLevel]: ...

    def update(self, levels: Sequence[Level], /) -> list[FloatLevel]: ...

    def clear(self) -> None: ...

    def best(self) -> FloatLevel | None: ...

    def top(self, n: int, /) -> list[FloatLevel]: ...

    def top_text(self, n: int, /) -> list[TextLevel]: ...

    def size_at(self, price: float, /) -> float: ...

    def __len__(self) -> int: ...


def _number(text: object, what: str) -> float:
    if type(text) is not str:
        raise TypeError(f"book level {what} must be a str, got {text!r}")
    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if not math.isfinite(v) or not text.isascii() or text != text.strip() or "_" in text:
        raise ValueError(f"book level {what} is not a finite number: {text!r}")
    return v


def _texts(level: Level) -> tuple[object, object]:
    if type(level) is list or type(level) is tuple:
        if len(level) < 2:
            raise ValueError(f"book level needs [price, size], got {level!r}")
        return level[0], level[1]
    try:
        return level.px, level.sz
    except AttributeError:
        raise TypeError(
            f"book level must be [price, size, ...] or have .px/.sz, got {level!r}"
        ) from None


_Parsed = tuple[list[float], list[float], list[str]]  # prices, sizes, "px:sz" texts


def _parse_checked(levels: Sequence[Level]) -> _Parsed:
    """Level by level, with the exact error the C side raises for the first bad level."""
    pxs, szs, texts = [], [], []
    for lv in levels:
        pt, st = _texts(lv)
        px, sz = _number(pt, "price"), _number(st, "size")
        if sz < 0.0:
            raise ValueError(f"book level size is negative: {st!r}")
        pxs.append(px)
        szs.append(sz)
        texts.append(f"{pt}:{st}")
    return pxs, szs, texts


_get_px, _get_sz = attrgetter("px"), attrgetter("sz")


_floats_decoder = msgspec.json.Decoder(list[float])


def _floats(texts: list[str], joined: str) -> list[float]:
    """``list(map(float, texts))``, faster: float() costs ~200 ns a number here, msgspec's
    parser (also correctly rounded) a fraction of that. Texts that are not JSON numbers, and
    anything with a minus sign (msgspec reads "-0" as 0.0, float() as -0.0), use float()."""
    if "-" not in joined:
        try:
            nums = _floats_decoder.decode(f"[{','.join(texts)}]")
        except msgspec.DecodeError:
            pass
        else:
            if len(nums) == len(texts):  # a text with a comma in it would not be one number
                return nums
    return list(map(float, texts))


def _parse(levels: Sequence[Level]) -> _Parsed:
    """Levels → (price, size, "px:sz"), checked as the C side checks them.

    The common case (every text a clean ASCII decimal) runs as C-level ``map`` calls over the
    whole batch; anything unusual takes :func:`_parse_checked`, which finds and reports it."""
    if not levels:
        return [], [], []
    try:
        if type(levels[0]) is list or type(levels[0]) is tuple:
            pts, sts = [lv[0] for lv in levels], [lv[1] for lv in levels]
        else:
            pts, sts = list(map(_get_px, levels)), list(map(_get_sz, levels))
        texts = pts + sts
        joined = "".join(texts)  # TypeError unless every text is a str
        # float() also accepts whitespace, "_" and non-ASCII digits; the C side does not.
        if joined.isascii() and joined.isprintable() and " " not in joined and "_" not in joined:
            nums = _floats(texts, joined)
            n = len(pts)
            pxs, szs = nums[:n], nums[n:]
            if math.isfinite(sum(pxs) + sum(szs)) and min(szs) >= 0.0:
                return pxs, szs, list(map(":".join, zip(pts, sts, strict=True)))
    except (TypeError, ValueError, IndexError, AttributeError):
        pass
    return _parse_checked(levels)


class PySide:
    """One side as two aligned lists sorted by price ascending: ``_keys`` (float prices) and
    ``_vals`` (``"px:sz"`` text as received), each ending with a sentinel (``+inf`` / ``""``)
    so ``keys[bisect(...)]`` always exists. The best ask is first, the best bid just before
    the sentinel. Input is parsed and checked before anything changes, so a bad level leaves
    the side as it was."""

    __slots__ = ("_is_bid", "_keys", "_vals")

    def __init__(self, is_bid: bool) -> None:
        self._is_bid = bool(is_bid)
        self._keys: list[float] = [_INF]
        self._vals: list[str] = [""]

    @property
    def is_bid(self) -> bool:
        return self._is_bid

    def clear(self) -> None:
        self._keys = [_INF]
        self._vals = [""]

    def load(self, levels: Sequence[Level], /) -> list[FloatLevel]:
        """Replace the side with ``levels`` applied in order (zero sizes delete)."""
        pxs, szs, texts = _parse(levels)
        d: dict[float, str] = {}
        for px, sz, text in zip(pxs, szs, texts, strict=True):
            if sz:
                d[px] = text
            else:
                d.pop(px, None)
        keys = sorted(d)
        vals = list(map(d.__getitem__, keys))
        keys.append(_INF)
        vals.append("")
        self._keys, self._vals = keys, vals
        return list(zip(pxs, szs, strict=True))

    def update(self, levels: Sequence[Level], /) -> list[FloatLevel]:
        """Apply deltas in order: set each level's size, a zero size deletes the price."""
        pxs, szs, texts = _parse(levels)
        keys, vals = self._keys, self._vals
        for px, sz, text in zip(pxs, szs, texts, strict=True):
            i = bisect_left(keys, px)
            if sz:
                if keys[i] == px:
                    vals[i] = text
                else:
                    keys.insert(i, px)
                    vals.insert(i, text)
            elif keys[i] == px:
                del keys[i]
                del vals[i]
        return list(zip(pxs, szs, strict=True))

    def __len__(self) -> int:
        return len(self._keys) - 1

    def best(self) -> FloatLevel | None:
        if len(self._keys) == 1:
            return None
        i = len(self._keys) - 2 if self._is_bid else 0
        return self._keys[i], _size(self._vals[i])

    def top_joined(self, n: int) -> list[str]:
        """Best ``n`` levels, best first, as ``"px:sz"`` (checksum building blocks)."""
        v = self._vals
        n = max(n, 0)
        if self._is_bid:
            return v[-2 : -2 - n : -1]
        return v[:n] if len(v) > n else v[:-1]

    def top_text(self, n: int, /) -> list[TextLevel]:
        return [_split(v) for v in self.top_joined(n)]

    def top(self, n: int, /) -> list[FloatLevel]:
        k = self._keys
        n = max(n, 0)
        keys = k[-2 : -2 - n : -1] if self._is_bid else (k[:n] if len(k) > n else k[:-1])
        return list(zip(keys, map(_size, self.top_joined(n)), strict=True))

    def size_at(self, price: float, /) -> float:
        keys = self._keys
        i = bisect_left(keys, price)
        return _size(self._vals[i]) if keys[i] == price and price != _INF else 0.0


def _split(joined: str) -> TextLevel:
    px, _, sz = joined.partition(":")
    return px, sz


def _size(joined: str) -> float:
    return float(joined.partition(":")[2])


def py_okx_checksum(bids: PySide, asks: PySide, depth: int) -> int:
    """Signed CRC32 of the top ``depth`` levels interleaved bid, ask as ``px:sz`` joined by
    ``:`` (a shorter side's missing entries are skipped) — OKX's book checksum."""
    b, a = bids.top_joined(depth), asks.top_joined(depth)
    nb, na = len(b), len(a)
    n = nb if nb < na else na
    parts = b[:n] + a[:n]
    parts[::2] = b[:n]  # interleave with C-level slice copies
    parts[1::2] = a[:n]
    parts += b[n:] if nb > n else a[n:]
    crc = zlib.crc32(":".join(parts).encode())
    return crc - 0x100000000 if crc & 0x80000000 else crc


def _compiled() -> tuple[Any, Any]:
    """The C side and checksum, or ``(None, None)`` when not built or forced off."""
    if os.environ.get("TRADELOOP_PURE_PYTHON"):
        return None, None
    try:
        from tradeloop.book import _cbook
    except ImportError:  # built without a compiler: the reference is used
        return None, None
    return _cbook.BookSide, _cbook.okx_checksum


CSide, c_okx_checksum = _compiled()

#: Which side implementation :class:`OrderBook` uses by default: ``"c"`` or ``"python"``.
IMPLEMENTATION: Final = "c" if CSide is not None else "python"


class OrderBook:
    """Price-level book for one instrument. Not thread-safe (one event loop owns it).

    ``compiled=None`` uses the C side when it is available; ``False`` forces the reference."""

    __slots__ = ("_checksum", "asks", "bids", "symbol")

    def __init__(self, symbol: str = "", *, compiled: bool | None = None) -> None:
        self.symbol = symbol
        use_c = CSide is not None if compiled is None else compiled
        if use_c and (CSide is None or c_okx_checksum is None):
            raise RuntimeError("the compiled order book (tradeloop.book._cbook) is not built")
        if use_c:
            self.bids: BookSideLike = CSide(True)
            self.asks: BookSideLike = CSide(False)
            self._checksum: Any = c_okx_checksum
        else:
            self.bids = PySide(True)
            self.asks = PySide(False)
            self._checksum = py_okx_checksum

    @property
    def compiled(self) -> bool:
        return not isinstance(self.bids, PySide)

    def clear(self) -> None:
        self.bids.clear()
        self.asks.clear()

    def apply_snapshot(self, bids: Sequence[Level], asks: Sequence[Level]) -> FloatLevels:
        """Replace the whole book (zero sizes ignored). Returns the levels as floats.

        A malformed level raises ValueError/TypeError and leaves the book empty (a
        half-replaced book would be neither the old one nor the new one)."""
        try:
            return self.bids.load(bids), self.asks.load(asks)
        except (ValueError, TypeError):
            self.clear()
            raise

    def apply_deltas(self, bids: Sequence[Level], asks: Sequence[Level]) -> FloatLevels:
        """Set each level's size (zero deletes the price). Returns the deltas as floats.

        A malformed level raises ValueError/TypeError before its side changes (the other
        side may already be updated, so the book must be rebuilt: :class:`OkxBookSync`
        resyncs)."""
        return self.bids.update(bids), self.asks.update(asks)

    def okx_checksum(self, depth: int = 25) -> int:
        """OKX's signed CRC32 over the top ``depth`` levels' text, interleaved bid/ask."""
        return int(self._checksum(self.bids, self.asks, depth))

    def best_bid(self) -> FloatLevel | None:
        return self.bids.best()

    def best_ask(self) -> FloatLevel | None:
        return self.asks.best()

    def mid(self) -> float | None:
        b, a = self.bids.best(), self.asks.best()
        return (b[0] + a[0]) / 2.0 if b and a else None

    def top(self, n: int) -> tuple[list[FloatLevel], list[FloatLevel]]:
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
