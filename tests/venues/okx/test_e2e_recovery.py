"""OKX order recovery end to end: the engine (Kernel/OMS) trades through the OKX gateway
against the in-process emulator while the emulator misbehaves, and the venue's books and the
engine's view must agree afterwards — a cancel outlasting a 429 storm, a cancel that finally
fails (and says so), and placements whose answers were lost after OKX executed them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tradeloop.core.clock import LiveClock
from tradeloop.engine.kernel import Kernel
from tradeloop.model import Fill, FundingPaid, Order, OrderReport, OrderStatus, OrderType, Side
from tradeloop.venues.base import ExecutionSink
from tradeloop.venues.okx import parse as P
from tradeloop.venues.okx.gateway import OkxGateway, RecoveryPolicy
from tradeloop.venues.okx.rest import OkxRestClient
from tradeloop.venues.retry import RetryConfig

from .e2e import FAST_WS, until

emulator = pytest.importorskip("tradeloop.emulator.okx.server")

KEY, SECRET, PASS = "rec-key-123", "rec-secret-456", "rec-pass-789"
NATIVE = "BTC-USDT"  # OKX instId: what the wire and REST speak
SYMBOL = NATIVE + ".OKX"  # instrument id: what the engine and gateway speak
#: Same shape as the production default (4 tries per request), only with short waits.
FAST_REST = RetryConfig(max_attempts=4, base=0.01, cap=0.05)
FAST_RECOVERY = RecoveryPolicy(
    cancel_backoff=RetryConfig(max_attempts=0, base=0.02, cap=0.1),
    cancel_deadline_s=20.0,
    lookup_backoff=RetryConfig(max_attempts=6, base=0.02, cap=0.1),
)


class Tap:
    """Records what the gateway tells the OMS, then passes it on. The OMS drops reports its
    state machine refuses (e.g. REJECTED after ACCEPTED), so its own log would hide a
    connector that reports a live order as rejected."""

    def __init__(self, sink: ExecutionSink) -> None:
        self.sink = sink
        self.reports: list[OrderReport] = []

    def on_order_report(self, report: OrderReport) -> None:
        self.reports.append(report)
        self.sink.on_order_report(report)

    def on_funding(self, payment: FundingPaid) -> None:
        self.sink.on_funding(payment)

    def on_fill(self, fill: Fill) -> None:
        self.sink.on_fill(fill)


@dataclass
class Engine:
    emu: Any
    gateway: OkxGateway
    kernel: Kernel
    tap: Tap
    reports: list[OrderReport] = field(default_factory=list)  # as the OMS applied them
    fills: list[Fill] = field(default_factory=list)

    def statuses(self, cid: str) -> list[OrderStatus]:
        return [r.status for r in self.reports if r.client_order_id == cid]

    def sent(self, cid: str) -> list[OrderStatus]:
        """Statuses the gateway reported for ``cid`` (before the OMS filtered anything)."""
        return [r.status for r in self.tap.reports if r.client_order_id == cid]

    def fills_of(self, cid: str) -> list[Fill]:
        return [f for f in self.fills if f.client_order_id == cid]

    async def venue_rows(self, cid: str) -> list[dict[str, Any]]:
        """Every order the venue holds under ``cid`` (open and finished)."""
        rest = self.gateway.rest
        rows = await rest.orders_pending(inst_id=NATIVE, limit=100)
        rows += await rest.orders_history("SPOT", inst_id=NATIVE, limit=100)
        return [r for r in rows if r.get("clOrdId") == cid]


async def start_engine(url: str, emu: Any, recovery: RecoveryPolicy = FAST_RECOVERY) -> Engine:
    rest = OkxRestClient(url, KEY, SECRET, PASS, retry=FAST_REST)
    gateway = OkxGateway(rest=rest, inst_types=("SPOT",), ws_config=FAST_WS, recovery=recovery)
    await gateway.start()
    kernel = Kernel(gateway.instruments().values(), 50_000.0, gateway, LiveClock())
    tap = Tap(kernel.oms)
    gateway.bind(tap)
    eng = Engine(emu, gateway, kernel, tap)
    kernel.bus.subscribe(OrderReport, eng.reports.append)
    kernel.bus.subscribe(Fill, eng.fills.append)
    return eng


@pytest.fixture
async def emu() -> AsyncIterator[tuple[Any, str]]:
    e = emulator.OkxEmulator(
        emulator.EmulatorConfig(
            api_key=KEY,
            api_secret=SECRET,
            passphrase=PASS,
            balances={"USDT": 100_000.0, "BTC": 2.0},
            symbols=[NATIVE],
            seed=11,
            tick_interval_ms=40,
        )
    )
    url = await e.start("127.0.0.1", 0)
    try:
        yield e, url
    finally:
        await e.stop()


@pytest.fixture
async def engine(emu: tuple[Any, str]) -> AsyncIterator[Engine]:
    e, url = emu
    eng = await start_engine(url, e)
    try:
        yield eng
    finally:
        await eng.gateway.stop()


async def resting_buy(eng: Engine, cid: str) -> Order:
    """A limit buy far below the market, submitted through the OMS and acknowledged."""
    q = P.parse_ticker(await eng.gateway.rest.ticker(NATIVE), 0)
    order = Order(cid, SYMBOL, Side.BUY, 0.01, OrderType.LIMIT, q.bid * 0.7)
    eng.kernel.oms.submit(order)
    await until(lambda: order.status is OrderStatus.ACCEPTED)
    return order


async def test_cancel_outlasts_a_429_storm_longer_than_the_rest_retries(engine: Engine) -> None:
    order = await resting_buy(engine, "storm429c")
    storm = 12
    assert storm > 2 * FAST_REST.max_attempts  # several whole REST retry rounds fail
    engine.emu.faults.fail_next_429(storm)
    engine.kernel.oms.cancel(order)
    assert order.status is OrderStatus.PENDING_CANCEL
    await until(lambda: order.status is OrderStatus.CANCELED)
    await engine.gateway.drain()
    assert engine.emu.faults.fail_remaining == 0  # the whole storm was served
    (row,) = await engine.venue_rows("storm429c")
    assert row["state"] == "canceled"
    assert engine.statuses("storm429c") == [OrderStatus.ACCEPTED, OrderStatus.CANCELED]
    assert engine.sent("storm429c") == [OrderStatus.ACCEPTED, OrderStatus.CANCELED]
    assert "storm429c" not in engine.kernel.oms.open_orders


async def test_cancel_that_cannot_get_through_is_reported_as_failed(emu: tuple[Any, str]) -> None:
    e, url = emu
    short = RecoveryPolicy(
        cancel_backoff=RetryConfig(max_attempts=0, base=0.02, cap=0.1),
        cancel_deadline_s=0.6,
    )
    eng = await start_engine(url, e, short)
    try:
        order = await resting_buy(eng, "lostcxl1")
        e.faults.fail_next_429(100_000)
        eng.kernel.oms.cancel(order)
        await eng.gateway.drain()
        # The engine was told: the order is working again (not stuck in PENDING_CANCEL) and
        # says why; the venue indeed still has it.
        assert order.status is OrderStatus.ACCEPTED
        assert order.reason.startswith("cancel failed")
        assert eng.statuses("lostcxl1") == [OrderStatus.ACCEPTED, OrderStatus.ACCEPTED]
        assert eng.sent("lostcxl1") == [OrderStatus.ACCEPTED, OrderStatus.ACCEPTED]
        e.faults.reset()
        (row,) = await eng.venue_rows("lostcxl1")
        assert row["state"] == "live"
        # ... so the engine can simply cancel again once the venue is reachable.
        eng.kernel.oms.cancel(order)
        await until(lambda: order.status is OrderStatus.CANCELED)
        await eng.gateway.drain()
        assert eng.statuses("lostcxl1")[-1] is OrderStatus.CANCELED
        assert eng.statuses("lostcxl1").count(OrderStatus.CANCELED) == 1
    finally:
        await eng.gateway.stop()


PLACE = "POST /api/v5/trade/order"


def market_buy(cid: str, qty: float = 0.02) -> Order:
    return Order(cid, SYMBOL, Side.BUY, qty)


def venue_btc(eng: Engine) -> float:
    return float(eng.emu.trading.account.sim.balances()["BTC"].total)


@pytest.mark.parametrize("kind", ["5xx", "drop"])
async def test_placement_whose_answer_was_lost_is_one_order_not_a_rejection(
    engine: Engine, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    btc_before = venue_btc(engine)
    order = market_buy(f"lost{kind}1")
    cid = order.client_order_id
    # OKX executes the first attempt and its answer is lost; the retry is answered 51016
    # (duplicate) and that answer is lost too; the third attempt's 51016 gets through.
    engine.emu.faults.lose_replies(2, kind, PLACE)  # type: ignore[arg-type]
    with caplog.at_level("INFO", logger="tradeloop.venues.okx.rest"):
        engine.kernel.oms.submit(order)
        await until(lambda: order.status is OrderStatus.FILLED)
        await engine.gateway.drain()
    assert engine.emu.faults.lose_remaining == 0
    assert any("already at OKX (51016)" in r.getMessage() for r in caplog.records)
    assert len(await engine.venue_rows(cid)) == 1  # exactly one order at the venue
    statuses = engine.statuses(cid)
    assert OrderStatus.REJECTED not in statuses and statuses[-1] is OrderStatus.FILLED
    assert OrderStatus.REJECTED not in engine.sent(cid)
    fills = engine.fills_of(cid)
    assert len({f.trade_id for f in fills}) == len(fills)  # no fill counted twice
    assert sum(f.qty for f in fills) == pytest.approx(0.02)
    bought = venue_btc(engine) - btc_before
    assert engine.kernel.portfolio.position_qty(SYMBOL) == pytest.approx(bought, abs=1e-12)


async def test_resting_order_whose_every_answer_was_lost_is_reported_accepted(
    engine: Engine,
) -> None:
    q = P.parse_ticker(await engine.gateway.rest.ticker(NATIVE), 0)
    order = Order("lostall1", SYMBOL, Side.BUY, 0.01, OrderType.LIMIT, q.bid * 0.7)
    # Every REST attempt's answer is lost (first: placed; the rest: duplicates), so the
    # REST call ends in a server error; the lookup by clOrdId (a GET) settles it.
    engine.emu.faults.lose_replies(FAST_REST.max_attempts, "5xx", PLACE)
    engine.kernel.oms.submit(order)
    await engine.gateway.drain()
    assert engine.emu.faults.lose_remaining == 0
    assert order.status is OrderStatus.ACCEPTED
    assert engine.statuses("lostall1") == [OrderStatus.ACCEPTED]
    assert engine.sent("lostall1") == [OrderStatus.ACCEPTED]
    (row,) = await engine.venue_rows("lostall1")
    assert row["state"] == "live"


async def test_cancel_whose_answer_was_lost_settles_as_canceled_once(engine: Engine) -> None:
    order = await resting_buy(engine, "lostcxl2")
    # The cancel runs at OKX but the answer is cut; the re-sent cancel gets 51400
    # ("already canceled"), which the gateway settles from the order's state.
    engine.emu.faults.lose_replies(1, "drop", "POST /api/v5/trade/cancel-order")
    engine.kernel.oms.cancel(order)
    await until(lambda: order.status is OrderStatus.CANCELED)
    await engine.gateway.drain()
    assert engine.emu.faults.lose_remaining == 0
    assert engine.statuses("lostcxl2") == [OrderStatus.ACCEPTED, OrderStatus.CANCELED]
    assert engine.sent("lostcxl2") == [OrderStatus.ACCEPTED, OrderStatus.CANCELED]
    assert not order.reason.startswith("cancel failed")
    (row,) = await engine.venue_rows("lostcxl2")
    assert row["state"] == "canceled"


async def test_cancel_of_an_order_placed_by_another_process_reaches_the_venue(
    emu: tuple[Any, str],
) -> None:
    """After a restart the engine may cancel an order the new gateway never placed: the cancel
    must still go out (by clOrdId) and come back as a report, not vanish silently. A cancel of
    an order the venue never had comes back as an explicit failure."""
    e, url = emu
    first = await start_engine(url, e)
    try:
        order = await resting_buy(first, "adopt1")
    finally:
        await first.gateway.stop()
    second = await start_engine(url, e)
    try:
        second.gateway.cancel_order(order)  # this OMS never saw it: read the gateway's reports
        await until(lambda: OrderStatus.CANCELED in second.sent("adopt1"))
        (row,) = await second.venue_rows("adopt1")
        assert row["state"] == "canceled"
        ghost = Order("ghost1", SYMBOL, Side.BUY, 0.01, OrderType.LIMIT, 1000.0)
        ghost.status = OrderStatus.ACCEPTED
        second.gateway.cancel_order(ghost)
        await second.gateway.drain()
        (report,) = [r for r in second.tap.reports if r.client_order_id == "ghost1"]
        # The venue said it has no such order: one round, not the whole cancel deadline.
        assert report.reason.startswith("cancel failed") and "51603" in report.reason, report
        assert "gave up" not in report.reason
    finally:
        await second.gateway.stop()
