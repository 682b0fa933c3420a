"""Our resting orders on one instrument, in price-time priority.

Bids are ordered best (highest) price first, asks lowest first; equal prices by arrival
sequence. Lists + bisect: a handful to a few thousand resting orders is the realistic range, and
a sorted list keeps best-first iteration allocation-free.
"""

from __future__ import annotations

from bisect import insort

from tradeloop.model import Side
from tradeloop.sim.records import SimOrder


def _bid_key(r: SimOrder) -> tuple[float, int]:
    return (-r.price, r.seq)


def _ask_key(r: SimOrder) -> tuple[float, int]:
    return (r.price, r.seq)


class RestingBook:
    __slots__ = ("asks", "bids")

    def __init__(self) -> None:
        self.bids: list[SimOrder] = []
        self.asks: list[SimOrder] = []

    def __len__(self) -> int:
        return len(self.bids) + len(self.asks)

    def side(self, side: Side) -> list[SimOrder]:
        return self.bids if side is Side.BUY else self.asks

    def add(self, rec: SimOrder) -> None:
        if rec.side is Side.BUY:
            insort(self.bids, rec, key=_bid_key)
        else:
            insort(self.asks, rec, key=_ask_key)

    def remove(self, rec: SimOrder) -> bool:
        orders = self.side(rec.side)
        for i, r in enumerate(orders):
            if r is rec:
                del orders[i]
                return True
        return False

    def best(self, side: Side) -> SimOrder | None:
        orders = self.side(side)
        return orders[0] if orders else None

    def depth_at(self, side: Side) -> dict[float, float]:
        """Remaining size per price (for merged market data)."""
        out: dict[float, float] = {}
        for r in self.side(side):
            out[r.price] = out.get(r.price, 0.0) + r.remaining_qty
        return out
