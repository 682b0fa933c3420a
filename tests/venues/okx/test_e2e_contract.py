"""The Gateway contract's newer parts on the OKX connector, against the emulator over real
sockets: the verified local book and quote (and None once they cannot be trusted), unsubscribe,
amend, fills since a time, and account/status events carrying the venue."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tradeloop.model import BalanceUpdate, Event, Order, OrderStatus, OrderType, Side, VenueStatus
from tradeloop.venues.okx import parse as P
from tradeloop.venues.okx.gateway import OkxGateway

from .e2e import until
from .test_e2e_emulator import BTC, ETH, Sink
from .test_e2e_emulator import emu as emu  # fixtures
from .test_e2e_emulator import gw as gw

pytest.importorskip("tradeloop.emulator.okx.server")

GW = tuple[Any, OkxGateway, Sink]


async def test_book_and_quote_come_from_the_verified_local_book(gw: GW) -> None:
    _, gateway, _ = gw
    assert gateway.book(BTC) is None and gateway.quote(BTC) is None  # nothing subscribed
    await gateway.subscribe(BTC, ("book", "quotes"))
    public = gateway.public
    assert public is not None
    await until(lambda: gateway.book(BTC) is not None and public.books["BTC-USDT"].synced)
    book = gateway.book(BTC, 5)
    assert book is not None and book.snapshot and book.symbol == BTC
    assert 0 < len(book.bids) <= 5 and 0 < len(book.asks) <= 5
    assert [p for p, _ in book.bids] == sorted((p for p, _ in book.bids), reverse=True)
    assert book.bids[0][0] < book.asks[0][0]
    quote = gateway.quote(BTC)
    assert quote is not None and quote.symbol == BTC and 0 < quote.bid < quote.ask
    assert gateway.book("NOPE-USDT.OKX") is None and gateway.quote("BTC-USDT") is None  # ids
    await public.stop()  # the stream is down: what we hold may be stale
    assert gateway.book(BTC) is None and gateway.quote(BTC) is None


async def test_unsubscribe_stops_a_channel_and_forgets_its_book(gw: GW) -> None:
    _, gateway, _sink = gw
    await gateway.subscribe(ETH, ("book", "trades"))
    public = gateway.public
    assert public is not None
    await until(lambda: gateway.book(ETH) is not None)
    await gateway.unsubscribe(ETH, ("book",))
    assert "ETH-USDT" not in public.books and gateway.book(ETH) is None
    assert any("trades" in k for k in public.client.subscriptions)
    with pytest.raises(ValueError, match="unknown OKX instrument"):
        await gateway.subscribe("ETH-USDT", ("book",))  # a bare instId is not an id


async def test_amend_changes_the_order_at_the_venue(gw: GW) -> None:
    _, gateway, sink = gw
    q = P.parse_ticker(await gateway.rest.ticker("BTC-USDT"), 0)
    inst = gateway.instruments()[BTC]
    price = inst.round_price(q.bid * 0.8)
    order = Order("amend1", BTC, Side.BUY, 0.01, OrderType.LIMIT, price)
    gateway.submit_order(order)
    await until(lambda: OrderStatus.ACCEPTED in sink.statuses("amend1"))
    new_px = inst.round_price(q.bid * 0.75)
    gateway.amend_order(order, qty=0.02, price=new_px)
    await gateway.drain()
    last = [r for r in sink.reports if r.client_order_id == "amend1"][-1]
    assert last.status is OrderStatus.ACCEPTED and last.reason.startswith("amended"), last
    row = await gateway.rest.get_order("BTC-USDT", cl_ord_id="amend1")
    assert float(row["px"]) == pytest.approx(new_px) and float(row["sz"]) == pytest.approx(0.02)
    gateway.amend_order(order, price=float("nan"))  # refused before the wire
    await gateway.drain()
    last = [r for r in sink.reports if r.client_order_id == "amend1"][-1]
    assert last.reason.startswith("amend failed") and last.status is OrderStatus.ACCEPTED
    gateway.cancel_order(order)
    await until(lambda: OrderStatus.CANCELED in sink.statuses("amend1"))


async def test_fetch_fills_since_a_time_with_our_ids(gw: GW) -> None:
    _, gateway, sink = gw
    before = time.time_ns() - 1_000_000_000
    gateway.submit_order(Order("since1", BTC, Side.BUY, 0.01))
    await until(lambda: OrderStatus.FILLED in sink.statuses("since1"))
    fills = [f for f in await gateway.fetch_fills(before) if f.client_order_id == "since1"]
    pushed = [f for f in sink.fills if f.client_order_id == "since1"]
    assert fills and {f.trade_id for f in fills} == {f.trade_id for f in pushed}
    assert {f.symbol for f in fills} == {BTC}
    assert await gateway.fetch_fills(time.time_ns() + 3600 * 10**9) == []


async def test_status_and_account_events_carry_the_venue(gw: GW) -> None:
    e, gateway, _ = gw
    seen: list[Event] = []
    gateway.on_account_event = seen.append
    gateway.submit_order(Order("acct1", BTC, Side.BUY, 0.01))
    await until(lambda: any(isinstance(ev, BalanceUpdate) for ev in seen))
    assert {ev.venue for ev in seen if isinstance(ev, BalanceUpdate)} == {"OKX"}
    assert {b.venue for b in await gateway.fetch_balances()} == {"OKX"}
    e.faults.drop_ws()
    await until(lambda: any(isinstance(ev, VenueStatus) and ev.status == "reconnected"
                            for ev in seen))  # fmt: skip
    statuses = [ev for ev in seen if isinstance(ev, VenueStatus)]
    assert {s.venue for s in statuses} == {"OKX"}
    assert "disconnected" in {s.status for s in statuses}
