"""Two venues in one process: an OKX and an FTX emulator on loopback, one strategy per venue,
one live run (``run_live`` with both gateways, built from the venue registry). Afterwards each
venue's own REST must agree with the engine: the fills the engine booked are exactly the fills
the venue reports, and each venue's balances moved by exactly what the engine booked there."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.engine.livestop import stop_when

from tradeloop.engine.live import LiveConfig, run_live
from tradeloop.engine.oms import ExecConfig, TargetRetryPolicy
from tradeloop.engine.strategy import Strategy
from tradeloop.model import Bar, Fill, Side
from tradeloop.venues import registry

okx_emulator = pytest.importorskip("tradeloop.emulator.okx.server")
ftx_emulator = pytest.importorskip("tradeloop.emulator.ftx.server")

OKX_ID, FTX_ID = "BTC-USDT.OKX", "BTC-PERP.FTX"
KEY, SECRET, PASS = "two-venue-key", "two-venue-secret", "two-venue-pass"


class Flipper(Strategy):
    """Trades one instrument: long ``size`` on odd bars, flat on even ones, ``flips`` times
    (long, flat, long), then holds; the run is stopped once both strategies are settled."""

    params = {"where": "", "size": 0.01, "flips": 3}

    def on_start(self) -> None:
        self.n = 0

    def on_bar(self, bar: Bar) -> None:
        if bar.symbol != self.p.where or self.n >= self.p.flips:
            return
        self.n += 1
        self.target(bar.symbol, self.p.size if self.n % 2 else 0.0)

    def settled(self) -> bool:
        """Every flip done and filled: long again (OKX takes a spot buy's fee in BTC, so a bit
        under ``size``), nothing of ours working."""
        if self._kernel is None or self.n < self.p.flips:
            return False
        working = any(o.strategy_id == self.id for o in self.kernel.oms.open_orders.values())
        return not working and self.position(self.p.where) > self.p.size / 2


@pytest.fixture
async def venues() -> AsyncIterator[tuple[Any, Any]]:
    okx = okx_emulator.OkxEmulator(
        okx_emulator.EmulatorConfig(
            api_key=KEY, api_secret=SECRET, passphrase=PASS,
            balances={"USDT": 100_000.0, "BTC": 2.0}, symbols=["BTC-USDT"], seed=5,
            tick_interval_ms=50,
        )
    )  # fmt: skip
    ftx = ftx_emulator.FtxEmulator(
        ftx_emulator.FtxConfig(
            api_key=KEY, api_secret=SECRET, balances={"USD": 100_000.0},
            symbols=["BTC-PERP"], seed=6, tick_interval_ms=50,
        )
    )  # fmt: skip
    await okx.start("127.0.0.1", 0)
    await ftx.start("127.0.0.1", 0)
    try:
        yield okx, ftx
    finally:
        await ftx.stop()
        await okx.stop()


def signed(fills: list[Fill], symbol: str) -> float:
    return sum(f.qty if f.side is Side.BUY else -f.qty for f in fills if f.symbol == symbol)


async def test_one_process_two_venues_each_reconciles_with_its_own_rest(
    venues: tuple[Any, Any],
) -> None:
    okx, ftx = venues
    okx_gw = registry.get("OKX").build(
        url=okx.base_url,
        credentials={"api_key": KEY, "secret": SECRET, "passphrase": PASS},
        inst_types=("SPOT",),
    )
    ftx_gw = registry.get("FTX").build(url=ftx.base_url,
                                       credentials={"api_key": KEY, "secret": SECRET})  # fmt: skip
    strategies = [
        Flipper("on_okx", {"where": OKX_ID}, capital=10_000.0),
        Flipper("on_ftx", {"where": FTX_ID}, capital=10_000.0),
    ]
    config = LiveConfig(
        symbols=(OKX_ID, FTX_ID),
        cash={("OKX", "USDT"): 10_000.0, ("FTX", "USD"): 10_000.0},
        bar_interval="1s",
        execution=ExecConfig(retry=TargetRetryPolicy(base_s=0.05, cap_s=0.5)),
    )
    okx_btc0 = float(okx.trading.account.sim.balances()["BTC"].total)
    stop = asyncio.Event()
    both = "both strategies' flips filled"
    watch = asyncio.create_task(stop_when(lambda: all(s.settled() for s in strategies), stop, both))
    try:
        result = await run_live(strategies, [okx_gw, ftx_gw], config, stop)
    finally:
        stop.set()
    await watch

    fills = result.fills
    by_venue: dict[str, list[Fill]] = defaultdict(list)
    for f in fills:
        by_venue[f.symbol.rpartition(".")[2]].append(f)
    assert by_venue["OKX"] and by_venue["FTX"], "each strategy traded on its own venue"
    assert {f.symbol for f in by_venue["OKX"]} == {OKX_ID}
    assert {f.symbol for f in by_venue["FTX"]} == {FTX_ID}
    p = result.kernel.portfolio

    # OKX, through its own REST: the same trades, the same BTC movement
    okx_rest = (
        registry.get("OKX")
        .load_gateway()(
            url=okx.base_url, credentials={"api_key": KEY, "secret": SECRET, "passphrase": PASS}
        )
        .rest
    )
    try:
        rows = await okx_rest.fills(inst_type="SPOT")
        assert {r["tradeId"] for r in rows} == {f.trade_id for f in by_venue["OKX"]}
        btc = float((await okx_rest.balance("BTC"))[0]["details"][0]["cashBal"])
    finally:
        await okx_rest.close()
    assert btc - okx_btc0 == pytest.approx(p.position_qty(OKX_ID), abs=1e-8)

    # FTX, through its own REST: the same trades, the same position, the same USD
    from tradeloop.venues.ftx.rest import FtxRestClient

    ftx_rest = FtxRestClient(ftx.base_url, KEY, SECRET)
    try:
        rows = await ftx_rest.fills()
        assert {str(r["id"]) for r in rows} == {f.trade_id for f in by_venue["FTX"]}
        positions = {r["future"]: r for r in await ftx_rest.positions()}
        usd = {r["coin"]: r for r in await ftx_rest.balances()}["USD"]
    finally:
        await ftx_rest.close()
    venue_pos = float(positions.get("BTC-PERP", {}).get("netSize", 0.0))
    assert venue_pos == pytest.approx(p.position_qty(FTX_ID), abs=1e-9)
    engine_usd_moved = p.accounts.balances()["FTX"]["USD"] - 10_000.0
    assert float(usd["total"]) - 100_000.0 == pytest.approx(engine_usd_moved, abs=1e-6)
