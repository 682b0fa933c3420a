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
from tradeloop.model import (
    Fill,
    Instrument,
    Liquidity,
    Order,
    OrderReport,
    OrderStatus,
    RejectReason,
    Side,
)

from .helpers import account_block, emulator, strategy_block, write_config

SYM = "BTC-USDT.OKX"


class _Member:
    """A stand-in account: records what it was asked to send, cancel and amend."""

    def __init__(self, name: str, insts: dict[str, Any] | None = None) -> None:
        self.account, self.venue, self.sent = name, "OKX", []  # type: ignore[var-annotated]
        self.orders: list[Order] = []
        self.canceled: list[str] = []
        self.amended: list[tuple[str, float | None, float | None]] = []
        self.insts = insts or {}
        self.sink: Any = None

    def bind(self, sink: Any) -> None:
        self.sink = sink

    def submit_order(self, order: Order) -> None:
        self.sent.append(order.client_order_id)
        self.orders.append(order)

    def cancel_order(self, order: Order) -> None:
        self.canceled.append(order.client_order_id)

    def amend_order(self, order: Order, qty: float | None = None,
                    price: float | None = None) -> None:  # fmt: skip
        self.amended.append((order.client_order_id, qty, price))

    def instruments(self) -> dict[str, Any]:
        return self.insts


class _Oms:
    """Stand-in for the OMS side of the pool: what it hears."""

    def __init__(self) -> None:
        self.reports: list[OrderReport] = []
        self.fills: list[Fill] = []

    def on_order_report(self, r: OrderReport) -> None:
        self.reports.append(r)

    def on_fill(self, f: Fill) -> None:
        self.fills.append(f)


def _report(cid: str, status: OrderStatus, filled: float = 0.0, px: float = 0.0,
            code: RejectReason = RejectReason.NONE) -> OrderReport:  # fmt: skip
    return OrderReport(0, cid, "v" + cid, SYM, status, filled, px, "", code)


def _split_pool() -> tuple[AccountPool, _Member, _Member, _Oms]:
    inst = Instrument(SYM, "BTC", "USDT", lot_size=0.001, min_size=0.001, venue="OKX")
    a, b = _Member("a", {SYM: inst}), _Member("b", {SYM: inst})
    pool = AccountPool([a, b], [100.0, 100.0])  # type: ignore[list-item]
    oms = _Oms()
    pool.bind(oms)
    a.sink.on_fill(_fill("x1", Side.BUY, 0.03))  # an order of no split: passes as is
    b.sink.on_fill(_fill("x2", Side.BUY, 0.02))
    return pool, a, b, oms


def test_pool_splits_a_reduction_over_the_holders() -> None:
    """Selling 0.05 when a holds 0.03 and b 0.02: a sells 0.03 and b 0.02 (not 0.05 on one),
    and the OMS sees one order: its fills under its own id, one folded report per change,
    filled only when both parts are, a fill after the last report still its own."""
    pool, a, b, oms = _split_pool()
    pool.submit_order(Order("sell", SYM, Side.SELL, 0.05, strategy_id="s"))
    assert [(o.client_order_id, o.qty, o.strategy_id) for o in a.orders] == [("sellp0", 0.03, "s")]
    assert [(o.client_order_id, o.qty) for o in b.orders] == [("sellp1", 0.02)]
    oms.reports.clear()
    a.sink.on_order_report(_report("sellp0", OrderStatus.ACCEPTED))
    b.sink.on_order_report(_report("sellp1", OrderStatus.ACCEPTED))  # no change: not repeated
    a.sink.on_fill(_fill("sellp0", Side.SELL, 0.03))
    a.sink.on_order_report(_report("sellp0", OrderStatus.FILLED, 0.03, 100.0))
    b.sink.on_order_report(_report("sellp1", OrderStatus.FILLED, 0.02, 101.0))  # before its fill
    b.sink.on_fill(_fill("sellp1", Side.SELL, 0.02))
    assert [(r.client_order_id, r.status, r.filled_qty) for r in oms.reports] == [
        ("sell", OrderStatus.ACCEPTED, 0.0),
        ("sell", OrderStatus.PARTIALLY_FILLED, 0.03),
        ("sell", OrderStatus.FILLED, 0.05),
    ]
    assert oms.reports[-1].avg_price == pytest.approx(100.4)
    assert [(f.client_order_id, f.trade_id) for f in oms.fills[2:]] == [
        ("sell", "sellp0:sellp0"), ("sell", "sellp1:sellp1")]  # fmt: skip
    assert pool.share("a", SYM) == pytest.approx(0) and pool.share("b", SYM) == pytest.approx(0)
    assert not pool.splits and not pool.parent_of  # bounded: finished splits leave


def test_pool_split_flip_cancel_and_amend() -> None:
    """A sell beyond both holdings: the rest opens a short on the account with most headroom;
    a cancel reaches every working part and a failed one reaches the OMS; an amend spreads the
    new size over the working parts and the OMS hears once all have answered."""
    pool, a, b, oms = _split_pool()
    pool.submit_order(Order("flip", SYM, Side.SELL, 0.08))
    parts = {o.client_order_id: o.qty for o in a.orders + b.orders}
    assert sum(parts.values()) == pytest.approx(0.08) and len(parts) == 2
    assert parts["flipp0"] >= 0.03 and parts["flipp1"] >= 0.02
    assert pytest.approx(0.03) in (parts["flipp0"] - 0.03, parts["flipp1"] - 0.02)
    a.sink.on_order_report(_report("flipp0", OrderStatus.ACCEPTED))
    a.sink.on_order_report(_report("flipp0", OrderStatus.CANCELED))
    oms.reports.clear()
    order = Order("flip", SYM, Side.SELL, 0.08)
    pool.cancel_order(order)
    assert a.canceled == [] and b.canceled == ["flipp1"]  # only the working part
    b.sink.on_order_report(_report("flipp1", OrderStatus.ACCEPTED, code=RejectReason.CANCEL_FAILED))
    assert oms.reports[-1].code is RejectReason.CANCEL_FAILED  # the OMS is waiting for it

    pool, a, b, oms = _split_pool()
    pool.submit_order(Order("am", SYM, Side.SELL, 0.05))
    for m, cid in ((a, "amp0"), (b, "amp1")):
        m.sink.on_order_report(_report(cid, OrderStatus.ACCEPTED))
    oms.reports.clear()
    pool.amend_order(Order("am", SYM, Side.SELL, 0.05), qty=0.04, price=99.0)
    assert a.amended == [("amp0", 0.024, 99.0)] and b.amended == [("amp1", 0.016, 99.0)]
    a.sink.on_order_report(_report("amp0", OrderStatus.ACCEPTED))
    assert oms.reports == []  # one part answered: not yet
    b.sink.on_order_report(_report("amp1", OrderStatus.ACCEPTED))
    assert [(r.status, r.code) for r in oms.reports] == [(OrderStatus.ACCEPTED, RejectReason.NONE)]


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
    pool.submit_order(Order("big", SYM, Side.SELL, 0.5))  # b's 0.05 closes there, the rest
    assert b.sent[-1] == "bigp0" and a.sent[-1] == "bigp1"  # opens on a (headroom)
    assert [o.qty for o in b.orders[-1:] + a.orders[-1:]] == [0.05, pytest.approx(0.45)]
    pool.submit_order(Order("buy", SYM, Side.BUY, 0.5))  # adds to the holding: headroom
    assert "buy" in a.sent + b.sent  # one order, not split


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
