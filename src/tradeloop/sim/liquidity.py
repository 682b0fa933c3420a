"""External (market) liquidity for L2 mode: the replayed or live public book of one symbol.

Sizes consumed by our taker orders are taken out of the local copy, so the same displayed
liquidity cannot be traded twice; the next snapshot or delta for that price (absolute sizes)
restores the venue's view.

The venue's own view is kept too, at almost no cost: a consumed level remembers the size the
venue still shows there (``bid_taken`` / ``ask_taken``) until the venue next sets that price.
So :meth:`ExternalBook.venue_top` gives the top of book a live gateway would publish without a
second copy of the book (a tick replay used to apply every message to two books).
"""

from __future__ import annotations

import os
from bisect import bisect_left, insort
from typing import Any, Final

from tradeloop.model import BookLevels

#: (best bid, its size, best ask, its size) as the venue shows them
Top = tuple[float, float, float, float]


class ExternalBook:
    """Price -> size per side, plus ascending price lists for best-first walks."""

    __slots__ = ("ask_px", "ask_taken", "asks", "bid_px", "bid_taken", "bids", "has_data")

    def __init__(self) -> None:
        self.bids: dict[float, float] = {}
        self.asks: dict[float, float] = {}
        self.bid_px: list[float] = []  # ascending; best bid is the last
        self.ask_px: list[float] = []  # ascending; best ask is the first
        #: price -> the venue's size at a level our orders consumed (until the venue sets it)
        self.bid_taken: dict[float, float] = {}
        self.ask_taken: dict[float, float] = {}
        self.has_data = False

    def apply(self, update: BookLevels) -> None:
        if update.snapshot:
            self.bids = {p: s for p, s in update.bids if s > 0}
            self.asks = {p: s for p, s in update.asks if s > 0}
            self.bid_px = sorted(self.bids)
            self.ask_px = sorted(self.asks)
            self.bid_taken.clear()
            self.ask_taken.clear()
        else:  # the hot path of a tick replay: in C when built (same operations)
            c = _c_apply_levels
            bids, asks = update.bids, update.asks
            if c is None or not c(self.bids, self.bid_px, self.bid_taken, bids):
                _apply_levels(self.bids, self.bid_px, self.bid_taken, bids)
            if c is None or not c(self.asks, self.ask_px, self.ask_taken, asks):
                _apply_levels(self.asks, self.ask_px, self.ask_taken, asks)
        self.has_data = True

    def best_bid(self) -> float | None:
        return self.bid_px[-1] if self.bid_px else None

    def best_ask(self) -> float | None:
        return self.ask_px[0] if self.ask_px else None

    def size(self, is_bid: bool, price: float) -> float:
        return (self.bids if is_bid else self.asks).get(price, 0.0)

    def consume(self, is_bid: bool, price: float, qty: float) -> None:
        """Take ``qty`` off a level (our order traded with it)."""
        side = self.bids if is_bid else self.asks
        before = side.get(price, 0.0)
        if before > 0:
            (self.bid_taken if is_bid else self.ask_taken).setdefault(price, before)
        left = before - qty
        level = [(price, left if left > 1e-12 else 0.0)]
        _apply_levels(side, self.bid_px if is_bid else self.ask_px, {}, level)

    def venue_top(self) -> Top | None:
        """The venue's best bid and ask with their sizes (what it displays, our consumption
        not taken off), or None while a side is empty."""
        bid_px, ask_px = self.bid_px, self.ask_px
        if not (self.bid_taken or self.ask_taken):
            if bid_px and ask_px:
                b, a = bid_px[-1], ask_px[0]
                return b, self.bids[b], a, self.asks[a]
            return None
        bp: float | None = max(self.bid_taken, default=None)
        if bid_px and (bp is None or bid_px[-1] > bp):
            bp = bid_px[-1]
        ap: float | None = min(self.ask_taken, default=None)
        if ask_px and (ap is None or ask_px[0] < ap):
            ap = ask_px[0]
        if bp is None or ap is None:
            return None
        bs = self.bid_taken.get(bp)
        as_ = self.ask_taken.get(ap)
        return (
            bp,
            bs if bs is not None else self.bids[bp],
            ap,
            as_ if as_ is not None else self.asks[ap],
        )

    def levels(self, is_bid: bool, depth: int) -> list[tuple[float, float]]:
        if is_bid:
            return [(p, self.bids[p]) for p in reversed(self.bid_px[-depth:])] if depth else []
        return [(p, self.asks[p]) for p in self.ask_px[:depth]]

    def walk(self, is_bid: bool) -> list[float]:
        """Prices best-first (a copy: callers consume levels while walking)."""
        return self.bid_px[::-1] if is_bid else self.ask_px[:]


def _apply_levels(
    side: dict[float, float],
    prices: list[float],
    taken: dict[float, float],
    levels: list[tuple[float, float]],
) -> bool:
    """One side of a delta (the reference of ``_clevels.apply_levels``): the venue sets each
    level, so what our fills took there is forgotten; a size > 0 sets it, else removes it."""
    if taken:
        for p, _s in levels:
            taken.pop(p, None)
    for p, s in levels:
        if s > 0:
            if p not in side:
                insort(prices, p)
            side[p] = s
        elif side.pop(p, None) is not None:
            i = bisect_left(prices, p)
            if i < len(prices) and prices[i] == p:
                del prices[i]
    return True


def _compiled() -> Any:
    """``_clevels.apply_levels``, or None when not built or ``TRADELOOP_PURE_PYTHON`` is set."""
    if os.environ.get("TRADELOOP_PURE_PYTHON"):
        return None
    try:
        from tradeloop.sim import _clevels
    except ImportError:  # installed without a C compiler: the Python loop is used
        return None
    return _clevels.apply_levels


_c_apply_levels = _compiled()
#: which delta step ``ExternalBook.apply`` uses: ``"c"`` or ``"python"``
LEVELS_IMPLEMENTATION: Final = "c" if _c_apply_levels is not None else "python"
