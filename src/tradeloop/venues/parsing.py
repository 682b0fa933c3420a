"""Parse helpers every venue's ``parse`` module needs the same way (the venue kit).

Instrument ids are the venue's native symbol plus ``.VENUE`` (:class:`VenueIds`); venues that
send JSON numbers with ``null`` for "not applicable" read them with :func:`num`; venues whose
book checksum covers numbers as Python writes floats keep that text (:func:`float_text`);
ISO 8601 times become Unix seconds with :func:`iso_seconds`; a wallet row of free and total
per coin becomes a :class:`~tradeloop.model.BalanceUpdate` with :func:`balance_rows`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from tradeloop.model import BalanceUpdate


class VenueIds:
    """Native symbol <-> instrument id (``BTC-PERP`` <-> ``BTC-PERP.FTX``) for one venue."""

    __slots__ = ("suffix", "venue")

    def __init__(self, venue: str) -> None:
        self.venue, self.suffix = venue, "." + venue

    def symbol_id(self, native: str) -> str:
        return native + self.suffix

    def native(self, symbol: str) -> str:
        """An id without this venue's suffix is returned as is (it is then not one of this
        venue's instruments, and lookups by id will say so)."""
        return symbol[: -len(self.suffix)] if symbol.endswith(self.suffix) else symbol


def num(value: Any) -> float:
    """A JSON number (or numeric string) as a float; ``null`` is 0.0."""
    return 0.0 if value is None else float(value)


def float_text(value: Any) -> str:
    """A number in Python's float notation (``60012.0``, ``1e-05``): what a venue that
    checksums ``repr(float)`` text summed, so a local book keeping this text sums the same."""
    return repr(float(value))


def iso_seconds(raw: Any) -> float:
    """An ISO 8601 time (``2021-05-01T12:00:00.123+00:00``) as Unix seconds; 0.0 if absent."""
    return datetime.fromisoformat(raw).timestamp() if isinstance(raw, str) else 0.0


def balance_rows(
    rows: Iterable[Mapping[str, Any]],
    ts: int,
    venue: str,
    keys: tuple[str, str, str] = ("coin", "total", "free"),
) -> list[BalanceUpdate]:
    """Wallet rows -> one ``BalanceUpdate`` per row; ``keys`` name the currency, total and
    free fields."""
    coin, total, free = keys
    return [
        BalanceUpdate(ts, str(d[coin]), num(d.get(total)), num(d.get(free)), venue) for d in rows
    ]
