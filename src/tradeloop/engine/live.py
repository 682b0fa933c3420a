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
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from tradeloop.core.clock import LiveClock
from tradeloop.core.errors import AuthError, ConfigError, StartupError, VenueError
from tradeloop.core.ids import IdGenerator
from tradeloop.data.aggregate import EmptyBarPolicy, TimeBarAggregator
from tradeloop.engine.kernel import Kernel
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


@dataclass(frozen=True, slots=True)
class LiveConfig:
    """``cash`` is the capital the strategies may use (in each instrument's quote currency);
    the venue's own balance checks still apply on top."""

    symbols: tuple[str, ...]
    cash: float
    bar_interval: str = "1m"
    empty_bars: EmptyBarPolicy = EmptyBarPolicy.CARRY
    duration_s: float | None = None
    risk: RiskConfig = field(default_factory=RiskConfig)
    execution: ExecConfig = field(default_factory=ExecConfig)
    cancel_on_stop: bool = True
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


async def run_live(
    strategies: Sequence[Strategy],
    gateway: ExecutionClient,
    config: LiveConfig,
    stop: asyncio.Event | None = None,
) -> LiveResult:
    if not (isinstance(gateway, DataClient) and isinstance(gateway, Lifecycle)):
        raise TypeError(f"{type(gateway).__name__} is not a live gateway (needs data + lifecycle)")
    stop = stop or asyncio.Event()
    clock = LiveClock()
    await start_gateway(gateway, gateway.venue, config.start_attempts, config.start_backoff_s)
    try:
        known = gateway.instruments()
        missing = [s for s in config.symbols if s not in known]
        if missing:
            raise ConfigError(f"unknown symbol(s) at {gateway.venue}: {', '.join(missing)}")
        instruments: list[Instrument] = [known[s] for s in config.symbols]
        kernel = Kernel(
            instruments,
            config.cash,
            gateway,
            clock,
            config.risk,
            config.execution,
            IdGenerator.live(),
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
        gateway.bind_data(feed)
        interval = next(iter(aggs.values())).interval_ns
        first = (clock.now() // interval + 1) * interval

        def close_bars(_name: str, ts: int) -> None:
            for agg in aggs.values():
                agg.on_time(ts)

        kernel.start()
        clock.set_timer("bars", interval, close_bars, start_ns=first)
        for inst in instruments:
            await gateway.subscribe(inst.symbol, ("trades", "quotes"))
        log.info(
            "live: %s on %s, bars %s",
            ", ".join(s.id for s in strategies),
            ", ".join(config.symbols),
            config.bar_interval,
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), config.duration_s)
        clock.cancel_timer("bars")
        kernel.stop()
        if config.cancel_on_stop and kernel.oms.cancel_all():
            await gateway.drain(10.0)
            await asyncio.sleep(0.5)  # let the cancel acknowledgements arrive
        return LiveResult(kernel, fills, reports, feed.bars)
    finally:
        await gateway.stop()
