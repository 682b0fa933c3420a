"""Bounded memory of venue order ids, and fills that arrive before their order is known.

Several venues push an order's fills ahead of the order update and name only the venue's order
id in a fill (FTX ``fills`` before ``orders``). Until the gateway knows which client id that
order id belongs to (its placement answer, or the order push naming it), a fill cannot be
routed. :class:`OrderIds` remembers the mapping; :class:`EarlyFills` holds such fills until the
order is known, so fills still precede the report that counts them. Both are bounded: a run that
never learns some order ids (orders placed elsewhere) must not grow without end -- the reconnect
catch-up over REST recovers what was dropped.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

from tradeloop.core.log import get_logger

log = get_logger(__name__)

T = TypeVar("T")


class OrderIds(OrderedDict[str, str]):
    """Venue order id -> the client id it was placed under, the oldest forgotten first."""

    def __init__(self, limit: int = 20_000) -> None:
        super().__init__()
        self.limit = limit

    def remember(self, venue_order_id: str, venue_client_id: str) -> None:
        self[venue_order_id] = venue_client_id
        if len(self) > self.limit:
            self.popitem(last=False)


class EarlyFills(Generic[T]):
    """Fills (any payload) held per venue order id until that order is known."""

    def __init__(self, venue: str, limit: int = 1000) -> None:
        self.venue, self.limit = venue, limit
        self._held: OrderedDict[str, list[T]] = OrderedDict()

    def hold(self, venue_order_id: str, fill: T) -> None:
        """Keep ``fill`` for later; past ``limit`` orders the oldest order's fills are dropped."""
        self._held.setdefault(venue_order_id, []).append(fill)
        if len(self._held) > self.limit:
            gone, _ = self._held.popitem(last=False)
            log.warning(
                "%s: dropped early fills of order %s (the catch-up has them)", self.venue, gone
            )

    def release(self, venue_order_id: str) -> list[T]:
        """The fills held for an order now known, oldest first (and forgets them)."""
        return self._held.pop(venue_order_id, [])

    def __len__(self) -> int:
        return len(self._held)
