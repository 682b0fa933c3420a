"""OKX funding payments (rule 9 of ``venues/base.py``), read from the account's bills.

OKX pushes no record of a funding payment. A settlement shows on the private socket as a
``balance_and_position`` push with ``eventType`` ``funding_fee`` -- the new cash balance and
the position, not the amount -- followed by ``account`` and ``positions`` pushes. The payment
itself (amount, currency, instrument, an id) is a bill: ``GET /api/v5/account/bills``,
``type`` 8. So the push is only a signal: on it the gateway reads the funding bills since the
newest payment it delivered and hands on the new ones (the kit's
:class:`~tradeloop.venues.funding_reads.FundingReads`), the ``billId`` making each one arrive
once however many reads see it. ``fetch_funding`` pages the same listing (the 3-month archive
when asked about more than the last 7 days).
"""

from __future__ import annotations

from typing import Any

from tradeloop.venues.okx import constants as C
from tradeloop.venues.okx.orders import bill_cursor
from tradeloop.venues.okx.rest import OkxRestClient
from tradeloop.venues.paging import page_all

PAGE = 100
DAY_MS = 86_400_000
#: ask the archive when the recent listing may no longer hold the start (an hour's margin)
RECENT_MS = C.BILLS_RECENT_DAYS * DAY_MS - 3_600_000


async def funding_bills(rest: OkxRestClient, since_ms: int, now_ms: int) -> list[dict[str, Any]]:
    """Every funding bill with ``ts`` at or after ``since_ms``, oldest first (OKX lists
    newest first, 100 a page: this pages back with ``after`` = the oldest billId seen)."""
    archive = since_ms <= 0 or since_ms < now_ms - RECENT_MS
    begin = since_ms if since_ms > 0 else None

    async def page(after: str | None) -> list[dict[str, Any]]:
        return await rest.bills(
            C.BILL_FUNDING, after=after, begin=begin, limit=PAGE, archive=archive
        )

    def keep(row: dict[str, Any]) -> bool:
        try:
            return int(row.get("ts") or 0) >= since_ms
        except ValueError:
            return True  # kept for the parser to refuse with a line in the log

    rows = await page_all(page, bill_cursor, limit=PAGE, keep=keep)
    rows.reverse()
    return rows
