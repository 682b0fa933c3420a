"""Parse helpers every venue's ``parse`` module needs the same way (the venue kit).

Instrument ids are the venue's native symbol plus ``.VENUE`` (:class:`VenueIds`); venues that
send JSON numbers with ``null`` for "not applicable" read them with :func:`num`; venues whose
book checksum covers numbers as Python writes floats keep that text (:func:`float_text`);
ISO 8601 times become Unix seconds with :func:`iso_seconds`; a wallet row of free and total
per coin becomes a :class:`~tradeloop.model.BalanceUpdate` with :func:`balance_rows`; an
instrument listing becomes instruments by id with :func:`instruments_by_id`; a history listing
becomes its parsed rows, each malformed one a warning line, with :func:`parsed_rows`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from logging import Logger
from typing import Any, TypeVar

from tradeloop.core.log import get_logger
from tradeloop.core.timefmt import iso_ms
from tradeloop.model import BalanceUpdate, Instrument

log = get_logger(__name__)

T = TypeVar("T")
R = TypeVar("R")
#: what a parser raises on a row that is not the shape it reads
MALFORMED = (KeyError, ValueError, TypeError, IndexError, AttributeError)


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


def iso_ns(raw: Any) -> int:
    """An ISO 8601 time in ns, to the millisecond venues write (0 if absent or not a time: a
    row is not lost for its time): a venue's own time of an event, such as ``Fill.exec_ts``."""
    try:
        return iso_ms(raw) * 1_000_000 if isinstance(raw, str) else 0
    except ValueError:
        return 0


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


def parsed_rows(
    rows: Iterable[R], parse: Callable[[R], T | None], refusal: str, logger: Logger = log
) -> list[T]:
    """``parse`` over a venue's listing, in order, None results left out. A malformed row is
    one warning line on ``logger`` (the venue's: ``refusal``, the row, why) and is skipped,
    so one odd row never hides the others (nor stops a start or a catch-up)."""
    out: list[T] = []
    for row in rows:
        try:
            got = parse(row)
        except MALFORMED as exc:
            logger.warning("%s %.200r: %s", refusal, row, exc)
            continue
        if got is not None:
            out.append(got)
    return out
