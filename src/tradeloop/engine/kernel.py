"""The kernel wires one engine: bus, clock, portfolio, risk, OMS, strategies and the plugs.

Backtest, paper and live build the same ``Kernel``; they differ only in the clock, in what
calls :meth:`Kernel.on_market_data` (a replay loop or a venue's WebSocket) and in the
``ExecutionClient`` (the in-process simulated venue or a real/emulated venue over the wire).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from tradeloop.core.bus import EventBus
from tradeloop.core.clock import Clock
from tradeloop.core.ids import IdGenerator
from tradeloop.engine.oms import OMS, ExecConfig
from tradeloop.engine.portfolio import Portfolio
from tradeloop.engine.risk import RiskConfig, RiskEngine
from tradeloop.engine.strategy import Strategy
from tradeloop.model import (
    Bar,
    BookLevels,
    Fill,
    Instrument,
    OrderReport,
    QuoteTick,
    RiskEvent,
    TradeTick,
    TradingState,
)
from tradeloop.venues.base import ExecutionClient

log = logging.getLogger(__name__)

MarketEvent = Bar | TradeTick | QuoteTick | BookLevels


def _symbol_filter(
    handler: Callable[[Any], None], symbols: frozenset[str]
) -> Callable[[Any], None]:
    def filtered(ev: MarketEvent) -> None:
        if ev.symbol in symbols:
            handler(ev)

    return filtered


class Kernel:
    def __init__(
        self,
        instruments: Iterable[Instrument],
        cash: float,
        client: ExecutionClient,
        clock: Clock,
        risk: RiskConfig = RiskConfig(),
        execution: ExecConfig = ExecConfig(),
        ids: IdGenerator | None = None,
    ) -> None:
        self.instruments = {i.symbol: i for i in instruments}
        self.clock = clock
        self.bus = EventBus()
        self.portfolio = Portfolio(self.instruments, cash)
        p = self.portfolio
        self.risk = RiskEngine(risk, self.instruments, p.equity, p.position_qty, p.marks.get)
        self.oms = OMS(self.bus, clock, client, self.risk, p, self.instruments, execution, ids)
        self.client = client
        self.strategies: list[Strategy] = []
        self._marks = p.marks
        self.risk.on_breach = self._on_breach
        self.risk.on_state_change = self._on_state_change
        self._started = False
        # marks are taken before strategies see an event (subscribed first)
        self.bus.subscribe(Bar, self._on_bar)
        self.bus.subscribe(TradeTick, self._on_trade)
        self.bus.subscribe(QuoteTick, self._on_quote)
        self.bus.subscribe(BookLevels, self._on_book)

    # -- strategies ------------------------------------------------------------------------
    def add_strategy(self, strategy: Strategy) -> None:
        if self._started:
            raise RuntimeError("add strategies before start()")
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

    def _subscribe(self, s: Strategy) -> None:
        wanted = set(s.symbols)
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
            if wanted and wanted != set(self.instruments):
                self.bus.subscribe(ev_type, _symbol_filter(handler, frozenset(wanted)))
            else:
                self.bus.subscribe(ev_type, handler)
        if overridden("on_order"):
            self.oms.listeners.orders[s.id] = s.on_order
        if overridden("on_fill"):
            self.oms.listeners.fills[s.id] = s.on_fill

    # -- market data entry point -------------------------------------------------------------
    def on_market_data(self, event: Bar | TradeTick | QuoteTick | BookLevels) -> None:
        self.bus.publish(event)

    def _on_bar(self, bar: Bar) -> None:
        self._marks[bar.symbol] = bar.close
        if bar.ts >= self.risk.next_check_ns:  # skip the call when the risk engine has no work
            self.risk.on_time(bar.ts)
        if self.oms.chasing:
            self.oms.on_best(bar.symbol, bar.close, bar.close)

    def _on_trade(self, t: TradeTick) -> None:
        self.portfolio.marks[t.symbol] = t.price
        self.risk.on_time(t.ts)

    def _on_quote(self, q: QuoteTick) -> None:
        if q.bid and q.ask:
            self.portfolio.marks[q.symbol] = (q.bid + q.ask) * 0.5
        self.risk.on_time(q.ts)
        if self.oms.chasing:
            self.oms.on_best(q.symbol, q.bid, q.ask)

    def _on_book(self, b: BookLevels) -> None:
        # Books are deltas: best prices come from the book the data source maintains, which
        # publishes a QuoteTick when the top changes. Only the clock matters here.
        self.risk.on_time(b.ts)

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
