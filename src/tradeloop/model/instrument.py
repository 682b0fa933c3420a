"""Instrument: what a venue trades, and how prices and sizes must be rounded on the wire."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

from tradeloop.model.enums import InstrumentKind
from tradeloop.model.identity import InstrumentId, native_of, venue_of


def _decimal(x: float | str | Decimal) -> Decimal:
    """Exact decimal of a wire amount; refuses NaN, infinities and non-numbers (ValueError),
    so no such value can ever be formatted into a request."""
    # repr() of a float is the shortest string that round-trips, so 0.1 -> "0.1", not 0.1000...0555.
    try:
        d = x if isinstance(x, Decimal) else Decimal(repr(x) if isinstance(x, float) else x)
    except (InvalidOperation, TypeError, ValueError):
        raise ValueError(f"not a number: {x!r}") from None
    if not d.is_finite():
        raise ValueError(f"not a finite number: {x!r}")
    return d


@dataclass(frozen=True, slots=True)
class Instrument:
    """A tradable instrument.

    ``symbol`` is the instrument id the engine knows it by, ``NATIVE.VENUE`` (see
    ``model.identity``; build one with :meth:`of`); ``native`` is the venue's own name for it,
    which is what goes on the wire. An emulator, which only ever speaks one venue, may key its
    instruments by the bare native symbol. ``base`` / ``quote`` / ``settle`` are unified
    currency codes (BitMEX's XBT is BTC).

    Sizes are in *contracts* for derivatives and in base units for spot. A linear contract is
    worth ``contract_value`` base units (PnL and margin in the quote/settle currency); an
    *inverse* one (``inverse=True``, e.g. XBTUSD) is worth ``contract_value`` units of the
    quote currency, and its margin and PnL are in the base currency (``settle`` = base). Fees
    are fractions of notional; a negative maker fee is a rebate.
    """

    symbol: str
    base: str
    quote: str
    tick_size: float = 0.01
    lot_size: float = 1e-8
    min_size: float = 0.0
    contract_value: float = 1.0
    maker_fee: float = 0.001
    taker_fee: float = 0.001
    kind: InstrumentKind = InstrumentKind.SPOT
    settle: str = ""
    venue: str = "SIM"
    #: precision of quote amounts (a spot market buy sized in quote currency)
    quote_step: float = 1e-8
    #: the venue's own symbol (what goes on the wire); derived from ``symbol`` when empty
    native: str = ""
    #: contract value in the quote currency, margin and PnL in the base (see class docstring)
    inverse: bool = False
    #: minor units per settle-currency unit when the venue books each execution's PnL in
    #: whole minor units (BitMEX: 100,000,000 satoshi per XBT, 1,000,000 per USDT); 0 = the
    #: venue keeps PnL continuous. Positions then round as the venue does (model.position).
    settle_per_unit: int = 0
    _tick: Decimal = field(init=False, repr=False, compare=False)
    _lot: Decimal = field(init=False, repr=False, compare=False)
    #: derived from ``kind``; a plain attribute because it is read on every fill
    is_derivative: bool = field(init=False, repr=False, compare=False)
    _price_dp: int = field(init=False, repr=False, compare=False)
    _qty_dp: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.tick_size <= 0 or self.lot_size <= 0:
            raise ValueError(f"{self.symbol}: tick_size and lot_size must be > 0")
        object.__setattr__(self, "_tick", _decimal(self.tick_size))
        object.__setattr__(self, "_lot", _decimal(self.lot_size))
        object.__setattr__(self, "is_derivative", self.kind is not InstrumentKind.SPOT)
        object.__setattr__(self, "_price_dp", _decimals(self._tick))
        object.__setattr__(self, "_qty_dp", _decimals(self._lot))
        if not self.settle:
            object.__setattr__(self, "settle", self.base if self.inverse else self.quote)
        if not self.native:
            own = venue_of(self.symbol) == self.venue
            object.__setattr__(self, "native", native_of(self.symbol) if own else self.symbol)
        if self.inverse and self.kind is InstrumentKind.SPOT:
            raise ValueError(f"{self.symbol}: a spot instrument cannot be inverse")

    @classmethod
    def of(cls, native: str, venue: str, base: str, quote: str, **kw: Any) -> Instrument:
        """The instrument ``native`` on ``venue``, with its canonical id as ``symbol``."""
        return cls(str(InstrumentId.of(native, venue)), base, quote, venue=venue,
                   native=native, **kw)  # fmt: skip

    @property
    def id(self) -> InstrumentId:
        return InstrumentId(self.symbol)

    # -- rounding -------------------------------------------------------------------------
    def round_price(self, price: float) -> float:
        """Nearest tick, as a float (for internal comparisons).

        Fast float path (this runs on every order); it defers to the exact decimal path near a
        half-tick or for huge tick counts, where float division could pick the wrong side, so
        the result always equals ``float(price_decimal(price))``."""
        q = price / self.tick_size
        frac = q - math.floor(q)
        if q > 1e9 or abs(frac - 0.5) < 1e-6:
            return float(self.price_decimal(price))
        return round(round(q) * self.tick_size, self._price_dp)

    def round_qty(self, qty: float) -> float:
        """Down to a whole lot (never sell or spend more than asked), as a float; equals
        ``float(qty_decimal(qty))`` (same fallback rule as ``round_price``)."""
        q = qty / self.lot_size
        steps = math.floor(q)
        if q > 1e9 or q - steps > 1.0 - 1e-6 or q - steps < 1e-6:
            n = round(q)
            # a whole number of lots (the usual case): the float error of q (< 1e-15 q) is far
            # inside the decimal path's billionth-of-a-lot tolerance, so it would say n too
            if q < 1e6 and abs(q - n) < 1e-10:
                return round(n * self.lot_size, self._qty_dp) if n > 0 else 0.0
            return float(self.qty_decimal(qty))
        return round(steps * self.lot_size, self._qty_dp) if steps > 0 else 0.0

    def price_decimal(self, price: float | str | Decimal) -> Decimal:
        steps = (_decimal(price) / self._tick).to_integral_value(ROUND_HALF_EVEN)
        return (steps * self._tick).normalize() if steps else Decimal(0)

    def qty_decimal(self, qty: float | str | Decimal) -> Decimal:
        # repr() makes the decimal exact, but upstream arithmetic can leave 6.999999999999999
        # lots where 7 was meant: tolerate a billionth of a lot so that isn't floored to 6.
        d = _decimal(qty)
        steps = (d / self._lot + _LOT_TOLERANCE).to_integral_value(ROUND_DOWN)
        return (steps * self._lot).normalize() if steps else Decimal(0)

    def format_price(self, price: float | str | Decimal) -> str:
        """Wire string for a price: rounded to the tick, no exponent, no float artefacts."""
        return plain_decimal(self.price_decimal(price))

    def format_qty(self, qty: float | str | Decimal) -> str:
        """Wire string for a size: rounded down to the lot, no exponent, no float artefacts."""
        return plain_decimal(self.qty_decimal(qty))

    def format_quote(self, amount: float | str | Decimal) -> str:
        """Wire string for a quote-currency amount: floored to ``quote_step`` (never spend
        more than asked)."""
        step = _decimal(self.quote_step)
        return plain_decimal((_decimal(amount) / step).to_integral_value(ROUND_DOWN) * step)

    def notional(self, qty: float, price: float) -> float:
        """Value of ``qty`` at ``price`` in the quote currency (inverse: contracts × value)."""
        return qty * self.contract_value if self.inverse else qty * price * self.contract_value

    def settle_value(self, qty: float, price: float) -> float:
        """Value of ``qty`` contracts at ``price`` in the settle currency — what margin, fees
        and funding are computed on (inverse: contracts × value / price, in the base)."""
        if self.inverse:
            return qty * self.contract_value / price if price else 0.0
        return qty * price * self.contract_value

    @property
    def price_precision(self) -> int:
        """Decimals of the tick (0.01 -> 2)."""
        return self._price_dp

    @property
    def qty_precision(self) -> int:
        """Decimals of the lot (1e-8 -> 8)."""
        return self._qty_dp


_LOT_TOLERANCE = Decimal("1e-9")


def _decimals(step: Decimal) -> int:
    return max(0, -int(step.normalize().as_tuple().exponent))


def plain_decimal(d: Decimal) -> str:
    """A decimal as venues want it: no exponent, no trailing zeros ("1e-8" -> "0.00000001")."""
    s = format(d, "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s or "0"
