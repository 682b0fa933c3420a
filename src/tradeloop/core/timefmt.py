"""ISO 8601 times as epoch milliseconds, exactly.

Venue times are compared to the millisecond (a fill executed before or after a funding
boundary, a row inside or outside a window), so they are read with integer arithmetic, not
through a float of seconds whose rounding sits right at millisecond edges. One function for
the five readers that had their own copy.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def iso_ms(text: str) -> int:
    """``2026-12-05T04:00:00.482Z`` (any ISO 8601 time; naive ones are UTC) as epoch ms,
    sub-millisecond digits dropped (floor). Raises ``ValueError`` for text that is no time."""
    return dt_ms(datetime.fromisoformat(text.replace("Z", "+00:00")))


def dt_ms(dt: datetime) -> int:
    """A datetime (naive: UTC) as epoch ms, exactly (floor)."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return (dt - _EPOCH) // _MS
