"""Parse helpers every venue's ``parse`` module needs the same way (the venue kit).

Instrument ids are the venue's native symbol plus ``.VENUE`` (:class:`VenueIds`); venues that
send JSON numbers with ``null`` for "not applicable" read them with :func:`num`; venues whose
book checksum covers numbers as Python writes floats keep that text (:func:`float_text`);
ISO 8601 times become Unix seconds with :func:`iso_seconds`; a wallet row of free and total
per coin becomes a :class:`~tradeloop.model.BalanceUpdate` with :func:`balance_rows`; an
instrument listing becomes instruments by id with :func:`instruments_by_id`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from tradeloop.core.log import get_logger
from tradeloop.model import BalanceUpdate, Instrument

log = get_logger(__name__)


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


def instruments_by_id(
    rows: Iterable[Mapping[str, Any]],
    build: Callable[[Mapping[str, Any]], Instrument | None],
    venue: str,
    name_key: str,
) -> dict[str, Instrument]:
    """A venue's instrument listing by instrument id. ``build(row)`` is one instrument, or
    None for a row the connector does not trade (another kind, disabled); a malformed row is
    logged under its ``name_key`` and skipped, so one odd listing never stops a start."""
    out: dict[str, Instrument] = {}
    for d in rows:
        try:
            inst = build(d)
        except (KeyError, ValueError, TypeError) as exc:
            log.warning("skipping malformed %s instrument %s: %s", venue, d.get(name_key), exc)
            continue
        if inst is not None:
            out[inst.symbol] = inst
    return out
