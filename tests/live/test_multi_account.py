"""Two venues, several accounts and a shadow strategy in one process, with WebSocket drops.

Venues: OKX (two accounts, okx-a and okx-b, each its own emulator instance and keys) and FTX
(one account, ftx-a, a BTC-PERP perpetual). Three strategies: ``flip_a`` live on okx-a; ``duo``
live on okx-b and ftx-a at once (one account per venue: the runtime joins the two accounts in
one kernel); ``flip_shadow`` on OKX data with fills simulated by sim/. Every ``drop`` seconds
every emulator cuts every WebSocket. At the end, per account, the venue's own numbers, the
journal and the per-strategy attribution agree.

CI runs the short form; ``TRADELOOP_LIVE_MULTI_SECONDS=300`` runs it for minutes with a drop
every 5 s."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path
from typing import Any

import pytest

from tradeloop.live.config import load_live_config
from tradeloop.live.journal import Journal
from tradeloop.live.runtime import LiveRuntime

from .helpers import (
    account_block,
    emulator,
    ftx_account_block,
    ftx_emulator,
    strategy_block,
    write_config,
)

SECONDS = float(os.environ.get("TRADELOOP_LIVE_MULTI_SECONDS", "8"))
DROP_EVERY = 5.0 if SECONDS > 60 else 2.5
OKX, FTX = "BTC-USDT.OKX", "BTC-PERP.FTX"


def _moved(fills: list[dict[str, Any]], spot: bool) -> float:
    """What a list of journaled fills did to the venue holding (spot: base currency, net of
    base-currency fees; perpetual: contracts)."""
    return sum((f["qty"] if f["side"] == "buy" else -f["qty"])
               - (f["fee"] if spot and f["fee_ccy"] == "BTC" else 0.0) for f in fills)  # fmt: skip


async def test_two_venues_three_accounts_three_strategies_one_shadow_with_ws_drops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = {"A": ("ka", "sa-secret", "pa-pass"), "B": ("kb", "sb-secret", "pb-pass")}
    for pre, (k, s, pw) in keys.items():
        monkeypatch.setenv(f"{pre}_KEY", k)
        monkeypatch.setenv(f"{pre}_SECRET", s)
        monkeypatch.setenv(f"{pre}_PASS", pw)
    monkeypatch.setenv("F_KEY", "kf")
    monkeypatch.setenv("F_SECRET", "sf-secret")
    emus: dict[str, Any] = {pre: emulator(*keys[pre], seed=i + 3) for i, pre in enumerate(keys)}
    emus["F"] = ftx_emulator("kf", "sf-secret")
    urls = {pre: await e.start("127.0.0.1", 0) for pre, e in emus.items()}
    journal = tmp_path / "multi.sqlite"
    body = (
        account_block("okx-a", urls["A"], "A") + account_block("okx-b", urls["B"], "B")
        + ftx_account_block("ftx-a", urls["F"], "F")
        + strategy_block("Flip", "flip_a", "okx-a", "every = 2", instruments=[OKX])
        + strategy_block("Flip", "duo", ["okx-b", "ftx-a"], "every = 3, qty = 0.02",
                         instruments=[OKX, FTX])
        + strategy_block("Flip", "flip_shadow", "okx-a", "every = 1", mode="shadow",
                         instruments=[OKX])
    )  # fmt: skip
    cfg = write_config(tmp_path / "live.toml", journal, body, deployment="multi",
                       instruments=(OKX, FTX))  # fmt: skip

    async def drops() -> None:
        while True:
            await asyncio.sleep(DROP_EVERY)
            for e in emus.values():
                e.faults.drop_ws()

    dropper = asyncio.create_task(drops())
    try:
        rt = LiveRuntime(load_live_config(cfg))
        await rt.run(duration_s=SECONDS)
        venue = {
            "okx-a": emus["A"].trading.account.sim.balances()["BTC"].total - 1.0,
            "okx-b": emus["B"].trading.account.sim.balances()["BTC"].total - 1.0,
            "ftx-a": getattr(emus["F"].trading.account.sim.positions().get("BTC-PERP"),
                             "qty", 0.0),
        }  # fmt: skip
    finally:
        dropper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await dropper
        for e in emus.values():
            await e.stop()
    groups = {g.key: g for g in rt.groups}
    assert set(groups) == {"okx-a", "ftx-a", "shadow:flip_shadow"}, set(groups)
    assert sorted(groups["ftx-a"].accounts) == ["ftx-a", "okx-b"]
    where = {"okx-a": ("okx-a", OKX), "okx-b": ("ftx-a", OKX), "ftx-a": ("ftx-a", FTX)}
    j = Journal(journal)
    try:
        for acc, (gkey, sym) in where.items():
            p = groups[gkey].kernel.portfolio
            pos = p.positions[sym].qty
            # venue == engine == journal, per account
            assert venue[acc] == pytest.approx(pos, abs=1e-9), acc
            fills = j.fills(acc, "own")
            assert fills, f"{acc} traded"
            assert _moved(fills, sym == OKX) == pytest.approx(pos, abs=1e-9), acc
            assert j.fills(acc, "foreign") == []
            assert {f["symbol"] for f in fills} == {sym}
            # attribution: the strategies' books sum to the account's position
            books = sum(b.positions[sym].qty for b in p.books.values() if sym in b.positions)
            assert books == pytest.approx(pos, abs=1e-12)
            saved = j.get_state(f"portfolio:{gkey}")["positions"][sym][0]
            assert saved == pytest.approx(pos, abs=1e-12)
        # each live strategy's fills are its own: flip_a only on okx-a, duo on both venues
        books_a = groups["okx-a"].kernel.portfolio.books
        assert set(books_a) == {"flip_a"}
        assert set(groups["ftx-a"].kernel.portfolio.books) == {"duo"}
        # the shadow strategy traded on simulated fills only, journaled apart
        shadow = j.fills("shadow:flip_shadow")
        assert shadow and {f["origin"] for f in shadow} == {"shadow"}
        assert not any(r.mismatches for r in rt.reports)
        assert {r.account for r in rt.reports} == {"okx-a", "okx-b", "ftx-a"}
    finally:
        j.db.close()
