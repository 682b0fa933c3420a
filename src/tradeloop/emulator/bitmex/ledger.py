"""BitMEX's wallet in whole minor units (``XBt`` satoshi, ``USDt``), booked per execution.

Why a ledger beside the simulator: the shared simulator keeps BTC/USDT as floats (right for
margin checks and matching), but BitMEX's wallet is integer satoshi: every execution's value is
a whole number of satoshi, the realised PnL it books is a whole number of satoshi, and the wallet
is the deposit plus those integers -- exactly, with no float drift however many fills. The
wallet, walletHistory, margin and position money the emulator reports come from here.

The rules (exact rational arithmetic, one rounding to the nearest minor unit, halves to even,
at each step):

* an execution's value ``v(q, p)`` = ``q x contract_value / p`` (inverse) or
  ``q x contract_value x p`` (linear, quanto), in minor units, rounded;
* opening (or adding to) a position adds ``v`` to the position's cost;
* closing ``c`` of ``Q`` open contracts takes ``part = round(cost x c / Q)`` off the cost and
  realises ``part - v(c, p)`` (inverse long) or ``v(c, p) - part`` (linear long), negated for a
  short; a fill that flips the position closes first and opens the rest at its own ``v``;
* commission is the execution's ``execComm`` (already whole minor units), funding the
  ``Funding`` execution's amount; both are subtracted from the wallet.

Each booking is one ``walletHistory`` row (``RealisedPNL``, the symbol in ``address`` as
BitMEX writes it, the execution id in ``tx``) after the initial ``Deposit``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from tradeloop.emulator.bitmex import contracts as ct
from tradeloop.emulator.bitmex.views import ACCOUNT
from tradeloop.model.instrument import Instrument


@dataclass(slots=True)
class Holding:
    """One symbol's open position and what it has booked, in minor units."""

    qty: Fraction = Fraction(0)  # signed contracts
    cost: int = 0  # value of the open contracts when they were opened (>= 0)
    realised: int = 0
    comm: int = 0
    funding: int = 0  # paid (> 0) or received (< 0)

    @property
    def net(self) -> int:
        """Realised PnL as BitMEX's position row reports it (after commission and funding)."""
        return self.realised - self.comm - self.funding


@dataclass(slots=True)
class Wallet:
    code: str  # XBt, USDt
    balance: int = 0
    deposited: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)  # oldest first


class SatLedger:
    """Integer wallets per settle currency and integer positions per symbol."""

    def __init__(self, deposits: dict[str, int], now_ms: float) -> None:
        self.wallets: dict[str, Wallet] = {}
        self.holdings: dict[str, Holding] = {}
        for code, amount in deposits.items():
            w = self.wallet(code)
            w.balance = w.deposited = amount
            self._row(w, "Deposit", amount, "", "", "", now_ms)

    def wallet(self, code: str) -> Wallet:
        w = self.wallets.get(code)
        if w is None:
            w = self.wallets[code] = Wallet(code)
        return w

    def holding(self, symbol: str) -> Holding:
        h = self.holdings.get(symbol)
        if h is None:
            h = self.holdings[symbol] = Holding()
        return h

    def execution(
        self,
        inst: Instrument,
        buy: bool,
        qty: float,
        price: float,
        comm: int,
        exec_id: str,
        ts_ms: float,
    ) -> int:
        """Book one execution; returns the PnL it realised (before commission)."""
        h = self.holding(inst.symbol)
        q, p = ct.exact(qty), ct.exact(price)
        signed = q if buy else -q
        realised = 0
        if h.qty == 0 or (h.qty > 0) == buy:
            h.cost += ct.value_minor(inst, q, p)
            h.qty += signed
        else:
            open_qty = abs(h.qty)
            closing = min(q, open_qty)
            part = round(h.cost * closing / open_qty)
            v = ct.value_minor(inst, closing, p)
            gain = part - v if inst.inverse else v - part
            realised = gain if h.qty > 0 else -gain
            h.cost -= part
            h.qty += signed
            if q > open_qty:  # flipped through zero: the rest opens at its own value
                h.cost = ct.value_minor(inst, q - open_qty, p)
            elif h.qty == 0:
                h.cost = 0
        h.realised += realised
        h.comm += comm
        self._book(inst, realised - comm, exec_id, ts_ms)
        return realised

    def funding(self, inst: Instrument, paid: int, exec_id: str, ts_ms: float) -> None:
        """Book a funding payment (``paid`` > 0: we paid)."""
        self.holding(inst.symbol).funding += paid
        self._book(inst, -paid, exec_id, ts_ms, "Funding")

    def realised(self, code: str, instruments: dict[str, Instrument]) -> int:
        """Net realised PnL of every symbol settled in ``code``."""
        return sum(h.net for s, h in self.holdings.items() if ct.settl_code(instruments[s]) == code)

    def _book(
        self, inst: Instrument, amount: int, exec_id: str, ts_ms: float, text: str = ""
    ) -> None:
        w = self.wallet(ct.settl_code(inst))
        w.balance += amount
        self._row(w, "RealisedPNL", amount, inst.symbol, exec_id, text, ts_ms)

    @staticmethod
    def _row(
        w: Wallet, kind: str, amount: int, address: str, tx: str, text: str, ts_ms: float
    ) -> None:
        n = len(w.history)
        w.history.append(
            {
                "transactID": f"00000000-0000-0000-{0 if kind == 'Deposit' else 1:04d}-{n:012d}",
                "account": ACCOUNT,
                "currency": w.code,
                "transactType": kind,
                "amount": amount,
                "fee": 0,
                "transactStatus": "Completed",
                "address": address,
                "tx": tx,
                "text": text,
                "transactTime": ct.iso(ts_ms),
                "walletBalance": w.balance,
                "marginBalance": None,
                "timestamp": ct.iso(ts_ms),
            }
        )
