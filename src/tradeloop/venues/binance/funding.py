"""USD-M funding payments (rule 9 of :mod:`tradeloop.venues.base`): Binance's income history
as :class:`~tradeloop.model.FundingPaid` events.

Binance keeps each payment as a ``FUNDING_FEE`` row of ``GET /fapi/v1/income`` (``income`` >
0: received, in ``asset``; ``tranId`` its id; ``time`` the settlement, ms). The user stream's
``ACCOUNT_UPDATE`` with reason ``m = "FUNDING_FEE"`` says that money moved but names no
payment (a crossed position's carries only the wallet balance), so the push is a signal:
the kit's :class:`~tradeloop.venues.funding_reads.FundingReads` reads the history then (from
the push's ``T`` less :data:`PUSH_SLACK_MS`, again until a row of that settlement is listed),
and the push path and ``fetch_funding`` both hand on rows of the same history -- the same
``tranId`` either way, the exactly-once key. Spot has no funding.
"""

from __future__ import annotations

from typing import Any

from tradeloop.core.errors import VenueError
from tradeloop.core.log import get_logger
from tradeloop.model import FundingPaid
from tradeloop.venues.binance.constants import VENUE
from tradeloop.venues.binance.futures import perp_id
from tradeloop.venues.binance.parse import f
from tradeloop.venues.binance.rest import BinanceRestClient
from tradeloop.venues.parsing import parsed_rows

log = get_logger(__name__)

INCOME_PATH = "/fapi/v1/income"
FUNDING_FEE = "FUNDING_FEE"
#: rows per income request (Binance's maximum)
PAGE = 1000
#: income requests one history read makes at most (each weighs 30: a runaway stops here)
MAX_PAGES = 50
#: a push's ``T`` and its income row's ``time`` are both the settlement but not promised to be
#: the same millisecond: the read a push starts asks from this much earlier
PUSH_SLACK_MS = 60_000
NS_PER_MS = 1_000_000


def parse_income(d: dict[str, Any], now_ns: int) -> FundingPaid | None:
    """A ``FUNDING_FEE`` income row as the payment it is (None for another income type or a
    row without symbol or id). Binance's ``income`` is what the account received; the
    payment's ``amount`` is what it paid, so the sign flips. The row says neither rate nor
    position size (both 0)."""
    if d.get("incomeType") != FUNDING_FEE or not d.get("symbol"):
        return None
    tran_id = d.get("tranId")
    if tran_id in (None, ""):
        return None
    t = _ms(d.get("time"))
    ts = t * NS_PER_MS if t > 0 else now_ns
    return FundingPaid(ts, perp_id(str(d["symbol"])), -f(d.get("income")),
                       str(d.get("asset") or "USDT"), str(tran_id), 0.0, 0.0,
                       VENUE)  # fmt: skip


def _ms(x: Any) -> int:
    """A row's ``time`` (a number of ms; 0 when absent or not a number)."""
    try:
        return int(x)
    except (TypeError, ValueError):
        return 0


def parse_incomes(rows: list[dict[str, Any]], now_ns: int) -> list[FundingPaid]:
    """Every funding row of ``rows``, oldest first; a malformed row is one warning line and
    is skipped (the others still count)."""
    out = parsed_rows(rows, lambda d: parse_income(d, now_ns), "Binance: bad income row", log)
    return sorted(out, key=lambda p: p.ts)


async def funding_rows(
    rest: BinanceRestClient, since_ms: int, page_size: int = PAGE
) -> list[dict[str, Any]]:
    """The ``FUNDING_FEE`` rows at or after ``since_ms`` (0: Binance's default window, the
    last 7 days), oldest first, each once. Binance answers a full page from ``startTime``
    on, so the next page starts at the last row's time (rows of that millisecond come again
    and are dropped by ``tranId``); a page all of one millisecond moves on with ``page``."""
    seen: dict[str, dict[str, Any]] = {}
    start, page = since_ms, 1
    for _ in range(MAX_PAGES):
        p: dict[str, Any] = {"incomeType": FUNDING_FEE, "limit": page_size}
        if start > 0:
            p["startTime"] = start
        if page > 1:
            p["page"] = page
        rows = await rest.call("GET", INCOME_PATH, p, signed=True)
        if not isinstance(rows, list):
            raise VenueError(f"GET {INCOME_PATH}: expected a list, got {type(rows).__name__}")
        for r in rows:
            if isinstance(r, dict):
                seen.setdefault(str(r.get("tranId")), r)
        if len(rows) < page_size:
            break
        last = _ms(rows[-1].get("time")) if isinstance(rows[-1], dict) else 0
        if last > start:
            start, page = last, 1
        else:
            page += 1
    else:
        log.warning("Binance: income history still full after %d pages; the rest next time",
                    MAX_PAGES)  # fmt: skip
    return sorted(seen.values(), key=lambda r: _ms(r.get("time")))
