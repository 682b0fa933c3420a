"""The Binance gateway's two wallets against the emulator over real sockets: after a perp
round trip ``fetch_balances`` lists spot's USDT (untouched) and the USD-M wallet's USDT
(``wallet="usdm"``) moved by exactly the realised PnL less the fees; the listenKey stream's
``ACCOUNT_UPDATE`` pushes that wallet's balance under the same key; a spot-only server (or a
key the futures host refuses) leaves the answer spot-only."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tests.support.gateway_fixtures import bound, serving, until

from tradeloop.emulator.binance.server import BinanceEmulator
from tradeloop.model import BalanceUpdate, Order, OrderStatus, OrderType, Side

from .conftest import PERP, Sink, make_emulator, make_gateway


@pytest.fixture
async def emu() -> AsyncIterator[BinanceEmulator]:
    async with serving(make_emulator(seed=6, futures_balances={"USDT": 50_000.0})) as server:
        yield server


async def test_perp_moves_only_the_futures_wallet(emu: BinanceEmulator) -> None:
    async with bound(make_gateway(emu.base_url), Sink()) as (gw, sink):
        before = {(b.wallet, b.asset): b.total for b in await gw.fetch_balances()}
        assert before == {("", "USDT"): 100_000.0, ("", "BTC"): 1.0, ("usdm", "USDT"): 50_000.0}
        for cid, side in (("w-1", Side.BUY), ("w-2", Side.SELL)):
            gw.submit_order(Order(cid, PERP, side, 0.01, OrderType.MARKET))
            await until(lambda c=cid: (r := sink.last(c)) is not None  # type: ignore[misc]
                        and r.status is OrderStatus.FILLED)  # fmt: skip
        await gw.drain(5)
        fills = [f for f in sink.fills if f.symbol == PERP]
        pnl = sum(f.price * f.qty * (1 if f.side is Side.SELL else -1) for f in fills)
        fees = sum(f.fee for f in fills)
        assert fees > 0 and {f.fee_ccy for f in fills} == {"USDT"}
        got = await gw.fetch_balances()
        after = {(b.wallet, b.asset): b for b in got}
        assert after[("", "USDT")].total == 100_000.0 and after[("", "BTC")].total == 1.0
        fut = after[("usdm", "USDT")]
        assert fut.total == pytest.approx(50_000.0 + pnl - fees, abs=1e-6)
        assert fut.free == pytest.approx(fut.total) and fut.key == "usdm:USDT"
        assert all(b.venue == "BINANCE" for b in got)
        # the pushes: the futures wallet's, keyed apart from spot's
        await until(lambda: any(isinstance(e, BalanceUpdate) and e.wallet == "usdm"
                                and e.total == pytest.approx(fut.total)
                                for e in sink.events))  # fmt: skip
        assert not [e for e in sink.events if isinstance(e, BalanceUpdate) and not e.wallet]


async def test_spot_only_server_reports_the_spot_wallet() -> None:
    async with serving(make_emulator(seed=6, futures_symbols=[])) as server:
        gw = make_gateway(server.base_url)
        await gw.start()
        try:
            got = await gw.fetch_balances()
            assert {b.key for b in got} == {"USDT", "BTC"} and not any(b.wallet for b in got)
        finally:
            await gw.stop()


async def test_futures_key_refused_leaves_spot(
    emu: BinanceEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    gw = make_gateway(emu.base_url)
    await gw.start()
    try:
        assert gw.frest is not None
        gw.frest.credentials = type(gw.rest.credentials)("another-key", "x")  # type: ignore[misc]
        got = await gw.fetch_balances()
        assert {b.key for b in got} == {"USDT", "BTC"}
        assert "USD-M wallet not readable" in caplog.text
        assert "another-key" not in caplog.text
    finally:
        await gw.stop()
