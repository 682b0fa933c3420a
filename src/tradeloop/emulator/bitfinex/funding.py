"""Funding on Bitfinex perpetuals (``tBTCF0:USTF0``): settled, booked in the ledger, pushed.

Bitfinex Derivatives settles a perpetual's funding three times a day, at the end of each
eight-hour funding period (00:00, 08:00, 16:00 UTC -- the ``NEXT_FUNDING_EVT_MTS`` the
``status/deriv`` rows announce), in the settlement token (USDt: ``USTF0``), moving it between
the derivative (``margin``) wallets of the two sides: at a positive rate longs pay shorts, at
a negative one shorts pay longs. Here the payment is the position's value at the market's
mid times the configured rate (``BitfinexConfig.funding_rate``, also the rows'
``CURRENT_FUNDING``), rounded to Bitfinex's 8 decimals, and the wallet moves by exactly that.

What a client sees of one payment, as on Bitfinex:

* a ledger entry, ``POST /v2/auth/r/ledgers/{Currency}/hist`` (and ``.../ledgers/hist``):
  ``[ID, CURRENCY, null, MTS, null, AMOUNT, BALANCE, null, DESCRIPTION]`` with ``AMOUNT``
  the wallet's change (negative: paid), ``BALANCE`` the wallet after it and the description
  ``Funding Event BTCF0:USTF0 (0.5) on wallet margin`` (pair, then the position's amount);
* on every authenticated socket, a wallet update ``wu`` of that wallet whose ``DESCRIPTION``
  (index 5) is the last ledger entry's (without the wallet suffix, as Bitfinex writes it
  there), then ``bu``. No push carries the ledger id: a client that wants the payment's id
  reads the ledger when it sees such a ``wu``.

Only funding entries are kept in the ledger (trades, fees and deposits are not booked there).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tradeloop.emulator.bitfinex import markets as mk
from tradeloop.emulator.feed import now_ms
from tradeloop.emulator.funding_clock import period_ms, settle_on_boundaries, settle_rounded

if TYPE_CHECKING:
    from tradeloop.emulator.bitfinex.server import BitfinexEmulator

log = logging.getLogger(__name__)

DESCRIPTION = "Funding Event {pair} ({amount})"
FIRST_LEDGER_ID = 2_600_000_000


@dataclass(frozen=True)
class LedgerEntry:
    """One wallet movement as Bitfinex's ledger lists it."""

    entry_id: int
    currency: str
    mts: int
    amount: float
    balance: float
    description: str
    wallet: str

    def row(self) -> list[Any]:
        """``[ID, CURRENCY, null, MTS, null, AMOUNT, BALANCE, null, DESCRIPTION]``"""
        return [self.entry_id, self.currency, None, self.mts, None, mk.fnum(self.amount),
                mk.fnum(self.balance), None,
                f"{self.description} on wallet {self.wallet}"]  # fmt: skip


class BitfinexFunding:
    """Settles funding on the emulator's perpetual positions and keeps the ledger."""

    def __init__(self, emu: BitfinexEmulator) -> None:
        self.emu = emu
        self.ledger: list[LedgerEntry] = []  # oldest first
        #: the funding period in ms (0: no timed settlement, only direct calls)
        self.interval_ms = period_ms(emu.config.funding_interval_s)
        self._next_id = FIRST_LEDGER_ID + emu.config.seed * 1_000_000

    def rate(self, symbol: str) -> float:
        return self.emu.config.funding_rate

    def settle(self) -> list[LedgerEntry]:
        """Settle funding on every open perpetual position now (the timer calls this at each
        funding time; tests call it directly). Returns the ledger entries written."""
        trading = self.emu.trading
        sim = trading.account.sim
        out: list[LedgerEntry] = []
        for sym, inst in self.emu.instruments.items():
            pos = sim.positions().get(sym)
            if not inst.is_derivative or pos is None or not pos.qty:
                continue
            mid = self.emu.driver.markets[sym].mid()
            exact = settle_rounded(trading.account, sym, inst.settle, self.rate(sym), mid)
            if not exact:
                continue
            self._next_id += 1
            amount = inst.format_qty(abs(pos.qty))
            text = DESCRIPTION.format(pair=sym[1:], amount=amount if pos.qty > 0 else "-" + amount)
            entry = LedgerEntry(self._next_id, inst.settle, now_ms(), -exact,
                                sim.balances()[inst.settle].total, text,
                                trading.wallet_type(inst.settle))  # fmt: skip
            self.ledger.append(entry)
            out.append(entry)
            log.info("bitfinex emulator: funding %s %s %s", sym, -exact, inst.settle)
            push = self.emu.hub.push_account
            push("wu", trading.wallet(inst.settle, text))
            push("bu", trading.balance_info())
        return out

    def rows(self, currency: str = "") -> list[list[Any]]:
        """Ledger rows, oldest first (``currency`` empty: all)."""
        return [e.row() for e in self.ledger if not currency or e.currency == currency]

    async def run(self) -> None:
        """Settle at each epoch-aligned funding time (the times the status rows announce)."""
        await settle_on_boundaries(self.interval_ms, lambda _due: self.settle(), "bitfinex")
