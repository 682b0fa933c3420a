"""Instrument ids: which venue, and that venue's own name for the instrument.

One canonical text form, ``NATIVE.VENUE`` — ``BTC-USDT.OKX``, ``XBTUSD.BITMEX``,
``BTC-PERP.FTX``, ``tBTCUSD.BITFINEX``. The venue is the part after the *last* dot (venue names
are upper-case letters, digits and ``_``); the native symbol is everything before it, exactly as
the venue spells it. Every event's ``symbol`` field carries such an id, so one run can hold the
same pair on two venues and a report always says where a fill happened.

``InstrumentId`` is a ``str`` subclass: it hashes and compares as its text, so ids are cheap
dict keys on hot paths and serialise as plain strings, while ``.venue`` / ``.native`` give the
parts without string-splitting at call sites.
"""

from __future__ import annotations

import re

_VENUE = re.compile(r"[A-Z][A-Z0-9_]*")


class InstrumentId(str):
    """``NATIVE.VENUE`` (see the module docstring). Build with :meth:`of` or :meth:`parse`."""

    __slots__ = ()

    @classmethod
    def of(cls, native: str, venue: str) -> InstrumentId:
        if not native or any(c.isspace() for c in native):
            raise ValueError(f"bad native symbol {native!r}")
        if not _VENUE.fullmatch(venue):
            raise ValueError(f"bad venue name {venue!r} (upper-case letters, digits, _)")
        return cls(f"{native}.{venue}")

    @classmethod
    def parse(cls, text: str) -> InstrumentId:
        """Validate ``text`` as a canonical id (ValueError naming the problem if it is not)."""
        native, dot, venue = text.rpartition(".")
        if not dot:
            raise ValueError(f"{text!r} is not an instrument id (expected NATIVE.VENUE)")
        return cls.of(native, venue)

    @property
    def venue(self) -> str:
        return venue_of(self)

    @property
    def native(self) -> str:
        return native_of(self)


def venue_of(symbol: str) -> str:
    """The venue of an id; ``""`` for a bare symbol without a venue suffix."""
    native, dot, venue = symbol.rpartition(".")
    return venue if dot and native and _VENUE.fullmatch(venue) else ""


def native_of(symbol: str) -> str:
    """The venue's own symbol of an id (a bare symbol is returned unchanged)."""
    return symbol.rpartition(".")[0] if venue_of(symbol) else symbol
