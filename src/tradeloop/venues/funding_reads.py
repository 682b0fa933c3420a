"""Push-signalled funding reads, written once (the venue kit, rule 9 of ``venues/base.py``).

OKX (``funding_fee``), Bitfinex (a ``Funding Event`` wallet update) and Binance
(``ACCOUNT_UPDATE`` ``FUNDING_FEE``) push that funding settled but not the payment: its id
and amount are only in a REST history. Each gateway therefore reads that history when told,
and the three did it the same way, so the way lives here: :class:`FundingReads` reads from
the newest payment delivered less a look-back (the venue's clock is not ours), hands on each
new payment, runs one read at a time with at most one more queued (a settlement pushes once
per position: twenty positions need not cost twenty reads), and reads again after a few
waits when the history does not show the settlement yet (a venue may push before it lists
the row, or the read may fail); then it says so in one warning line and leaves the payment
to the catch-up after the next reconnect or start-up. The venue keeps the paging and parsing
(the ``fetch`` it passes in).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import KW_ONLY, dataclass, field
from typing import Any

from tradeloop.core.errors import VenueError
from tradeloop.core.log import get_logger
from tradeloop.model import FundingPaid

log = get_logger(__name__)

#: waits (s) before each further read of a settlement the history does not show yet
RETRY_S: tuple[float, ...] = (1.0, 3.0, 10.0, 30.0)


@dataclass(eq=False)
class FundingReads:
    """Reads ``fetch(since_ns)`` (payments at or after ``since_ns``, oldest first) when
    :meth:`poke`\\ d and hands each payment to ``emit`` (the gateway's ``emit_funding``:
    True when not delivered before). ``since_ns`` gives the newest payment delivered;
    ``spawn(coro, name)`` runs a task the gateway drains and closes (the lifecycle's
    ``run_later``)."""

    venue: str
    fetch: Callable[[int], Awaitable[list[FundingPaid]]]
    emit: Callable[[FundingPaid], bool]
    since_ns: Callable[[], int]
    spawn: Callable[[Coroutine[Any, Any, None], str], None]
    _: KW_ONLY
    #: how far before the newest payment delivered (and a push's settlement time) a read
    #: starts: the venue stamps payments with its clock
    lookback_ns: int
    #: waits before each further read; empty: one read per poke
    retry_s: tuple[float, ...] = RETRY_S
    _queued: bool = field(default=False, init=False)
    _settled_ns: int | None = field(default=None, init=False)  # the newest pushed, not read
    _busy: bool = field(default=False, init=False)

    @property
    def busy(self) -> bool:
        """Whether a read is running or waiting to retry."""
        return self._busy

    def poke(self, settled_ns: int | None = None) -> None:
        """A push said funding settled (at ``settled_ns``, the venue's time, when it says).
        With a time, the read is done once a payment of that settlement (at or after it less
        the look-back) is in the answer, delivered before or not; without, once a payment not
        delivered before is."""
        self._queued = True
        if settled_ns is not None:
            self._settled_ns = max(self._settled_ns or 0, settled_ns)
        if not self._busy:
            self._busy = True
            self.spawn(self._run(), f"{self.venue}-funding-push")

    async def _run(self) -> None:
        try:
            while self._queued:
                self._queued = False
                settled, self._settled_ns = self._settled_ns, None
                await self._read(settled)
        finally:
            self._busy = False

    async def _read(self, settled_ns: int | None) -> None:
        """One push's read, again after each of :attr:`retry_s` until it finds what the push
        announced; then one warning line."""
        why = ""
        for wait in (0.0, *self.retry_s):
            if wait > 0:
                await asyncio.sleep(wait)
            since = self.since_ns() - self.lookback_ns
            if settled_ns is not None:
                since = min(since, settled_ns - self.lookback_ns)
            try:
                payments = await self.fetch(max(0, since))
            except (VenueError, OSError) as exc:
                why = f"the read failed ({exc})"
                continue
            new = False
            for p in payments:
                if self.emit(p):
                    new = True
                    log.info("%s: funding %s paid %.12g %s on %s (id %s)", self.venue,
                             p.symbol, p.amount, p.ccy, p.position, p.payment_id)  # fmt: skip
            if settled_ns is None and new:
                return
            if settled_ns is not None and any(
                p.ts >= settled_ns - self.lookback_ns for p in payments
            ):
                return
            why = "the history lists no payment of it"
        at = "" if settled_ns is None else f" at {settled_ns // 1_000_000} ms"
        log.warning("%s: funding pushed%s: %s after %d reads; the next reconnect or start-up "
                    "reads it", self.venue, at, why, 1 + len(self.retry_s))  # fmt: skip
