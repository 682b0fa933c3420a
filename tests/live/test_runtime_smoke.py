"""The live runtime in process against the OKX emulator: journal written, warm-up fed, the
venue and the journal agree."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tests.engine.livestop import stop_when

from tradeloop.live.config import load_live_config
from tradeloop.live.journal import Journal
from tradeloop.live.runtime import LiveRuntime
from tradeloop.model import OrderStatus

from .helpers import account_block, emulator, strategy_block, write_config

K, S, P = "smoke-key", "smoke-secret", "smoke-pass"


async def test_runtime_trades_journals_and_agrees_with_the_venue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("A_KEY", K)
    monkeypatch.setenv("A_SECRET", S)
    monkeypatch.setenv("A_PASS", P)
    emu = emulator(K, S, P)
    url = await emu.start("127.0.0.1", 0)
    journal = tmp_path / "j.sqlite"
    try:
        cfg_path = write_config(
            tmp_path / "live.toml", journal,
            account_block("okx-a", url, "A") + strategy_block("HoldAndRest", "hold", None),
        )  # fmt: skip
        rt = LiveRuntime(load_live_config(cfg_path))

        def traded() -> bool:  # the target filled and the resting order is in, nothing on its way
            if not rt.groups:
                return False
            g = rt.groups[0]
            orders = list(g.kernel.oms.orders.values())
            return (
                bool(g.strategies[0].state.get("rested"))
                and g.kernel.portfolio.position_qty("BTC-USDT.OKX") > 0.0099
                and bool(orders)
                and all(o.status is not OrderStatus.SUBMITTED for o in orders)
            )

        stop = asyncio.Event()
        await asyncio.gather(rt.run(stop), stop_when(traded, stop, "the target filled"))
        venue_btc = emu.trading.account.sim.balances()["BTC"].total
    finally:
        await emu.stop()
    j = Journal(journal)
    fills = j.fills("okx-a")
    assert fills and all(f["origin"] == "own" for f in fills)
    state = j.get_state("portfolio:okx-a")
    pos = state["positions"]["BTC-USDT.OKX"][0]
    assert venue_btc == pytest.approx(1.0 + pos, abs=1e-9)
    assert j.get_state("strategy:hold")["rested"] is True
    j.db.close()


async def test_warm_up_feeds_history_bars_without_trading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """1m bars with lookback 3: three closed history bars reach on_bar before anything live,
    ending at the current minute's start, and the strategy's calls during them send nothing."""
    monkeypatch.setenv("A_KEY", K)
    monkeypatch.setenv("A_SECRET", S)
    monkeypatch.setenv("A_PASS", P)
    emu = emulator(K, S, P)
    url = await emu.start("127.0.0.1", 0)
    try:
        cfg_path = write_config(
            tmp_path / "live.toml", tmp_path / "j.sqlite",
            account_block("okx-a", url, "A")
            + strategy_block("HoldAndRest", "hold", None, bar="1m"),
        )  # fmt: skip
        rt = LiveRuntime(load_live_config(cfg_path))
        await rt.run(duration_s=0.5)
    finally:
        await emu.stop()
    assert list(rt.warmed.values()) == [3]
    strat = rt.groups[0].strategies[0]
    # the three history bars; a slow run may also cross a minute boundary and close one more
    assert vars(strat)["bars"] in (3, 4)
    assert rt.groups[0].kernel.oms.orders == {}  # history never trades (bar 5 is the first)


async def test_warm_up_from_ftx_history(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same on FTX (a perpetual): three closed 1m candles from its REST before going live."""
    from .helpers import ftx_account_block, ftx_emulator

    monkeypatch.setenv("F_KEY", "fk")
    monkeypatch.setenv("F_SECRET", "fs-secret")
    emu = ftx_emulator("fk", "fs-secret")
    url = await emu.start("127.0.0.1", 0)
    try:
        cfg_path = write_config(
            tmp_path / "live.toml", tmp_path / "j.sqlite",
            ftx_account_block("ftx-a", url, "F")
            + strategy_block("HoldAndRest", "hold", None, bar="1m"),
            instruments=("BTC-PERP.FTX",),
        )  # fmt: skip
        rt = LiveRuntime(load_live_config(cfg_path))
        await rt.run(duration_s=0.5)
    finally:
        await emu.stop()
    assert list(rt.warmed.values()) == [3]
    strat = rt.groups[0].strategies[0]
    assert vars(strat)["bars"] in (3, 4)  # a slow run may close one live bar too
    assert rt.groups[0].kernel.oms.orders == {}
