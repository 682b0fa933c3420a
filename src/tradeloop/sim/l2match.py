"""L2 (tick) mode of the simulated venue: orders match against a replayed or live book.

Why apart from bar mode: here external liquidity is a real book of levels. A taker walks it
best price first together with our own resting orders; resting orders keep a queue position
behind displayed size and fill when public trades eat through it or the book crosses them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import tradeloop.sim.rules as rules
from tradeloop.model import (
    Instrument,
    Liquidity,
    OrderStatus,
    TradeTick,
)
from tradeloop.model.enums import BUY, FOK, IOC, LIMIT, MARKET, SELL
from tradeloop.sim.ledger import VenueLedger
from tradeloop.sim.liquidity import ExternalBook
from tradeloop.sim.matching import RestingBook
from tradeloop.sim.records import NOWHERE, SimOrder

if TYPE_CHECKING:  # typing only: sim/ sits below venues/ and must not import it at run time
    pass


S = OrderStatus
_TAKER = Liquidity.TAKER


class L2Matching(VenueLedger):
    """Matching against the external L2 book and public trades (see the module docstring)."""

    # ======================================================================================
    # L2 mode
    # ======================================================================================
    def _take(self, rec: SimOrder, inst: Instrument, ts: int, keep_queue: bool = False) -> None:
        """Match ``rec`` as taker against external levels and our resting orders, best price
        first (external size first at an equal price: it was displayed before us); then
        rest, expire or finish it."""
        ext = self._ext[rec.symbol]
        book = self._books.get(rec.symbol)
        buy = rec.side is BUY
        opp = rec.side.opposite
        limit = rec.price if rec.order_type is LIMIT else None
        if rec.tif is FOK and self._liquidity(rec, ext, book, limit) < (
            rec.remaining_qty - rules.eps(inst)
        ):
            self._finish(rec, S.EXPIRED, ts, "FOK: not enough liquidity")
            return
        filled_before = rec.filled_qty
        why = ""
        exhausted = False
        while True:
            pe = ext.best_ask() if buy else ext.best_bid()
            mine = book.best(opp) if book else None
            pm = mine.price if mine is not None else None
            if pe is None and pm is None:
                break
            if pe is None:
                p = pm
            elif pm is None:
                p = pe
            else:
                p = min(pe, pm) if buy else max(pe, pm)
            assert p is not None
            if limit is not None and (p > limit if buy else p < limit):
                break
            want = self._want(rec, inst, p)
            if want <= 0:
                exhausted = True
                break
            if p == pe:
                q, why = self._cap(rec, inst, min(want, ext.size(not buy, p)), p, inst.taker_fee)
                if q > 0:
                    self._execute(rec, inst, q, p, _TAKER, ts, publish=True)
                    ext.consume(not buy, p, q)
                    if book:
                        left = ext.size(not buy, p)
                        for r in book.side(opp):
                            if r.price == p and r.queue_ahead > left:
                                r.queue_ahead = left
            else:
                assert mine is not None
                qm, why_m = self._cap(
                    mine, inst, min(want, rules.remaining(mine, inst)), p, inst.maker_fee
                )
                if qm <= 0 and why_m:  # the resting order can no longer pay: drop it
                    self._finish(mine, S.CANCELED, ts, why_m)
                    continue
                q, why = self._cap(rec, inst, qm, p, inst.taker_fee)
                if q > 0:
                    self._execute(rec, inst, q, p, _TAKER, ts, publish=True)
                    self._maker_fill(mine, inst, q, ts, publish=False)
            if why or q <= 0:
                break
        filled = rec.filled_qty > filled_before
        if why:
            self._finish(rec, S.CANCELED, ts, why)
        elif rules.is_done(rec, inst) or (exhausted and rec.filled_qty > 0):
            self._finish(rec, S.FILLED, ts)
        elif exhausted:
            self._finish(rec, S.CANCELED, ts, "quote_qty buys less than one lot")
        elif rec.order_type is MARKET or rec.tif in (IOC, FOK):
            self._finish(rec, S.EXPIRED, ts, "no liquidity for the remainder")
        else:
            self._rest(rec, keep_queue=keep_queue)
            if filled:
                self._report(rec, S.PARTIALLY_FILLED, ts)

    def _pending_to_l2(self, symbol: str, ts: int) -> None:
        """Orders accepted before the symbol's first book no longer wait for a bar."""
        inst = self._inst[symbol]
        pend = self._pending.pop(symbol)
        for rec in pend:
            rec.where = NOWHERE
            self._take(rec, inst, ts)

    def _liquidity(
        self, rec: SimOrder, ext: ExternalBook, book: RestingBook | None, limit: float | None
    ) -> float:
        """Size available to ``rec`` within its limit (for FOK)."""
        buy = rec.side is BUY
        total = 0.0
        for p in ext.walk(not buy):
            if limit is not None and (p > limit if buy else p < limit):
                break
            total += ext.size(not buy, p)
        if book:
            for r in book.side(rec.side.opposite):
                if limit is not None and (r.price > limit if buy else r.price < limit):
                    break
                total += r.remaining_qty
        return total

    def _book_crossed(
        self, inst: Instrument, book: RestingBook, ext: ExternalBook, ts: int
    ) -> None:
        """External liquidity now crosses our resting orders: it trades with us first."""
        bids, asks = book.bids, book.asks
        while bids:
            pa = ext.best_ask()
            r = bids[0]
            if pa is None or pa > r.price:
                break
            got = self._maker_fill(r, inst, min(rules.remaining(r, inst), ext.size(False, pa)), ts)
            ext.consume(False, pa, got)
            if got <= 0 and bids and bids[0] is r:
                break
        while asks:
            pb = ext.best_bid()
            r = asks[0]
            if pb is None or pb < r.price:
                break
            got = self._maker_fill(r, inst, min(rules.remaining(r, inst), ext.size(True, pb)), ts)
            ext.consume(True, pb, got)
            if got <= 0 and asks and asks[0] is r:
                break
        # Cancellations at our price shrink the queue ahead of us.
        for r in bids:
            if r.queue_ahead > 0:
                r.queue_ahead = min(r.queue_ahead, ext.size(True, r.price))
        for r in asks:
            if r.queue_ahead > 0:
                r.queue_ahead = min(r.queue_ahead, ext.size(False, r.price))

    def _trade_hits(self, inst: Instrument, book: RestingBook, t: TradeTick) -> None:
        """A public trade strictly through our price fills us (up to its size); one at our
        price eats the queue ahead first and only the overflow reaches us."""
        vol = t.qty
        bids = book.bids
        if bids and t.price <= bids[0].price:
            for r in list(bids):
                if vol <= 0 or r.price < t.price:
                    break
                if r.price == t.price:
                    if t.side is not SELL:
                        break
                    avail = min(vol, t.qty - r.queue_ahead)
                    r.queue_ahead = max(r.queue_ahead - t.qty, 0.0)
                else:
                    avail = vol
                if avail > 0:
                    vol -= self._maker_fill(r, inst, min(rules.remaining(r, inst), avail), t.ts)
        asks = book.asks
        if asks and t.price >= asks[0].price:
            for r in list(asks):
                if vol <= 0 or r.price > t.price:
                    break
                if r.price == t.price:
                    if t.side is not BUY:
                        break
                    avail = min(vol, t.qty - r.queue_ahead)
                    r.queue_ahead = max(r.queue_ahead - t.qty, 0.0)
                else:
                    avail = vol
                if avail > 0:
                    vol -= self._maker_fill(r, inst, min(rules.remaining(r, inst), avail), t.ts)
