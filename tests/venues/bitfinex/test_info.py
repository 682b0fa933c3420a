"""Bitfinex's ``info`` events through the connector over real sockets: 20060 (maintenance
starts) is a notice and an order placed meanwhile is refused as transient (the engine's retry
policy places it again); 20061 (it ended) and 20051
(server restart) make both sockets reconnect -- the public one resubscribes and its book is
verified by checksum again, the private one re-authenticates and orders go over it again."""

from __future__ import annotations

from typing import Any

from tradeloop.model import Order, OrderStatus, OrderType, Side, VenueStatus
from tradeloop.venues.base import RECONNECTED
from tradeloop.venues.bitfinex.gateway import BitfinexGateway

from .conftest import SPOT, Sink, until

S = OrderStatus
GW = tuple[BitfinexGateway, Sink]


def statuses(sink: Sink, status: str) -> list[VenueStatus]:
    return [e for e in sink.of(VenueStatus) if e.status == status]


async def _book_checked(g: BitfinexGateway, emu: Any) -> None:
    assert g.public is not None
    ok = g.public.books["tBTCUSD"].checksums_ok if "tBTCUSD" in g.public.books else 0
    for _ in range(5):
        emu.step()

    def more() -> bool:
        book = g.public.books.get("tBTCUSD") if g.public else None
        return book is not None and book.checksums_ok > ok and g.book(SPOT) is not None

    await until(more, "checksum-verified book updates")


async def test_maintenance_then_restart(gw: GW, emu: Any) -> None:
    g, sink = gw
    await g.subscribe(SPOT, ("book",))
    await _book_checked(g, emu)
    emu.maintenance_start()
    await until(lambda: any("20060" in e.detail for e in statuses(sink, "notice")), "20060")
    g.submit_order(Order("m-0", SPOT, Side.BUY, 0.01, OrderType.MARKET))
    await until(lambda: S.REJECTED in sink.statuses("m-0"), "the refusal during maintenance")
    assert sink.reports("m-0")[-1].code.transient  # the engine's retry policy tries again
    assert emu.trading.account.fills() == []
    before = len(statuses(sink, RECONNECTED))
    emu.maintenance_end()  # 20061: reconnect and resubscribe
    await until(lambda: len(statuses(sink, RECONNECTED)) >= before + 2, "both sockets back")
    g.submit_order(Order("m-1", SPOT, Side.BUY, 0.01, OrderType.MARKET))
    await until(lambda: S.FILLED in sink.statuses("m-1"), "the order after maintenance")
    await _book_checked(g, emu)
    before = len(statuses(sink, RECONNECTED))
    emu.restart_notice()  # 20051, then the server closes every socket
    await until(lambda: len(statuses(sink, RECONNECTED)) >= before + 2, "both sockets back")
    await _book_checked(g, emu)
    sent = g.hooks.ws_orders
    g.submit_order(Order("m-2", SPOT, Side.BUY, 0.01, OrderType.MARKET))
    await until(lambda: S.FILLED in sink.statuses("m-2"), "an order after the restart")
    assert g.hooks.ws_orders == sent + 1  # over the re-authenticated socket
