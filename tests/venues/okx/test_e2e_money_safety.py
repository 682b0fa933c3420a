"""Money safety end to end: the engine (Kernel/OMS/risk) trades through the OKX gateway against
the in-process emulator, and no order or target may be left unmanaged when the venue refuses,
rate-limits or races our cancels; no garbage number may reach the wire; fees are booked in the
currency the venue charged them in.

Each test reproduces a finding of issue "Money safety first" that failed before the fix.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tradeloop.core.clock import LiveClock
from tradeloop.engine.kernel import Kernel
from tradeloop.engine.oms import ExecAlgo, ExecConfig, TargetRetryPolicy
from tradeloop.model import (
    Fill,
    Order,
    OrderReport,
    OrderStatus,
    OrderType,
    RejectReason,
    Side,
    TradingState,
)
from tradeloop.venues.okx import parse as P

from .e2e import until
from .test_e2e_recovery import FAST_RECOVERY, NATIVE, SYMBOL, Engine, Tap, start_engine
from .test_e2e_recovery import emu as emu  # the emulator fixture

FAST_RETRY = TargetRetryPolicy(base_s=0.05, cap_s=0.2)
LOT = 0.01


async def engine_with(url: str, emu: Any, algo: ExecAlgo = ExecAlgo.MARKET) -> Engine:
    eng = await start_engine(url, emu, FAST_RECOVERY)
    # the same engine, with the algo under test and short target retries
    gw = eng.gateway
    kernel = Kernel(gw.instruments().values(), 50_000.0, gw, LiveClock(),
                    execution=ExecConfig(algo, FAST_RETRY))  # fmt: skip
    eng.kernel, eng.tap = kernel, Tap(kernel.oms)
    gw.bind(eng.tap)
    kernel.bus.subscribe(OrderReport, eng.reports.append)
    kernel.bus.subscribe(Fill, eng.fills.append)
    q = P.parse_ticker(await gw.rest.ticker(NATIVE), 0)
    kernel.portfolio.marks[SYMBOL] = (q.bid + q.ask) / 2
    kernel.oms.on_best(SYMBOL, q.bid, q.ask)
    return eng


@pytest.fixture
async def market(emu: tuple[Any, str]) -> AsyncIterator[Engine]:
    e, url = emu
    eng = await engine_with(url, e)
    try:
        yield eng
    finally:
        await eng.gateway.stop()


def position(eng: Engine) -> float:
    return eng.kernel.portfolio.position_qty(SYMBOL)


def venue_balance(eng: Engine, ccy: str) -> float:
    return float(eng.emu.trading.account.sim.balances()[ccy].total)


def rejects(eng: Engine) -> list[OrderReport]:
    return [r for r in eng.reports if r.status is OrderStatus.REJECTED]


async def test_target_is_pursued_through_a_429_storm(market: Engine) -> None:
    """Finding 2: one transient refusal used to abandon the target for good."""
    btc0 = venue_balance(market, "BTC")
    market.emu.faults.fail_next_429(10)  # two whole REST retry rounds refused, then through
    market.kernel.oms.set_target(SYMBOL, LOT)
    await until(lambda: abs(position(market) - LOT) < 1e-3, "the target reached", 20)
    await market.gateway.drain()
    codes = [r.code for r in rejects(market)]
    assert codes == [RejectReason.RATE_LIMITED, RejectReason.RATE_LIMITED]
    assert market.emu.faults.fail_remaining == 0
    assert position(market) == pytest.approx(venue_balance(market, "BTC") - btc0, abs=1e-12)
    assert not market.kernel.oms.open_orders


async def test_kill_switch_flattens_after_its_cancel_all_caught_an_inflight_placement(
    market: Engine,
) -> None:
    """Finding 1 (market algo): the cancel-all of the kill switch catches a placement slowed
    by 429s; the venue then refuses it. The REJECTED used to be dropped (pending_cancel ->
    rejected), the order stayed open for ever and ``target(0)`` sent nothing."""
    oms, btc0 = market.kernel.oms, venue_balance(market, "BTC")
    oms.set_target(SYMBOL, LOT)
    await until(lambda: abs(position(market) - LOT) < 1e-3, "the first position")
    market.emu.faults.fail_next_429(8)
    oms.set_target(SYMBOL, 2 * LOT)
    inflight = oms.in_flight(SYMBOL)
    assert inflight is not None and inflight.status is OrderStatus.SUBMITTED
    # what the kill switch does on a daily-loss breach (Kernel._on_breach)
    assert oms.cancel_all() == 1
    market.kernel.risk.set_state(TradingState.REDUCING, "daily loss limit breached")
    assert inflight.status is OrderStatus.PENDING_CANCEL
    await until(lambda: inflight.status is OrderStatus.REJECTED, "the refusal applied")
    assert inflight.client_order_id not in oms.open_orders
    assert oms.in_flight(SYMBOL) is None
    # ... and the flatten goes through, itself under a 429 storm
    market.emu.faults.fail_next_429(6)
    oms.set_target(SYMBOL, 0.0)
    await until(lambda: position(market) == 0.0, "flat", 20)
    await market.gateway.drain()
    assert venue_balance(market, "BTC") == pytest.approx(btc0, abs=LOT)  # only fees left
    assert position(market) == pytest.approx(0.0)
    assert not oms.open_orders


async def test_limit_chase_keeps_working_after_a_refused_repriced_order(
    emu: tuple[Any, str],
) -> None:
    """Finding 1 (limit_chase): a re-price cancels an order whose placement then fails; the
    execution used to stay busy with it and later target changes sent 0 orders."""
    e, url = emu
    eng = await engine_with(url, e, ExecAlgo.LIMIT_CHASE)
    try:
        oms = eng.kernel.oms
        q = P.parse_ticker(await eng.gateway.rest.ticker(NATIVE), 0)
        far = q.bid * 0.7  # rest far from the market: nothing fills during the test
        oms.on_best(SYMBOL, far, q.ask)
        e.faults.fail_next_429(8)
        oms.set_target(SYMBOL, LOT)
        first = oms.in_flight(SYMBOL)
        assert first is not None
        oms.on_best(SYMBOL, far - 1.0, q.ask)  # best moved: re-price while still placing
        assert first.status is OrderStatus.PENDING_CANCEL
        await until(lambda: first.status is OrderStatus.REJECTED, "the refusal applied")
        await until(lambda: (w := oms.in_flight(SYMBOL)) is not None and w is not first
                    and w.status is OrderStatus.ACCEPTED, "a re-priced order working")  # fmt: skip
        sent = len(oms.orders)
        for t in (2 * LOT, 3 * LOT, LOT):  # three later target changes each re-work the order
            oms.set_target(SYMBOL, t)
            await until(lambda: (w := oms.in_flight(SYMBOL)) is not None
                        and w.status is OrderStatus.ACCEPTED, "the new order working")  # fmt: skip
        assert len(oms.orders) >= sent + 3
        oms.set_target(SYMBOL, 0.0)  # nothing held: the chase stops and its order goes
        await until(lambda: not oms.open_orders, "all canceled")
        await eng.gateway.drain()
        assert not await eng.gateway.rest.orders_pending(inst_id=NATIVE)
    finally:
        await eng.gateway.stop()


async def test_a_permanent_refusal_stops_the_target_with_a_warning_and_a_new_one_starts(
    market: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    oms = market.kernel.oms
    with caplog.at_level(logging.WARNING, logger="tradeloop.engine.oms"):
        oms.set_target(SYMBOL, -5.0)  # sell 5 BTC; the account holds 2: OKX 51008
        await until(lambda: bool(rejects(market)), "the refusal")
        await market.gateway.drain()
    (rej,) = rejects(market)
    assert rej.code is RejectReason.INSUFFICIENT_FUNDS
    stopped = [r.getMessage() for r in caplog.records if "stopped" in r.getMessage()]
    assert len(stopped) == 1 and "insufficient_funds" in stopped[0], stopped
    assert len(oms.orders) == 1  # never looped on it
    oms.set_target(SYMBOL, LOT)
    await until(lambda: abs(position(market) - LOT) < 1e-3, "the new target reached")


@pytest.mark.parametrize(
    ("qty", "price", "order_type", "code"),
    [
        (float("nan"), 0.0, OrderType.MARKET, RejectReason.INVALID_SIZE),
        (float("inf"), 0.0, OrderType.MARKET, RejectReason.INVALID_SIZE),
        (-30000.0, 0.0, OrderType.MARKET, RejectReason.INVALID_SIZE),
        (-0.00999999, 0.0, OrderType.MARKET, RejectReason.INVALID_SIZE),
        (None, 0.0, OrderType.MARKET, RejectReason.INVALID_SIZE),
        (0.01, float("nan"), OrderType.LIMIT, RejectReason.INVALID_PRICE),
        (0.01, float("-inf"), OrderType.LIMIT, RejectReason.INVALID_PRICE),
        (0.01, 0.0, OrderType.LIMIT, RejectReason.INVALID_PRICE),
        (0.01, "abc", OrderType.LIMIT, RejectReason.INVALID_PRICE),
        (0.01, 1e-9, OrderType.LIMIT, RejectReason.INVALID_PRICE),  # rounds to 0 ticks
    ],
)
async def test_bad_numbers_never_reach_the_wire(
    market: Engine, qty: Any, price: Any, order_type: OrderType, code: RejectReason
) -> None:
    """Finding 5: NaN, infinities, negative sizes and a zero price were sent to the venue;
    ``None`` or text raised inside the placement task and left the order SUBMITTED."""
    # through the engine: the OMS/risk refuse it before the gateway
    via_oms = Order("badn1", SYMBOL, Side.BUY, qty, order_type, price)
    market.kernel.oms.submit(via_oms)
    # straight into the gateway (a bug upstream, another caller): refused before the wire
    direct = Order("badn2", SYMBOL, Side.BUY, qty, order_type, price)
    direct.status = OrderStatus.SUBMITTED
    market.kernel.oms.orders[direct.client_order_id] = direct
    market.gateway.submit_order(direct)
    await market.gateway.drain()
    for order in (via_oms, direct):
        assert order.status is OrderStatus.REJECTED, order
        assert order.reason
    gateway_report = [r for r in market.tap.reports if r.client_order_id == "badn2"]
    if code is not RejectReason.INVALID_PRICE or price != 1e-9:
        assert gateway_report[-1].code is code
    assert not await market.venue_rows("badn1")
    assert not await market.venue_rows("badn2")


async def test_base_currency_fees_shrink_the_position_like_the_venue(market: Engine) -> None:
    """Finding 6: OKX charges a spot buy's fee in the base currency; the engine used to take
    it from cash and believe it held more BTC than it did (a later sell-all then failed)."""
    btc0, usdt0 = venue_balance(market, "BTC"), venue_balance(market, "USDT")
    cash0 = market.kernel.portfolio.cash
    oms = market.kernel.oms
    oms.set_target(SYMBOL, 2 * LOT)
    await until(lambda: abs(position(market) - 2 * LOT) < 1e-3, "bought")
    await market.gateway.drain()
    assert {f.fee_ccy for f in market.fills} == {"BTC"}
    assert position(market) == pytest.approx(venue_balance(market, "BTC") - btc0, abs=1e-12)
    assert market.kernel.portfolio.cash - cash0 == pytest.approx(
        venue_balance(market, "USDT") - usdt0, abs=1e-6
    )
    assert position(market) < 2 * LOT  # the fee came out of the BTC
    oms.set_target(SYMBOL, 0.0)  # sell everything held: must not be refused (51008)
    await until(lambda: position(market) == 0.0 and not oms.open_orders, "sold out")
    await market.gateway.drain()
    assert not rejects(market)
    assert venue_balance(market, "BTC") == pytest.approx(btc0, abs=1e-8)
