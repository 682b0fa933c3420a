"""The engine trades an inverse contract through the BitMEX gateway: Kernel -> OMS target ->
gateway -> emulator and back. The engine keeps XBTUSD's cash, realised PnL and fees in BTC
(the settle currency of an inverse contract); after every target they equal the venue's own
wallet and position to the satoshi, and the position equals the venue's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tradeloop.core.clock import LiveClock
from tradeloop.engine.kernel import Kernel
from tradeloop.engine.oms import ExecAlgo, ExecConfig, TargetRetryPolicy
from tradeloop.venues.bitmex.gateway import BitmexGateway

from .conftest import XBTUSD, make_gateway, until

SAT = 1e-8


@pytest.fixture
async def eng(emu: Any) -> AsyncIterator[tuple[Kernel, BitmexGateway]]:
    gateway = make_gateway(emu.base_url)
    await gateway.start()
    kernel = Kernel(
        gateway.instruments().values(),
        {("BITMEX", "BTC"): 1.0},
        gateway,
        LiveClock(),
        currency="BTC",
    )
    kernel.oms.config = ExecConfig(ExecAlgo.MARKET, TargetRetryPolicy(base_s=0.05, cap_s=0.2))
    try:
        yield kernel, gateway
    finally:
        await gateway.stop()


async def reach(kernel: Kernel, gateway: BitmexGateway, emu: Any, qty: float) -> None:
    m = emu.driver.markets["XBTUSD"]
    bid, ask = float(m.px(m.best_bid())), float(m.px(m.best_ask()))
    kernel.portfolio.marks[XBTUSD] = (bid + ask) / 2
    kernel.oms.on_best(XBTUSD, bid, ask)
    kernel.oms.set_target(XBTUSD, qty)
    await until(lambda: kernel.portfolio.position_qty(XBTUSD) == qty, f"position {qty}", 10)
    await gateway.drain()
    await until(lambda: not kernel.oms.open_orders, "no open orders")


async def test_inverse_pnl_in_btc_engine_equals_venue(
    eng: tuple[Kernel, BitmexGateway], emu: Any
) -> None:
    kernel, gateway = eng
    fills = 0
    for target in (2000.0, -1000.0, 500.0, 0.0):
        await reach(kernel, gateway, emu, target)
        venue = {p.symbol: p for p in await gateway.fetch_positions()}
        assert venue.get(XBTUSD) is None or venue[XBTUSD].qty == target
        wallet = {b.asset: b.total for b in await gateway.fetch_balances()}["BTC"]
        engine_cash = kernel.portfolio.cash_of(XBTUSD)
        fills = len(emu.trading.executions)
        # both book each execution in whole satoshi by BitMEX's rules: equal to the satoshi
        assert round(engine_cash / SAT) == round(wallet / SAT), (target, engine_cash, wallet)
        assert abs(engine_cash - wallet) < SAT / 1000, (target, engine_cash, wallet)
    pos = kernel.portfolio.positions[XBTUSD]
    sim_pos = emu.trading.account.sim.positions()[XBTUSD.removesuffix(".BITMEX")]
    assert pos.realized_pnl == pytest.approx(sim_pos.realized_pnl, abs=1e-12)
    assert pos.fees == pytest.approx(sim_pos.fees, abs=fills * SAT)
    # the PnL is in BTC: realised = sum over round trips of qty x (1/entry - 1/exit)
    assert abs(pos.realized_pnl) < 0.01 and kernel.portfolio.currency == "BTC"
