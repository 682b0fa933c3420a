"""Venue errors read by table, and client ids every venue accepts (venue-neutral).

Every venue's :meth:`~tradeloop.venues.execution.VenueHooks.classify` asks the same questions
in the same order -- rate limited? a code that means "no such order", "already finished" or
"that client id exists"? might the request have run anyway? retryable? else why refused for
good -- and only the codes differ. :class:`ErrorTable` asks them once; a venue lists its codes.
Venues that answer with a text instead of a number (FTX's ``"No such market: X"``) match the
reasons as prefixes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from tradeloop.core.errors import RateLimited, VenueError
from tradeloop.model import RejectReason
from tradeloop.venues.execution.hooks import ErrorKind, Verdict
from tradeloop.venues.outcomes import outcome_unknown


@dataclass(frozen=True)
class ErrorTable:
    """One venue's error codes: ``kinds`` (exact code -> what it means for the order) and
    ``reasons`` (code, or code prefix when ``prefix``, -> the engine's typed refusal)."""

    kinds: Mapping[str, ErrorKind]
    reasons: Mapping[str, RejectReason]
    prefix: bool = False

    def reason(self, exc: VenueError) -> RejectReason:
        """The typed reason behind a refusal: the table's, else transient (rate limit, busy,
        5xx) or OTHER."""
        if isinstance(exc, RateLimited):
            return RejectReason.RATE_LIMITED
        code = exc.code
        if self.prefix:
            known = next((r for t, r in self.reasons.items() if code.startswith(t)), None)
        else:
            known = self.reasons.get(code)
        if known is not None:
            return known
        return RejectReason.VENUE_UNAVAILABLE if exc.retryable else RejectReason.OTHER

    def classify(self, exc: VenueError) -> Verdict:
        """What ``exc`` means for the order it was about (see ``ErrorKind``). A known code
        wins over "outcome unknown": a duplicate client id inside an ``UnknownOutcome`` still
        says the order exists."""
        if isinstance(exc, RateLimited):
            return Verdict(ErrorKind.RATE_LIMITED, retry_after=exc.retry_after)
        kind = self.kinds.get(exc.code)
        if kind is not None:
            return Verdict(kind)
        if outcome_unknown(exc):  # timeout, dropped connection, 5xx, "try again"
            return Verdict(ErrorKind.UNKNOWN_OUTCOME)
        if exc.retryable:
            return Verdict(ErrorKind.TRANSIENT, self.reason(exc))
        return Verdict(ErrorKind.PERMANENT, self.reason(exc))


def stable_client_id(client_order_id: str, accepted: Callable[[str], object]) -> str:
    """``client_order_id`` when the venue ``accepted`` it as is, else ``tl`` + 30 hex digits of
    its SHA-1 (32 characters of ``[a-z0-9]``, which every venue takes). Stable, not random, so
    a restarted process derives the same id and finds its orders again."""
    if accepted(client_order_id):
        return client_order_id
    return "tl" + hashlib.sha1(client_order_id.encode()).hexdigest()[:30]
