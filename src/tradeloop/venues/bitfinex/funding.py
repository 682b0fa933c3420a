"""Bitfinex perpetual funding payments, read from the ledger.

Bitfinex pushes no funding record: a settlement shows on the authenticated socket only as a
wallet update (``wu``) whose description is the ledger entry's (``Funding Event BTCF0:USTF0
(0.5)``) and which carries no id. The ledger (``POST /v2/auth/r/ledgers/{Currency}/hist``)
has the entry with its id, so both the push path and ``fetch_funding`` deliver payments read
from there, and the same payment always has the same id (the ledger id).

``ledger_funding`` pages the ledger (newest first, at most 2500 a page) back to a time. The
reads the pushes ask for are the kit's :class:`~tradeloop.venues.funding_reads.FundingReads`:
several perpetuals settle at once, so a burst of ``wu`` costs one read while one runs and one
more after it, never one each; a read that finds nothing new (the entry not listed yet, or the
read failed) is tried again a few times.
"""

from __future__ import annotations

from collections.abc import Iterable

from tradeloop.core.log import get_logger
from tradeloop.model import FundingPaid
from tradeloop.venues.bitfinex import parse as P
from tradeloop.venues.bitfinex.rest import BitfinexRestClient
from tradeloop.venues.paging import page_all
from tradeloop.venues.parsing import parsed_rows

log = get_logger(__name__)

PAGE = 2500  # Bitfinex's largest ledger page


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
    out = parsed_rows(rows, P.parse_funding, "Bitfinex: skipping malformed ledger entry", log)
    return sorted(out, key=lambda p: (p.ts, p.payment_id))


class LedgerFunding:
    """The ledger reads of the funding payments (``fetch_funding`` and the reads a ``wu``
    starts through :class:`~tradeloop.venues.funding_reads.FundingReads`), counted."""

    def __init__(self, rest: BitfinexRestClient) -> None:
        self.rest = rest
        self.reads = 0  # ledger requests (one per currency read), for the cost of a burst

    async def fetch(self, currencies: Iterable[str], since_ns: int = 0) -> list[FundingPaid]:
        """Every payment in these currencies' ledgers at or after ``since_ns``, oldest first."""
        out: list[FundingPaid] = []
        for ccy in sorted(set(currencies)):
            self.reads += 1
            out += await ledger_funding(self.rest, ccy, since_ns // 1_000_000)
        return sorted(out, key=lambda p: (p.ts, p.payment_id))
