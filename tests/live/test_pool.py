"""The account pool (seed 003's multi-account case): one strategy's orders spread over several
accounts of one venue by rate-limit headroom; reductions go back to the account that holds the
position; each account reconciles on its own."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from tradeloop.live.config import load_live_config
from tradeloop.live.journal import Journal
from tradeloop.live.pool import AccountPool
from tradeloop.live.runtime import LiveRuntime
from tradeloop.model import Fill, Liquidity, Order, Side

from .helpers import account_block, emulator, strategy_block, write_config

SYM = "BTC-USDT.OKX"


class _Member:
    """A stand-in account: records what it was asked to send."""

    def __init__(self, name: str) -> None:
        self.account, self.venue, self.sent = name, "OKX", []  # type: ignore[var-annotated]

    def submit_order(self, order: Order) -> None:
        self.sent.append(order.client_order_id)

    def instruments(self) -> dict[str, Any]:
        return {}


def _fill(cid: str, side: Side, qty: float) -> Fill:
    return Fill(0, cid, "", cid, SYM, side, 100.0, qty, 0.0, "USDT", Liquidity.TAKER)


def test_pool_routes_by_headroom_and_reductions_to_the_holder() -> None:
    now = [0.0]
    a, b = _Member("a"), _Member("b")
    pool = AccountPool([a, b], [1.0, 1.0], clock=lambda: now[0])  # type: ignore[list-item]
    for i in range(4):  # a bucket of one order per second each: a, b, then whoever refilled
        pool.submit_order(Order(f"c{i}", SYM, Side.BUY, 0.01))
        now[0] += 0.3
    assert a.sent == ["c0", "c2"] and b.sent == ["c1", "c3"]
    pool.add_share("b", _fill("c1", Side.BUY, 0.05))
    now[0] += 5  # both full again: headroom alone would pick a (least recently used)
    pool.submit_order(Order("sell", SYM, Side.SELL, 0.05))
    assert b.sent[-1] == "sell"  # the reduction goes where the position is
    pool.submit_order(Order("big", SYM, Side.SELL, 0.5))  # nobody holds 0.5: headroom
    assert a.sent[-1] == "big"


async def test_pool_spreads_one_strategy_over_two_accounts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = {"A": ("pa", "pa-secret", "pa-pass"), "B": ("pb", "pb-secret", "pb-pass")}
    for pre, (k, s, pw) in keys.items():
        monkeypatch.setenv(f"{pre}_KEY", k)
        monkeypatch.setenv(f"{pre}_SECRET", s)
        monkeypatch.setenv(f"{pre}_PASS", pw)
    emus = {pre: emulator(*keys[pre], seed=i + 21) for i, pre in enumerate(keys)}
    urls = {pre: await e.start("127.0.0.1", 0) for pre, e in emus.items()}
    journal = tmp_path / "pool.sqlite"
    rate = "orders_per_second = 0.5\n"
    body = (
        account_block("okx-a", urls["A"], "A") + rate + account_block("okx-b", urls["B"], "B")
        + rate + strategy_block("Ladder", "ladder", ["okx-a", "okx-b"], "qty = 0.01")
    )  # fmt: skip
    cfg = write_config(tmp_path / "live.toml", journal, body, deployment="pool")
    try:
        rt = LiveRuntime(load_live_config(cfg))
        await rt.run(duration_s=6.5)
        venue = {f"okx-{p.lower()}": e.trading.account.sim.balances()["BTC"].total - 1.0
                 for p, e in emus.items()}  # fmt: skip
        (pools,) = rt.pools.values()
        pool = pools["OKX"]
        assert all(n > 0 for n in pool.sent.values()), pool.sent  # both accounts traded
        (g,) = rt.groups
        pos = g.kernel.portfolio.positions[SYM].qty
        assert sum(venue.values()) == pytest.approx(pos, abs=1e-9)
        for acc, moved in venue.items():
            assert pool.share(acc, SYM) == pytest.approx(moved, abs=1e-9), acc
        assert g.kernel.portfolio.books["ladder"].positions[SYM].qty == pytest.approx(pos)
        j = Journal(journal)
        try:
            per = {acc: len(j.fills(acc, "own")) for acc in venue}
        finally:
            j.db.close()
        assert all(per.values()), per
        # a restart reconciles each account against its own part: no mismatch
        await asyncio.sleep(0.2)
        rt2 = LiveRuntime(load_live_config(cfg))
        await rt2.start()
        rt2.restore()
        await rt2.reconcile()
        reports = {r.account: r for r in rt2.reports}
        await rt2.shutdown()
        assert set(reports) == {"okx-a", "okx-b"}
        assert not any(r.mismatches for r in reports.values()), reports
    finally:
        for e in emus.values():
            await e.stop()
