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
from collections.abc import Mapping
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, ClassVar

from tradeloop.core.errors import ConfigError
from tradeloop.model import (
    Bar,
    BookLevels,
    Fill,
    Order,
    OrderType,
    QuoteTick,
    Side,
    TimeInForce,
    TradeTick,
)

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
