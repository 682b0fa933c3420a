"""Trigger orders at the simulated venue: firing armed stops/take-profits, bracket children.

Why a module: a trigger order waits outside the book until the price path reaches it
(``sim/triggers.py`` holds the pure rules), then becomes its child and trades as a fresh
order would in the current mode; a bracket entry's fill places its protective order.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import tradeloop.sim.rules as rules
import tradeloop.sim.triggers as triggers
from tradeloop.model import (
    Bar,
    Instrument,
    OrderStatus,
)
from tradeloop.sim.ledger import VenueLedger
from tradeloop.sim.records import NOWHERE, PENDING, SimOrder

if TYPE_CHECKING:  # typing only: sim/ sits below venues/ and must not import it at run time
    pass


S = OrderStatus
_INF = math.inf


class TriggerOrders(VenueLedger):
    """Armed trigger orders and bracket children (see the module docstring)."""

    # ======================================================================================
    # trigger orders (rules in sim/triggers.py)
    # ======================================================================================
    def _fire_armed(
        self, symbol: str, path: tuple[float, ...], start: int, bar: Bar | None
    ) -> None:
        """Fire the symbol's armed orders that ``path`` reaches, in path order (then time
        priority). On a bar only orders accepted by its start are eligible, as for the
        pending ones; a fire at the open (a gap) is stamped ``bar.start``, a touch ``bar.ts``."""
        hits: list[tuple[int, int, float, str, SimOrder]] = []
        for rec in self._armed[symbol]:
            if bar is not None and rec.accept_ts > bar.start:
                continue
            hit = triggers.fire_on_path(rec, path)
            if hit is not None:
                hits.append((hit[0], rec.seq, hit[1], hit[2], rec))
        if not hits:
            return
        hits.sort(key=lambda h: (h[0], h[1]))
        inst = self._inst[symbol]
        for i, _seq, px, leg, rec in hits:
            ts = start if bar is None or i == 0 else bar.ts
            self._fire(rec, inst, px, leg, ts, bar)

    def _fire(
        self, rec: SimOrder, inst: Instrument, px: float, leg: str, ts: int, bar: Bar | None
    ) -> None:
        """The trigger order turns into its child and trades as a fresh order would: in L2
        mode against the book, in bar mode as if the bar opened at ``px`` (a market child
        fills at ``px`` ± slippage; a limit child not marketable there rests), from a trade
        without a book at the next bar's open. Account checks run now; a refusal ends it
        CANCELED with the reason (the venue could not place the child)."""
        self._armed[rec.symbol].remove(rec)
        rec.where = NOWHERE
        triggers.become_child(rec, leg, px)
        if self.on_triggered is not None:
            self.on_triggered(rec)
        problem = self._child_problem(rec, inst)
        if problem is not None:
            self._finish(rec, S.CANCELED, ts, f"triggered, not placed: {problem[1]}")
            return
        rec.lock_asset, rec.lock = rules.lock_need(
            rec, inst, rec.qty, rec.price, market_ref=px,
            market_buffer=self.config.market_lock_buffer,
            position_qty=self.account.position_qty(inst.symbol),
            leverage=self.account.leverage(inst.symbol),
        )  # fmt: skip
        self.account.lock(rec.lock_asset, rec.lock)
        rec.holds_lock = True
        rec.accept_ts = ts
        ext = self._ext.get(rec.symbol)
        if ext is not None and ext.has_data:
            self._take(rec, inst, ts)
        elif bar is not None:
            at = Bar(ts=bar.ts, symbol=bar.symbol, start=ts, open=px, high=bar.high,
                     low=bar.low, close=bar.close, volume=bar.volume)  # fmt: skip
            self._bar_open(rec, inst, at, _INF)
        else:
            rec.where = PENDING
            self._pending.setdefault(rec.symbol, []).append(rec)

    def _place_attached(self, entry: SimOrder, ts: int) -> None:
        """A bracket's entry has filled (all, or part and then ended): the venue places its
        protective order for the size received (a spot fee taken in the base is not there
        to sell), as OKX does with ``attachAlgoOrds``."""
        child = entry.attached
        assert child is not None
        entry.attached = None
        inst = self._inst[entry.symbol]
        got = entry.filled_qty
        if entry.fee_ccy == inst.base and not inst.is_derivative:
            got -= entry.fee
        child.qty = rules.floor_fit(inst, got, 1.0) if got < entry.filled_qty else got
        child.ts_created = ts
        child.strategy_id = child.strategy_id or entry.strategy_id
        self._accept(child, ts)
