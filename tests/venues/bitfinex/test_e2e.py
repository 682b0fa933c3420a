"""Bitfinex connector end to end against the emulator over real sockets: orders on channel 0
(and the REST fallback), fills before the reports that count them with exact fees, the
dead-man switch, books verified by checksum with resync after a corrupted checksum or a
sequence gap, and auth refusal."""

from __future__ import annotations

from typing import Any

import pytest

from tradeloop.core.errors import AuthError
from tradeloop.model import BookLevels, Order, OrderStatus, OrderType, QuoteTick, Side
from tradeloop.venues.bitfinex.gateway import BitfinexGateway

from .conftest import PERP, SPOT, Sink, make_gateway, until

S = OrderStatus
GW = tuple[BitfinexGateway, Sink]


async def test_instruments_and_ids(gw: GW) -> None:
    g, _ = gw
    inst = g.instruments()
    assert {SPOT, PERP, "tETHUSD.BITFINEX"} <= set(inst)
    assert inst[SPOT].native == "tBTCUSD" and inst[SPOT].tick_size == 1.0
    assert inst[PERP].is_derivative and inst[PERP].settle == "USTF0"


async def test_market_order_over_ws(gw: GW, emu: Any) -> None:
    g, sink = gw
    g.submit_order(Order("mkt-1", SPOT, Side.BUY, 0.01, OrderType.MARKET))
    await until(lambda: S.FILLED in sink.statuses("mkt-1"), "the market order to fill")
    assert g.hooks.ws_orders == 1 and g.hooks.rest_orders == 0
    fills = sink.fills("mkt-1")
    assert round(sum(f.qty for f in fills), 8) == 0.01
    assert all(f.fee > 0 and f.fee_ccy == "BTC" for f in fills)
    # every fill before the report that counts it
    first_filled = next(i for i, e in enumerate(sink.log) if getattr(e, "status", None) is S.FILLED)
    assert all(sink.log.index(f) < first_filled for f in fills)
    venue_fee = sum(f.fee for _, f in emu.trading.account.fills())
    assert abs(sum(f.fee for f in fills) - venue_fee) < 1e-12


async def test_limit_cancel_and_amend(gw: GW, emu: Any) -> None:
    g, sink = gw
    order = Order("lim-1", SPOT, Side.BUY, 0.05, OrderType.LIMIT, 1000.0)
    g.submit_order(order)
    await until(lambda: S.ACCEPTED in sink.statuses("lim-1"), "the limit order to rest")
    g.amend_order(order, price=1100.0)
    await until(lambda: any("amended" in r.reason for r in sink.reports("lim-1")), "the amend")
    assert bytes(emu.trading.open_orders()[0][16]) == b"1100"
    g.cancel_order(order)
    await until(lambda: S.CANCELED in sink.statuses("lim-1"), "the cancel")
    assert emu.trading.open_orders() == []


async def test_refusal_is_typed(gw: GW) -> None:
    g, sink = gw
    g.submit_order(Order("big-1", SPOT, Side.SELL, 50.0, OrderType.LIMIT, 90000.0))
    await until(lambda: S.REJECTED in sink.statuses("big-1"), "the refusal")
    assert sink.reports("big-1")[-1].code.value == "insufficient_funds"


async def test_rest_fallback_when_socket_down(gw: GW, emu: Any) -> None:
    g, sink = gw
    assert g.private is not None
    await g.private.stop()
    g.submit_order(Order("rest-1", SPOT, Side.BUY, 0.05, OrderType.LIMIT, 1000.0))
    await until(lambda: S.ACCEPTED in sink.statuses("rest-1"), "the REST placement")
    assert g.hooks.rest_orders == 1


async def test_dead_man_switch(gw: GW, emu: Any) -> None:
    g, sink = gw
    g.submit_order(Order("dms-1", SPOT, Side.BUY, 0.05, OrderType.LIMIT, 1000.0))
    await until(lambda: S.ACCEPTED in sink.statuses("dms-1"), "the order to rest")
    emu.faults.drop_ws()  # the authenticated socket dies: Bitfinex cancels our orders
    await until(lambda: emu.trading.open_orders() == [], "dms to cancel the order")
    await until(lambda: S.CANCELED in sink.statuses("dms-1"), "the reconcile to see it")


async def test_book_checksum_and_resync(gw: GW, emu: Any) -> None:
    g, sink = gw
    await g.subscribe(SPOT, ("book", "quotes"))
    await until(lambda: g.book(SPOT) is not None, "the book")
    for _ in range(20):
        emu.step()
    await until(lambda: g.public is not None and g.public.books["tBTCUSD"].checksums_ok >= 10,
                "verified checksums")  # fmt: skip
    book = g.public.books["tBTCUSD"]  # type: ignore[union-attr]
    emu.faults.corrupt_checksums(1)
    for _ in range(5):
        emu.step()
    await until(lambda: book.resyncs == 1 and book.synced, "a resync after a bad checksum")
    gaps = g.public.gaps  # type: ignore[union-attr]
    emu.faults.skip_seqs(1)
    for _ in range(5):
        emu.step()
    await until(lambda: g.public.gaps == gaps + 1, "the gap")  # type: ignore[union-attr]
    await until(lambda: g.book(SPOT) is not None, "the book back after the gap")
    ok = book.checksums_ok
    for _ in range(5):
        emu.step()
    await until(lambda: g.public.books["tBTCUSD"].checksums_ok > ok, "checks after reconnect")  # type: ignore[union-attr]
    top = g.book(SPOT, 5)
    assert top is not None and top.bids[0][0] < top.asks[0][0] and top.asks[0][1] > 0
    assert isinstance(g.quote(SPOT), QuoteTick) and sink.of(BookLevels)


async def test_bad_keys_refused(emu: Any) -> None:
    g = make_gateway(emu)
    g.rest.credentials.secret = "wrong"  # type: ignore[union-attr]
    with pytest.raises(AuthError):
        await g.start()
    await g.stop()


async def test_queries(gw: GW) -> None:
    g, sink = gw
    g.submit_order(Order("perp-1", PERP, Side.BUY, 0.01, OrderType.MARKET))
    await until(lambda: S.FILLED in sink.statuses("perp-1"), "the perp fill")
    pos = await g.fetch_positions()
    assert pos[0].symbol == PERP and pos[0].qty == 0.01
    fills = await g.fetch_fills()
    assert fills and fills[-1].client_order_id == "perp-1"
    bal = {b.asset: b for b in await g.fetch_balances()}
    assert bal["USD"].total == 100_000 and bal["USTF0"].total < 50_000
