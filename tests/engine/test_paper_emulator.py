"""Paper trading: the engine runs a strategy through the live plugs (LiveClock, OKX gateway over
real localhost sockets) against the OKX emulator, and its books agree with the venue's."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from tests.engine.livestop import stop_when

from tradeloop.emulator.okx.server import EmulatorConfig, OkxEmulator
from tradeloop.engine.indicators import SMA
from tradeloop.engine.live import LiveConfig, run_live
from tradeloop.engine.strategy import Strategy
from tradeloop.model import Bar
from tradeloop.venues.okx.gateway import OkxGateway

KEY, SECRET, PASS = "paper-key", "paper-secret", "paper-pass"


class Flipper(Strategy):
    """Once a 2-bar SMA is warm, alternates every bar between 30 % long and flat, ``flips``
    times (long, flat, long), then holds: the run is stopped once the last flip has filled."""

    params = {"n": 2, "flips": 3}

    def on_start(self) -> None:
        self.sma = SMA(self.p.n)
        self.bars: list[Bar] = []
        self.flips = 0

    def on_bar(self, bar: Bar) -> None:
        self.bars.append(bar)
        if self.sma.update(bar.close) is not None and self.flips < self.p.flips:
            self.flips += 1
            self.target_percent(bar.symbol, 0.3 if self.flips % 2 else 0.0)

    def settled(self) -> bool:
        """Every flip done and filled: long again, nothing working at the venue."""
        if self._kernel is None or self.flips < self.p.flips:
            return False
        return not self.kernel.oms.open_orders and self.position("BTC-USDT.OKX") > 0


async def test_strategy_trades_on_the_emulator_and_books_reconcile() -> None:
    emu = OkxEmulator(
        EmulatorConfig(
            api_key=KEY,
            api_secret=SECRET,
            passphrase=PASS,
            balances={"USDT": 50_000.0},
            symbols=["BTC-USDT"],
            seed=5,
            tick_interval_ms=50,
        )
    )
    url = await emu.start("127.0.0.1", 0)
    try:
        strat = Flipper()
        gw = OkxGateway(url, KEY, SECRET, PASS)
        cfg = LiveConfig(symbols=("BTC-USDT",), cash=10_000.0, bar_interval="1s")
        stop = asyncio.Event()
        watch = asyncio.create_task(stop_when(strat.settled, stop, "three flips filled"))
        try:
            result = await run_live([strat], gw, cfg, stop)
        finally:
            stop.set()
        await watch
    finally:
        await emu.stop()
    assert result.bars >= 4  # the SMA is warm on the 2nd bar, then one flip per bar
    assert [b.ts for b in strat.bars] == sorted(b.ts for b in strat.bars)
    assert all(b.ts % 1_000_000_000 == 0 for b in strat.bars)  # closed on the clock's boundary
    assert len(result.fills) >= 3
    # LiveConfig's bare instId resolved to the instrument id everything carries
    assert {b.symbol for b in strat.bars} == {f.symbol for f in result.fills} == {"BTC-USDT.OKX"}
    orders = list(result.kernel.oms.orders.values())
    assert all(o.is_terminal for o in orders)  # nothing left working after stop
    # never two orders in flight for one target: each order ended before the next was created
    orders.sort(key=lambda o: o.ts_created)
    for prev, nxt in itertools.pairwise(orders):
        assert prev.ts_updated <= nxt.ts_created
    # the venue's account and the engine's portfolio agree on what was bought
    venue_btc = emu.trading.account.sim.balances()["BTC"].total
    engine_btc = result.kernel.portfolio.position_qty("BTC-USDT.OKX")
    assert engine_btc == pytest.approx(venue_btc, abs=1e-12)
    venue_usdt = emu.trading.account.sim.balances()["USDT"].total
    spent = 50_000.0 - venue_usdt
    assert result.kernel.portfolio.cash == pytest.approx(10_000.0 - spent, rel=1e-9)


async def test_unknown_symbol_is_a_clear_error() -> None:
    from tradeloop.core.errors import ConfigError

    emu = OkxEmulator(
        EmulatorConfig(
            api_key=KEY, api_secret=SECRET, passphrase=PASS, symbols=["BTC-USDT"], seed=1
        )
    )
    url = await emu.start("127.0.0.1", 0)
    try:
        with pytest.raises(ConfigError, match="NOPE-USDT"):
            await run_live(
                [Flipper()],
                OkxGateway(url, KEY, SECRET, PASS),
                LiveConfig(symbols=("NOPE-USDT",), cash=1000.0, duration_s=1),
            )
    finally:
        await emu.stop()
    await asyncio.sleep(0)
