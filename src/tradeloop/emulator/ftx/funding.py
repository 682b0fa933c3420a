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

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tradeloop.emulator.api import iso
from tradeloop.emulator.feed import now_ms
from tradeloop.emulator.ftx.rest import Handler, Req, market_of, window

if TYPE_CHECKING:
    from tradeloop.emulator.ftx.server import FtxEmulator

log = logging.getLogger(__name__)

FIRST_ID = 33_000_000


def next_hour_ms(t_ms: int, interval_ms: int) -> int:
    """The first funding time (epoch-aligned: on the hour) strictly after ``t_ms``."""
    return (t_ms // interval_ms + 1) * interval_ms


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
        self._next_id = FIRST_ID + emu.config.seed * 1_000_000

    @property
    def interval_ms(self) -> int:
        """The funding period in ms (0: no timed settlement)."""
        return max(0, round(self.emu.config.funding_interval_s * 1000))

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
            paid = account.settle_funding(sym, rate, self.emu.driver.markets[sym].mid())
            exact = round(paid, 8)
            sim.account.credit(inst.settle, paid - exact)  # the wallet moves by the record
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
        """Settle on each hour (wall clock); an hour missed while stalled is settled once."""
        interval = self.interval_ms
        due = next_hour_ms(now_ms(), interval)
        while True:
            wait_ms = due - now_ms()
            if wait_ms > 0:
                await asyncio.sleep(wait_ms / 1000)
                continue
            try:
                self.settle(due)
            except Exception:  # one bad round must not stop the schedule
                log.exception("ftx emulator funding settlement failed")
            due = next_hour_ms(max(due, now_ms()), interval)


ROUTES: list[tuple[str, str, Handler, bool]] = [
    ("GET", "/api/funding_payments", lambda e, r: e.funding.query(r), True),
]
