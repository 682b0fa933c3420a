"""BitMEX's liquidation and bankruptcy prices, and when a position is liquidated.

Why here and not in :class:`tradeloop.sim.margin.Liquidator`: BitMEX reckons the maintenance
margin on the position's *cost* (its value at entry, ``posCost``) and closes a liquidated
position at its *bankruptcy* price, not at the liquidation price. For an isolated inverse
XBTUSD position of entry ``E`` at leverage ``L`` (initial margin ``1/L``, maintenance rate
``mm``) that gives BitMEX's published prices::

    long:  liquidation = E / (1 + 1/L - mm)     bankrupt = E / (1 + 1/L)
    short: liquidation = E / (1 - 1/L + mm)     bankrupt = E / (1 - 1/L)

The general rule, in whole minor units of the settle currency (``XBt``, ``USDt``) from the
integer ledger, for any contract: with ``C`` the position's cost, ``V(P)`` its value at price
``P`` (``|qty| x cv / P`` inverse, ``|qty| x cv x P`` linear) and ``pool`` the margin that
backs it, the position's equity at the mark is ``pool + unrealised(P)``; it is

* **liquidated** when the equity falls to ``mm x C`` (mark at or through the liquidation
  price),
* **bankrupt** when the equity (less the fee to close, in cross: see below) is 0.

``pool`` is the isolated margin ``C / L`` (``posInit``; the fee to close is reserved beside
it, ``posComm``, as BitMEX reserves it), or in **cross** margin the whole wallet: the wallet
balance plus every other cross position's unrealised PnL less its maintenance, less every
isolated position's margin. In cross the fee to close is paid from that same pool, so the
bankruptcy price leaves exactly nothing: a liquidated cross position empties the wallet and
no more. Prices are rounded to the tick toward the mark (a long's up, a short's down): the
liquidation comes no later, the close costs no more, than the exact price says.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from tradeloop.emulator.bitmex import contracts as ct
from tradeloop.model.instrument import Instrument
from tradeloop.model.position import exact


@dataclass(frozen=True, slots=True)
class Margin:
    """What backs one position: ``pool`` (minor units) and whether the close fee comes out
    of it (cross) rather than beside it (isolated)."""

    pool: Fraction
    cross: bool


@dataclass(frozen=True, slots=True)
class LiqPrices:
    """A position's liquidation and bankruptcy prices on the tick (None: never reached)."""

    liquidation: float | None
    bankrupt: float | None

    def breached(self, long: bool, mark: float) -> bool:
        """Whether ``mark`` is at or through the liquidation price."""
        liq = self.liquidation
        if liq is None:
            return False
        return mark <= liq if long else mark >= liq


def _scale(inst: Instrument) -> int:
    return ct.CURRENCIES[ct.UNIFIED[inst.settle]][1]


def threshold(
    inst: Instrument,
    qty: Fraction,
    cost: int | Fraction,
    pool: Fraction,
    need: Fraction,
    fee: Fraction,
) -> Fraction | None:
    """The exact price at which ``pool + unrealised(P) - fee x V(P) = need`` for a position
    of signed ``qty`` contracts costing ``cost`` minor units; None when no positive price
    does (e.g. a linear long backed by more than its whole cost)."""
    if not qty or cost <= 0:
        return None
    a = abs(qty) * exact(inst.contract_value) * _scale(inst)  # V(P) = a / P or a x P
    # unrealised = s x (V - C): +1 for a linear long or an inverse short, else -1
    s = 1 if (qty > 0) != inst.inverse else -1
    value = (need - pool + s * cost) / (s - fee)
    if value <= 0:
        return None
    return a / value if inst.inverse else value / a


def on_tick(inst: Instrument, price: Fraction | None, long: bool) -> float | None:
    """``price`` on the tick grid, rounded toward the mark (a long's up, a short's down)."""
    if price is None:
        return None
    ticks = price / exact(inst.tick_size)
    n = math.ceil(ticks) if long else math.floor(ticks)
    if n <= 0:
        return None
    return float(inst.format_price(n * Decimal(repr(inst.tick_size))))


def prices(inst: Instrument, qty: Fraction, cost: int, margin: Margin, maint: float) -> LiqPrices:
    """The position's :class:`LiqPrices` (module docstring)."""
    long = qty > 0
    fee = exact(inst.taker_fee) if margin.cross else Fraction(0)
    liq = threshold(inst, qty, cost, margin.pool, exact(maint) * cost, Fraction(0))
    bankrupt = threshold(inst, qty, cost, margin.pool, Fraction(0), fee)
    return LiqPrices(on_tick(inst, liq, long), on_tick(inst, bankrupt, long))


def isolated_pool(cost: int, leverage: float) -> Fraction:
    """``posInit``: the isolated margin, the position's cost over its leverage."""
    return Fraction(cost) / exact(leverage)


def unrealised(inst: Instrument, qty: Fraction, cost: int, mark: float) -> Fraction:
    """Unrealised PnL at ``mark`` in minor units (exact)."""
    if not qty:
        return Fraction(0)
    v = Fraction(ct.value_minor(inst, abs(qty), exact(mark)))
    s = 1 if (qty > 0) != inst.inverse else -1
    return s * (v - cost)
