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
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from tradeloop.model import (
    TRANSITIONS,
    Balance,
    Bar,
    BookLevels,
    Fill,
    Instrument,
    Liquidity,
    Order,
    OrderReport,
    OrderStatus,
    Position,
    RejectReason,
    Side,
    TradeTick,
)
from tradeloop.model.enums import BUY, FOK, IOC, LIMIT, MARKET, POST_ONLY, SELL
from tradeloop.sim import rules, triggers
from tradeloop.sim.account import Account
from tradeloop.sim.config import SimConfig
from tradeloop.sim.liquidity import ExternalBook
from tradeloop.sim.matching import RestingBook
from tradeloop.sim.records import ARMED, NOWHERE, PENDING, RESTING, SimOrder
from tradeloop.sim.rules import Refusal

if TYPE_CHECKING:  # typing only: sim/ sits below venues/ and must not import it at run time
    from tradeloop.venues.base import ExecutionSink

log = logging.getLogger(__name__)

S = OrderStatus
_TAKER = Liquidity.TAKER
_MAKER = Liquidity.MAKER
_INF = math.inf
_SUBMIT, _CANCEL, _AMEND = 0, 1, 2
R = RejectReason


@dataclass(order=True, slots=True)
class _Request:
    """A submit/cancel/amend travelling to the venue (latency)."""

    due: int
    seq: int
    kind: int = field(compare=False)
    rec: SimOrder | None = field(compare=False, default=None)
    order_id: str = field(compare=False, default="")
    new_qty: float | None = field(compare=False, default=None)
    new_price: float | None = field(compare=False, default=None)


@dataclass(frozen=True, slots=True)
class FundingPayment:
    ts: int
    symbol: str
    rate: float
    mark_price: float
    amount: float  # paid by the account (negative = received)


class SimExchange:
    """One simulated venue account over many instruments (see the module docstring)."""

    def __init__(
        self,
        instruments: Iterable[Instrument],
        balances: dict[str, float],
        sink: ExecutionSink,
        config: SimConfig | None = None,
        on_public_trade: Callable[[TradeTick], None] | None = None,
    ) -> None:
        self.config = config if config is not None else SimConfig()
        self._inst: dict[str, Instrument] = {i.symbol: i for i in instruments}
        self.account = Account(balances, self.config.leverage)
        self._sink = sink
        self._on_public_trade = on_public_trade
        self._orders: dict[str, SimOrder] = {}  # client id -> every order ever accepted
        self._rejected: dict[str, SimOrder] = {}  # client id -> last refused submit
        self._by_vid: dict[str, SimOrder] = {}
        self._open: dict[str, SimOrder] = {}  # client id -> working orders
        self._pending: dict[str, list[SimOrder]] = {}  # bar mode: waiting for a first bar
        self._armed: dict[str, list[SimOrder]] = {}  # untriggered trigger orders
        #: called with a trigger order the moment it fires, before its child trades (the
        #: emulator pushes the algo order's state change from here)
        self.on_triggered: Callable[[SimOrder], None] | None = None
        self._books: dict[str, RestingBook] = {}
        self._ext: dict[str, ExternalBook] = {}
        self._last: dict[str, float] = {}
        self._delayed: list[_Request] = []
        self._fills: list[Fill] = []
        self._funding: list[FundingPayment] = []
        self._liquidations: list[Fill] = []
        self._oid = 0
        self._tid = 0
        self._seq = 0
        self._slip = self.config.slippage_bps / 1e4
        self._vol_frac = self.config.max_volume_fraction
        #: why the last ``cancel``/``amend`` returned False (NONE after one that went through)
        self.last_refusal = R.NONE

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

    def last_price(self, symbol: str) -> float | None:
        """Last trade/bar close, else the external mid."""
        px = self._last.get(symbol)
        if px is not None:
            return px
        ext = self._ext.get(symbol)
        if ext is not None:
            b, a = ext.best_bid(), ext.best_ask()
            if b is not None and a is not None:
                return (a + b) / 2
            return b if b is not None else a
        return None

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

    # ======================================================================================
    # acceptance and validation
    # ======================================================================================
    def _run_due(self, ts: int) -> None:
        while self._delayed and self._delayed[0].due <= ts:
            req = heapq.heappop(self._delayed)
            if req.kind == _SUBMIT and req.rec is not None:
                req.rec.ts_created = req.due
                self._accept(req.rec, req.due)
            elif req.kind == _CANCEL:
                self._cancel_now(req.order_id, req.due)
            elif req.kind == _AMEND and not self._amend_now(
                req.order_id, req.new_qty, req.new_price, req.due
            ):
                log.info("amend of %s refused on arrival", req.order_id)

    def _accept(self, rec: SimOrder, ts: int) -> None:
        rec.ts_updated = ts
        inst = self._inst.get(rec.symbol)
        refusal = self._validate(rec, inst)
        if refusal is not None or inst is None:
            code, reason = refusal or (R.INVALID_INSTRUMENT, "unknown symbol")
            self._reject(rec, ts, reason, code)
            return
        self._oid += 1
        self._seq += 1
        rec.venue_order_id = str(self._oid)
        rec.seq = self._seq
        rec.accept_ts = ts
        if inst.is_derivative:
            rec.fee_ccy = inst.settle
        elif rec.side is BUY and self.config.fee_in_received_ccy:
            rec.fee_ccy = inst.base
        else:
            rec.fee_ccy = inst.quote
        armed = rec.trigger is not None and not rec.triggered
        asset, amount = self._lock_need(rec, inst, rec.qty, rec.price) if not armed else ("", 0.0)
        rec.lock_asset, rec.lock = asset, amount
        if amount:
            self.account.lock(asset, amount)
        self._orders[rec.client_order_id] = rec
        self._rejected.pop(rec.client_order_id, None)
        self._by_vid[rec.venue_order_id] = rec
        self._open[rec.client_order_id] = rec
        self._report(rec, S.ACCEPTED, ts)
        if armed:
            rec.where = ARMED
            self._armed.setdefault(rec.symbol, []).append(rec)
            triggers.arm_trailing(rec, self.last_price(rec.symbol))
            return
        ext = self._ext.get(rec.symbol)
        if ext is not None and ext.has_data:
            self._take(rec, inst, ts)
        else:
            rec.where = PENDING
            self._pending.setdefault(rec.symbol, []).append(rec)

    def _reject(self, rec: SimOrder, ts: int, reason: str, code: RejectReason) -> None:
        log.debug("reject %s: %s (%s)", rec.client_order_id, reason, code.value)
        rec.status = S.REJECTED
        rec.reason = reason
        rec.code = code
        if rec.client_order_id and rec.client_order_id not in self._orders:
            # Kept for ``order()`` only: a refused order never existed, so its id stays free.
            self._rejected[rec.client_order_id] = rec
        self._sink.on_order_report(
            OrderReport(
                ts=ts,
                client_order_id=rec.client_order_id,
                venue_order_id="",
                symbol=rec.symbol,
                status=S.REJECTED,
                reason=reason,
                code=code,
            )
        )

    def _validate(self, rec: SimOrder, inst: Instrument | None) -> Refusal | None:
        """Why the venue refuses the order, or None if it is acceptable."""
        if not rec.client_order_id:
            return R.OTHER, "missing client_order_id"
        if rec.client_order_id in self._orders:
            return R.DUPLICATE_ID, "duplicate client_order_id"
        if inst is None:
            return R.INVALID_INSTRUMENT, f"unknown symbol {rec.symbol}"
        problem = rules.order_problem(rec, inst)
        if problem is not None:
            return problem
        if rec.trigger is not None and not rec.triggered:
            return None  # funds, reduce-only and post-only are judged when it fires
        return self._child_problem(rec, inst)

    def _child_problem(self, rec: SimOrder, inst: Instrument) -> Refusal | None:
        """Account checks of an order about to work: at submit, or when a trigger fires."""
        if rec.reduce_only:
            problem = self._reduce_only_problem(rec, inst, rec.qty)
            if problem is not None:
                return problem
        if rec.tif is POST_ONLY and self._would_cross(rec, inst, rec.price):
            return R.POST_ONLY_WOULD_TAKE, "post-only order would cross the book"
        asset, need = self._lock_need(rec, inst, rec.qty, rec.price)
        free = self.account.free(asset)
        if need > free + 1e-9 * max(1.0, need):
            what = "margin" if inst.is_derivative else "balance"
            why = f"insufficient {what}: need {need:.8g} {asset}, free {free:.8g}"
            return R.INSUFFICIENT_FUNDS, why
        return None

    def _reduce_only_problem(self, rec: SimOrder, inst: Instrument, qty: float) -> Refusal | None:
        return rules.reduce_only_problem(rec, inst, self.account.position_qty(inst.symbol), qty)

    def _not_open(self, order_id: str) -> RejectReason:
        """Why ``order_id`` cannot be canceled or amended: never seen, or already finished."""
        known = order_id in self._orders or order_id in self._by_vid
        return R.ORDER_CLOSED if known else R.ORDER_NOT_FOUND

    def _refuse(self, code: RejectReason) -> bool:
        """Record why a cancel/amend was refused; False, for ``return self._refuse(...)``."""
        self.last_refusal = code
        return False

    def _would_cross(self, rec: SimOrder, inst: Instrument, price: float) -> bool:
        """L2 mode only; in bar mode crossing is judged at the next bar's open."""
        ext = self._ext.get(inst.symbol)
        if ext is None or not ext.has_data:
            return False
        book = self._books.get(inst.symbol)
        mine = book.best(rec.side.opposite) if book else None
        if rec.side is BUY:
            best = ext.best_ask()
            if mine is not None and mine is not rec and (best is None or mine.price < best):
                best = mine.price
            return best is not None and price >= best
        best = ext.best_bid()
        if mine is not None and mine is not rec and (best is None or mine.price > best):
            best = mine.price
        return best is not None and price <= best

    def _ref_price(self, symbol: str, side: Side) -> float | None:
        """What a market order of ``side`` would pay now, as far as the venue knows."""
        ext = self._ext.get(symbol)
        if ext is not None:
            px = ext.best_ask() if side is BUY else ext.best_bid()
            if px is not None:
                return px
        return self._last.get(symbol)

    def _lock_need(
        self, rec: SimOrder, inst: Instrument, qty: float, price: float
    ) -> tuple[str, float]:
        return rules.lock_need(
            rec,
            inst,
            qty,
            price,
            market_ref=self._ref_price(inst.symbol, rec.side) if rec.order_type is MARKET else None,
            market_buffer=self.config.market_lock_buffer,
            position_qty=self.account.position_qty(inst.symbol),
            leverage=self.account.leverage(inst.symbol),
        )

    # ======================================================================================
    # cancel / amend
    # ======================================================================================
    def _find_open(self, order_id: str) -> SimOrder | None:
        rec = self._open.get(order_id)
        if rec is None:
            rec = self._by_vid.get(order_id)
            if rec is not None and not rec.is_open:
                rec = None
        return rec

    def _cancel_now(self, order_id: str, ts: int) -> bool:
        rec = self._find_open(order_id)
        if rec is None:
            log.debug("cancel of unknown or finished order %s ignored", order_id)
            return self._refuse(self._not_open(order_id))
        self.last_refusal = R.NONE
        self._finish(rec, S.CANCELED, ts, "canceled by user")
        return True

    def _amend_now(
        self, order_id: str, new_qty: float | None, new_price: float | None, ts: int
    ) -> bool:
        rec = self._find_open(order_id)
        if rec is None:
            return self._refuse(self._not_open(order_id))
        if rec.order_type is MARKET or rec.where == ARMED:
            return self._refuse(R.OTHER)
        inst = self._inst[rec.symbol]
        qty = rec.qty if new_qty is None else float(new_qty)
        price = rec.price if new_price is None else float(new_price)
        if not (math.isfinite(price) and price > 0):
            return self._refuse(R.INVALID_PRICE)
        if not math.isfinite(qty) or qty <= rec.filled_qty + rules.eps(inst) or qty < inst.min_size:
            return self._refuse(R.INVALID_SIZE)
        self.last_refusal = R.NONE
        if qty == rec.qty and price == rec.price:
            return True
        if rec.reduce_only and self._reduce_only_problem(rec, inst, qty - rec.filled_qty):
            return self._refuse(R.REDUCE_ONLY)
        if rec.tif is POST_ONLY and self._would_cross(rec, inst, price):
            return self._refuse(R.POST_ONLY_WOULD_TAKE)
        asset, need = self._lock_need(rec, inst, qty, price)
        if need - rec.lock > self.account.free(asset) + 1e-9 * max(1.0, need):
            return self._refuse(R.INSUFFICIENT_FUNDS)
        self.account.adjust_lock(asset, need - rec.lock)
        rec.lock = need
        keeps_priority = price == rec.price and qty < rec.qty
        was_resting = rec.where == RESTING
        if was_resting:
            self._books[rec.symbol].remove(rec)
            rec.where = NOWHERE
        rec.qty, rec.price, rec.ts_updated = qty, price, ts
        if not keeps_priority:
            self._seq += 1
            rec.seq = self._seq
        if not was_resting:  # still waiting for its first bar: it will be judged there
            return True
        ext = self._ext.get(rec.symbol)
        if ext is not None and ext.has_data:
            self._take(rec, inst, ts, keep_queue=keeps_priority)
        elif keeps_priority:
            self._rest(rec, keep_queue=True)
        else:  # bar mode: a new price is judged afresh at the next bar's open
            rec.accept_ts = ts
            rec.where = PENDING
            self._pending.setdefault(rec.symbol, []).append(rec)
        return True

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

    # ======================================================================================
    # execution and bookkeeping
    # ======================================================================================
    def _want(self, rec: SimOrder, inst: Instrument, price: float) -> float:
        """Size ``rec`` still wants at ``price`` (quote-sized buys: what the budget buys,
        fee included, floored to the lot)."""
        if not rec.is_quote_sized:
            return rules.remaining(rec, inst)
        unit = price * inst.contract_value * (1 + inst.taker_fee)
        budget = rec.quote_qty - rec.spent_quote
        q = rules.floor_fit(inst, budget, unit)
        if rec.filled_qty == 0 and q < inst.min_size:
            return 0.0
        return q

    def _cap(
        self, rec: SimOrder, inst: Instrument, qty: float, price: float, rate: float
    ) -> tuple[float, str]:
        """The part of ``qty`` the account allows now, and why it had to cut (if it did)."""
        if inst.is_derivative:
            closable = max(0.0, -rec.side.sign * self.account.position_qty(inst.symbol))
            if rec.reduce_only:
                if qty > closable + rules.eps(inst):
                    return inst.round_qty(closable), "reduce-only: position smaller than order"
                return qty, ""
            opening = qty - closable
            if opening > rules.eps(inst):
                lev = self.account.leverage(inst.symbol)
                per = inst.settle_value(1.0, price) * (1.0 / lev + max(rate, 0.0))
                avail = self.account.free(inst.settle) + rec.lock
                if opening * per > avail * (1 + 1e-12) + 1e-12:
                    fits = min(qty, closable) + rules.floor_fit(inst, avail, per)
                    return inst.round_qty(fits), "insufficient margin"
            return qty, ""
        if rec.side is BUY:
            unit = price * inst.contract_value * (1 + rate)
            avail = self.account.free(inst.quote) + rec.lock
            if qty * unit > avail * (1 + 1e-12) + 1e-12:
                return rules.floor_fit(inst, avail, unit), "insufficient balance"
        else:
            avail = self.account.free(inst.base) + rec.lock
            if qty > avail * (1 + 1e-12) + 1e-12:
                return inst.round_qty(max(avail, 0.0)), "insufficient balance"
        return qty, ""

    def _execute(
        self,
        rec: SimOrder,
        inst: Instrument,
        qty: float,
        price: float,
        liquidity: Liquidity,
        ts: int,
        publish: bool,
    ) -> None:
        """Book one execution of ``rec``: money, locks, the record, the Fill (sent now)."""
        rate = inst.taker_fee if liquidity is _TAKER else inst.maker_fee
        notional = qty * price * inst.contract_value
        fee_in_base = rec.fee_ccy == inst.base and not inst.is_derivative
        if fee_in_base:
            fee = qty * rate
        elif inst.inverse:
            fee = inst.settle_value(qty, price) * rate
        else:
            fee = notional * rate
        if self.config.fee_decimals is not None:
            fee = round(fee, self.config.fee_decimals)
        quote_fee = 0.0 if fee_in_base else fee
        rem_before = rec.remaining_qty
        budget_before = rec.quote_qty - rec.spent_quote
        if inst.is_derivative:
            self.account.apply_derivative_fill(inst, rec.side, qty, price, fee)
            used = 0.0
        else:
            self.account.apply_spot_fill(inst, rec.side, qty, price, fee, fee_in_base)
            used = notional + quote_fee if rec.side is BUY else qty
        if rec.lock:
            if rec.is_quote_sized:
                frac = used / budget_before if budget_before > 0 else 1.0
            else:
                frac = qty / rem_before if rem_before > 0 else 1.0
            release = min(rec.lock, max(rec.lock * min(frac, 1.0), used))
            rec.lock -= release
            self.account.release(rec.lock_asset, release)
        total = rec.filled_qty + qty
        rec.avg_price = (rec.avg_price * rec.filled_qty + price * qty) / total
        rec.filled_qty = total
        rec.fee += fee
        rec.ts_updated = ts
        if rec.is_quote_sized:
            rec.spent_quote += notional + quote_fee
        self._tid += 1
        tid = str(self._tid)
        fill = Fill(
            ts=ts,
            client_order_id=rec.client_order_id,
            venue_order_id=rec.venue_order_id,
            trade_id=tid,
            symbol=rec.symbol,
            side=rec.side,
            price=price,
            qty=qty,
            fee=fee,
            fee_ccy=rec.fee_ccy,
            liquidity=liquidity,
            strategy_id=rec.strategy_id,
        )
        if self.config.keep_fill_history:
            self._fills.append(fill)
        self._sink.on_fill(fill)
        if self._on_public_trade is not None:
            taker = rec.side if liquidity is _TAKER else rec.side.opposite
            if publish:
                self._on_public_trade(TradeTick(ts, rec.symbol, price, qty, taker, tid))

    def _maker_fill(
        self, rec: SimOrder, inst: Instrument, qty: float, ts: int, publish: bool = True
    ) -> float:
        """Fill a resting order at its own price as maker and report; returns size filled."""
        q, why = self._cap(rec, inst, qty, rec.price, inst.maker_fee)
        if q > 0:
            self._execute(rec, inst, q, rec.price, _MAKER, ts, publish)
        if why:
            self._finish(rec, S.CANCELED, ts, why)
        elif rules.is_done(rec, inst):
            self._finish(rec, S.FILLED, ts)
        elif q > 0:
            self._report(rec, S.PARTIALLY_FILLED, ts)
        return max(q, 0.0)

    def _rest(self, rec: SimOrder, keep_queue: bool = False) -> None:
        book = self._books.get(rec.symbol)
        if book is None:
            book = self._books[rec.symbol] = RestingBook()
        if not keep_queue:
            ext = self._ext.get(rec.symbol)
            rec.queue_ahead = (
                ext.size(rec.side is BUY, rec.price)
                if ext is not None and self.config.queue_position
                else 0.0
            )
        book.add(rec)
        rec.where = RESTING

    def _finish(self, rec: SimOrder, status: OrderStatus, ts: int, reason: str = "") -> None:
        """Terminal state: release what the order still reserves, unlist it, report."""
        self.account.unlock_all(rec.lock_asset, rec.lock)
        rec.lock = 0.0
        self._open.pop(rec.client_order_id, None)
        if rec.where == RESTING:
            self._books[rec.symbol].remove(rec)
        elif rec.where == PENDING:
            pend = self._pending.get(rec.symbol)
            if pend is not None and rec in pend:
                pend.remove(rec)
        elif rec.where == ARMED:
            self._armed[rec.symbol].remove(rec)
        rec.where = NOWHERE
        self._report(rec, status, ts, reason)
        if rec.attached is not None and rec.filled_qty > 0:
            self._place_attached(rec, ts)

    def _report(self, rec: SimOrder, status: OrderStatus, ts: int, reason: str = "") -> None:
        if status not in TRANSITIONS[rec.status]:  # a bug here would corrupt the OMS
            log.error("illegal %s -> %s for %s", rec.status, status, rec.client_order_id)
        rec.status = status
        rec.ts_updated = ts
        if reason:
            rec.reason = reason
        self._sink.on_order_report(
            OrderReport(
                ts=ts,
                client_order_id=rec.client_order_id,
                venue_order_id=rec.venue_order_id,
                symbol=rec.symbol,
                status=status,
                filled_qty=rec.filled_qty,
                avg_price=rec.avg_price,
                reason=reason,
            )
        )

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
