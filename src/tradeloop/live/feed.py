"""Market data fan-out: one venue feed, many kernels (live groups and shadow strategies).

Each venue's public stream is subscribed once (on its first account's gateway). Every event
passes the abnormal-tick filter first; trades then feed the time-bar aggregators (one per
instrument and bar period, closed by the clock at each boundary, as in ``engine.live``), the
shadow strategies' simulated venues, and every kernel trading the instrument. Account and
connection news (balances, positions, ``VenueStatus``) carry the *account* they came from and
go only to that account's kernel — a reconcile failure on one account halts that account's
group, not the whole deployment.

Warm-up: while history bars are being fed, live bars are held back, then released in order;
a live bar not newer than the last history bar of its instrument and period is dropped, so a
strategy sees neither a gap nor a duplicate at the switch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from tradeloop.data.aggregate import EmptyBarPolicy, TimeBarAggregator
from tradeloop.data.tickfilter import TickFilter
from tradeloop.engine.kernel import Kernel
from tradeloop.model import (
    BalanceUpdate,
    Bar,
    BookLevels,
    Event,
    PositionUpdate,
    QuoteTick,
    TradeTick,
    VenueStatus,
)
from tradeloop.sim.exchange import SimExchange

log = logging.getLogger(__name__)


@dataclass(slots=True)
class AccountView:
    """What the venue last said about one account (for status lines and the dashboard).

    ``balances`` is keyed by (wallet, asset) as :attr:`BalanceUpdate.key` spells it: ``USDT``
    in the venue's main wallet, ``usdm:USDT`` in Binance's USD-M futures wallet -- two
    balances of one asset, never one overwriting the other."""

    connection: str = "starting"
    detail: str = ""
    balances: dict[str, float] = field(default_factory=dict)
    positions: dict[str, float] = field(default_factory=dict)


class MarketFeed:
    def __init__(self, tick_filter: TickFilter, empty: EmptyBarPolicy = EmptyBarPolicy.CARRY):
        self.filter = tick_filter
        self.empty = empty
        self.kernels: dict[str, list[Kernel]] = {}
        self.sims: dict[str, list[SimExchange]] = {}
        self.aggregators: dict[tuple[str, int], TimeBarAggregator] = {}
        #: account name -> its kernel (for account news)
        self.account_kernel: dict[str, Kernel] = {}
        self.views: dict[str, AccountView] = {}
        self.bars = 0
        self.events = 0
        self.warming = False
        self._held: list[Bar] = []
        self.last_warm: dict[tuple[str, int], int] = {}
        #: called with (kind, payload) for every account/connection event (dashboard hook)
        self.on_news: Callable[[str, dict[str, object]], None] | None = None

    # -- wiring ---------------------------------------------------------------------------------
    def add_kernel(self, kernel: Kernel) -> None:
        for sym in kernel.instruments:
            self.kernels.setdefault(sym, []).append(kernel)

    def add_sim(self, exchange: SimExchange) -> None:
        for sym in exchange.instruments():
            self.sims.setdefault(sym, []).append(exchange)

    def add_bars(self, symbol: str, period_ns: int) -> None:
        key = (symbol, period_ns)
        if key not in self.aggregators:
            self.aggregators[key] = TimeBarAggregator(
                symbol, period_ns, partial(self._live_bar, key), self.empty
            )

    def periods(self) -> set[int]:
        return {p for _, p in self.aggregators}

    def close_bars(self, period_ns: int, ts: int) -> None:
        for (_, p), agg in self.aggregators.items():
            if p == period_ns:
                agg.on_time(ts)

    # -- MarketDataSink -------------------------------------------------------------------------
    def on_market_data(self, ev: Event) -> None:
        if isinstance(ev, (BalanceUpdate, PositionUpdate, VenueStatus)):
            return  # account news arrives through on_account (it names the account)
        if isinstance(ev, Bar):
            return  # our bars come from the aggregators, closed by our clock
        if not self.filter.accept(ev):
            return
        self.events += 1
        sym: str = ev.symbol  # type: ignore[attr-defined]
        if isinstance(ev, TradeTick):
            for (s, _), agg in self.aggregators.items():
                if s == sym:
                    agg.on_trade(ev)
            for ex in self.sims.get(sym, ()):
                ex.on_trade(ev)
        elif isinstance(ev, BookLevels | QuoteTick):
            pass
        for k in self.kernels.get(sym, ()):
            k.on_market_data(ev)

    def on_account(self, account: str, ev: Event) -> None:
        """Account and connection news of one account (the gateway's ``on_account_event``)."""
        view = self.views.setdefault(account, AccountView())
        if isinstance(ev, VenueStatus):
            view.connection, view.detail = ev.status, ev.detail
            level = logging.INFO if ev.status in ("connected", "reconnected") else logging.WARNING
            log.log(level, "%s: %s %s", account, ev.status, ev.detail)
            kernel = self.account_kernel.get(account)
            if kernel is not None:
                kernel.on_market_data(ev)
        elif isinstance(ev, BalanceUpdate):
            view.balances[ev.key] = ev.total
        elif isinstance(ev, PositionUpdate):
            view.positions[ev.symbol] = ev.qty
        if self.on_news is not None:
            self.on_news("account", {"account": account, "event": type(ev).__name__,
                                     "detail": str(ev)})  # fmt: skip

    # -- bars -----------------------------------------------------------------------------------
    def _live_bar(self, key: tuple[str, int], bar: Bar) -> None:
        if self.warming:
            self._held.append(bar)
            return
        last = self.last_warm.get(key)
        if last is not None and bar.ts <= last:
            log.debug("live bar %s %d already fed by warm-up", bar.symbol, bar.ts)
            return
        self.bars += 1
        for ex in self.sims.get(bar.symbol, ()):
            ex.on_bar(bar)
        for k in self.kernels.get(bar.symbol, ()):
            k.on_market_data(bar)

    def release(self) -> None:
        """End of warm-up: publish the live bars held meanwhile, oldest first."""
        self.warming = False
        held, self._held = self._held, []
        for b in sorted(held, key=lambda b: b.ts):
            self._live_bar((b.symbol, b.ts - b.start), b)
