"""Stopping a live run stops trading: no order is sent after the stop, and the run's result
holds every fill the venue booked for it, even when the venue's private stream is slow.

It pins two fixes: at stop ``run_live`` (``engine/live.py``) cancels the working orders and
waits for their ends (it used to wait a fixed 0.5 s), and after ``Kernel.stop()`` the OMS no
longer pursues a target with a new order when a canceled target order ends (``OMS.stopped``).
Here the OKX emulator's private pushes run 3 s late (a loaded
machine or a slow venue does the same, less reliably): the target moves while its first order's
fill is still on the way, the stop cancels that order, and a new one goes out after the stop."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from tests.engine.livestop import stop_when

from tradeloop.emulator.okx.server import EmulatorConfig, OkxEmulator
from tradeloop.engine.live import LiveConfig, run_live
from tradeloop.engine.strategy import Strategy
from tradeloop.model import Bar
from tradeloop.venues.okx.gateway import OkxGateway

KEY, SECRET, PASS = "stop-key", "stop-secret", "stop-pass"
PUSH_DELAY_S = 3.0


class TwoTargets(Strategy):
    """Long 0.01 on the first bar, 0.02 on the second, then nothing."""

    def on_start(self) -> None:
        self.bars = 0

    def on_bar(self, bar: Bar) -> None:
        self.bars += 1
        if self.bars <= 2:
            self.target(bar.symbol, 0.01 * self.bars)


async def test_no_order_after_the_stop_and_every_fill_in_the_result() -> None:
    emu = OkxEmulator(
        EmulatorConfig(
            api_key=KEY, api_secret=SECRET, passphrase=PASS, balances={"USDT": 50_000.0},
            symbols=["BTC-USDT"], seed=5, tick_interval_ms=50,
        )
    )  # fmt: skip
    url = await emu.start("127.0.0.1", 0)
    push = emu.hub.push_private

    def late(*args: Any) -> None:  # the venue's private stream runs PUSH_DELAY_S behind
        asyncio.get_running_loop().call_later(PUSH_DELAY_S, push, *args)

    emu.hub.push_private = late  # type: ignore[method-assign]
    stopped_at: list[int] = []
    try:
        strat = TwoTargets()
        cfg = LiveConfig(symbols=("BTC-USDT",), cash=10_000.0, bar_interval="1s")
        stop = asyncio.Event()

        def second_target() -> bool:
            if getattr(strat, "bars", 0) < 2:
                return False
            stopped_at.append(time.time_ns())
            return True

        watch = asyncio.create_task(stop_when(second_target, stop, "the second target"))
        try:
            result = await run_live([strat], OkxGateway(url, KEY, SECRET, PASS), cfg, stop)
        finally:
            stop.set()
        await watch
        await asyncio.sleep(PUSH_DELAY_S + 1)  # whatever the venue did has been pushed
        venue_btc = emu.trading.account.sim.balances()["BTC"].total
    finally:
        await emu.stop()
    orders = list(result.kernel.oms.orders.values())
    late_orders = [o.client_order_id for o in orders if o.ts_created > stopped_at[0]]
    assert not late_orders, f"orders sent after the stop: {late_orders}"
    engine_btc = result.kernel.portfolio.position_qty("BTC-USDT.OKX")
    assert engine_btc == pytest.approx(venue_btc, abs=1e-12), "a fill missing from the result"
