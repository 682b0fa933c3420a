"""Several accounts and a shadow strategy in one process, with WebSocket drops.

The FTX connector is not in the tree yet, so the two "venues" are two OKX emulator instances
serving two accounts of OKX (okx-a, okx-b); three strategies: one live on each account and one
shadow (live data, fills simulated by sim/). Every ``drop`` seconds both emulators cut every
WebSocket. At the end the journal, the venues and the attribution agree per account.
CI runs the short form; ``TRADELOOP_LIVE_MULTI_SECONDS=300`` runs it for minutes."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

import pytest

from tradeloop.live.config import load_live_config
from tradeloop.live.journal import Journal
from tradeloop.live.runtime import LiveRuntime

from .helpers import account_block, emulator, strategy_block, write_config

SECONDS = float(os.environ.get("TRADELOOP_LIVE_MULTI_SECONDS", "8"))
DROP_EVERY = 5.0 if SECONDS > 60 else 2.5


async def test_two_accounts_three_strategies_one_shadow_with_ws_drops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = {"A": ("ka", "sa-secret", "pa-pass"), "B": ("kb", "sb-secret", "pb-pass")}
    for pre, (k, s, p) in keys.items():
        monkeypatch.setenv(f"{pre}_KEY", k)
        monkeypatch.setenv(f"{pre}_SECRET", s)
        monkeypatch.setenv(f"{pre}_PASS", p)
    emus = {pre: emulator(*keys[pre], seed=i + 3) for i, pre in enumerate(keys)}
    urls = {pre: await e.start("127.0.0.1", 0) for pre, e in emus.items()}
    journal = tmp_path / "multi.sqlite"
    body = (
        account_block("okx-a", urls["A"], "A") + account_block("okx-b", urls["B"], "B")
        + strategy_block("Flip", "flip_a", "okx-a", "every = 2")
        + strategy_block("Flip", "flip_b", "okx-b", "every = 3, qty = 0.02")
        + strategy_block("Flip", "flip_shadow", "okx-a", "every = 1", mode="shadow")
    )  # fmt: skip
    cfg = write_config(tmp_path / "live.toml", journal, body, deployment="multi")

    async def drops() -> None:
        while True:
            await asyncio.sleep(DROP_EVERY)
            for e in emus.values():
                e.faults.drop_ws()

    dropper = asyncio.create_task(drops())
    try:
        rt = LiveRuntime(load_live_config(cfg))
        await rt.run(duration_s=SECONDS)
        venue_btc = {pre: e.trading.account.sim.balances()["BTC"].total for pre, e in emus.items()}
    finally:
        dropper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await dropper
        for e in emus.values():
            await e.stop()
    groups = {g.key: g for g in rt.groups}
    assert set(groups) == {"okx-a", "okx-b", "shadow:flip_shadow"}
    j = Journal(journal)
    try:
        for pre, acc in (("A", "okx-a"), ("B", "okx-b")):
            g = groups[acc]
            p = g.kernel.portfolio
            pos = p.positions["BTC-USDT.OKX"].qty
            # venue == journal == engine
            assert venue_btc[pre] == pytest.approx(1.0 + pos, abs=1e-9), acc
            fills = j.fills(acc, "own")
            moved = sum((f["qty"] if f["side"] == "buy" else -f["qty"])
                        - (f["fee"] if f["fee_ccy"] == "BTC" else 0.0) for f in fills)  # fmt: skip
            assert moved == pytest.approx(pos, abs=1e-9), acc
            assert j.fills(acc, "foreign") == []
            # attribution: the account's strategies sum to the account
            books = sum(b.positions["BTC-USDT.OKX"].qty for b in p.books.values()
                        if "BTC-USDT.OKX" in b.positions)  # fmt: skip
            assert books == pytest.approx(pos, abs=1e-12)
            saved = j.get_state(f"portfolio:{acc}")["positions"]["BTC-USDT.OKX"][0]
            assert saved == pytest.approx(pos, abs=1e-12)
        assert len(j.fills("okx-a", "own")) > 0 and len(j.fills("okx-b", "own")) > 0
        # the shadow strategy traded on simulated fills only, journaled apart
        shadow = j.fills("shadow:flip_shadow")
        assert shadow and {f["origin"] for f in shadow} == {"shadow"}
        assert "flip_shadow" not in groups["okx-a"].kernel.portfolio.books
        assert not any(r.mismatches for r in rt.reports)
    finally:
        j.db.close()
