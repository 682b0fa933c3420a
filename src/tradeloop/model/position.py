"""Positions and balances: pure accounting, no I/O."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Position:
    """A signed position with average entry price and realised PnL, in the settle currency.

    ``multiplier`` is the instrument's contract value. Linear: PnL = (exit − entry) × qty ×
    multiplier, in the quote/settle currency. Inverse (``inverse=True``, contracts worth
    ``multiplier`` units of quote each): PnL = (1/entry − 1/exit) × qty × multiplier, in the
    base currency, and the average entry is the harmonic mean of the fill prices (the price
    at which the summed base-currency values balance). Realised PnL excludes fees; ``fees`` are
    tracked separately so reports can show both.
    """

    symbol: str
    qty: float = 0.0
    avg_price: float = 0.0
    realized_pnl: float = 0.0
    fees: float = 0.0
    multiplier: float = 1.0
    inverse: bool = False

    def apply_fill(self, signed_qty: float, price: float, fee: float = 0.0) -> float:
        """Apply an execution; returns the PnL it realised."""
        self.fees += fee
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
        self.realized_pnl += realized
        return realized

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
