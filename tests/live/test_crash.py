"""Crash safety (issue 13's first evidence): ``tradeloop live`` as a real process, killed with
SIGKILL while it holds a position and a working order; the order fills at the venue while the
process is down; the same command restarted reconciles every order, fill and position with the
venue's REST, sends no duplicate order, and keeps the daily-loss baseline. A second test keeps
a daily-loss breach (REDUCING) across a crash."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

from tradeloop.live.config import load_live_config
from tradeloop.live.ids import deployment_prefix
from tradeloop.live.journal import Journal
from tradeloop.live.runtime import LiveRuntime
from tradeloop.model import TradingState
from tradeloop.venues.okx.rest import OkxRestClient

from .helpers import account_block, emulator, strategy_block, write_config

REPO = Path(__file__).resolve().parents[2]
K, S, P = "crash-key", "crash-secret-9", "crash-pass-9"


def _env(tmp: Path) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO / "src"), A_KEY=K, A_SECRET=S, A_PASS=P,
                TRADELOOP_STATE_DIR=str(tmp / "state"))  # fmt: skip


async def _live(cfg: Path, tmp: Path, *extra: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tradeloop.cli", "live", str(cfg), *extra,
        env=_env(tmp), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip


def _q(journal: Path, sql: str) -> list[Any]:
    if not journal.exists():
        return []
    db = sqlite3.connect(f"file:{journal}?mode=ro", uri=True)
    try:
        return db.execute(sql).fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        db.close()


async def _wait(pred: Any, timeout: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        if pred():
            return
        await asyncio.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


async def test_kill_9_then_restart_reconciles_everything(tmp_path: Path) -> None:
    emu = emulator(K, S, P)
    url = await emu.start("127.0.0.1", 0)
    journal = tmp_path / "crash.sqlite"
    cfg = write_config(
        tmp_path / "live.toml", journal,
        account_block("okx-a", url, "A")
        + strategy_block("HoldAndRest", "hold", None, 'gap = 0.004, rest_qty = 0.003'),
        deployment="crash", risk="daily_loss_limit = 1000000",
    )  # fmt: skip
    prefix = deployment_prefix("crash")
    try:
        proc = await _live(cfg, tmp_path, "--duration", "60")
        limit_open = "SELECT cid FROM orders WHERE order_type='limit' AND status='accepted'"
        market_done = "SELECT cid FROM orders WHERE order_type='market' AND status='filled'"
        try:
            await _wait(lambda: _q(journal, limit_open) and _q(journal, market_done), 40,
                        "a position and a working limit order")  # fmt: skip
        finally:
            proc.send_signal(signal.SIGKILL)
            out1 = (await proc.communicate())[0].decode()
        assert proc.returncode == -signal.SIGKILL, out1[-2000:]
        (limit_cid,) = _q(journal, limit_open)[0]
        baseline = _q(journal, "SELECT body FROM state WHERE key='risk:okx-a'")
        async with OkxRestClient(url, K, S, P) as rest:
            pending = await rest.orders_pending()
            assert [o["clOrdId"] for o in pending] == [limit_cid]
            # the venue fills the working order while nobody is watching
            market = emu.driver.markets["BTC-USDT"]
            for _ in range(300):
                market.grid -= 2
                emu.step()
                await asyncio.sleep(0.02)
                if not await rest.orders_pending():
                    break
            assert not await rest.orders_pending(), "the resting order did not fill"
            emu.config.tick_interval_ms = 50
        proc = await _live(cfg, tmp_path, "--duration", "3")
        out2 = (await asyncio.wait_for(proc.communicate(), 60))[0].decode()
        assert proc.returncode == 0, out2[-3000:]
        async with OkxRestClient(url, K, S, P) as rest:
            venue_fills = [f for f in await rest.fills(limit=100)
                           if f["clOrdId"].startswith(prefix)]  # fmt: skip
            history = await rest.orders_history("SPOT", limit=100)
            bal = await rest.balance("BTC")
    finally:
        await emu.stop()
    j = Journal(journal)
    try:
        fills = j.fills("okx-a")
        # every venue fill of ours is journaled exactly once; the one made while down as missed
        assert sorted(f["trade_id"] for f in fills) == sorted(f["tradeId"] for f in venue_fills)
        assert len({(f["cid"], f["trade_id"]) for f in fills}) == len(fills)
        missed = [f for f in fills if f["origin"] == "missed"]
        assert missed and {f["cid"] for f in missed} == {limit_cid}
        assert "1 missed fill(s) applied" in out2 or "missed fill(s) applied" in out2
        # the position: venue BTC = what the deployment found at its first start + its fills
        venue_btc = float(bal[0]["details"][0]["cashBal"])
        pos = j.get_state("portfolio:okx-a")["positions"]["BTC-USDT.OKX"][0]
        assert venue_btc == pytest.approx(1.0 + pos, abs=2e-8)
        book = j.get_state("portfolio:okx-a")["books"]["hold"]["positions"]["BTC-USDT.OKX"][0]
        assert book == pytest.approx(pos, abs=1e-12)  # attributed to the strategy
        # no duplicate order: the limit was placed once (self.state survived), every venue
        # order of ours is in the journal, and no venue order is unknown to it
        ours = [o for o in history if o["clOrdId"].startswith(prefix)]
        jorders = {r[0] for r in j.db.execute("SELECT cid FROM orders")}
        assert {o["clOrdId"] for o in ours} <= jorders
        limits = [o for o in ours if o["ordType"] == "limit"]
        assert len(limits) == 1
        assert j.get_state("strategy:hold")["starts"] == 2
        # the daily-loss baseline survived the crash
        before = __import__("json").loads(baseline[0][0])
        after = j.get_state("risk:okx-a")
        if before["day"] == after["day"]:
            assert after["day_start_equity"] == before["day_start_equity"]
        assert "Traceback" not in out2 and S not in out1 + out2 and P not in out1 + out2
    finally:
        j.db.close()


async def test_daily_loss_breach_survives_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A breach (REDUCING, baseline) journaled; the process dies without any shutdown; the
    restarted runtime is still REDUCING with the same day-start equity."""
    for k, v in (("A_KEY", K), ("A_SECRET", S), ("A_PASS", P)):
        monkeypatch.setenv(k, v)
    emu = emulator(K, S, P)
    url = await emu.start("127.0.0.1", 0)
    journal = tmp_path / "loss.sqlite"
    cfg = write_config(
        tmp_path / "live.toml", journal,
        account_block("okx-a", url, "A") + strategy_block("Flip", "flip", None, "every = 1"),
        deployment="loss", risk="daily_loss_limit = 0.01",
    )  # fmt: skip
    try:
        rt = LiveRuntime(load_live_config(cfg))
        await rt.start()
        rt.restore()
        await rt.reconcile()
        await rt.go_live()
        risk = rt.groups[0].kernel.risk
        await _wait(lambda: risk.state is TradingState.REDUCING, 20, "a daily-loss breach")
        day_start = risk.day_start_equity
        await asyncio.sleep(0.2)
        # "kill -9": sockets die, nothing is canceled, journaled or closed
        for gw in rt.started:
            await gw.stop()
        assert rt.journal is not None
        rt.journal.db.close()
        rt2 = LiveRuntime(load_live_config(cfg))
        await rt2.start()
        rt2.restore()
        await rt2.reconcile()
        r2 = rt2.groups[0].kernel.risk
        assert r2.state is TradingState.REDUCING
        assert r2.day_start_equity == day_start
        assert "daily loss" in rt2.groups[0].risk_reason
        await rt2.shutdown()
    finally:
        await emu.stop()
