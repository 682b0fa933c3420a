"""SimExchange: the one simulated venue behind backtests (bar and L2 mode) and the emulators.

How an order flows:

* ``submit`` copies the engine's ``Order`` into a :class:`SimOrder` (after ``latency_ns``),
  validates it and answers ACCEPTED or REJECTED(reason). Accepted orders reserve funds.
* If the symbol has an external L2 book (``on_book`` was called for it) the order matches at
  once against external levels and our own resting orders, best price first ("L2 mode").
  Otherwise it waits for the first bar with ``start >= accept time`` ("bar mode").
* What does not fill rests (GTC / post-only limits) in price-time priority and fills as maker
  when the market trades through it: a bar whose range passes its price, a public trade at a
  better price (or at its price once the queue ahead is gone), or a book update crossing it.

Reports follow ``venues/base.py``: every Fill precedes the report that counts it, reports carry
cumulative ``filled_qty``/``avg_price`` and only make transitions in ``model.order.TRANSITIONS``.
Ids come from counters, so the same inputs always give the same ids, fills and reports.

Refusals are typed: a REJECTED report carries ``code`` (a :class:`RejectReason`) beside its
text ``reason``, so front-ends map codes to their venue's errors without parsing text.
Cancels and amends of unknown or finished orders emit nothing and return False (a REJECTED
report would be an illegal transition for an order the OMS already holds as FILLED); why is in
:attr:`SimExchange.last_refusal`. Amends emit no report either (ACCEPTED -> ACCEPTED is not a
transition); read ``order()`` instead.
"""

from __future__ import annotations

import heapq
import logging
from typing import TYPE_CHECKING

from tradeloop.model import (
    Balance,
    Bar,
    BookLevels,
    Fill,
    Instrument,
    Liquidity,
    Order,
    OrderStatus,
    Position,
    RejectReason,
    TradeTick,
)
from tradeloop.model.enums import BUY, SELL
from tradeloop.sim.armed import TriggerOrders
from tradeloop.sim.barmatch import BarMatching
from tradeloop.sim.entry import OrderEntry
from tradeloop.sim.l2match import L2Matching
from tradeloop.sim.ledger import _AMEND, _CANCEL, _SUBMIT, FundingPayment, _Request
from tradeloop.sim.liquidity import ExternalBook
from tradeloop.sim.records import SimOrder

if TYPE_CHECKING:  # typing only: sim/ sits below venues/ and must not import it at run time
    from tradeloop.venues.base import ExecutionSink

log = logging.getLogger(__name__)

S = OrderStatus
_TAKER = Liquidity.TAKER
R = RejectReason


class SimExchange(TriggerOrders, BarMatching, L2Matching, OrderEntry):
    """One simulated venue account over many instruments (see the module docstring).

    The parts: state and bookkeeping in ``sim/ledger.py``, order entry in ``sim/entry.py``,
    bar matching in ``sim/barmatch.py``, L2 matching in ``sim/l2match.py``, trigger orders in
    ``sim/armed.py``; this class is the venue's public API over them."""

    # ======================================================================================
    # order entry
    # ======================================================================================
    def bind(self, sink: ExecutionSink) -> None:
        """Redirect reports and fills (e.g. when a gateway wraps an existing exchange)."""
        self._sink = sink

    def submit(self, order: Order, ts: int) -> None:
        """Send an order. Never raises for business errors: the answer is a report."""
        rec = SimOrder.from_order(order, ts)
        if self.config.latency_ns:
            self._seq += 1
            heapq.heappush(
                self._delayed, _Request(ts + self.config.latency_ns, self._seq, _SUBMIT, rec)
            )
        else:
            self._accept(rec, ts)

    def cancel(self, order_id: str, ts: int) -> bool:
        """Cancel by client or venue order id. Returns False (and emits nothing) for unknown
        or finished orders; with latency, True only means the request is on its way."""
        if self.config.latency_ns:
            known = self._find_open(order_id) is not None or any(
                r.rec is not None and r.rec.client_order_id == order_id for r in self._delayed
            )
            if known:
                self._seq += 1
                heapq.heappush(
                    self._delayed,
                    _Request(ts + self.config.latency_ns, self._seq, _CANCEL, order_id=order_id),
                )
                self.last_refusal = R.NONE
                return True
            return self._refuse(self._not_open(order_id))
        return self._cancel_now(order_id, ts)

    def amend(
        self,
        client_order_id: str,
        new_qty: float | None = None,
        new_price: float | None = None,
        ts: int = 0,
    ) -> bool:
        """Change a working limit order's total size and/or price.

        Keeps time priority only when the price is unchanged and the size shrinks. Returns
        False (nothing changes, no report) if the order is unknown/finished/market, the new
        size is not above what already filled or below ``min_size``, the price is not > 0,
        funds are short, or a post-only order would cross. A new price that crosses matches
        at once. With latency the checks run when the request arrives; True = sent.
        """
        if self.config.latency_ns:
            if self._find_open(client_order_id) is None:
                return self._refuse(self._not_open(client_order_id))
            self.last_refusal = R.NONE
            self._seq += 1
            heapq.heappush(
                self._delayed,
                _Request(
                    ts + self.config.latency_ns,
                    self._seq,
                    _AMEND,
                    order_id=client_order_id,
                    new_qty=new_qty,
                    new_price=new_price,
                ),
            )
            return True
        return self._amend_now(client_order_id, new_qty, new_price, ts)

    def advance(self, ts: int) -> None:
        """Deliver latency-delayed requests due at or before ``ts``."""
        if self._delayed and self._delayed[0].due <= ts:
            self._run_due(ts)

    # ======================================================================================
    # market data
    # ======================================================================================
    def on_bar(self, bar: Bar) -> None:
        """Bar mode. Idle path (no working orders, nothing delayed) is two dict/list checks."""
        self._last[bar.symbol] = bar.close
        if self._delayed and self._delayed[0].due <= bar.ts:
            self._run_due(bar.ts)
        if self._open:
            sym = bar.symbol  # only a symbol with work of its own enters _bar
            if self._pending.get(sym) or self._armed.get(sym) or sym in self._books:
                self._bar(bar)

    def on_book(self, book: BookLevels) -> None:
        """L2 mode: update the external book, then fill resting orders it now crosses."""
        if self._delayed and self._delayed[0].due <= book.ts:
            self._run_due(book.ts)
        ext = self._ext.get(book.symbol)
        if ext is None:
            ext = self._ext[book.symbol] = ExternalBook()
        ext.apply(book)
        if self._open:
            if self._pending.get(book.symbol):
                self._pending_to_l2(book.symbol, book.ts)
            resting = self._books.get(book.symbol)
            if resting:
                self._book_crossed(self._inst[book.symbol], resting, ext, book.ts)

    def on_trade(self, trade: TradeTick) -> None:
        """A public trade: advances queues and fills resting orders it trades through."""
        self._last[trade.symbol] = trade.price
        if self._delayed and self._delayed[0].due <= trade.ts:
            self._run_due(trade.ts)
        if self._open:
            resting = self._books.get(trade.symbol)
            if resting:
                self._trade_hits(self._inst[trade.symbol], resting, trade)
            if self._armed.get(trade.symbol):
                self._fire_armed(trade.symbol, (trade.price,), trade.ts, None)

    # ======================================================================================
    # queries
    # ======================================================================================
    def instruments(self) -> dict[str, Instrument]:
        return dict(self._inst)

    def balances(self) -> dict[str, Balance]:
        return self.account.balances()

    def positions(self) -> dict[str, Position]:
        return self.account.positions()

    def open_orders(self, symbol: str | None = None) -> list[SimOrder]:
        return [
            r.snapshot()
            for r in sorted(self._open.values(), key=lambda r: r.seq)
            if symbol is None or r.symbol == symbol
        ]

    def order(self, order_id: str) -> SimOrder | None:
        """Any order the venue accepted, by client or venue order id; else the last refused
        submit with that client id (status REJECTED, ``reason`` set)."""
        rec = (
            self._orders.get(order_id) or self._by_vid.get(order_id) or self._rejected.get(order_id)
        )
        return rec.snapshot() if rec is not None else None

    def fills(self, symbol: str | None = None) -> list[Fill]:
        if symbol is None:
            return list(self._fills)
        return [f for f in self._fills if f.symbol == symbol]

    def funding_payments(self) -> list[FundingPayment]:
        return list(self._funding)

    def external_book(self, symbol: str) -> ExternalBook | None:
        """The symbol's external L2 book (None before its first ``on_book``). The same object
        for the whole run: read it (``venue_top``), never change it."""
        return self._ext.get(symbol)

    def book_levels(
        self, symbol: str, depth: int = 20
    ) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        """Top ``depth`` levels of external liquidity merged with our resting orders,
        bids best (highest) first, asks lowest first — what the emulator publishes."""
        ext = self._ext.get(symbol)
        book = self._books.get(symbol)
        out: list[list[tuple[float, float]]] = []
        for is_bid, side in ((True, BUY), (False, SELL)):
            merged: dict[float, float] = dict(ext.levels(is_bid, depth)) if ext else {}
            if book:
                for px, sz in book.depth_at(side).items():
                    merged[px] = merged.get(px, 0.0) + sz
            prices = sorted(merged, reverse=is_bid)[:depth]
            out.append([(p, merged[p]) for p in prices if merged[p] > 0])
        return out[0], out[1]

    # -- derivatives ----------------------------------------------------------------------
    def set_leverage(self, symbol: str, leverage: float) -> bool:
        """Leverage for a derivative; False if unknown/spot or the position margin no longer
        fits. Open orders keep the margin they reserved when placed."""
        inst = self._inst.get(symbol)
        if inst is None or not inst.is_derivative:
            return False
        return self.account.set_leverage(inst, leverage)

    def leverage(self, symbol: str) -> float:
        return self.account.leverage(symbol)

    def apply_funding(self, symbol: str, rate: float, mark_price: float, ts: int) -> float:
        """Settle a funding payment on the symbol's position; returns the amount the account
        paid (negative = received). Longs pay positive rates."""
        inst = self._inst[symbol]
        paid = self.account.apply_funding(inst, rate, mark_price)
        self._funding.append(FundingPayment(ts, symbol, rate, mark_price, paid))
        return paid

    @property
    def instruments_by_symbol(self) -> dict[str, Instrument]:
        """The venue's instruments by symbol (the live dict: read, don't change)."""
        return self._inst

    def liquidations(self) -> list[Fill]:
        return list(self._liquidations)

    def liquidate(self, symbol: str, price: float, ts: int) -> Fill | None:
        """Close ``symbol``'s whole position at ``price`` as the venue does on a margin
        breach (``sim.margin``): its working orders are canceled first, the close is a taker
        execution with the taker fee, reported as a Fill with no client order id."""
        inst = self._inst[symbol]
        qty = self.account.position_qty(symbol)
        if not qty:
            return None
        for rec in [r for r in self._open.values() if r.symbol == symbol]:
            self._finish(rec, S.CANCELED, ts, "canceled by liquidation")
        side = SELL if qty > 0 else BUY
        size = abs(qty)
        fee = inst.settle_value(size, price) * inst.taker_fee
        self.account.apply_derivative_fill(inst, side, size, price, fee)
        self._last[symbol] = price
        self._tid += 1
        fill = Fill(ts, "", "", f"liq{self._tid}", symbol, side, price, size, fee, inst.settle,
                    _TAKER)  # fmt: skip
        self._liquidations.append(fill)
        if self.config.keep_fill_history:
            self._fills.append(fill)
        log.warning("liquidated %s %g at %g", symbol, qty, price)
        self._sink.on_fill(fill)
        return fill

    def forget_finished(self, keep: int) -> int:
        """Bound the venue's memory in a long run (a live shadow deployment; a backtest reads
        everything at the end and never calls this): drop finished orders, refused submits,
        fills and liquidations beyond the newest ``keep`` of each, once there are 2 x ``keep``
        (so the cost is amortised). Working orders are never touched. Returns how many
        orders went."""
        gone = 0
        if len(self._orders) >= 2 * keep:
            finished = [cid for cid, rec in self._orders.items() if rec.status.is_terminal]
            for cid in finished[: max(0, len(finished) - keep)]:
                rec = self._orders.pop(cid)
                if rec.venue_order_id:
                    self._by_vid.pop(rec.venue_order_id, None)
                gone += 1
        if len(self._rejected) >= 2 * keep:
            for cid in list(self._rejected)[: len(self._rejected) - keep]:
                del self._rejected[cid]
        for rows in (self._fills, self._liquidations):
            if len(rows) >= 2 * keep:
                del rows[: len(rows) - keep]
        return gone

    def knows(self, client_order_id: str) -> bool:
        """Whether an order (accepted or refused) with this client id is still remembered."""
        return client_order_id in self._orders or client_order_id in self._rejected

    def unrealized_pnl(self, symbol: str, mark: float | None = None) -> float:
        px = mark if mark is not None else self.last_price(symbol)
        return self.account.unrealized_pnl(symbol, px) if px is not None else 0.0

    def equity(self, asset: str) -> float:
        """Wallet total plus unrealised PnL of positions settled in ``asset``."""
        upnl = sum(
            self.unrealized_pnl(sym)
            for sym in self.account.positions()
            if self._inst[sym].settle == asset
        )
        return self.account.total(asset) + upnl


__all__ = ["FundingPayment", "SimExchange"]
