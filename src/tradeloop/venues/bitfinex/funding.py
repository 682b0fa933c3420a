"""Bitfinex perpetual funding payments, read from the ledger.

Bitfinex pushes no funding record: a settlement shows on the authenticated socket only as a
wallet update (``wu``) whose description is the ledger entry's (``Funding Event BTCF0:USTF0
(0.5)``) and which carries no id. The ledger (``POST /v2/auth/r/ledgers/{Currency}/hist``)
has the entry with its id, so both the push path and ``fetch_funding`` deliver payments read
from there, and the same payment always has the same id (the ledger id).

:class:`LedgerFunding` pages the ledger (newest first, at most 2500 a page) back to a time and
coalesces the reads the pushes ask for: several perpetuals settle at once, so a burst of
``wu`` costs one read while one runs and one more after it, never one each. A read that finds
nothing new (the entry not listed yet, or the read failed) is tried again a few times.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import Any

from tradeloop.core.errors import VenueError
from tradeloop.core.log import get_logger
from tradeloop.model import FundingPaid
from tradeloop.venues.bitfinex import parse as P
from tradeloop.venues.bitfinex.rest import BitfinexRestClient
from tradeloop.venues.paging import page_all

log = get_logger(__name__)

PAGE = 2500  # Bitfinex's largest ledger page
#: a push-triggered read starts this far before the newest payment delivered: the entry's
#: ``MTS`` is Bitfinex's clock, the gateway's start time (the first ``since``) its own
LOOKBACK_NS = 600 * 1_000_000_000
RETRY_S = (1.0, 3.0, 10.0, 30.0)


async def ledger_funding(
    rest: BitfinexRestClient, currency: str, since_ms: int = 0
) -> list[FundingPaid]:
    """The funding payments in ``currency``'s ledger at or after ``since_ms``, oldest first.
    Pages go back by the oldest time seen (inclusive: entries sharing it come again and are
    kept once) until a page is short or brings nothing new."""
    rows = await page_all(
        lambda end: rest.ledgers(currency, since_ms or None, end, PAGE),
        lambda page: min(int(P.f(r[3])) for r in page),
        limit=PAGE,
        key=lambda r: r[0],
    )
    out = []
    for r in rows:
        try:
            p = P.parse_funding(r)
        except (KeyError, ValueError, TypeError, IndexError) as exc:
            log.warning("Bitfinex: skipping malformed ledger entry %.200r: %s", r, exc)
            continue
        if p is not None:
            out.append(p)
    return sorted(out, key=lambda p: (p.ts, p.payment_id))


class LedgerFunding:
    """Reads the ledger when a push says a payment settled and hands each new one on."""

    def __init__(
        self,
        rest: BitfinexRestClient,
        since_ns: Callable[[], int],
        emit: Callable[[FundingPaid], bool],
        spawn: Callable[[Any], None],
    ) -> None:
        self.rest, self.since_ns, self.emit, self.spawn = rest, since_ns, emit, spawn
        self._due: set[str] = set()
        self._running = False
        self.reads = 0
        #: a push whose entry the ledger does not show yet (or a failed read) is read again
        #: after these waits, then left to the next reconnect or start-up
        self.retry_s: tuple[float, ...] = RETRY_S

    async def fetch(self, currencies: Iterable[str], since_ns: int = 0) -> list[FundingPaid]:
        """Every payment in these currencies' ledgers at or after ``since_ns``, oldest first."""
        out: list[FundingPaid] = []
        for ccy in sorted(set(currencies)):
            self.reads += 1
            out += await ledger_funding(self.rest, ccy, since_ns // 1_000_000)
        return sorted(out, key=lambda p: (p.ts, p.payment_id))

    def settled(self, currency: str) -> None:
        """A ``wu`` described a funding event in ``currency``: read its ledger (soon, once)."""
        self._due.add(currency)
        if not self._running:
            self._running = True
            self.spawn(self._drain())

    async def _drain(self) -> None:
        try:
            while self._due:
                due, self._due = self._due, set()
                for wait in (0.0, *self.retry_s):
                    await asyncio.sleep(wait)
                    if await self._read(due):
                        break
                else:
                    log.warning("Bitfinex: a funding push in %s but no new funding entry in "
                                "the ledger after %d reads; the next reconnect or start-up "
                                "reads it again", ",".join(sorted(due)),
                                1 + len(self.retry_s))  # fmt: skip
        finally:
            self._running = False

    async def _read(self, due: set[str]) -> bool:
        """One read of ``due``'s ledgers; whether it brought a payment not delivered yet."""
        try:
            payments = await self.fetch(due, max(0, self.since_ns() - LOOKBACK_NS))
        except (VenueError, OSError) as exc:
            log.warning("Bitfinex: funding ledger read failed (%s)", exc)
            return False
        new = False
        for p in payments:
            if self.emit(p):
                new = True
                log.info("Bitfinex: funding %s paid %.8f %s on %s (ledger %s)",
                         p.symbol, p.amount, p.ccy, p.position, p.payment_id)  # fmt: skip
        return new
