"""Mark-price liquidation of derivative positions, isolated or cross margin.

The rule (one formula for linear and inverse contracts, in the settle currency):

* **isolated** — a position is liquidated when its own margin (the initial margin it locked,
  ``settle_value(|qty|, entry) / leverage``) plus its unrealised PnL at the mark falls to its
  maintenance margin ``maintenance_rate × settle_value(|qty|, mark)``;
* **cross** — every position settled in one currency shares that wallet: they are all
  liquidated when ``wallet + Σ unrealised PnL ≤ Σ maintenance margins``.

The mark is a mark-price series when the run has one, else the traded bars. Within a bar the
adverse extreme is checked (a long's low, a short's high). A bar that *opens* beyond the
liquidation price closes the position at the open (the gap is the trader's loss); otherwise
it closes at the liquidation price, found by bisection on the same formula. The close is a
taker execution with the taker fee, reported as a Fill with an empty ``client_order_id`` and
a ``liq``-prefixed trade id (a venue-initiated trade). Whatever margin is left after the close
stays in the wallet: insurance-fund takes and auto-deleveraging are not modelled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tradeloop.model import Instrument, Position

_ISOLATED = "isolated"


@dataclass(frozen=True, slots=True)
class MarginRule:
    """How one derivative is margined: ``mode`` ``cross`` or ``isolated``; ``maintenance``
    is the maintenance-margin rate (0.005 = 0.5 % of the position's value at the mark)."""

    mode: str = "cross"
    maintenance: float = 0.005


def position_equity(inst: Instrument, pos: Position, leverage: float, mark: float) -> float:
    """Isolated margin plus unrealised PnL at ``mark``, in the settle currency."""
    margin = inst.settle_value(abs(pos.qty), pos.avg_price) / leverage
    return margin + pos.unrealized(mark)


def maintenance(inst: Instrument, pos: Position, rate: float, mark: float) -> float:
    return rate * inst.settle_value(abs(pos.qty), mark)


def breached(excess: Callable[[float], float], price: float) -> bool:
    return excess(price) <= 0.0


def liquidation_price(excess: Callable[[float], float], safe: float, bad: float) -> float:
    """The price between ``safe`` (excess > 0) and ``bad`` (excess <= 0) where the margin
    excess reaches 0, by bisection (60 halvings: below a float's resolution)."""
    lo, hi = safe, bad
    for _ in range(60):
        mid = (lo + hi) * 0.5
        if excess(mid) <= 0.0:
            hi = mid
        else:
            lo = mid
    return hi


class Liquidator:
    """Watches the derivative positions of one :class:`~tradeloop.sim.SimExchange` against
    their margin rules (see the module docstring). ``check`` is called with each bar (or
    mark bar) of an instrument that has a rule; it costs a dict lookup when flat."""

    def __init__(self, exchange: SimExchange, rules: dict[str, MarginRule]) -> None:
        self.exchange = exchange
        self.rules = rules
        self.marks: dict[str, float] = {}

    def check(self, symbol: str, open_: float, high: float, low: float, close: float,
              ts: int) -> bool:  # fmt: skip
        """Liquidate ``symbol``'s position if this bar's adverse extreme breaches its
        maintenance margin; True when it did."""
        account = self.exchange.account
        pos = account.position(symbol)
        if pos is None or not pos.qty:
            self.marks[symbol] = close
            return False
        rule = self.rules.get(symbol)
        if rule is None:
            return False
        inst = self.exchange.instruments_by_symbol[symbol]
        excess = self._excess(inst, pos, rule)
        adverse = low if pos.qty > 0 else high
        if excess(adverse) > 0.0:
            self.marks[symbol] = close
            return False
        price = open_ if excess(open_) <= 0.0 else liquidation_price(excess, open_, adverse)
        self.exchange.liquidate(symbol, inst.round_price(price) or price, ts)
        self.marks[symbol] = close
        return True

    def _excess(
        self, inst: Instrument, pos: Position, rule: MarginRule
    ) -> Callable[[float], float]:
        account = self.exchange.account
        lev = account.leverage(inst.symbol)
        rate = rule.maintenance
        if rule.mode == _ISOLATED:
            return lambda m: position_equity(inst, pos, lev, m) - maintenance(inst, pos, rate, m)
        # cross: the wallet and every other position settled in the same currency
        others = 0.0
        for sym, other in account.positions().items():
            if sym == inst.symbol or not other.qty:
                continue
            o_inst = self.exchange.instruments_by_symbol[sym]
            if o_inst.settle != inst.settle:
                continue
            m = self.marks.get(sym) or self.exchange.last_price(sym) or other.avg_price
            o_rule = self.rules.get(sym, MarginRule())
            others += other.unrealized(m) - maintenance(o_inst, other, o_rule.maintenance, m)
        wallet = account.total(inst.settle) + others
        return lambda m: wallet + pos.unrealized(m) - maintenance(inst, pos, rate, m)


if TYPE_CHECKING:
    from tradeloop.sim.exchange import SimExchange
