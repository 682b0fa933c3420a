"""Cash per venue account and currency, and its value in one reporting currency.

A run may hold USDT on OKX, USD on FTX and BTC margin on BitMEX at once. Each is a
:class:`CashBalance` cell keyed by (venue, currency); an instrument books its cash movements in
the cell of its venue and settle currency (the quote currency for spot). Equity and PnL are
reported in one currency: the *par* currencies (the reporting currency and, when that is a US
dollar stablecoin, the other dollar stablecoins — :data:`USD_PAR`) count 1:1; any other currency
is converted at the mark of an instrument that prices it against a par currency (BTC via
BTC-USDT, or via XBTUSD for BitMEX margin). A currency with no such mark yet is worth 0 and
said once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tradeloop.model import Instrument

log = logging.getLogger(__name__)

#: Dollar stablecoins treated as equal to the US dollar when one of them is the reporting
#: currency (a documented simplification: depegs are not modelled).
USD_PAR = frozenset({"USD", "USDT", "USDC", "BUSD", "TUSD", "DAI", "FDUSD", "UST", "USTF0"})

#: starting cash: one amount in the reporting currency, or amounts per (venue, currency)
Capital = float | Mapping[tuple[str, str], float]


def par_of(currency: str) -> frozenset[str]:
    """The currencies worth 1:1 in ``currency``: the dollar stablecoins for a dollar one."""
    return USD_PAR if currency in USD_PAR else frozenset({currency})


def find_conversion(
    instruments: Mapping[str, Instrument], ccy: str, par: frozenset[str]
) -> tuple[str, bool] | None:
    """An instrument quoting ``ccy`` against a par currency: (symbol, invert)."""
    for sym, inst in instruments.items():
        if inst.base == ccy and inst.quote in par:
            return sym, False
    for sym, inst in instruments.items():
        if inst.quote == ccy and inst.base in par:
            return sym, True
    return None


def unfundable(
    instruments: Mapping[str, Instrument], currency: str, cash: Iterable[str]
) -> list[Instrument]:
    """The instruments whose settle currency (the quote for spot) a run can neither value in
    ``currency`` (par, or converted at another instrument's mark) nor fund from the
    currencies its cash is held in. Such an instrument can never trade, and its strategy's
    capital would be worth 0: a run refuses it at build time instead of doing nothing."""
    par = par_of(currency)
    held = set(cash)
    return [
        i
        for i in instruments.values()
        if i.settle not in par
        and i.settle not in held
        and find_conversion(instruments, i.settle, par) is None
    ]


@dataclass(slots=True)
class CashBalance:
    """One venue account's balance in one currency (mutable: fills move it)."""

    venue: str
    ccy: str
    amount: float = 0.0


class Accounts:
    """The cash cells and the conversion to the reporting currency ``currency``."""

    __slots__ = ("_conv", "_marks", "_unpriced", "cells", "currency", "instruments", "par")

    def __init__(
        self,
        instruments: Mapping[str, Instrument],
        capital: Capital,
        marks: Mapping[str, float],
        currency: str | None = None,
    ) -> None:
        self.instruments = instruments
        self._marks = marks
        first = next(iter(instruments.values()), None)
        if currency is None:
            if isinstance(capital, Mapping) and capital:
                currency = next(iter(capital))[1]
            else:
                currency = first.settle if first is not None else "USD"
        self.currency = currency
        self.par = par_of(currency)
        self.cells: dict[tuple[str, str], CashBalance] = {}
        if isinstance(capital, Mapping):
            for (venue, ccy), amount in capital.items():
                self.cell(venue, ccy).amount += amount
        else:
            self.cell(first.venue if first is not None else "SIM", currency).amount = capital
        self._conv: dict[str, tuple[str, bool] | None] = {}
        self._unpriced: set[str] = set()

    def cell(self, venue: str, ccy: str) -> CashBalance:
        """The (venue, currency) balance, created empty on first use."""
        key = (venue, ccy)
        c = self.cells.get(key)
        if c is None:
            c = self.cells[key] = CashBalance(venue, ccy)
        return c

    def cell_of(self, inst: Instrument) -> CashBalance:
        """Where ``inst``'s cash movements are booked: its venue and settle currency."""
        return self.cell(inst.venue, inst.settle)

    @property
    def single_currency(self) -> bool:
        """Every cell and every instrument settles in a par currency (no conversion needed)."""
        return all(c.ccy in self.par for c in self.cells.values()) and all(
            i.settle in self.par and i.quote in self.par for i in self.instruments.values()
        )

    # -- conversion --------------------------------------------------------------------------
    def rate(self, ccy: str) -> float:
        """Value of one unit of ``ccy`` in the reporting currency (0 when not priced yet)."""
        if ccy in self.par:
            return 1.0
        if ccy in self._conv:
            conv = self._conv[ccy]
        else:
            conv = self._conv[ccy] = self._find_conversion(ccy)
        if conv is not None:
            mark = self._marks.get(conv[0])
            if mark:
                return 1.0 / mark if conv[1] else mark
        if ccy not in self._unpriced:
            self._unpriced.add(ccy)
            log.warning("no price for %s in %s yet: valued at 0", ccy, self.currency)
        return 0.0

    def _find_conversion(self, ccy: str) -> tuple[str, bool] | None:
        return find_conversion(self.instruments, ccy, self.par)

    def total(self) -> float:
        """All cash, in the reporting currency."""
        return sum(c.amount * self.rate(c.ccy) for c in self.cells.values() if c.amount)

    def balances(self) -> dict[str, dict[str, float]]:
        """``{venue: {currency: amount}}`` (a copy, for reports and checks)."""
        out: dict[str, dict[str, float]] = {}
        for c in self.cells.values():
            out.setdefault(c.venue, {})[c.ccy] = c.amount
        return out
