"""Portfolio: the account's books plus per-strategy attribution and target netting.

Strategies never own the account. Each strategy has *virtual* positions; the account position
for an instrument is always the sum of the strategies' virtual positions, and the account target
is the sum of their targets, so two strategies can never fight over the account: one buying
while the other sells is netted, and the opposite needs are crossed internally at the mark
price (no venue trade, no fee). Account fills are allocated to the strategies that needed them,
pro rata. Because internal crosses are zero-sum and allocations add up to the fill, the
strategies' PnL always sums to the account's PnL.

Accounting model: cash lives in (venue, currency) cells (``engine.accounts``); an instrument
books into the cell of its venue and settle currency. Spot buys move cash into inventory valued
at the mark; derivatives move only realised PnL and fees into cash and carry unrealised PnL
(inverse contracts in the base currency). ``equity = Σ cash + Σ spot qty·mark·ct + Σ derivative
upl``, each term converted to the reporting currency; with one currency (every backtest so far)
no conversion is done at all.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from tradeloop.engine.accounts import Accounts, Capital, CashBalance
from tradeloop.model import Fill, Instrument, Position
from tradeloop.model.enums import BUY

log = logging.getLogger(__name__)


@dataclass(slots=True)
class StrategyBook:
    """One strategy's virtual account."""

    strategy_id: str
    capital: float
    positions: dict[str, Position] = field(default_factory=dict)
    targets: dict[str, float] = field(default_factory=dict)
    percent_targets: dict[str, float] = field(default_factory=dict)
    fills: int = 0
    #: funding paid by this strategy's positions (negative = received), settle currency
    funding: float = 0.0

    def position(self, inst: Instrument) -> Position:
        p = self.positions.get(inst.symbol)
        if p is None:
            p = self.positions[inst.symbol] = Position.of(inst)
        return p


#: Called by the portfolio when an instrument's account target changes:
#: (symbol, target_qty, prefer_quote_sizing)
TargetListener = Callable[[str, float, bool], None]


class Portfolio:
    __slots__ = (
        "instruments",
        "initial_cash",
        "accounts",
        "positions",
        "marks",
        "books",
        "_on_target",
        "fees_paid",
        "fill_count",
        "_exposed",
        "other_fees",
        "_cells",
        "_cash_cells",
        "_single",
        "funding",
        "fees_by_symbol",
    )

    def __init__(
        self, instruments: dict[str, Instrument], cash: Capital, currency: str | None = None
    ) -> None:
        self.instruments = instruments
        self.positions: dict[str, Position] = {s: Position.of(i) for s, i in instruments.items()}
        self.marks: dict[str, float] = {}
        self.accounts = Accounts(instruments, cash, self.marks, currency)
        acc = self.accounts
        self._cells: dict[str, CashBalance] = {s: acc.cell_of(i) for s, i in instruments.items()}
        self._cash_cells = tuple(acc.cells.values())
        #: one reporting currency everywhere: equity needs no conversion (the fast path)
        self._single = acc.single_currency
        #: the starting cash in the reporting currency (non-par currencies at first marks)
        self.initial_cash = acc.total()
        self.books: dict[str, StrategyBook] = {}
        self._on_target: TargetListener | None = None
        self.fees_paid = 0.0
        #: fees charged in a currency that is neither cash nor a position here, per currency
        self.other_fees: dict[str, float] = {}
        self.fill_count = 0
        #: funding paid per instrument (negative = received), in its settle currency
        self.funding: dict[str, float] = {}
        #: fees paid per instrument, valued in the quote currency as in positions
        self.fees_by_symbol: dict[str, float] = {}
        # symbols with a non-zero account position (the only ones whose marks move equity),
        # with their Position, whether it is a derivative and the currency its value is in,
        # so equity() does no lookups
        self._exposed: dict[str, tuple[Position, bool, str]] = {}

    # -- wiring -------------------------------------------------------------------------
    def add_strategy(self, strategy_id: str, capital: float | None = None) -> StrategyBook:
        if strategy_id in self.books:
            raise ValueError(f"duplicate strategy id {strategy_id!r}")
        book = StrategyBook(strategy_id, capital if capital is not None else 0.0)
        self.books[strategy_id] = book
        return book

    def split_capital_evenly(self) -> None:
        """Give strategies without explicit capital an equal share of the initial cash."""
        unset = [b for b in self.books.values() if b.capital == 0.0]
        assigned = sum(b.capital for b in self.books.values())
        if unset:
            share = max(self.initial_cash - assigned, 0.0) / len(unset)
            for b in unset:
                b.capital = share

    def on_target_change(self, listener: TargetListener) -> None:
        self._on_target = listener

    # -- marks and valuation ------------------------------------------------------------
    def mark(self, symbol: str, price: float) -> None:
        self.marks[symbol] = price

    @property
    def currency(self) -> str:
        """The reporting currency of equity, PnL and capital."""
        return self.accounts.currency

    @property
    def cash(self) -> float:
        """All cash, in the reporting currency."""
        cells = self._cash_cells
        if self._single:
            return cells[0].amount if len(cells) == 1 else sum(c.amount for c in cells)
        return self.accounts.total()

    def cash_of(self, symbol: str) -> float:
        """Cash in ``symbol``'s own account and settle currency (what an order there spends)."""
        return self._cells[symbol].amount

    def cash_cell(self, symbol: str) -> CashBalance:
        return self._cells[symbol]

    def equity(self) -> float:
        eq = self.cash
        if self._exposed:
            marks = self.marks
            rate = None if self._single else self.accounts.rate
            for s, (p, derivative, ccy) in self._exposed.items():
                m = marks.get(s, p.avg_price)
                if derivative:
                    v = p.unrealized(m) if p.inverse else (m - p.avg_price) * p.qty * p.multiplier
                else:
                    v = p.qty * m * p.multiplier
                eq += v if rate is None else v * rate(ccy)
        return eq

    def value_in(self, ccy: str) -> float:
        """One unit of ``ccy`` in the reporting currency."""
        return self.accounts.rate(ccy)

    def position_qty(self, symbol: str) -> float:
        return self.positions[symbol].qty

    @property
    def exposed(self) -> bool:
        return bool(self._exposed)

    def strategy_pnl(self, strategy_id: str) -> tuple[float, float, float]:
        """(realised, unrealised, fees) of one strategy at current marks."""
        book = self.books[strategy_id]
        realized = unrealized = fees = 0.0
        if self._single:  # the common case, without the per-position currency branch
            marks = self.marks
            for s, p in book.positions.items():
                realized += p.realized_pnl
                fees += p.fees
                if p.qty:
                    unrealized += p.unrealized(marks.get(s, p.avg_price))
                else:
                    unrealized += 0.0
            return realized, unrealized, fees
        for s, p in book.positions.items():
            u = p.unrealized(self.marks.get(s, p.avg_price)) if p.qty else 0.0
            if self._single:
                r, f = p.realized_pnl, p.fees
            else:  # each position's PnL is in its settle currency
                k = self.accounts.rate(self.instruments[s].settle)
                r, u, f = p.realized_pnl * k, u * k, p.fees * k
            realized += r
            fees += f
            unrealized += u
        return realized, unrealized, fees

    def strategy_equity(self, strategy_id: str) -> float:
        r, u, f = self.strategy_pnl(strategy_id)
        return self.books[strategy_id].capital + r + u - f

    def account_pnl(self) -> float:
        return self.equity() - self.initial_cash

    # -- targets ------------------------------------------------------------------------
    def set_target(self, strategy_id: str, symbol: str, qty: float) -> None:
        book = self.books[strategy_id]
        book.percent_targets.pop(symbol, None)
        self._set_target_qty(book, symbol, qty, prefer_quote=False)

    def set_target_percent(self, strategy_id: str, symbol: str, fraction: float) -> None:
        """Target ``fraction`` of the strategy's equity in ``symbol`` at the current mark."""
        book = self.books[strategy_id]
        book.percent_targets[symbol] = fraction
        price = self.marks.get(symbol)
        if not price:
            raise ValueError(f"no price yet for {symbol}: cannot size a percent target")
        inst = self.instruments[symbol]
        # one strategy owns the whole account, so its equity *is* the account's (cheaper)
        equity = self.equity() if len(self.books) == 1 else self.strategy_equity(strategy_id)
        if not self._single:
            equity /= self.accounts.rate(inst.quote) or float("inf")  # in the quote currency
        if inst.inverse:  # a contract is worth contract_value of the quote currency
            qty = fraction * equity / inst.contract_value
        else:
            qty = fraction * equity / (price * inst.contract_value)
        self._set_target_qty(book, symbol, qty, prefer_quote=fraction > 0)

    def account_target(self, symbol: str) -> float:
        if len(self.books) == 1:
            b = next(iter(self.books.values()))
            t = b.targets.get(symbol)
            return t if t is not None else self._book_position(b, symbol).qty
        # a book without a target holds its position; looked up, never created (creating a
        # Position in every book for every instrument made each strategy's PnL walk them all)
        total: float = 0
        for b in self.books.values():
            t = b.targets.get(symbol)
            if t is None:
                p = b.positions.get(symbol)
                t = p.qty if p is not None else 0.0
            total += t
        return total

    def _set_target_qty(
        self, book: StrategyBook, symbol: str, qty: float, prefer_quote: bool
    ) -> None:
        book.targets[symbol] = qty
        if len(self.books) > 1:
            self._cross_internally(symbol)
        if self._on_target is not None:
            self._on_target(symbol, self.account_target(symbol), prefer_quote)

    def _book_position(self, book: StrategyBook, symbol: str) -> Position:
        inst = self.instruments[symbol]
        return book.position(inst)

    def _needs(self, symbol: str) -> list[tuple[StrategyBook, float]]:
        out = []
        for b in self.books.values():
            t = b.targets.get(symbol)
            if t is not None:
                p = b.positions.get(symbol)  # (created as _book_position would, when absent)
                need = t - (p if p is not None else self._book_position(b, symbol)).qty
                if need:
                    out.append((b, need))
        return out

    def _cross_internally(self, symbol: str) -> None:
        needs = self._needs(symbol)
        # one pass, added in the same order as sum() over each side would (same floats)
        buy: float = 0
        short: float = 0
        for _, n in needs:
            if n > 0:
                buy += n
            elif n < 0:
                short += n
        sell = -short
        cross = min(buy, sell)
        price = self.marks.get(symbol)
        if cross <= 0 or not price:
            return
        inst = self.instruments[symbol]
        for b, n in needs:
            share = cross * (n / buy if n > 0 else n / sell)
            b.position(inst).apply_fill(share, price, 0.0)

    # -- fills ---------------------------------------------------------------------------
    def apply_fill(self, fill: Fill, strategy_id: str = "") -> list[tuple[str, float, float]]:
        """Book an account fill; returns the allocation ``[(strategy_id, signed_qty, fee)]``.

        ``strategy_id`` set: the fill belongs to that strategy's own order (its target follows
        it). Empty: the fill served the netted target and is split among needy strategies.

        Fees are booked in their currency: a spot fee in the base currency (OKX charges buys
        that way) shrinks the position received, a quote/settle fee the cash. ``fee`` in the
        allocation and in positions is always valued in the quote currency.
        """
        inst = self.instruments[fill.symbol]
        signed = fill.qty if fill.side is BUY else -fill.qty
        fee = fill.fee
        booked = signed  # what the position moves by
        cash_fee = fee
        if fill.fee_ccy and fill.fee_ccy != inst.settle:
            cash_fee = 0.0
            if fill.fee_ccy == inst.base and not inst.is_derivative:
                booked = signed - fee  # paid out of the base received (or on top of a sale)
                fee = fee * fill.price
            else:
                self._foreign_fee(fill)
                fee = 0.0
        pos = self.positions[fill.symbol]
        realized = pos.apply_fill(booked, fill.price, fee)
        cell = self._cells[fill.symbol]
        if inst.is_derivative:
            cell.amount += realized - cash_fee
        else:
            cell.amount -= signed * fill.price * inst.contract_value + cash_fee
        self.fees_paid += fee if self._single else fee * self.accounts.rate(inst.settle)
        self.fees_by_symbol[fill.symbol] = self.fees_by_symbol.get(fill.symbol, 0.0) + fee
        self.fill_count += 1
        if pos.qty:
            self._exposed[fill.symbol] = (pos, inst.is_derivative, inst.settle)
        else:
            self._exposed.pop(fill.symbol, None)
        if fill.symbol not in self.marks:
            self.marks[fill.symbol] = fill.price
        return self._allocate(fill, booked, fee, strategy_id)

    def _holders(self, symbol: str, signed: float) -> list[tuple[StrategyBook, float]]:
        """Who takes a fill nobody asked for: the strategies it reduces (pro rata to what they
        hold), else those that trade ``symbol`` (hold a target there) evenly, else every
        strategy evenly. Such fills are routine in a shared account — an order in flight whose
        need was crossed internally meanwhile — and the OMS trades the excess back at once;
        giving it to a strategy that never trades the instrument would park it there for
        good (no target of its own ever sells it), starving the others' cash."""
        books = self.books.values()
        held = [(b, p.qty) for b in books
                if (p := b.positions.get(symbol)) is not None and p.qty * signed < 0]  # fmt: skip
        if held:
            return held
        return [(b, 1.0) for b in books if symbol in b.targets] or [(b, 1.0) for b in books]

    def apply_funding(self, symbol: str, paid: float, held: dict[str, float] | None = None) -> None:
        """Book a funding payment the venue settled on ``symbol`` (``paid`` by the account,
        negative = received, in the settle currency): out of the cash cell, and shared by the
        strategies in proportion to their positions (booked as their realised PnL, so their
        PnL still sums to the account's). ``held``: each strategy's position when the payment
        was settled, if not now (a live payment told after the strategies traded on)."""
        self._cells[symbol].amount -= paid
        self.funding[symbol] = self.funding.get(symbol, 0.0) + paid
        if held is None:
            total = self.positions[symbol].qty
            held = {sid: p.qty for sid, b in self.books.items()
                    if (p := b.positions.get(symbol)) is not None and p.qty}  # fmt: skip
        else:
            total = sum(held.values())
        if not total:
            return
        inst = self.instruments[symbol]
        for sid, q in held.items():
            b = self.books.get(sid)
            if b is not None and q:
                share = paid * q / total
                b.position(inst).realized_pnl -= share
                b.funding += share

    def _foreign_fee(self, fill: Fill) -> None:
        """A fee in a third currency (e.g. a venue token) is not in this account's cash or
        position: it is counted apart, per currency, and said once."""
        if fill.fee_ccy not in self.other_fees:
            log.warning("fee in %s on %s is not in the account's currencies; counted apart",
                        fill.fee_ccy, fill.symbol)  # fmt: skip
        self.other_fees[fill.fee_ccy] = self.other_fees.get(fill.fee_ccy, 0.0) + fill.fee

    def _allocate(
        self, fill: Fill, signed: float, fee: float, strategy_id: str
    ) -> list[tuple[str, float, float]]:
        inst = self.instruments[fill.symbol]
        if strategy_id or len(self.books) == 1:
            sid = strategy_id or next(iter(self.books))
            book = self.books[sid]
            book.position(inst).apply_fill(signed, fill.price, fee)
            book.fills += 1
            if strategy_id and fill.symbol in book.targets:
                book.targets[fill.symbol] += signed  # own orders: the target follows them
            return [(sid, signed, fee)]
        if not self.books:
            return []
        needs = [(b, n) for b, n in self._needs(fill.symbol) if (n > 0) == (signed > 0)]
        if not needs:  # nobody asked for it (a liquidation, a manual/reconciled fill)
            needs = self._holders(fill.symbol, signed)
        total = sum(abs(n) for _, n in needs)
        out = []
        for b, n in needs:
            w = abs(n) / total
            b.position(inst).apply_fill(signed * w, fill.price, fee * w)
            b.fills += 1
            out.append((b.strategy_id, signed * w, fee * w))
        return out
