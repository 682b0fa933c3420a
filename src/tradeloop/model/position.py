"""Positions and balances: pure accounting, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tradeloop.model.instrument import Instrument


def exact(x: float) -> Fraction:
    """A wire number (price, size, contract value) as the decimal it was written as: the
    shortest repr of the float, which is the decimal string the venue sent."""
    return Fraction(Decimal(repr(float(x))))


def minor_value(qty: Fraction, price: Fraction, contract_value: Fraction, inverse: bool,
                per_unit: int) -> int:  # fmt: skip
    """What ``qty`` contracts at ``price`` are worth in whole minor units of the settle
    currency (``per_unit`` minor units make one), by exact arithmetic and one rounding,
    halves to even -- BitMEX's ``execCost`` magnitude."""
    v = qty * contract_value / price if inverse else qty * contract_value * price
    return round(v * per_unit)


@dataclass(slots=True)
class Position:
    """A signed position with average entry price and realised PnL, in the settle currency.

    ``multiplier`` is the instrument's contract value. Linear: PnL = (exit − entry) × qty ×
    multiplier, in the quote/settle currency. Inverse (``inverse=True``, contracts worth
    ``multiplier`` units of quote each): PnL = (1/entry − 1/exit) × qty × multiplier, in the
    base currency, and the average entry is the harmonic mean of the fill prices (the price
    at which the summed base-currency values balance). Realised PnL excludes fees; ``fees`` are
    tracked separately so reports can show both.

    ``per_unit`` > 0: the venue books realised PnL per execution in whole minor units of the
    settle currency (BitMEX: 10^8 satoshi per XBT), and so does this position, with the
    venue's rules (see :meth:`_realise_minor`), so its PnL equals the venue's wallet exactly
    rather than to within a rounding per fill. ``cost`` is then the open contracts' value in
    minor units.
    """

    symbol: str
    qty: float = 0.0
    avg_price: float = 0.0
    realized_pnl: float = 0.0
    fees: float = 0.0
    multiplier: float = 1.0
    inverse: bool = False
    per_unit: int = 0
    cost: int = 0

    @classmethod
    def of(cls, inst: Instrument) -> Position:
        """A flat position in ``inst``, with its contract terms and PnL rounding."""
        return cls(inst.symbol, multiplier=inst.contract_value, inverse=inst.inverse,
                   per_unit=inst.settle_per_unit)  # fmt: skip

    def apply_fill(self, signed_qty: float, price: float, fee: float = 0.0) -> float:
        """Apply an execution; returns the PnL it realised."""
        self.fees += fee
        minor = self._realise_minor(signed_qty, price) if self.per_unit else None
        q = self.qty
        realized = 0.0
        if q == 0.0 or (q > 0.0) == (signed_qty > 0.0):
            new_q = q + signed_qty
            if self.inverse:
                self.avg_price = new_q / (q / self.avg_price + signed_qty / price) if q else price
            else:
                self.avg_price = (self.avg_price * q + price * signed_qty) / new_q
            self.qty = new_q
        else:
            closing = min(abs(signed_qty), abs(q))
            direction = 1.0 if q > 0.0 else -1.0
            if self.inverse:
                realized = (1.0 / self.avg_price - 1.0 / price) * closing * direction
            else:
                realized = (price - self.avg_price) * closing * direction
            realized *= self.multiplier
            new_q = q + signed_qty
            if abs(new_q) < 1e-12:
                self.qty = 0.0
                self.avg_price = 0.0
            elif (new_q > 0.0) != (q > 0.0):  # flipped through zero
                self.qty = new_q
                self.avg_price = price
            else:
                self.qty = new_q
        if minor is not None:
            realized = minor
        self.realized_pnl += realized
        return realized

    def _realise_minor(self, signed_qty: float, price: float) -> float:
        """The venue's integer rules, before the quantity moves: opening adds the execution's
        value to ``cost``; closing ``c`` of ``Q`` open contracts takes ``part = round(cost x
        c / Q)`` off it and realises ``part - value`` (inverse long) or ``value - part``
        (linear long), negated for a short; a flip closes first and opens the rest at its
        own value. Returns the realised PnL in the settle currency (whole minor units)."""
        held_signed, unit = self.qty, self.per_unit
        p, cv, q = exact(price), exact(self.multiplier), exact(abs(signed_qty))
        if held_signed == 0.0 or (held_signed > 0.0) == (signed_qty > 0.0):
            self.cost += minor_value(q, p, cv, self.inverse, unit)
            return 0.0
        held = exact(abs(held_signed))
        closing = min(q, held)
        part = round(self.cost * closing / held)
        value = minor_value(closing, p, cv, self.inverse, unit)
        gain = part - value if self.inverse else value - part
        self.cost -= part
        if q > held:  # flipped through zero: the rest opens at its own value
            self.cost = minor_value(q - held, p, cv, self.inverse, unit)
        elif abs(held_signed + signed_qty) < 1e-12:
            self.cost = 0
        return (gain if held_signed > 0.0 else -gain) / unit

    def unrealized(self, mark: float) -> float:
        if not self.qty:
            return 0.0
        if self.inverse:
            return (1.0 / self.avg_price - 1.0 / mark) * self.qty * self.multiplier
        return (mark - self.avg_price) * self.qty * self.multiplier


@dataclass(slots=True)
class Balance:
    """One asset's balance. ``locked`` is reserved by open orders."""

    asset: str
    total: float = 0.0
    locked: float = 0.0

    @property
    def free(self) -> float:
        return self.total - self.locked
