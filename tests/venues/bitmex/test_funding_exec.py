"""``execType=Funding`` executions over a real socket: the emulator settles funding on our
XBTUSD position and pushes BitMEX's Funding execution row (``ordStatus`` Filled, a
``lastQty``, an ``orderID`` of zeros -- everything a careless parser takes for a fill). The
gateway hands the engine one ``FundingPaid`` per payment (rule 9 of ``venues/base.py``) with
the amount to the satoshi, never a Fill or a report; a repeated push, ``fetch_funding`` and the
catch-up after a reconnect never deliver it twice, and a payment settled while the socket is
down still arrives."""

from __future__ import annotations

import pytest
from tests.support import funding_checks as fc

from tradeloop.emulator.bitmex.server import BitmexEmulator
from tradeloop.venues.bitmex.gateway import BitmexGateway

from .conftest import XBTUSD, Sink, until
from .test_e2e import order

SAT = 100_000_000


async def _long(gateway: BitmexGateway, sink: Sink, qty: float) -> None:
    await fc.open_position(gateway, order("long", qty), lambda: sink.reports)


def _funding_rows(emu: BitmexEmulator) -> list[dict[str, object]]:
    return [e for e in emu.trading.executions if e["execType"] == "Funding"]


async def test_funding_execution_is_a_payment_never_a_fill(
    gw: tuple[BitmexGateway, Sink], emu: BitmexEmulator
) -> None:
    gateway, sink = gw
    await _long(gateway, sink, 1000)
    fills, reports = list(sink.fills), list(sink.reports)
    assert sum(f.qty for f in fills) == 1000
    emu.config.funding_rate = 0.0001
    emu.settle_funding()  # a long pays a positive rate
    (row,) = _funding_rows(emu)
    assert row["ordStatus"] == "Filled" and row["lastQty"] == 1000 and row["execComm"] > 0
    await until(lambda: sink.funding, "the funding payment")
    paid = fc.one_payment(sink.funding, payment_id=row["execID"], amount=row["execComm"] / SAT,
                          symbol=XBTUSD, ccy="BTC", venue="BITMEX",
                          tolerance=0.5 / SAT)  # fmt: skip
    assert round(paid.amount * SAT) == row["execComm"] and paid.amount > 0
    assert (paid.rate, paid.position) == (0.0001, 1000)
    # the REST views carry it too: the same payment, and still only the trade's fills; a
    # repeated push and what a reconnect runs add nothing
    await fc.never_twice(
        gateway,
        lambda: sink.funding,
        lambda: gateway.on_private("execution", "insert", [dict(row)]),
    )
    rest_fills = await gateway.fetch_fills()
    assert {f.trade_id for f in rest_fills} == {f.trade_id for f in fills}
    assert sink.fills == fills and sink.reports == reports  # no fill, no report


async def test_funding_missed_while_down_arrives_once_after_reconnect(
    gw: tuple[BitmexGateway, Sink], emu: BitmexEmulator
) -> None:
    gateway, sink = gw
    await _long(gateway, sink, 2000)
    emu.config.funding_rate = -0.0002  # a long receives a negative rate
    with fc.pushes_lost(emu.hub, "push_private"):
        emu.settle_funding()  # its push is lost, as over a dying socket
    paid = await fc.arrives_after_reconnect(emu, gateway, lambda: sink.funding, lambda: sink.data)
    (row,) = _funding_rows(emu)
    assert paid.payment_id == row["execID"] and paid.amount < 0
    assert round(paid.amount * SAT) == row["execComm"]


@pytest.mark.parametrize("symbol", ["XBTUSDT"])
async def test_linear_funding_in_usdt(
    gw: tuple[BitmexGateway, Sink], emu: BitmexEmulator, symbol: str
) -> None:
    """XBTUSDT settles in USDt (micro-USDT): the payment is in USDT, to the micro-unit."""
    gateway, sink = gw
    o = order("lin", 10_000)
    o.symbol = f"{symbol}.BITMEX"
    await fc.open_position(gateway, o, lambda: sink.reports)
    emu.config.funding_rate = 0.0001
    emu.settle_funding()
    await until(lambda: sink.funding, "the payment")
    (row,) = _funding_rows(emu)
    (paid,) = sink.funding
    assert paid.ccy == "USDT" and paid.symbol == f"{symbol}.BITMEX"
    assert round(paid.amount * 1_000_000) == row["execComm"] != 0


async def test_a_malformed_funding_row_is_one_line_and_the_rest_arrive(
    gw: tuple[BitmexGateway, Sink], emu: BitmexEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    gateway, sink = gw
    await _long(gateway, sink, 1000)
    emu.config.funding_rate = 0.0001
    emu.settle_funding()
    (good,) = _funding_rows(emu)
    bad = dict(good, execID="bad-row", execComm="lots")
    emu.trading.executions.append(bad)
    got = await gateway.fetch_funding()
    assert [p.payment_id for p in got] == [good["execID"]]
    lines = [r for r in caplog.records if "malformed funding row" in r.getMessage()]
    assert len(lines) == 1 and lines[0].exc_info is None
