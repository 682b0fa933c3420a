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
from tests.support import funding_checks as fc
from tests.support.gateway_fixtures import bound, serving, until

from tradeloop.emulator.binance.server import BinanceEmulator
from tradeloop.model import Order, OrderType, Side
from tradeloop.venues.binance.funding import funding_rows
from tradeloop.venues.binance.gateway import BinanceGateway

from .conftest import PERP, Sink, make_emulator, make_gateway

NS_PER_MS = 1_000_000
INCOME = "GET /fapi/v1/income"
GW = tuple[BinanceGateway, Sink]


@pytest.fixture
async def emu() -> AsyncIterator[BinanceEmulator]:
    async with serving(make_emulator(seed=11, futures_symbols=["BTCUSDT", "ETHUSDT"])) as s:
        yield s


@pytest.fixture
async def gw(emu: BinanceEmulator) -> AsyncIterator[GW]:
    async with bound(make_gateway(emu.base_url), Sink()) as pair:
        yield pair


async def _long(gateway: BinanceGateway, sink: Sink, symbol: str, qty: float) -> None:
    cid = f"tl-{symbol[:3].lower()}-{len(sink.reports)}"
    order = Order(cid, symbol, Side.BUY, qty, OrderType.MARKET)
    await fc.open_position(gateway, order, lambda: sink.reports)


def _side(emu: BinanceEmulator) -> Any:
    assert emu.futures is not None
    return emu.futures


async def test_funding_push_is_one_payment_never_a_fill(gw: GW, emu: BinanceEmulator) -> None:
    gateway, sink = gw
    side = _side(emu)
    await _long(gateway, sink, PERP, 0.05)
    fills, reports = list(sink.fills), list(sink.reports)
    wallet = side.trading.wallet()[0]
    (row,) = side.settle_funding()  # a long pays the positive default rate
    moved = side.trading.wallet()[0] - wallet
    await until(lambda: sink.funding, "the funding payment")
    await gateway.drain()  # the income read the push started has finished
    paid = fc.one_payment(sink.funding, payment_id=row["tranId"], amount=-float(row["income"]),
                          symbol=PERP, ccy="USDT", venue="BINANCE")  # fmt: skip
    assert paid.amount > 0 and paid.amount == pytest.approx(-moved, abs=1e-9)  # the wallet
    assert paid.ts == row["time"] * NS_PER_MS
    # the REST view carries the same payment; a repeated push (thrice at once: one read) and
    # what a reconnect runs add nothing
    reads = emu.served[INCOME]

    def pushed_thrice() -> None:
        for _ in range(3):
            gateway._on_futures_user(side.ledger.account_update("BTCUSDT", row))

    await fc.never_twice(gateway, lambda: sink.funding, pushed_thrice)
    assert emu.served[INCOME] == reads + 3  # fetch_funding's, the burst's one, the catch-up's
    assert sink.fills == fills and sink.reports == reports  # no fill, no report


async def test_funding_missed_while_down_arrives_once_after_reconnect(
    gw: GW, emu: BinanceEmulator
) -> None:
    gateway, sink = gw
    side = _side(emu)
    await _long(gateway, sink, PERP, 0.02)
    emu.config.funding_rate = -0.0002  # a long receives a negative rate
    with fc.pushes_lost(side.hub, "push_user"):
        (row,) = side.settle_funding()  # its push is lost, as over a dying socket
    await gateway.drain()
    paid = await fc.arrives_after_reconnect(emu, gateway, lambda: sink.funding, lambda: sink.events)
    assert paid.payment_id == str(row["tranId"]) and paid.amount == -float(row["income"]) < 0


async def test_history_read_page_by_page_oldest_first(gw: GW, emu: BinanceEmulator) -> None:
    gateway, sink = gw
    side = _side(emu)
    await _long(gateway, sink, PERP, 0.05)
    await _long(gateway, sink, "ETHUSDT-PERP.BINANCE", 1.0)
    with fc.pushes_lost(side.hub, "push_user"):  # the history alone, no push-started reads
        t0 = gateway.now_ns() // NS_PER_MS
        rows = [r for t in (t0, t0, t0, t0 + 5, t0 + 9) for r in side.settle_funding(t)]
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
    caplog.set_level(logging.WARNING, logger="tradeloop.venues.funding_reads")
    gateway.funding_reads.retry_s = (0.0, 0.0)
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
