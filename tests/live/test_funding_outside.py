"""Funding on an account that also holds contracts that are not the strategies', where the
venue does not say the size of the position a payment was on (Binance USD-M: its income rows
and ``FUNDING_FEE`` pushes name only the amount). Against the Binance emulator over loopback:
the first start records the account's existing long as outside holdings; the strategy then
buys its own; the payment the venue settles on the whole position is booked on the strategy
only for its own contracts -- not whole, which would charge it the outside position's
funding too."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tests.support.gateway_fixtures import until
from tests.venues.binance.conftest import other_client_trades

from tradeloop.emulator.binance.server import BinanceConfig, BinanceEmulator
from tradeloop.model import Side

from .helpers import keyed_account_block, started, strategy_block, write_config

K, S = "gw-key", "gw-secret"  # the Binance gateway suites' keys (make_gateway signs with them)
SYM = "BTCUSDT-PERP.BINANCE"
OUTSIDE, OURS = 0.01, 0.03


async def test_payment_is_shared_with_the_accounts_outside_contracts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("B_KEY", K)
    monkeypatch.setenv("B_SECRET", S)
    emu = BinanceEmulator(BinanceConfig(
        api_key=K, api_secret=S, balances={"USDT": 100_000.0},
        futures_balances={"USDT": 50_000.0}, symbols=["BTCUSDT"], seed=12, tick_interval_ms=50,
    ))  # fmt: skip
    url = await emu.start("127.0.0.1", 0)
    cfg = write_config(tmp_path / "live.toml", tmp_path / "j.sqlite",
                       keyed_account_block("bn", url, "B", "binance")
                       + strategy_block("BuyOnce", "once", None, f"qty = {OURS}"),
                       deployment="bn-outside", instruments=(SYM,))  # fmt: skip
    try:
        await other_client_trades(url, [("manual-1", Side.BUY, OUTSIDE)])  # kept
        rt = await started(cfg)  # first start: the venue's long is recorded as outside
        try:
            (rep,) = rt.reports
            assert rep.first_run and rep.mismatches == []
            await rt.go_live()
            port = rt.groups[0].kernel.portfolio
            await until(lambda: port.positions[SYM].qty == pytest.approx(OURS), "our long", 15)
            assert emu.futures is not None
            (row,) = emu.futures.settle_funding()  # on the venue's whole 0.04 long
            paid = -float(row["income"])
            assert paid > 0
            await until(lambda: SYM in port.funding, "the payment booked", 10)
            assert port.funding[SYM] == pytest.approx(paid * OURS / (OURS + OUTSIDE), rel=1e-9)
            assert port.funding[SYM] < paid
        finally:
            await rt.shutdown()
    finally:
        await asyncio.wait_for(emu.stop(), 10)
