"""The engine trades through the FTX gateway: Kernel -> OMS target -> gateway -> emulator and
back, and the engine's positions equal the venue's own after each target (also through a 429
storm and a lost placement answer)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from tradeloop.core.clock import LiveClock
from tradeloop.engine.kernel import Kernel
from tradeloop.engine.oms import ExecAlgo, ExecConfig, TargetRetryPolicy
from tradeloop.model import OrderReport, OrderStatus
from tradeloop.venues.ftx.gateway import FtxGateway

from .conftest import PERP, SPOT, make_gateway, until


@dataclass
class Engine:
    emu: Any
    gateway: FtxGateway
    kernel: Kernel
    reports: list[OrderReport]

    def position(self, symbol: str) -> float:
        return self.kernel.portfolio.position_qty(symbol)

    async def venue_position(self, symbol: str) -> float:
        inst = self.gateway.instruments()[symbol]
        if inst.is_derivative:
            pos = {p.symbol: p.qty for p in await self.gateway.fetch_positions()}
            return pos.get(symbol, 0.0)
        balances = {b.asset: b.total for b in await self.gateway.fetch_balances()}
        return balances.get(inst.base, 0.0) - 2.0  # the emulator starts with 2 BTC


@pytest.fixture
async def eng(emu: Any) -> AsyncIterator[Engine]:
    gateway = make_gateway(emu.base_url)
    await gateway.start()
    kernel = Kernel(gateway.instruments().values(), 100_000.0, gateway, LiveClock())
    kernel.oms.config = ExecConfig(ExecAlgo.MARKET, TargetRetryPolicy(base_s=0.05, cap_s=0.2))
    reports: list[OrderReport] = []
    kernel.bus.subscribe(OrderReport, reports.append)
    for symbol, market in ((PERP, "BTC-PERP"), (SPOT, "BTC/USD")):
        book = await gateway.rest.orderbook(market, 1)
        bid, ask = book["bids"][0][0], book["asks"][0][0]
        kernel.portfolio.marks[symbol] = (bid + ask) / 2
        kernel.oms.on_best(symbol, bid, ask)
    try:
        yield Engine(emu, gateway, kernel, reports)
    finally:
        await gateway.stop()


async def reach(eng: Engine, symbol: str, qty: float, what: str) -> None:
    eng.kernel.oms.set_target(symbol, qty)
    await until(lambda: eng.position(symbol) == pytest.approx(qty, abs=1e-3), what, 20)
    await eng.gateway.drain()
    await until(lambda: not eng.kernel.oms.open_orders, "no open orders")


async def test_targets_through_the_gateway_match_the_venue(eng: Engine) -> None:
    await reach(eng, PERP, 0.05, "long 0.05 BTC-PERP")
    assert eng.position(PERP) == pytest.approx(await eng.venue_position(PERP), abs=1e-12)
    eng.emu.faults.fail_next_429(6)  # a storm longer than one request's retries
    await reach(eng, PERP, -0.02, "short 0.02 through a 429 storm")
    assert eng.position(PERP) == pytest.approx(await eng.venue_position(PERP), abs=1e-12)
    eng.emu.faults.lose_replies(1, "drop", "POST /api/orders")  # placed, answer lost
    await reach(eng, PERP, 0.0, "flat after a lost answer")
    assert await eng.venue_position(PERP) == pytest.approx(0.0, abs=1e-12)
    assert eng.position(PERP) == pytest.approx(0.0, abs=1e-12)
    rl = [r for r in eng.reports if r.status is OrderStatus.REJECTED]
    assert all(r.code.transient for r in rl)  # only the storm's refusals, retried by the OMS
    # spot: bought in base units; fees come out of the base received, as the venue books them
    await reach(eng, SPOT, 0.01, "0.01 BTC/USD")
    assert eng.position(SPOT) == pytest.approx(await eng.venue_position(SPOT), abs=1e-12)
