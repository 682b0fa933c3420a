"""``execType=Funding`` executions over a real socket: the emulator settles funding on our
XBTUSD position and pushes BitMEX's Funding execution row (``ordStatus`` Filled, a
``lastQty``, an ``orderID`` of zeros -- everything a careless parser takes for a fill). The
gateway logs it once at INFO with the amount and hands the engine no Fill and no report, by
push or by the REST catch-up; the engine booking funding is a later, cross-venue change."""

from __future__ import annotations

import logging

import pytest

from tradeloop.emulator.bitmex.server import BitmexEmulator
from tradeloop.model import OrderStatus
from tradeloop.venues.bitmex.gateway import BitmexGateway

from .conftest import Sink, until
from .test_e2e import order

GATEWAY_LOG = "tradeloop.venues.bitmex.gateway"


def funding_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == GATEWAY_LOG and "funding" in r.getMessage()]


async def test_funding_execution_logged_once_never_a_fill(
    gw: tuple[BitmexGateway, Sink], emu: BitmexEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=GATEWAY_LOG)
    gateway, sink = gw
    gateway.submit_order(order("long", 1000))
    await until(
        lambda: any(r.status is OrderStatus.FILLED for r in sink.reports), "the long filled"
    )
    await gateway.drain()
    fills, reports = list(sink.fills), list(sink.reports)
    assert sum(f.qty for f in fills) == 1000
    emu.config.funding_rate = 0.0001
    emu.settle_funding()  # a long pays a positive rate
    (row,) = [e for e in emu.trading.executions if e["execType"] == "Funding"]
    assert row["ordStatus"] == "Filled" and row["lastQty"] == 1000 and row["execComm"] > 0
    await until(lambda: funding_lines(caplog), "the funding log line")
    # the REST catch-up sees the row again: still only the trade's fills, no second line
    rest_fills = await gateway.fetch_fills()
    assert {f.trade_id for f in rest_fills} == {f.trade_id for f in fills}
    gateway.on_private("execution", "insert", [dict(row)])  # a repeated push
    (line,) = funding_lines(caplog)
    assert line.levelno == logging.INFO
    text = line.getMessage()
    want = f"paid {row['execComm'] / 100_000_000:.8f} BTC on XBTUSD"
    assert want in text and row["execID"] in text
    assert sink.fills == fills and sink.reports == reports  # the engine saw nothing
    pos = {p.symbol: p.qty for p in await gateway.fetch_positions()}
    assert pos["XBTUSD.BITMEX"] == 1000
