"""The kernel wires one engine: bus, clock, portfolio, risk, OMS, strategies and the plugs.

Backtest, paper and live build the same ``Kernel``; they differ only in the clock, in what
calls :meth:`Kernel.on_market_data` (a replay loop or venues' WebSockets) and in the execution
clients (the in-process simulated venue, or real/emulated venues over the wire). Several venues
plug in at once: give one client per venue and orders are routed by their instrument's venue
(``engine.router``); market data from any number of data clients goes to ``on_market_data``.

Instruments are addressed by id (``BTC-USDT.OKX``); a strategy may also use the bare native
symbol when only one venue in the run has it. A venue that reports ``reconcile_failed`` (its
view of our orders may be stale) is halted by the risk engine until :meth:`resume_venue`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from enum import Enum
from typing import Any

from tradeloop.core.bus import Accepts, EventBus, Handler
from tradeloop.core.clock import Clock
from tradeloop.core.errors import ConfigError
from tradeloop.core.ids import IdGenerator
from tradeloop.engine.accounts import Capital
from tradeloop.engine.oms import OMS, ExecConfig
from tradeloop.engine.portfolio import Portfolio
from tradeloop.engine.risk import RiskConfig, RiskEngine
from tradeloop.engine.router import ExecutionRouter
from tradeloop.engine.strategy import Strategy
from tradeloop.model import (
    Bar,
    BookLevels,
    Event,
    Fill,
    Instrument,
    OrderReport,
    QuoteTick,
    RiskEvent,
    TradeTick,
    TradingState,
    VenueStatus,
    native_of,
)
from tradeloop.venues.base import ExecutionClient

log = logging.getLogger(__name__)

MarketEvent = Bar | TradeTick | QuoteTick | BookLevels


class OnStrategyError(str, Enum):
    """What a strategy exception does: ``raise`` stops the run (backtests: a bug should not
    be traded around), ``log`` logs it and carries on, ``stop`` logs it and stops feeding that
    strategy (its working orders stay; other strategies go on)."""

    RAISE = "raise"
    LOG = "log"
    STOP = "stop"


def _symbol_filter(
    handler: Callable[[Any], None], symbols: frozenset[str]
) -> Callable[[Any], None]:
    def filtered(ev: MarketEvent) -> None:
        if ev.symbol in symbols:
            handler(ev)

    return filtered


def bar_topic(bar: Bar) -> tuple[str, int]:
    """A bar's topic on the bus: (instrument, bar period). A run may publish 1m, 15m and 1h
    bars of one instrument; a bar's period is ``ts - start``."""
    return (bar.symbol, bar.ts - bar.start)


def _bar_accepts(
    symbols: frozenset[str] | None, periods: Mapping[str, frozenset[int]] | None
) -> Accepts | None:
    """Which bar topics a strategy reads: those bar periods of those instruments, or every
    period of its instruments; None: every bar (no filter at all)."""
    if periods is not None:

        def wanted_period(topic: tuple[str, int]) -> bool:
            ps = periods.get(topic[0])
            return ps is not None and topic[1] in ps

        return wanted_period
    if symbols is not None:
        return lambda topic: topic[0] in symbols
    return None


def _bar_filter(handler: Callable[[Any], None], accepts: Accepts) -> Callable[[Any], None]:
    """The reference path (``Kernel.route_bars = False``): the filter asked on every bar."""

    def filtered(ev: Bar) -> None:
        if accepts(bar_topic(ev)):
            handler(ev)

    return filtered


class Kernel:
    """Strategies' bars are routed by topic (``bar_topic``): a run with many strategies
    publishes every bar to all of them, and filtering in each strategy's own wrapper costs a
    call per strategy per bar (measured: 20 wrappers made 60 % of a 10-instrument run); the
    bus resolves each (instrument, period) once to the handlers that want it."""

    #: route strategies' bars by topic (False: one filtered bus handler per strategy, the
    #: original path; kept as the reference the routed path is tested against)
    route_bars: bool = True

    def __init__(
        self,
        instruments: Iterable[Instrument],
        cash: Capital,
        client: ExecutionClient | Mapping[str, ExecutionClient],
        clock: Clock,
        risk: RiskConfig = RiskConfig(),
        execution: ExecConfig = ExecConfig(),
        ids: IdGenerator | None = None,
        *,
        currency: str | None = None,
        on_strategy_error: OnStrategyError = OnStrategyError.RAISE,
    ) -> None:
        self.instruments = {i.symbol: i for i in instruments}
        self.clock = clock
        self.bus = EventBus()
        self.on_strategy_error = on_strategy_error
        if on_strategy_error is not OnStrategyError.RAISE:
            self.bus.on_error = self._handler_failed
        self._owners: dict[Handler, Strategy] = {}
        #: (who, on what, exception type) -> how many times it failed (the log thins out)
        self._failures: dict[tuple[str, str, str], int] = {}
        self._bar_periods: dict[str, dict[str, frozenset[int]]] = {}
        self._names = self._symbol_names()
        self.portfolio = Portfolio(self.instruments, cash, currency)
        p = self.portfolio
        self.risk = RiskEngine(risk, self.instruments, p.equity, p.position_qty, p.marks.get)
        if isinstance(client, Mapping):
            client = ExecutionRouter(client, self.instruments)
        self.oms = OMS(self.bus, clock, client, self.risk, p, self.instruments, execution, ids)
        self.client = client
        self.oms.on_venue_fill = self._venue_fill
        #: vwap instruments -> the bar period that paces them (the first, finest one seen)
        self._vwap: dict[str, int] = dict.fromkeys(self.oms.vwap, 0)
        self.strategies: list[Strategy] = []
        self._marks = p.marks
        self.risk.on_breach = self._on_breach
        self.risk.on_state_change = self._on_state_change
        self._started = False
        # marks are taken before strategies see an event (subscribed first)
        self.bus.set_topic(Bar, bar_topic)
        self.bus.subscribe(Bar, self._on_bar)
        self.bus.subscribe(TradeTick, self._on_trade)
        self.bus.subscribe(QuoteTick, self._on_quote)
        self.bus.subscribe(BookLevels, self._on_book)
        self.bus.subscribe(VenueStatus, self._on_venue_status)

    # -- identity ------------------------------------------------------------------------
    def _symbol_names(self) -> dict[str, str]:
        """Every name a strategy may use for an instrument -> its id: the id itself, and the
        bare native symbol when exactly one venue in the run has it."""
        names = {s: s for s in self.instruments}
        natives: dict[str, list[str]] = {}
        for s, inst in self.instruments.items():
            natives.setdefault(inst.native or native_of(s), []).append(s)
        for native, ids in natives.items():
            if len(ids) == 1:
                names.setdefault(native, ids[0])
        return names

    def symbol_of(self, name: str) -> str:
        """The instrument id ``name`` stands for (ConfigError when it names none, or several)."""
        sym = self._names.get(name)
        if sym is None:
            if name in {i.native for i in self.instruments.values()}:
                raise ConfigError(f"{name!r} is traded on several venues here: use its id "
                                  f"(one of {', '.join(sorted(self.instruments))})")  # fmt: skip
            known = ", ".join(sorted(self.instruments)) or "none"
            raise ConfigError(f"unknown instrument {name!r} (this run has: {known})")
        return sym

    # -- strategies ------------------------------------------------------------------------
    def add_strategy(
        self,
        strategy: Strategy,
        symbols: Iterable[str] | None = None,
        bar_periods: Mapping[str, Iterable[int]] | None = None,
    ) -> None:
        """Add ``strategy``; ``symbols`` overrides the instruments it trades (its class's
        ``symbols``), ``bar_periods`` (name -> periods in ns) limits its ``on_bar`` to those
        bar periods of those instruments (multi-timeframe runs publish several)."""
        if self._started:
            raise RuntimeError("add strategies before start()")
        if symbols is not None:
            vars(strategy)["symbols"] = tuple(symbols)
        if bar_periods is not None:
            self._bar_periods[strategy.id] = {
                self._wanted_id(strategy, n): frozenset(ps) for n, ps in bar_periods.items()
            }
        self.portfolio.add_strategy(strategy.id, strategy.capital)
        strategy._attach(self)
        self.strategies.append(strategy)

    def start(self) -> None:
        self.portfolio.split_capital_evenly()
        for s in self.strategies:
            self._subscribe(s)
        self._started = True
        for s in self.strategies:
            s.on_start()

    def stop(self) -> None:
        for s in self.strategies:
            s.on_stop()
        self.oms.stopped = True

    def _wanted_id(self, s: Strategy, name: str) -> str:
        try:
            return self.symbol_of(name)
        except ConfigError as exc:
            raise ConfigError(f"strategy {s.id} wants {name!r}: {exc}") from None

    def _subscribe(self, s: Strategy) -> None:
        wanted = {self._wanted_id(s, name) for name in s.symbols}
        periods = self._bar_periods.get(s.id)
        cls = type(s)

        def overridden(name: str) -> bool:
            return getattr(cls, name) is not getattr(Strategy, name)

        for ev_type, name in (
            (Bar, "on_bar"),
            (TradeTick, "on_trade"),
            (QuoteTick, "on_quote"),
            (BookLevels, "on_book"),
        ):
            if not overridden(name):
                continue  # don't pay a call per event for a no-op handler
            handler = getattr(s, name)
            accepts = None
            if ev_type is Bar:
                symbols = frozenset(wanted) if wanted and wanted != set(self.instruments) else None
                accepts = _bar_accepts(symbols, periods)
                if accepts is not None and not self.route_bars:
                    handler, accepts = _bar_filter(handler, accepts), None
            elif wanted and wanted != set(self.instruments):
                handler = _symbol_filter(handler, frozenset(wanted))
            self._owners[handler] = s
            self.bus.subscribe(ev_type, handler, accepts)
        if overridden("on_order"):
            self.oms.listeners.orders[s.id] = s.on_order
        if overridden("on_fill"):
            self.oms.listeners.fills[s.id] = s.on_fill

    # -- market data entry point -------------------------------------------------------------
    def on_market_data(self, event: Event) -> None:
        self.bus.publish(event)

    def _on_bar(self, bar: Bar) -> None:
        self._marks[bar.symbol] = bar.close
        if bar.ts >= self.risk.next_check_ns:  # skip the call when the risk engine has no work
            self.risk.on_time(bar.ts)
        if self.oms.chasing:
            self.oms.on_best(bar.symbol, bar.close, bar.close)
        if self._vwap and bar.symbol in self._vwap:
            period = self._vwap[bar.symbol] or bar.ts - bar.start
            self._vwap[bar.symbol] = period
            if bar.ts - bar.start == period:
                self.oms.on_bar_volume(bar.symbol, bar.volume)

    def _venue_fill(self, fill: Fill) -> None:
        """A venue-initiated trade (liquidation) moved targets: strategies must be able to
        set the same target again, so their "unchanged target" shortcuts are forgotten."""
        for s in self.strategies:
            s._last_qty.clear()
            s._last_pct.clear()

    def _on_trade(self, t: TradeTick) -> None:
        self.portfolio.marks[t.symbol] = t.price
        if t.ts >= self.risk.next_check_ns:  # the risk engine's own first test, without a call
            self.risk.on_time(t.ts)

    def _on_quote(self, q: QuoteTick) -> None:
        if q.bid and q.ask:
            self.portfolio.marks[q.symbol] = (q.bid + q.ask) * 0.5
        if q.ts >= self.risk.next_check_ns:
            self.risk.on_time(q.ts)
        if self.oms.chasing:
            self.oms.on_best(q.symbol, q.bid, q.ask)

    def _on_book(self, b: BookLevels) -> None:
        # Books are deltas: best prices come from the book the data source maintains, which
        # publishes a QuoteTick when the top changes. Only the clock matters here.
        if b.ts >= self.risk.next_check_ns:
            self.risk.on_time(b.ts)

    # -- strategy errors and venue status ----------------------------------------------------
    def _handler_failed(self, handler: Handler, event: Event, exc: Exception) -> None:
        owner = self._owners.get(handler)
        who = f"strategy {owner.id}" if owner is not None else f"handler {handler!r}"
        what = type(event).__name__
        key = (who, what, type(exc).__name__)
        n = self._failures[key] = self._failures.get(key, 0) + 1
        # where it broke once (the traceback); then one line, thinning out: a strategy that
        # fails on every quote must not bury the log
        if n == 1:
            log.error("%s failed on %s: %s", who, what, exc, exc_info=exc)
        elif n <= 10 or str(n).strip("0") == "1":
            log.error("%s failed on %s: %s (%d times; the traceback is logged at the first)",
                      who, what, exc, n)  # fmt: skip
        if owner is not None and self.on_strategy_error is OnStrategyError.STOP:
            self.stop_strategy(owner, f"raised {type(exc).__name__} on {what}")

    def stop_strategy(self, strategy: Strategy, reason: str) -> None:
        """Stop feeding ``strategy`` any event (its working orders and targets stay)."""
        for ev_type in (Bar, TradeTick, QuoteTick, BookLevels):
            for h in self.bus.handlers(ev_type):
                if self._owners.get(h) is strategy:
                    self.bus.unsubscribe(ev_type, h)
        self.oms.listeners.orders.pop(strategy.id, None)
        self.oms.listeners.fills.pop(strategy.id, None)
        log.error("strategy %s stopped: %s", strategy.id, reason)

    def _on_venue_status(self, ev: VenueStatus) -> None:
        if ev.status == "reconcile_failed":
            self.risk.halt_venue(ev.venue, f"{ev.venue} reconcile failed: {ev.detail}", ev.ts)

    def resume_venue(self, venue: str) -> None:
        """Trade on ``venue`` again after its state was checked (an operator's decision)."""
        self.risk.resume_venue(venue, self.clock.now())

    # -- risk hooks ---------------------------------------------------------------------------
    def _on_breach(self, ts: int, message: str) -> None:
        n = self.oms.cancel_all()
        log.warning("%s; canceled %d working order(s)", message, n)

    def _on_state_change(self, state: TradingState, reason: str, ts: int) -> None:
        self.bus.publish(RiskEvent(ts or self.clock.now(), state.value, reason))
        if state is TradingState.ACTIVE:
            self.oms.retry_blocked()

    # -- convenience ---------------------------------------------------------------------------
    def record(self, fills: list[Fill], reports: list[OrderReport] | None = None) -> None:
        """Append every account fill (and optionally report) to the given lists."""
        self.bus.subscribe(Fill, fills.append)
        if reports is not None:
            self.bus.subscribe(OrderReport, reports.append)
