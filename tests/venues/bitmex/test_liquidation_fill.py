"""A liquidation reaches the engine as a venue-initiated Fill, once: over a real socket the
emulator liquidates an isolated XBTUSD long (its mark through the liquidation price) and
pushes BitMEX's ``Liquidation`` execution (no clOrdID, an order of zeros). The gateway must
hand the engine exactly one Fill for it with an empty ``client_order_id`` (what the engine
books as the venue's own trade, ``engine.lifecycle``), the execution's id as trade id, at the
bankruptcy price, for the whole position -- and nothing more after a repeated push, the
REST fill listing or a reconnect."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.support import funding_checks as fc

from tradeloop.emulator.bitmex.server import BitmexEmulator
from tradeloop.model import OrderStatus, Side
from tradeloop.venues.base import RECONNECTED
from tradeloop.venues.bitmex.gateway import BitmexGateway

from .conftest import XBTUSD, Sink, until
from .test_e2e import order

SYM = "XBTUSD"


def _liquidations(emu: BitmexEmulator) -> list[dict[str, object]]:
    return [e for e in emu.trading.executions if e.get("text") == "Liquidation"]


def _reconnects(sink: Sink) -> int:
    return sum(1 for e in sink.data if getattr(e, "status", "") == RECONNECTED)


async def _long_at_50x(gateway: BitmexGateway, sink: Sink, cid: str) -> dict[str, Any]:
    """An isolated 100,000-contract XBTUSD long at 50x, filled; its position row."""
    await gateway.rest.set_leverage(SYM, Decimal(50))
    gateway.submit_order(order(cid, 100_000))
    await until(lambda: any(r.status is OrderStatus.FILLED for r in sink.reports), "filled")
    await gateway.drain()
    (pos,) = [p for p in await gateway.rest.positions() if p["symbol"] == SYM]
    return pos


async def _fall_through(emu: BitmexEmulator, liquidation_price: float) -> None:
    """The market falls through ``liquidation_price``; the emulator liquidates."""
    m = emu.driver.markets[SYM]
    m.grid = round((liquidation_price - 200) / m.instrument.tick_size / m.spacing)
    emu.step()
    await until(lambda: _liquidations(emu), "the emulator's liquidation")


async def test_liquidation_is_one_venue_initiated_fill(
    gw: tuple[BitmexGateway, Sink], emu: BitmexEmulator
) -> None:
    gateway, sink = gw
    pos = await _long_at_50x(gateway, sink, "liq-long")
    ours = list(sink.fills)
    liq, bankrupt = pos["liquidationPrice"], pos["bankruptPrice"]
    assert liq is not None and bankrupt is not None and bankrupt < liq
    await _fall_through(emu, liq)
    (row,) = _liquidations(emu)
    await until(lambda: len(sink.fills) > len(ours), "the liquidation fill")
    await gateway.drain()
    (fill,) = sink.fills[len(ours) :]
    assert fill.client_order_id == "" and fill.trade_id == row["execID"]
    assert (fill.symbol, fill.side, fill.qty, fill.price) == (XBTUSD, Side.SELL, 100_000, bankrupt)
    assert fill.fee_ccy == "BTC" and round(fill.fee * 100_000_000) == row["execComm"]
    # once: a repeated push, the REST listing, a reconnect and its catch-up add nothing
    gateway.on_private("execution", "insert", [dict(row)])
    listed = [f for f in await gateway.fetch_fills() if f.trade_id == row["execID"]]
    assert [f.client_order_id for f in listed] == [""]
    before = _reconnects(sink)
    emu.faults.drop_ws()
    await until(lambda: _reconnects(sink) > before, "the reconnect")
    await gateway.drain()
    assert [f.trade_id for f in sink.fills].count(row["execID"]) == 1
    # and no order of its own: the engine hears of no order report for it
    assert all(r.client_order_id == "liq-long" for r in sink.reports), sink.reports


async def test_liquidation_while_the_socket_is_down_arrives_after_reconnect(
    gw: tuple[BitmexGateway, Sink], emu: BitmexEmulator
) -> None:
    """The liquidation's pushes are lost (as over a dying socket): no order of ours is
    tracked for it, so only the reconnect's look at the execution history can find it --
    delivered once, as the venue's own fill."""
    gateway, sink = gw
    pos = await _long_at_50x(gateway, sink, "liq-down")
    ours = len(sink.fills)
    with fc.pushes_lost(emu.hub, "push_private"):
        await _fall_through(emu, pos["liquidationPrice"])
    assert len(sink.fills) == ours
    before = _reconnects(sink)
    emu.faults.drop_ws()
    await until(lambda: _reconnects(sink) > before, "the reconnect")
    await until(lambda: len(sink.fills) > ours, "the liquidation after the reconnect")
    await gateway.drain()
    (row,) = _liquidations(emu)
    (fill,) = sink.fills[ours:]
    assert fill.client_order_id == "" and fill.trade_id == row["execID"]
