"""Hourly funding on FTX perpetuals (``BTC-PERP``), and ``GET /api/funding_payments``.

FTX settled its perpetuals' funding every hour, on the hour, in USD: a position paid its
size times the mark times the hour's rate (the premium's TWAP / 24); at a positive rate
longs paid shorts. Here the rate is ``FtxConfig.funding_rate`` and the mark the market's mid;
the USD wallet moves by exactly the payment recorded.

FTX pushed nothing for a payment (its private channels were ``fills`` and ``orders``): a
client learns of one only from ``GET /funding_payments`` (``future``, ``start_time``,
``end_time`` in Unix seconds; newest first), rows ``{"future", "id", "payment", "rate",
"time"}`` with ``payment`` > 0 when the account paid.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tradeloop.emulator.api import iso
from tradeloop.emulator.feed import now_ms
from tradeloop.emulator.ftx.rest import Handler, Req, market_of, window
from tradeloop.emulator.funding_clock import period_ms, settle_on_boundaries, settle_rounded

if TYPE_CHECKING:
    from tradeloop.emulator.ftx.server import FtxEmulator

log = logging.getLogger(__name__)

FIRST_ID = 33_000_000


@dataclass(frozen=True)
class Payment:
    """One funding payment as FTX recorded it (``payment`` > 0: the account paid)."""

    payment_id: int
    future: str
    payment: float
    rate: float
    at_ms: int

    def row(self) -> dict[str, Any]:
        return {"future": self.future, "id": self.payment_id, "payment": self.payment,
                "rate": self.rate, "time": iso(self.at_ms)}  # fmt: skip


class FtxFunding:
    """Settles the emulator's perpetual positions' funding and keeps the payments."""

    def __init__(self, emu: FtxEmulator) -> None:
        self.emu = emu
        self.payments: list[Payment] = []  # oldest first
        #: the funding period in ms (0: no timed settlement, only direct calls)
        self.interval_ms = period_ms(emu.config.funding_interval_s)
        self._next_id = FIRST_ID + emu.config.seed * 1_000_000

    def settle(self, at_ms: int | None = None) -> list[Payment]:
        """Settle every open perpetual position's funding, stamped ``at_ms`` (default now:
        the timer passes the hour it settles; tests call this directly). Returns the
        payments recorded."""
        at = now_ms() if at_ms is None else at_ms
        rate = self.emu.config.funding_rate
        account = self.emu.trading.account
        sim = account.sim
        out = []
        for sym, inst in self.emu.instruments.items():
            pos = sim.positions().get(sym)
            if not inst.is_derivative or pos is None or not pos.qty:
                continue
            mid = self.emu.driver.markets[sym].mid()
            exact = settle_rounded(account, sym, inst.settle, rate, mid)
            if not exact:
                continue
            self._next_id += 1
            payment = Payment(self._next_id, sym, exact, rate, at)
            self.payments.append(payment)
            out.append(payment)
            log.info("ftx emulator: funding %s paid %s %s", sym, exact, inst.settle)
        return out

    def query(self, req: Req) -> list[dict[str, Any]]:
        """``GET /funding_payments``: newest first, at most ``limit`` (100 by default)."""
        name = req.query.get("future", "")
        sym = market_of(self.emu, name).instrument.symbol if name else ""
        rows = [p for p in reversed(self.payments) if not sym or p.future == sym]
        return [p.row() for p in window(rows, req.query, lambda p: p.at_ms, 100)]

    async def run(self) -> None:
        """Settle on each hour (wall clock), each payment stamped with its hour."""
        await settle_on_boundaries(self.interval_ms, self.settle, "ftx")


ROUTES: list[tuple[str, str, Handler, bool]] = [
    ("GET", "/api/funding_payments", lambda e, r: e.funding.query(r), True),
]
