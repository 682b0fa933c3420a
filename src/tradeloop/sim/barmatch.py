"""Bar mode of the simulated venue: orders fill on OHLCV bars.

Why: without an L2 book the venue only knows bars. An order is first judged at the open of
the first bar that starts at or after its acceptance (no look-ahead); a limit that is not
marketable there rests and fills as maker when a later bar trades through its price, within
the optional share of bar volume.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import tradeloop.sim.rules as rules
import tradeloop.sim.triggers as triggers
from tradeloop.model import (
    Bar,
    Instrument,
    Liquidity,
    OrderStatus,
)
from tradeloop.model.enums import BUY, FOK, IOC, LIMIT, MARKET, POST_ONLY
from tradeloop.sim.ledger import VenueLedger
from tradeloop.sim.matching import RestingBook
from tradeloop.sim.records import NOWHERE, PENDING, SimOrder

if TYPE_CHECKING:  # typing only: sim/ sits below venues/ and must not import it at run time
    pass


S = OrderStatus
_TAKER = Liquidity.TAKER
_INF = math.inf


class BarMatching(VenueLedger):
    """Matching on bars (see the module docstring)."""

    # ======================================================================================
    # bar mode
    # ======================================================================================
    def _bar(self, bar: Bar) -> None:
        sym = bar.symbol
        pend = self._pending.get(sym)
        budget = _INF
        if pend:
            inst = self._inst[sym]
            if self._vol_frac is not None:
                budget = self._vol_frac * bar.volume
            self._pending[sym] = still = []
            for rec in pend:
                if rec.accept_ts > bar.start:
                    still.append(rec)
                else:
                    rec.where = NOWHERE
                    budget = self._bar_open(rec, inst, bar, budget)
        if self._armed.get(sym):
            self._fire_armed(sym, triggers.bar_path(bar), bar.start, bar)
        book = self._books.get(sym)  # fresh limits may have just started resting
        if book is None or budget <= 0:
            return
        # Cheap test first: most bars trade through none of our resting orders.
        bids, asks = book.bids, book.asks
        if (bids and bar.low < bids[0].price) or (asks and bar.high > asks[0].price):
            if budget == _INF and self._vol_frac is not None and not pend:
                budget = self._vol_frac * bar.volume
            self._bar_through(self._inst[sym], book, bar, budget)

    def _bar_open(self, rec: SimOrder, inst: Instrument, bar: Bar, budget: float) -> float:
        """First bar an order sees: take at the open if marketable, else rest or expire."""
        ts = bar.start
        buy = rec.side is BUY
        px = bar.open * (1 + self._slip) if buy else bar.open * (1 - self._slip)
        if rec.order_type is LIMIT:
            marketable = rec.price >= bar.open if buy else rec.price <= bar.open
            if not marketable:
                if rec.tif is IOC or rec.tif is FOK:
                    self._finish(rec, S.EXPIRED, ts, "not marketable at bar open")
                else:
                    self._rest(rec)
                return budget
            if rec.tif is POST_ONLY:
                self._finish(rec, S.CANCELED, ts, "post-only order would cross at bar open")
                return budget
            px = min(px, rec.price) if buy else max(px, rec.price)
        want = self._want(rec, inst, px)
        q = want
        volume_cut = q > budget
        if volume_cut:
            q = inst.round_qty(budget)
        if rec.tif is FOK and volume_cut:
            self._finish(rec, S.EXPIRED, ts, "FOK: bar volume too small")
            return budget
        q, why = self._cap(rec, inst, q, px, inst.taker_fee)
        if q > 0:
            self._execute(rec, inst, q, px, _TAKER, ts, publish=True)
            budget -= q
        if why:
            self._finish(rec, S.CANCELED, ts, why)
        elif rules.is_done(rec, inst) or (rec.is_quote_sized and not volume_cut and q > 0):
            self._finish(rec, S.FILLED, ts)
        elif rec.is_quote_sized and not volume_cut:
            self._finish(rec, S.CANCELED, ts, "quote_qty buys less than one lot")
        elif rec.tif is IOC:
            self._finish(rec, S.EXPIRED, ts, "IOC remainder")
        else:
            if rec.order_type is MARKET:  # volume-capped: rest of it next bar
                rec.where = PENDING
                self._pending[rec.symbol].append(rec)
            else:
                self._rest(rec)
            if q > 0:
                self._report(rec, S.PARTIALLY_FILLED, ts)
        return budget

    def _bar_through(self, inst: Instrument, book: RestingBook, bar: Bar, budget: float) -> None:
        """Resting limits fill as makers at their own price when the bar trades through."""
        ts = bar.ts
        bids = book.bids
        if bids and bar.low < bids[0].price:
            for rec in list(bids):
                if budget <= 0 or not bar.low < rec.price:
                    break
                budget -= self._maker_fill(rec, inst, self._volume_slice(rec, inst, budget), ts)
        asks = book.asks
        if asks and bar.high > asks[0].price:
            for rec in list(asks):
                if budget <= 0 or not bar.high > rec.price:
                    break
                budget -= self._maker_fill(rec, inst, self._volume_slice(rec, inst, budget), ts)

    @staticmethod
    def _volume_slice(rec: SimOrder, inst: Instrument, budget: float) -> float:
        rem = rules.remaining(rec, inst)
        return rem if rem <= budget else inst.round_qty(budget)
