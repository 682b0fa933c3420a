"""The external book's venue view: ``venue_top`` equals the top of a second book that only
ever receives the venue's messages, however our fills consumed the simulator's copy.

Why: a tick replay takes its quotes from ``venue_top`` instead of applying every message to a
second book (the bench's largest cost); this pins it to that plain definition.
"""

from __future__ import annotations

import random

from tradeloop.model import BookLevels
from tradeloop.sim.liquidity import ExternalBook


def _plain_top(bids: dict[float, float], asks: dict[float, float]) -> object:
    if not bids or not asks:
        return None
    b, a = max(bids), min(asks)
    return b, bids[b], a, asks[a]


def test_venue_top_equals_a_second_book_under_random_deltas_and_consumption() -> None:
    rng = random.Random(11)
    ext = ExternalBook()
    bids: dict[float, float] = {}
    asks: dict[float, float] = {}
    consumed = 0
    for step in range(20_000):
        if step % 2_000 == 0:  # a snapshot now and then
            b = [(100.0 - i * 0.5, float(rng.randint(1, 5))) for i in range(8)]
            a = [(100.5 + i * 0.5, float(rng.randint(1, 5))) for i in range(8)]
            msg = BookLevels(step, "X", b, a, True)
            bids, asks = dict(b), dict(a)
        else:
            b = [(100.0 - rng.randint(-1, 8) * 0.5, float(rng.choice((0, 0, 1, 2, 3))))
                 for _ in range(rng.randint(0, 3))]  # fmt: skip
            a = [(100.5 + rng.randint(-1, 8) * 0.5, float(rng.choice((0, 0, 1, 2, 3))))
                 for _ in range(rng.randint(0, 3))]  # fmt: skip
            msg = BookLevels(step, "X", b, a, False)
            for side, levels in ((bids, b), (asks, a)):
                for p, s in levels:
                    if s > 0:
                        side[p] = s
                    else:
                        side.pop(p, None)
        ext.apply(msg)
        assert ext.venue_top() == _plain_top(bids, asks)
        if rng.random() < 0.3:  # our order takes part or all of a top level
            is_bid = rng.random() < 0.5
            px = ext.best_bid() if is_bid else ext.best_ask()
            if px is not None:
                ext.consume(is_bid, px, ext.size(is_bid, px) * rng.choice((0.5, 1.0, 2.0)))
                consumed += 1
        assert ext.venue_top() == _plain_top(bids, asks)
    assert consumed > 1_000
