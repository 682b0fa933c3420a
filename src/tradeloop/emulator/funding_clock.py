"""When an emulator settles perpetual funding: the boundary grid and the loop that keeps it.

Every venue emulated here settles funding on fixed wall-clock times -- multiples of its
interval since the epoch, shifted by an offset on some venues -- and advertises the next one
(``fundingTime``, ``NEXT_FUNDING_EVT_MTS``, ``nextFundingTime``). The emulators each had the
same arithmetic and the same wait-settle-reschedule loop; they share these instead, so what is
advertised and what happens come from one function, and a fix to the loop (a stall, a failing
round) is made once. :func:`settle_rounded` is the one step of a settlement they also shared:
the wallet moves by the amount the venue's record shows (rounded), not by the float behind
it. The rest (rates, prices, records, pushes) stays with each venue's emulator.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from tradeloop.emulator.feed import now_ms

if TYPE_CHECKING:
    from tradeloop.emulator.account import SimAccount

log = logging.getLogger(__name__)


def period_ms(interval_s: float) -> int:
    """A configured funding interval (``funding_interval_s``) in ms; 0 (also for a negative
    one): no timed settlement, only the direct calls tests make."""
    return max(0, round(interval_s * 1000))


def next_funding_ms(t_ms: int, interval_ms: int, offset_ms: int = 0) -> int:
    """The first time strictly after ``t_ms`` on the grid ``offset_ms + k * interval_ms``
    (epoch-aligned when the offset is 0: 00:00/08:00/16:00 UTC for 8 h)."""
    off = offset_ms % interval_ms
    return ((t_ms - off) // interval_ms + 1) * interval_ms + off


def settle_rounded(
    account: SimAccount, symbol: str, settle: str, rate: float, price: float, dp: int = 8
) -> float:
    """Settle ``symbol``'s funding at ``rate`` and ``price`` and round what was paid to the
    ``dp`` decimals the venue records, the ``settle`` wallet moving by exactly that: the
    payment (positive: paid; 0: nothing to record)."""
    paid = account.settle_funding(symbol, rate, price)
    exact = round(paid, dp)
    account.sim.account.credit(settle, paid - exact)
    return exact


async def settle_on_boundaries(
    interval_ms: int,
    settle: Callable[[int], object],
    venue: str,
    offset_ms: int = 0,
) -> None:
    """Call ``settle(boundary_ms)`` once per boundary of the grid, forever (run it as a task).
    Wall clock, because the advertised times are; a boundary missed while the loop stalled is
    settled once, late, and the schedule moves on; a round that raises is logged and the
    next boundary still settles."""
    due = next_funding_ms(now_ms(), interval_ms, offset_ms)
    while True:
        wait_ms = due - now_ms()
        if wait_ms > 0:
            await asyncio.sleep(wait_ms / 1000)
            continue
        try:
            settle(due)
        except Exception:  # one bad round must not stop the schedule
            log.exception("%s emulator: funding settlement failed", venue)
        due = next_funding_ms(max(due, now_ms()), interval_ms, offset_ms)
