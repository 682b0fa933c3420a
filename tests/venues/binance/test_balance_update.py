"""A spot ``balanceUpdate`` (deposit, withdrawal, transfer: a delta) makes the gateway read
the spot wallet again and hand on the asset's absolute balance, over real sockets against the
emulator (``BinanceTrading.move_funds`` pushes the event as Binance does)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tests.support.gateway_fixtures import bound, serving, until

from tradeloop.emulator.binance.server import BinanceEmulator
from tradeloop.model import BalanceUpdate

from .conftest import Sink, make_emulator, make_gateway

READ = "GET /api/v3/account"


@pytest.fixture
async def emu() -> AsyncIterator[BinanceEmulator]:
    async with serving(make_emulator(seed=8)) as server:
        yield server


def _btc(sink: Sink) -> list[float]:
    return [e.total for e in sink.events if isinstance(e, BalanceUpdate) and e.asset == "BTC"
            and e.wallet == ""]  # fmt: skip


async def test_a_deposit_is_read_back_from_the_wallet(emu: BinanceEmulator) -> None:
    async with bound(make_gateway(emu.base_url), Sink()) as (_, sink):
        reads = emu.served[READ]
        emu.trading.move_funds("BTC", 0.5)
        # the outboundAccountPosition that follows says 1.5 too; the re-read is the second
        await until(lambda: emu.served[READ] == reads + 1 and _btc(sink).count(1.5) == 2)
        emu.trading.move_funds("BTC", -0.25)
        await until(lambda: emu.served[READ] == reads + 2 and _btc(sink).count(1.25) == 2)
        assert _btc(sink)[-1] == 1.25


async def test_a_balance_update_alone_still_reaches_the_engine(emu: BinanceEmulator) -> None:
    """Without the absolute push (which Binance may send later or not at all for a
    transfer), the delta alone brings the new balance."""
    async with bound(make_gateway(emu.base_url), Sink()) as (gw, sink):
        emu.trading.account.sim.account.credit("BTC", 2.0)
        emu.trading.publish([{"e": "balanceUpdate", "E": 1, "a": "BTC", "d": "2.00000000",
                              "T": 1}])  # fmt: skip
        await until(lambda: 3.0 in _btc(sink))
        gw._on_user({"e": "balanceUpdate", "a": "BTC"})  # no delta: one warning, no crash
