"""The Strategy base class: the only API strategy authors need.

A strategy reacts to events (``on_bar``, ``on_trade`` ...) and either sets target positions
(``target`` / ``target_percent`` — the portfolio nets them and the OMS trades the account) or
places orders itself (``buy`` / ``sell`` / ``cancel``). It never sees the clock, data source or
execution client directly, which is what lets the same file run in backtest, paper and live.

Parameters are declared as a class-level dict; the CLI overrides them with ``--param k=v``,
coerced to the default's type, and unknown names are refused::

    class SmaCross(Strategy):
        params = {"fast": 10, "slow": 50}

        def on_bar(self, bar):
            ... self.p.fast ...
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, ClassVar

from tradeloop.core.errors import ConfigError
from tradeloop.model import (
    Bar,
    BookLevels,
    Fill,
    Order,
    OrderStatus,
    OrderType,
    QuoteTick,
    Side,
    TimeInForce,
    TradeTick,
)
from tradeloop.model.enums import TriggerKind
from tradeloop.model.order import Trigger

if TYPE_CHECKING:
    from tradeloop.engine.kernel import Kernel


def coerce_param(name: str, default: Any, raw: Any) -> Any:
    """Coerce an override (often a CLI string) to the type of the parameter's default."""
    if not isinstance(raw, str):
        return raw
    try:
        if isinstance(default, bool):
            low = raw.strip().lower()
            if low in ("1", "true", "yes", "on"):
                return True
            if low in ("0", "false", "no", "off"):
                return False
            raise ValueError(raw)
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except ValueError:
        raise ConfigError(
            f"parameter {name}: {raw!r} is not a valid {type(default).__name__}"
        ) from None
    return raw


class Strategy:
    #: declared parameters and their defaults (override with ``--param name=value``)
    params: ClassVar[dict[str, Any]] = {}
    #: instruments this strategy trades; empty = every instrument the kernel has
    symbols: ClassVar[tuple[str, ...]] = ()
    #: bars of history ``on_bar`` needs before its signals mean anything: a live run feeds
    #: this many closed bars from the venue's history before the first live bar (warm-up)
    lookback: ClassVar[int] = 0

    def __init__(
        self,
        strategy_id: str | None = None,
        params: Mapping[str, Any] | None = None,
        capital: float | None = None,
    ) -> None:
        self.id = strategy_id or type(self).__name__
        self.capital = capital
        merged = dict(self.params)
        for k, v in (params or {}).items():
            if k not in merged:
                known = ", ".join(sorted(merged)) or "none"
                raise ConfigError(
                    f"unknown parameter {k!r} for {type(self).__name__} (known: {known})"
                )
            merged[k] = coerce_param(k, merged[k], v)
        self.p = SimpleNamespace(**merged)
        self.log = logging.getLogger(f"strategy.{self.id}")
        self._kernel: Kernel | None = None
        self._last_qty: dict[str, float] = {}
        self._last_pct: dict[str, float] = {}
        #: target multipliers by instrument name (a run config's strategy x instrument
        #: multipliers); empty = 1 everywhere, at no cost
        self.multipliers: dict[str, float] = {}
        #: the strategy's own state (JSON values); a live run journals it and gives it back
        #: after a restart, so counters, flags and stops survive a crash
        self.state: dict[str, Any] = {}
        #: receives ``(kind, payload)`` for ``mark`` / ``line`` / ``plot``; None (backtests
        #: without a report that draws them) makes those calls free no-ops
        self.on_annotation: Callable[[str, dict[str, Any]], None] | None = None
        #: operator gate set by dashboard controls: "" trades, "reducing" only lets targets
        #: and orders shrink this strategy's position, "halted" ignores them (logged)
        self.gate = ""

    # -- wiring (called by the kernel) ------------------------------------------------------
    def _attach(self, kernel: Kernel) -> None:
        self._kernel = kernel

    @property
    def kernel(self) -> Kernel:
        if self._kernel is None:
            raise RuntimeError(f"strategy {self.id} is not attached to a kernel")
        return self._kernel

    # -- callbacks (override what you need) ---------------------------------------------
    def on_start(self) -> None: ...

    def on_stop(self) -> None: ...

    def on_bar(self, bar: Bar) -> None: ...

    def on_trade(self, trade: TradeTick) -> None: ...

    def on_quote(self, quote: QuoteTick) -> None: ...

    def on_book(self, book: BookLevels) -> None: ...

    def on_order(self, order: Order) -> None: ...

    def on_fill(self, fill: Fill) -> None: ...

    def on_timer(self, name: str, ts: int) -> None: ...

    # -- state ----------------------------------------------------------------------------
    @property
    def now(self) -> int:
        """Engine clock, int ns (simulated in backtests)."""
        return self.kernel.clock.now()

    def position(self, symbol: str) -> float:
        """This strategy's (virtual) position."""
        p = self.kernel.portfolio.books[self.id].positions.get(self.kernel.symbol_of(symbol))
        return p.qty if p is not None else 0.0

    @property
    def equity(self) -> float:
        return self.kernel.portfolio.strategy_equity(self.id)

    def price(self, symbol: str) -> float | None:
        return self.kernel.portfolio.marks.get(self.kernel.symbol_of(symbol))

    # -- targets ----------------------------------------------------------------------------
    def target(self, symbol: str, qty: float) -> None:
        """Hold ``qty`` (signed, base units / contracts). Repeating the same target is free."""
        if self._last_qty.get(symbol) == qty:  # keyed by the name used: no lookup per bar
            return
        sym = self.kernel.symbol_of(symbol)
        if self.gate and not self._gate_allows(sym, qty):
            return
        self._last_qty[symbol] = qty
        self._last_pct.pop(symbol, None)
        if self.multipliers:
            qty *= self.multipliers.get(symbol, self.multipliers.get(sym, 1.0))
        self.kernel.portfolio.set_target(self.id, sym, qty)

    def target_percent(self, symbol: str, fraction: float) -> None:
        """Hold ``fraction`` of this strategy's equity in ``symbol`` (1.0 = all in, -0.5 = half
        short), sized when the fraction changes."""
        if self._last_pct.get(symbol) == fraction:
            return
        sym = self.kernel.symbol_of(symbol)
        if self.gate and not self._gate_allows(sym, None if fraction else 0.0):
            return
        self._last_pct[symbol] = fraction
        self._last_qty.pop(symbol, None)
        if self.multipliers:
            fraction *= self.multipliers.get(symbol, self.multipliers.get(sym, 1.0))
        self.kernel.portfolio.set_target_percent(self.id, sym, fraction)

    # -- orders ---------------------------------------------------------------------------
    def order(
        self,
        symbol: str,
        side: Side,
        qty: float,
        price: float | None = None,
        tif: TimeInForce = TimeInForce.GTC,
        reduce_only: bool = False,
    ) -> Order:
        """Place an order; a ``price`` makes it a limit order. Returns the live Order object."""
        if self.gate == "reducing":
            reduce_only = True  # the risk engine refuses what would not reduce the position
        order = Order(
            "",
            self.kernel.symbol_of(symbol),
            side,
            qty,
            OrderType.LIMIT if price is not None else OrderType.MARKET,
            price or 0.0,
            tif,
            reduce_only,
            strategy_id=self.id,
        )
        if self.gate == "halted":
            order.status, order.reason = OrderStatus.REJECTED, "strategy halted by operator"
            self.log.info("order on %s not sent: strategy halted by operator", symbol)
            return order
        return self.kernel.oms.submit(order)

    def buy(self, symbol: str, qty: float, price: float | None = None, **kw: Any) -> Order:
        return self.order(symbol, Side.BUY, qty, price, **kw)

    def sell(self, symbol: str, qty: float, price: float | None = None, **kw: Any) -> Order:
        return self.order(symbol, Side.SELL, qty, price, **kw)

    def cancel(self, order: Order) -> None:
        self.kernel.oms.cancel(order)

    def amend(self, order: Order, qty: float | None = None, price: float | None = None) -> bool:
        """Change a working order's size and/or price in place (``on_order`` says how it went)."""
        return self.kernel.oms.amend(order, qty, price)

    def set_timer(self, name: str, interval_ns: int, start_ns: int | None = None) -> None:
        """Call ``on_timer(name, ts)`` every ``interval_ns`` of engine time."""
        self.kernel.clock.set_timer(
            f"{self.id}:{name}", interval_ns, lambda _n, ts: self.on_timer(name, ts), start_ns
        )

    # -- operator gate ----------------------------------------------------------------------
    def _gate_allows(self, sym: str, qty: float | None) -> bool:
        """Whether a new target passes the operator's gate: halted refuses all, reducing only
        a target between zero and the current position (``None`` = unknown size: refused)."""
        pos = self.position(sym)
        ok = (
            self.gate == "reducing"
            and qty is not None
            and (qty == 0.0 or (qty * pos > 0 and abs(qty) <= abs(pos)))
        )
        if not ok:
            self.log.info("target %s %s ignored: strategy %s by operator", sym, qty, self.gate)
        return ok

    # -- annotations (drawn on the dashboard and report charts) ------------------------------
    def _symbol_or_default(self, symbol: str | None) -> str:
        if symbol is not None:
            return self.kernel.symbol_of(symbol)
        if self.symbols:
            return self.kernel.symbol_of(self.symbols[0])
        return next(iter(self.kernel.instruments))

    def mark(
        self,
        text: str,
        symbol: str | None = None,
        *,
        price: float | None = None,
        color: str = "",
        shape: str = "circle",
    ) -> None:
        """Put a labelled marker on the chart at the current time (e.g. "entry", "signal")."""
        if self.on_annotation is not None:
            self.on_annotation("mark", {
                "strategy": self.id, "symbol": self._symbol_or_default(symbol), "ts": self.now,
                "text": text, "price": price, "color": color, "shape": shape,
            })  # fmt: skip

    def line(
        self, name: str, price: float | None, symbol: str | None = None, *, color: str = ""
    ) -> None:
        """Draw (or move) a named horizontal line, e.g. ``self.line("stop", 41_500)``;
        ``price=None`` removes it."""
        if self.on_annotation is not None:
            self.on_annotation("line", {
                "strategy": self.id, "symbol": self._symbol_or_default(symbol), "ts": self.now,
                "name": name, "price": price, "color": color,
            })  # fmt: skip

    def plot(self, name: str, value: float, symbol: str | None = None, *, color: str = "") -> None:
        """Add a point to a named indicator series drawn over the candles (e.g. a moving
        average); one point per call, at the current time."""
        if self.on_annotation is not None:
            self.on_annotation("series", {
                "strategy": self.id, "symbol": self._symbol_or_default(symbol), "ts": self.now,
                "name": name, "value": value, "color": color,
            })  # fmt: skip

    # -- trigger orders and brackets (the venue holds them; see ``model.order``) --------------
    def stop(
        self,
        symbol: str,
        side: Side,
        qty: float,
        trigger: float,
        price: float | None = None,
        reduce_only: bool = False,
    ) -> Order:
        """A stop: a sell fires when the last price falls to ``trigger`` (a buy when it
        rises to it) and becomes a market order, or a limit at ``price`` (stop-limit)."""
        return self._trigger_order(symbol, side, qty, Trigger(TriggerKind.STOP, trigger),
                                   price, reduce_only)  # fmt: skip

    def take_profit(
        self,
        symbol: str,
        side: Side,
        qty: float,
        trigger: float,
        price: float | None = None,
        reduce_only: bool = False,
    ) -> Order:
        """A take-profit: a sell fires when the price rises to ``trigger`` (a buy when it
        falls to it); market, or a limit at ``price``."""
        t = Trigger(TriggerKind.TAKE_PROFIT, trigger)
        return self._trigger_order(symbol, side, qty, t, price, reduce_only)

    def trailing_stop(
        self,
        symbol: str,
        side: Side,
        qty: float,
        *,
        rate: float = 0.0,
        amount: float = 0.0,
        activation: float = 0.0,
        reduce_only: bool = False,
    ) -> Order:
        """A stop trailing the best price seen by ``rate`` (0.02 = 2 %) or ``amount``, from
        ``activation`` on (0 = at once); fires as a market order."""
        t = Trigger(TriggerKind.TRAILING, activation, callback_rate=rate, callback_amount=amount)
        return self._trigger_order(symbol, side, qty, t, None, reduce_only)

    def oco(
        self,
        symbol: str,
        side: Side,
        qty: float,
        *,
        sl: float,
        tp: float,
        reduce_only: bool = False,
    ) -> Order:
        """One order with a stop-loss leg at ``sl`` and a take-profit leg at ``tp``: the first
        one the price reaches fires (market) and the other is gone with it."""
        t = Trigger(TriggerKind.OCO, sl, tp_price=tp)
        return self._trigger_order(symbol, side, qty, t, None, reduce_only)

    def bracket(
        self,
        symbol: str,
        side: Side,
        qty: float,
        price: float | None = None,
        *,
        sl: float | None = None,
        tp: float | None = None,
    ) -> Order:
        """An entry (market, or limit at ``price``) with a protective stop-loss and/or
        take-profit the venue places once the entry fills — an OCO when both are given.
        Returns the entry; ``entry.attached`` is the protective order (its own id, fills and
        reports; ended unfilled if the entry never fills)."""
        if sl is None and tp is None:
            raise ValueError("a bracket needs sl, tp or both")
        if sl is not None and tp is not None:
            t = Trigger(TriggerKind.OCO, sl, tp_price=tp)
        elif sl is not None:
            t = Trigger(TriggerKind.STOP, sl)
        else:
            assert tp is not None
            t = Trigger(TriggerKind.TAKE_PROFIT, tp)
        sym = self.kernel.symbol_of(symbol)
        inst = self.kernel.instruments.get(sym)
        protect = Order("", sym, side.opposite, qty, trigger=t, strategy_id=self.id,
                        reduce_only=inst is not None and inst.is_derivative)  # fmt: skip
        kind = OrderType.LIMIT if price is not None else OrderType.MARKET
        entry = Order("", sym, side, qty, kind, price or 0.0, strategy_id=self.id,
                      attached=protect)  # fmt: skip
        return self.kernel.oms.submit(entry)

    def _trigger_order(
        self,
        symbol: str,
        side: Side,
        qty: float,
        trigger: Trigger,
        price: float | None,
        reduce_only: bool,
    ) -> Order:
        kind = OrderType.LIMIT if price is not None else OrderType.MARKET
        order = Order("", self.kernel.symbol_of(symbol), side, qty, kind, price or 0.0,
                      reduce_only=reduce_only, strategy_id=self.id, trigger=trigger)  # fmt: skip
        return self.kernel.oms.submit(order)
