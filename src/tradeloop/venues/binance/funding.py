"""USD-M funding payments (rule 9 of :mod:`tradeloop.venues.base`): Binance's income history
as :class:`~tradeloop.model.FundingPaid` events.

Binance keeps each payment as a ``FUNDING_FEE`` row of ``GET /fapi/v1/income`` (``income`` >
0: received, in ``asset``; ``tranId`` its id; ``time`` the settlement, ms). The user stream's
``ACCOUNT_UPDATE`` with reason ``m = "FUNDING_FEE"`` says that money moved but names no
payment (a crossed position's carries only the wallet balance), so the push is a signal:
:class:`PushedFunding` reads the history then, and the push path and ``fetch_funding`` both
hand on rows of the same history -- the same ``tranId`` either way, the exactly-once key.
Spot has no funding.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from tradeloop.core.errors import VenueError
from tradeloop.core.log import get_logger
from tradeloop.model import FundingPaid
from tradeloop.venues.binance.constants import VENUE
from tradeloop.venues.binance.futures import perp_id
from tradeloop.venues.binance.parse import f
from tradeloop.venues.binance.rest import BinanceRestClient

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
#: a push whose settlement is not in the history yet is read again after these waits (s)
RETRY_DELAYS_S = (1.0, 3.0, 10.0, 30.0)


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
    out = []
    for d in rows:
        try:
            p = parse_income(d, now_ns)
        except (ValueError, TypeError, AttributeError) as exc:
            log.warning("Binance: bad income row %s: %s", d.get("tranId"), exc)
            continue
        if p is not None:
            out.append(p)
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


class PushedFunding:
    """Turns ``ACCOUNT_UPDATE`` ``FUNDING_FEE`` pushes into income reads: one read at a time,
    and one more after it when pushes came meanwhile (a settlement pushes once per position;
    twenty positions need not cost twenty reads). A read asks from the earlier of the push's
    time less :data:`PUSH_SLACK_MS` and the newest payment delivered, so a read that failed
    is covered by the next one (and by the catch-up after a reconnect). Until a row of the
    pushed settlement is among the answer (the push may come before the history has the row,
    or the read may fail), it is read again after each of :attr:`retry_delays`."""

    #: seconds to wait before each further read of a settlement not yet in the history
    retry_delays: tuple[float, ...] = RETRY_DELAYS_S

    def __init__(
        self,
        fetch: Callable[[int], Awaitable[list[FundingPaid]]],
        emit: Callable[[FundingPaid], bool],
        delivered_ns: Callable[[], int],
        spawn: Callable[[Coroutine[Any, Any, None], str], None],
    ) -> None:
        self.fetch = fetch
        self.emit = emit
        self.delivered_ns = delivered_ns
        self.spawn = spawn
        self._from_ms: int | None = None
        self._pushed_ms = 0  # the newest settlement pushed and not yet read
        self._busy = False

    def pushed(self, t_ms: int) -> None:
        """A funding push settled at ``t_ms`` (its ``T``)."""
        since = min(t_ms - PUSH_SLACK_MS, self.delivered_ns() // NS_PER_MS)
        self._from_ms = since if self._from_ms is None else min(self._from_ms, since)
        self._pushed_ms = max(self._pushed_ms, t_ms)
        if not self._busy:
            self._busy = True
            self.spawn(self._run(), f"{VENUE}-funding-push")

    async def _run(self) -> None:
        try:
            while self._from_ms is not None:
                since, self._from_ms = self._from_ms, None
                pushed, self._pushed_ms = self._pushed_ms, 0
                await self._read(max(since, 0), pushed)
        finally:
            self._busy = False

    async def _read(self, since_ms: int, pushed_ms: int) -> None:
        """Read from ``since_ms`` and deliver what is new, again until a payment settled at
        ``pushed_ms`` (less the slack) or later is in the answer, or the retries run out."""
        near = (pushed_ms - PUSH_SLACK_MS) * NS_PER_MS
        why = ""
        for delay in (0.0, *self.retry_delays):
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                payments = await self.fetch(since_ms * NS_PER_MS)
            except (VenueError, OSError) as exc:
                why = f"the read failed ({exc})"
                continue
            for p in payments:
                if self.emit(p):
                    log.info("Binance: funding %s paid %.8f %s on %s", p.payment_id,
                             p.amount, p.ccy, p.symbol)  # fmt: skip
            if any(p.ts >= near for p in payments):
                return
            why = "the income history has no row of it"
        log.warning("Binance: funding pushed at %d: %s after %d reads; the next push or "
                    "reconnect reads it", pushed_ms, why, 1 + len(self.retry_delays))  # fmt: skip
