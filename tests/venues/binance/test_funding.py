"""USD-M funding over real sockets against the emulator: the emulator settles funding on our
BTCUSDT perpetual and pushes ``ACCOUNT_UPDATE`` with reason ``FUNDING_FEE`` (no payment id in
it); the gateway reads ``/fapi/v1/income`` and hands the engine one ``FundingPaid`` per
payment (rule 9 of ``venues/base.py``) -- the income row's amount with the sign flipped, its
``tranId`` as the id -- never a Fill or a report. A repeated push, ``fetch_funding`` and the
catch-up after a reconnect never deliver it twice; a payment whose push was lost arrives after
the socket drops and comes back; the history is read page by page, oldest first, its weight
paid to the futures gate."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.support.gateway_fixtures import bound, serving, until

from tradeloop.emulator.binance.server import BinanceEmulator
from tradeloop.model import Order, OrderStatus, OrderType, Side
from tradeloop.venues.binance.funding import funding_rows
from tradeloop.venues.binance.gateway import BinanceGateway

from .conftest import PERP, Sink, make_emulator, make_gateway

NS_PER_MS = 1_000_000
INCOME = "GET /fapi/v1/income"


@pytest.fixture
async def emu() -> AsyncIterator[BinanceEmulator]:
    async with serving(make_emulator(seed=11, futures_symbols=["BTCUSDT", "ETHUSDT"])) as s:
        yield s


@pytest.fixture
async def gw(emu: BinanceEmulator) -> AsyncIterator[tuple[BinanceGateway, Sink]]:
    async with bound(make_gateway(emu.base_url), Sink()) as pair:
        yield pair


async def _long(gateway: BinanceGateway, sink: Sink, symbol: str, qty: float) -> None:
    cid = f"tl-{symbol[:3].lower()}-{len(sink.reports)}"
    gateway.submit_order(Order(cid, symbol, Side.BUY, qty, OrderType.MARKET))
    await until(lambda: any(r.client_order_id == cid and r.status is OrderStatus.FILLED
                            for r in sink.reports), f"{cid} filled")  # fmt: skip
    await gateway.drain()


def _side(emu: BinanceEmulator) -> Any:
    assert emu.futures is not None
    return emu.futures


async def test_funding_push_is_one_payment_never_a_fill(
    gw: tuple[BinanceGateway, Sink], emu: BinanceEmulator
) -> None:
    gateway, sink = gw
    side = _side(emu)
    await _long(gateway, sink, PERP, 0.05)
    fills, reports = list(sink.fills), list(sink.reports)
    wallet = side.trading.wallet()[0]
    (row,) = side.settle_funding()  # a long pays the positive default rate
    moved = side.trading.wallet()[0] - wallet
    await until(lambda: sink.funding, "the funding payment")
    await gateway.drain()  # the income read the push started has finished
    (paid,) = sink.funding
    assert paid.payment_id == str(row["tranId"]) and paid.amount == -float(row["income"]) > 0
    assert paid.amount == pytest.approx(-moved, abs=1e-9)  # what the wallet moved
    assert (paid.symbol, paid.ccy, paid.venue) == (PERP, "USDT", "BINANCE")
    assert paid.ts == row["time"] * NS_PER_MS
    # the REST view carries the same payment
    (again,) = await gateway.fetch_funding()
    assert (again.payment_id, again.amount) == (paid.payment_id, paid.amount)
    # a repeated push (thrice at once: one read), and what a reconnect runs: still one payment
    reads = emu.served[INCOME]
    for _ in range(3):
        gateway._on_futures_user(side.ledger.account_update("BTCUSDT", row))
    await gateway.drain()
    assert emu.served[INCOME] == reads + 1
    await gateway.catch_up_funding()
    assert len(sink.funding) == 1
    assert sink.fills == fills and sink.reports == reports  # no fill, no report


async def test_funding_missed_while_down_arrives_once_after_reconnect(
    gw: tuple[BinanceGateway, Sink], emu: BinanceEmulator
) -> None:
    gateway, sink = gw
    side = _side(emu)
    await _long(gateway, sink, PERP, 0.02)
    emu.config.funding_rate = -0.0002  # a long receives a negative rate
    before = len(sink.statuses("reconnected"))
    push = side.hub.push_user
    side.hub.push_user = lambda *a, **k: None
    try:
        (row,) = side.settle_funding()  # its push is lost, as over a dying socket
    finally:
        side.hub.push_user = push
    await gateway.drain()
    assert not sink.funding
    emu.faults.drop_ws()  # the reconnect's catch-up must bring it
    await until(lambda: len(sink.statuses("reconnected")) > before, "the reconnect")
    await until(lambda: sink.funding, "the payment settled while the socket was down")
    await gateway.drain()  # every catch-up the reconnects started has run
    (paid,) = sink.funding
    assert paid.payment_id == str(row["tranId"]) and paid.amount == -float(row["income"]) < 0


async def test_history_read_page_by_page_oldest_first(
    gw: tuple[BinanceGateway, Sink], emu: BinanceEmulator
) -> None:
    gateway, sink = gw
    side = _side(emu)
    await _long(gateway, sink, PERP, 0.05)
    await _long(gateway, sink, "ETHUSDT-PERP.BINANCE", 1.0)
    push = side.hub.push_user
    side.hub.push_user = lambda *a, **k: None  # the history alone, no push-started reads
    try:
        t0 = gateway.now_ns() // NS_PER_MS
        rows = [r for t in (t0, t0, t0, t0 + 5, t0 + 9) for r in side.settle_funding(t)]
    finally:
        side.hub.push_user = push
    assert len(rows) == 10  # six of them in one millisecond
    assert gateway.frest is not None
    served = emu.served[INCOME]
    got = await funding_rows(gateway.frest, t0, page_size=4)
    assert [r["tranId"] for r in got] == [r["tranId"] for r in rows]
    calls = emu.served[INCOME] - served
    assert 3 <= calls <= 5
    assert gateway.frest.gate.used >= 30 * calls  # each read paid its weight
    paid = await gateway.fetch_funding(t0 * NS_PER_MS)
    assert [p.payment_id for p in paid] == [str(r["tranId"]) for r in rows]
    assert {p.symbol for p in paid} == {PERP, "ETHUSDT-PERP.BINANCE"}
    later = await gateway.fetch_funding((t0 + 5) * NS_PER_MS)
    assert [p.payment_id for p in later] == [str(r["tranId"]) for r in rows[6:]]


async def test_push_without_its_income_row_is_read_again_then_said(
    gw: tuple[BinanceGateway, Sink], emu: BinanceEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """Binance may push before its history has the row: the settlement is read again (here
    without waiting) and, never found, said in one warning line; nothing is delivered."""
    gateway, sink = gw
    caplog.set_level(logging.WARNING, logger="tradeloop.venues.binance.funding")
    gateway._funding_pushes.retry_delays = (0.0, 0.0)
    t = gateway.now_ns() // NS_PER_MS
    reads = emu.served[INCOME]
    gateway._on_futures_user(
        {
            "e": "ACCOUNT_UPDATE",
            "T": t,
            "E": t,
            "a": {
                "m": "FUNDING_FEE",
                "B": [{"a": "USDT", "wb": "1", "cw": "1", "bc": "0"}],
                "P": [],
            },
        }
    )
    await gateway.drain()
    assert emu.served[INCOME] == reads + 3 and not sink.funding
    (line,) = [r.getMessage() for r in caplog.records if "funding pushed" in r.getMessage()]
    assert f"pushed at {t}" in line and "after 3 reads" in line


async def test_spot_only_gateway_has_no_funding(emu: BinanceEmulator) -> None:
    gateway = make_gateway(emu.base_url, futures=False)
    try:
        await gateway.start()
        assert await gateway.fetch_funding() == []
    finally:
        await gateway.stop()
