"""Binance's two wallets in a live deployment: spot and USD-M futures both hold coins, and
``BalanceUpdate.wallet`` keeps them apart wherever balances are keyed.

- the account view (status lines, dashboard) keys balances by (wallet, asset): ``USDT`` and
  ``usdm:USDT`` side by side, neither overwriting the other;
- start-up reconciliation compares spot holdings with the main wallet only: coins arriving in
  the futures wallet (here BTC, as multi-assets margin, and the USDT a perp round trip moves)
  while the process was down are no spot position, so no mismatch and no HALT. Before the
  wallet field existed the futures BTC was added to the spot holding and halted trading."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tests.support.gateway_fixtures import until
from tests.venues.binance.conftest import make_gateway, other_client_trades

from tradeloop.data.tickfilter import TickFilter
from tradeloop.emulator.binance.server import BinanceConfig, BinanceEmulator
from tradeloop.live.feed import MarketFeed
from tradeloop.model import BalanceUpdate, Side, TradingState

from .helpers import keyed_account_block, started, strategy_block, write_config

K, S = "gw-key", "gw-secret"  # the Binance gateway suites' keys (make_gateway signs with them)
SYM = "BTCUSDT.BINANCE"


def test_account_view_keys_balances_by_wallet() -> None:
    feed = MarketFeed(TickFilter())
    feed.on_account("a", BalanceUpdate(1, "USDT", 100.0, 100.0, "BINANCE"))
    feed.on_account("a", BalanceUpdate(2, "USDT", 40.0, 30.0, "BINANCE", "usdm"))
    feed.on_account("a", BalanceUpdate(3, "USDT", 99.0, 99.0, "BINANCE"))
    assert feed.views["a"].balances == {"USDT": 99.0, "usdm:USDT": 40.0}


async def test_futures_wallet_is_not_a_spot_holding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("B_KEY", K)
    monkeypatch.setenv("B_SECRET", S)
    emu = BinanceEmulator(BinanceConfig(
        api_key=K, api_secret=S, balances={"USDT": 100_000.0, "BTC": 1.0},
        futures_balances={"USDT": 50_000.0, "BTC": 0.5}, symbols=["BTCUSDT"], seed=11,
        tick_interval_ms=50,
    ))  # fmt: skip
    url = await emu.start("127.0.0.1", 0)
    cfg = write_config(tmp_path / "live.toml", tmp_path / "j.sqlite",
                       keyed_account_block("bn", url, "B", "binance")
                       + strategy_block("BuyOnce", "once", None),
                       deployment="bn-wallets", instruments=(SYM,))  # fmt: skip
    try:
        rt = await started(cfg)
        await rt.go_live()
        port = rt.groups[0].kernel.portfolio
        await until(lambda: port.positions[SYM].qty > 0, timeout=10)
        await rt.shutdown()
        # while it is down: the futures wallet changes, spot does not
        assert emu.futures is not None
        emu.futures.trading.account.sim.account.credit("BTC", 0.2)
        # another process of the same account trades the perpetual: the futures wallet's USDT
        # moves by the realised PnL and fees
        await other_client_trades(url, [("other-1", Side.BUY, 0.01), ("other-2", Side.SELL, 0.01)])
        gw = make_gateway(url)
        await gw.start()
        try:
            bals = {b.key: b.total for b in await gw.fetch_balances()}
        finally:
            await gw.stop()
        assert bals["usdm:BTC"] == pytest.approx(0.7) and bals["usdm:USDT"] != 50_000.0
        assert bals["BTC"] == pytest.approx(1.0 + port.positions[SYM].qty, abs=1e-9)
        rt = await started(cfg)
        (rep,) = rt.reports
        state = rt.groups[0].kernel.risk.state
        await rt.shutdown()
        assert rep.mismatches == [] and state is TradingState.ACTIVE
    finally:
        await asyncio.wait_for(emu.stop(), 10)
