"""External (market) liquidity for L2 mode: the replayed or live public book of one symbol.

Sizes consumed by our taker orders are taken out of the local copy, so the same displayed
liquidity cannot be traded twice; the next snapshot or delta for that price (absolute sizes)
restores the venue's view.
"""

from __future__ import annotations

from bisect import bisect_left, insort

from tradeloop.model import BookLevels


class ExternalBook:
    """Price -> size per side, plus ascending price lists for best-first walks."""

    __slots__ = ("ask_px", "asks", "bid_px", "bids", "has_data")

    def __init__(self) -> None:
        self.bids: dict[float, float] = {}
        self.asks: dict[float, float] = {}
        self.bid_px: list[float] = []  # ascending; best bid is the last
        self.ask_px: list[float] = []  # ascending; best ask is the first
        self.has_data = False

    def apply(self, update: BookLevels) -> None:
        if update.snapshot:
            self.bids = {p: s for p, s in update.bids if s > 0}
            self.asks = {p: s for p, s in update.asks if s > 0}
            self.bid_px = sorted(self.bids)
            self.ask_px = sorted(self.asks)
        else:
            for p, s in update.bids:
                _set(self.bids, self.bid_px, p, s)
            for p, s in update.asks:
                _set(self.asks, self.ask_px, p, s)
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
        left = side.get(price, 0.0) - qty
        _set(side, self.bid_px if is_bid else self.ask_px, price, left if left > 1e-12 else 0.0)

    def levels(self, is_bid: bool, depth: int) -> list[tuple[float, float]]:
        if is_bid:
            return [(p, self.bids[p]) for p in reversed(self.bid_px[-depth:])] if depth else []
        return [(p, self.asks[p]) for p in self.ask_px[:depth]]

    def walk(self, is_bid: bool) -> list[float]:
        """Prices best-first (a copy: callers consume levels while walking)."""
        return self.bid_px[::-1] if is_bid else self.ask_px[:]


def _set(side: dict[float, float], prices: list[float], price: float, size: float) -> None:
    if size > 0:
        if price not in side:
            insort(prices, price)
        side[price] = size
    elif side.pop(price, None) is not None:
        i = bisect_left(prices, price)
        if i < len(prices) and prices[i] == price:
            del prices[i]
