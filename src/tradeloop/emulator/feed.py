"""Drives the synthetic markets on a timer and fans each step out to listeners.

One asyncio task steps every symbol every ``tick_interval_ms`` (default 150 ms) and calls the
listeners synchronously (the venue's WS publisher, the account's book feed). Steps are cheap
(tens of microseconds per symbol) so two shared cores stay idle. Tests can call
:meth:`MarketDriver.step_all` directly for a deterministic step.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable

from tradeloop.emulator.market import BookChange, MarketParams, SymbolMarket, default_start_price
from tradeloop.emulator.replay import Record, ReplayMarket
from tradeloop.model.instrument import Instrument

log = logging.getLogger(__name__)

StepListener = Callable[[SymbolMarket, BookChange], None]


def now_ms() -> int:
    return int(time.time() * 1000)


class MarketDriver:
    """All symbols' synthetic markets plus the timer that moves them."""

    def __init__(
        self,
        instruments: Iterable[Instrument],
        seed: int,
        params: MarketParams,
        start_prices: dict[str, float] | None = None,
        replays: dict[str, list[Record]] | None = None,
    ) -> None:
        self.params = params
        self.markets: dict[str, SymbolMarket] = {}
        self.listeners: list[StepListener] = []
        start_prices = start_prices or {}
        t = now_ms()
        for i, inst in enumerate(instruments):
            # A swap shares its spot twin's start price so basis stays small.
            spot = inst.symbol.removesuffix("-SWAP")
            px = (
                start_prices.get(inst.symbol)
                or start_prices.get(spot)
                or default_start_price(inst.base)
            )
            rng_seed, id_base = seed * 1_000_003 + i, 100_000_000 * (i + 1)
            recorded = (replays or {}).get(inst.symbol)
            if recorded:
                self.markets[inst.symbol] = ReplayMarket(
                    inst, recorded, rng_seed, params, t, id_base
                )
            else:
                self.markets[inst.symbol] = SymbolMarket(inst, px, rng_seed, params, t, id_base)
        self._task: asyncio.Task[None] | None = None
        self._warm_up(t, steps=40)

    def _warm_up(self, t: int, steps: int) -> None:
        """Run a few steps in the recent past so trades and the current candle exist."""
        dt = int(max(self.params.tick_interval_ms, 100.0))
        for k in range(steps, 0, -1):
            for m in self.markets.values():
                m.step(t - k * dt)

    def step_all(self, ts_ms: int | None = None) -> None:
        t = now_ms() if ts_ms is None else ts_ms
        for m in self.markets.values():
            change = m.step(t)
            for listener in self.listeners:
                try:
                    listener(m, change)
                except Exception:  # one bad listener must not stop the market
                    log.exception("market listener failed for %s", m.instrument.symbol)

    async def _run(self) -> None:
        interval = max(self.params.tick_interval_ms, 10.0) / 1000.0
        while True:
            await asyncio.sleep(interval)
            self.step_all()

    def start(self) -> None:
        if self._task is None and self.params.tick_interval_ms > 0:
            self._task = asyncio.create_task(self._run(), name="emulator-market")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
