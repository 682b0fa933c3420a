"""Transport failures as typed venue errors, and whether a failed write may have run.

Kept apart from :mod:`tradeloop.venues.http` (which needs aiohttp) so the order lifecycle and
the simulated venue can classify errors without importing a network stack: a backtest never
loads aiohttp. :mod:`tradeloop.venues.http` re-exports every name here.
"""

from __future__ import annotations

from tradeloop.core.errors import RateLimited, VenueError


class RequestTimeout(VenueError):
    """No answer in time. For a write the outcome is *unknown* (it may have executed)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="timeout", retryable=True)


class NetworkError(VenueError):
    """The connection failed or dropped. For a write the outcome is unknown."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="network", retryable=True)


class UnknownOutcome(VenueError):
    """A write gave up after an attempt that may have executed (timeout, dropped connection,
    5xx), even though the last attempt failed in a way that, alone, would mean "not done"
    (429, :class:`NotExecuted`). The caller must look the result up instead of treating the
    write as refused."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message, code=code or "unknown", retryable=True)


class NotExecuted(VenueError):
    """The venue answered that it did not run the request (BitMEX's 503 "system is currently
    overloaded": refused on arrival, before its matching engine). Retryable, and unlike other
    server errors never in doubt: a write that ends with it was not done."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message, code=code or "not_executed", retryable=True)


def outcome_unknown(exc: BaseException) -> bool:
    """Might the failed write behind ``exc`` have executed at the venue anyway?

    Timeouts, connection drops and server errors (5xx, or retryable venue codes such as OKX's
    50001/50004 "try again") say nothing about whether the request ran. Rate limits (the
    request was refused on arrival) and business errors (the venue looked and said no) do."""
    if isinstance(exc, RequestTimeout | NetworkError | UnknownOutcome):
        return True
    return (
        isinstance(exc, VenueError)
        and exc.retryable
        and not isinstance(exc, RateLimited | NotExecuted)
    )
