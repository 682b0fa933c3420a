"""Live and paper runner: the same Kernel as a backtest, driven by a venue over the wire.

Plugs: ``LiveClock`` (wall time, asyncio timers), the venue's WebSocket feed as data source,
the venue's gateway as execution client. Time bars are aggregated from the venue's public trades
and closed by the clock at each interval boundary — a bar closes on time even when no trade
arrives — so ``on_bar`` fires exactly as in a backtest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from tradeloop.core.clock import LiveClock
from tradeloop.core.errors import AuthError, ConfigError, StartupError, VenueError
from tradeloop.core.ids import IdGenerator
from tradeloop.data.aggregate import EmptyBarPolicy, TimeBarAggregator
from tradeloop.engine.accounts import Capital
from tradeloop.engine.kernel import Kernel, OnStrategyError
from tradeloop.engine.oms import ExecConfig
from tradeloop.engine.risk import RiskConfig
from tradeloop.engine.strategy import Strategy
from tradeloop.model import Bar, Event, Fill, Instrument, OrderReport, TradeTick
from tradeloop.venues.base import DataClient, ExecutionClient

log = logging.getLogger(__name__)


@runtime_checkable
class Lifecycle(Protocol):
    """What the live runner needs from a gateway beyond ExecutionClient and DataClient: an
    async lifecycle and a way to wait for in-flight order requests."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def drain(self, timeout: float = 30.0) -> None: ...


#: how long a stop waits for the working orders' ends (cancel acks or late fills)
STOP_WAIT_S = 10.0


@dataclass(frozen=True, slots=True)
class LiveConfig:
    """``cash`` is the capital the strategies may use (in each instrument's quote currency);
    the venue's own balance checks still apply on top."""

    symbols: tuple[str, ...]
    #: one amount in the reporting currency, or amounts per (venue, currency)
    cash: Capital
    bar_interval: str = "1m"
    empty_bars: EmptyBarPolicy = EmptyBarPolicy.CARRY
    duration_s: float | None = None
    risk: RiskConfig = field(default_factory=RiskConfig)
    execution: ExecConfig = field(default_factory=ExecConfig)
    cancel_on_stop: bool = True
    #: a strategy exception is logged and the run goes on (live money must not stop because
    #: one strategy has a bug); ``stop`` also stops feeding that strategy
    on_strategy_error: OnStrategyError = OnStrategyError.LOG
    #: tries to bring the venue up when it answers "busy" or not at all, and the first wait
    #: between them (doubling); refused credentials are never retried
    start_attempts: int = 3
    start_backoff_s: float = 1.0


@dataclass(slots=True)
class LiveResult:
    kernel: Kernel
    fills: list[Fill]
    reports: list[OrderReport]
    bars: int


class _Feed:
    """Routes venue events into the kernel; trades also feed the bar aggregators."""

    def __init__(self, kernel: Kernel, aggregators: dict[str, TimeBarAggregator]) -> None:
        self.kernel = kernel
        self.aggregators = aggregators
        self.bars = 0

    def on_market_data(self, event: Event) -> None:
        if isinstance(event, TradeTick):
            agg = self.aggregators.get(event.symbol)
            if agg is not None:
                agg.on_trade(event)
        if isinstance(event, Bar):
            return  # our bars come from the aggregators, closed by our clock
        self.kernel.on_market_data(event)

    def on_bar(self, bar: Bar) -> None:
        self.bars += 1
        self.kernel.on_market_data(bar)


async def start_gateway(gateway: Lifecycle, venue: str, attempts: int, backoff_s: float) -> None:
    """Start ``gateway``, retrying transient failures (rate limits, 5xx, timeouts, refused
    connections); raise :class:`StartupError` with one line saying why it could not start. On
    failure the gateway is stopped again, so no session or socket is left open."""
    for attempt in range(1, max(1, attempts) + 1):
        try:
            await gateway.start()
            return
        except AuthError as exc:
            await gateway.stop()
            raise StartupError(f"{venue} refused the credentials: {exc}") from None
        except (VenueError, OSError, TimeoutError) as exc:
            await gateway.stop()
            transient = not isinstance(exc, VenueError) or exc.retryable or not exc.code
            if not transient or attempt >= attempts:
                raise StartupError(f"{venue} unavailable after {attempt} tries: {exc}") from None
            wait = backoff_s * 2 ** (attempt - 1)
            log.warning("%s did not start (%s); try %d in %.1fs", venue, exc, attempt + 1, wait)
            await asyncio.sleep(wait)


def resolve_instruments(names: Sequence[str], known: Mapping[str, Instrument]) -> list[Instrument]:
    """The instruments ``names`` stand for: an id (``BTC-USDT.OKX``), or a bare native symbol
    that exactly one connected venue has. ConfigError naming what is unknown or ambiguous."""
    by_native: dict[str, list[Instrument]] = {}
    for inst in known.values():
        by_native.setdefault(inst.native, []).append(inst)
    out: list[Instrument] = []
    for name in names:
        found = known.get(name)
        if found is None:
            matches = by_native.get(name, [])
            if len(matches) > 1:
                ids = ", ".join(sorted(i.symbol for i in matches))
                raise ConfigError(f"{name!r} is on several venues: use its id ({ids})")
            if not matches:
                venues = ", ".join(sorted({i.venue for i in known.values()})) or "none"
                raise ConfigError(f"unknown symbol {name!r} (venues connected: {venues})")
            found = matches[0]
        out.append(found)
    return out


async def run_live(
    strategies: Sequence[Strategy],
    gateway: ExecutionClient | Sequence[ExecutionClient],
    config: LiveConfig,
    stop: asyncio.Event | None = None,
) -> LiveResult:
    """Run ``strategies`` live on one gateway or several (one per venue, one process)."""
    gateways = list(gateway) if isinstance(gateway, Sequence) else [gateway]
    for gw in gateways:
        if not (isinstance(gw, DataClient) and isinstance(gw, Lifecycle)):
            raise TypeError(f"{type(gw).__name__} is not a live gateway (needs data + lifecycle)")
    if len({gw.venue for gw in gateways}) != len(gateways):
        raise ConfigError("one gateway per venue")
    stop = stop or asyncio.Event()
    clock = LiveClock()
    started: list[Lifecycle] = []
    try:
        for gw in gateways:
            assert isinstance(gw, Lifecycle)
            await start_gateway(gw, gw.venue, config.start_attempts, config.start_backoff_s)
            started.append(gw)
        known: dict[str, Instrument] = {}
        for gw in gateways:
            known.update(gw.instruments())
        instruments = resolve_instruments(config.symbols, known)
        by_venue = {gw.venue: gw for gw in gateways}
        kernel = Kernel(
            instruments,
            config.cash,
            by_venue if len(gateways) > 1 else gateways[0],
            clock,
            config.risk,
            config.execution,
            IdGenerator.live(),
            on_strategy_error=config.on_strategy_error,
        )
        for s in strategies:
            kernel.add_strategy(s)
        fills: list[Fill] = []
        reports: list[OrderReport] = []
        kernel.record(fills, reports)
        aggs: dict[str, TimeBarAggregator] = {}
        feed = _Feed(kernel, aggs)
        for inst in instruments:
            aggs[inst.symbol] = TimeBarAggregator(
                inst.symbol, config.bar_interval, feed.on_bar, config.empty_bars
            )
        for gw in gateways:
            assert isinstance(gw, DataClient)
            gw.bind_data(feed)
        interval = next(iter(aggs.values())).interval_ns
        first = (clock.now() // interval + 1) * interval

        def close_bars(_name: str, ts: int) -> None:
            for agg in aggs.values():
                agg.on_time(ts)

        kernel.start()
        clock.set_timer("bars", interval, close_bars, start_ns=first)
        for inst in instruments:
            data = by_venue[inst.venue]
            assert isinstance(data, DataClient)
            await data.subscribe(inst.symbol, ("trades", "quotes"))
        log.info(
            "live: %s on %s, bars %s",
            ", ".join(s.id for s in strategies),
            ", ".join(i.symbol for i in instruments),
            config.bar_interval,
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), config.duration_s)
        clock.cancel_timer("bars")
        kernel.stop()
        if config.cancel_on_stop and kernel.oms.cancel_all():
            for life in started:
                await life.drain(10.0)
            # every order's end (its cancel's ack, or the fill that beat the cancel) arrives
            # on the private stream, however late: wait for it, not for a fixed time
            loop = asyncio.get_running_loop()
            deadline = loop.time() + STOP_WAIT_S
            while kernel.oms.open_orders and loop.time() < deadline:
                await asyncio.sleep(0.05)
            if kernel.oms.open_orders:
                log.warning(
                    "stop: %d order(s) not confirmed ended within %.0f s: %s",
                    len(kernel.oms.open_orders),
                    STOP_WAIT_S,
                    ", ".join(sorted(kernel.oms.open_orders)),
                )
        return LiveResult(kernel, fills, reports, feed.bars)
    finally:
        for life in started:
            await life.stop()
