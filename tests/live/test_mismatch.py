"""Start-up position mismatch (issue 13): the venue holds more or less than the journal says
(a transfer, or a trade nobody journaled, while the process was down). Each policy is one clear
message and does what it says, checked at the venue:

- ``halt`` (the default): trading HALTED, nothing sent, and the HALT survives a restart;
- ``adopt``: the venue's number wins (the difference is outside holdings), nothing sent, the
  next start compares equal;
- ``flatten``: one corrective market order, booked to no strategy, brings the venue back to
  the journal's holding; the next start compares equal (no second flatten)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from tradeloop.live.config import load_live_config
from tradeloop.live.journal import Journal
from tradeloop.live.runtime import LiveRuntime
from tradeloop.model import TradingState
from tradeloop.venues.okx.rest import OkxRestClient

from .helpers import account_block, emulator, strategy_block, write_config
from .helpers import started as _started

K, S, P = "mm-key", "mm-secret", "mm-pass"
SYM = "BTC-USDT.OKX"


async def _venue_btc(url: str) -> float:
    async with OkxRestClient(url, K, S, P) as rest:
        return float((await rest.balance("BTC"))[0]["details"][0]["cashBal"])


async def _until(pred: object, timeout: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        if pred():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


@pytest.mark.parametrize("policy", ["halt", "adopt", "flatten"])
@pytest.mark.parametrize("delta", [0.05, -0.03], ids=["venue-more", "venue-less"])
async def test_position_mismatch_policy(
    policy: str, delta: float, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    for k, v in (("A_KEY", K), ("A_SECRET", S), ("A_PASS", P)):
        monkeypatch.setenv(k, v)
    emu = emulator(K, S, P)
    url = await emu.start("127.0.0.1", 0)
    journal = tmp_path / "mm.sqlite"
    extra = "" if policy == "halt" else f'on_mismatch = "{policy}"'
    cfg = write_config(
        tmp_path / "live.toml", journal,
        account_block("okx-a", url, "A") + strategy_block("BuyOnce", "once", None),
        deployment=f"mm-{policy}", extra_live=extra,
    )  # fmt: skip
    try:
        # 1. the deployment's first life: it buys 0.01 BTC (the journal's position) and stops
        rt = await _started(cfg)
        await rt.go_live()
        port = rt.groups[0].kernel.portfolio
        await _until(lambda: port.positions[SYM].qty > 0, 10, "the strategy's buy")
        await rt.shutdown()
        held = port.positions[SYM].qty
        journal_btc = await _venue_btc(url)  # what the journal accounts for: 1.0 + held
        assert journal_btc == pytest.approx(1.0 + held, abs=1e-9)
        # 2. while it is down, the account changes with nothing journaled
        emu.trading.account.sim.account.credit("BTC", delta)
        # 3. restart: one message, then the policy
        caplog.clear()
        with caplog.at_level(logging.INFO):
            rt = await _started(cfg)
        said = [r for r in caplog.records
                if r.name == "tradeloop.live.reconcile" and r.levelno >= logging.WARNING
                and "position mismatch" in r.getMessage()]  # fmt: skip
        assert len(said) == 1, [r.getMessage() for r in said]
        msg = said[0].getMessage()
        assert f"venue {1.0 + held + delta:.10g}" in msg and f"policy {policy}" in msg, msg
        (rep,) = rt.reports
        assert len(rep.mismatches) == 1
        g = rt.groups[0]
        risk, oms = g.kernel.risk, g.kernel.oms
        if policy == "halt":
            assert said[0].levelno == logging.ERROR and "HALTED" in msg
            assert risk.state is TradingState.HALTED
        else:
            assert risk.state is TradingState.ACTIVE
        if policy == "flatten":
            assert "sending sell" in msg if delta > 0 else "sending buy" in msg
            await _until(lambda: not oms.open_orders and rt.journal is not None
                         and rt.journal.fills("okx-a", "corrective"), 10,
                         "the corrective fill")  # fmt: skip
            await asyncio.sleep(0.2)
        await rt.shutdown()
        venue = await _venue_btc(url)
        # the strategy's book never moves: a mismatch is never any strategy's
        assert g.kernel.portfolio.books["once"].positions[SYM].qty == pytest.approx(held)
        j = Journal(journal)
        try:
            corrective = j.fills("okx-a", "corrective")
            own = [f for f in j.fills("okx-a", "own")]
        finally:
            j.db.close()
        assert len(own) >= 1
        if policy == "flatten":
            # the venue is back at the journal's holding (less the corrective order's fee)
            # (one order; the venue may fill it in several pieces)
            assert len({f["cid"] for f in corrective}) == 1
            assert sum(f["qty"] for f in corrective) == pytest.approx(abs(delta))
            assert {f["side"] for f in corrective} == {"sell" if delta > 0 else "buy"}
            assert venue == pytest.approx(journal_btc, abs=abs(delta) * 0.002)
        else:
            assert corrective == [] and venue == pytest.approx(journal_btc + delta, abs=1e-12)
        # 4. the next start: halt is kept; adopt and flatten compare equal (no second flatten)
        rt = await _started(cfg)
        (rep,) = rt.reports
        state = rt.groups[0].kernel.risk.state
        await rt.shutdown()
        if policy == "halt":
            assert state is TradingState.HALTED
            # the operator checked the account: --resume adopts the venue's number once
            rt = LiveRuntime(load_live_config(cfg), resume=True)
            await rt.start()
            rt.restore()
            await rt.reconcile()
            (rep,) = rt.reports
            state = rt.groups[0].kernel.risk.state
            await rt.shutdown()
            assert len(rep.mismatches) == 1 and "policy adopt" in rep.mismatches[0]
            assert state is TradingState.ACTIVE
            rt = await _started(cfg)
            assert rt.reports[0].mismatches == []
            assert rt.groups[0].kernel.risk.state is TradingState.ACTIVE
            await rt.shutdown()
        else:
            assert rep.mismatches == [] and state is TradingState.ACTIVE
            assert await _venue_btc(url) == pytest.approx(venue, abs=1e-12)
    finally:
        await emu.stop()
