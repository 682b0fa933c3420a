"""The BitMEX gateway against the BitMEX emulator over real sockets: inverse instruments, the
id-keyed L2 book (and its resync on an unknown id), orders by clOrdID (fills before their
report, amend, cancel, a lost placement answer resolved without a second order), balances
in BTC from XBt, positions and rate-limit headers (the dead-man switch: ``test_dead_man``)."""

from __future__ import annotations

import asyncio

import pytest

from tradeloop.emulator.bitmex.server import BitmexEmulator
from tradeloop.model import Fill, Order, OrderReport, OrderStatus, OrderType, Side
from tradeloop.venues.bitmex.gateway import BitmexGateway
from tradeloop.venues.bitmex.ws import L2Row

from .conftest import XBTUSD, Sink, until


def order(cid: str, qty: float, price: float | None = None, side: Side = Side.BUY) -> Order:
    kind = OrderType.MARKET if price is None else OrderType.LIMIT
    return Order(
        client_order_id=cid, symbol=XBTUSD, side=side, qty=qty, order_type=kind, price=price or 0.0
    )


async def test_instruments_and_book(gw: tuple[BitmexGateway, Sink], emu: BitmexEmulator) -> None:
    gateway, sink = gw
    inst = gateway.instruments()
    x = inst[XBTUSD]
    assert (x.base, x.quote, x.settle, x.inverse, x.contract_value) == (
        "BTC",
        "USD",
        "BTC",
        True,
        1.0,
    )
    lin = inst["XBTUSDT.BITMEX"]
    assert (lin.settle, lin.inverse, lin.contract_value) == ("USDT", False, 1e-6)
    quanto = inst["ETHUSD.BITMEX"]
    assert (quanto.settle, quanto.contract_value) == ("BTC", 1e-6)
    await gateway.subscribe(XBTUSD, ("book", "quotes", "trades"))
    await until(lambda: gateway.book(XBTUSD) is not None, "book synced")
    m = emu.driver.markets["XBTUSD"]
    for _ in range(3):
        await asyncio.sleep(0.2)
        book = gateway.book(XBTUSD, 10)
        assert book is not None
        # the emulator may have stepped since the last push: compare only settled copies
        want = [(float(m.px(p)), float(s)) for p, s in m.sorted_bids()[:10]]
        if book.bids == want:
            break
    else:
        raise AssertionError("book never equal to the emulator's")
    q = gateway.quote(XBTUSD)
    assert q is not None and q.bid < q.ask
    # an update naming an id never seen: the book is dropped and re-fetched by resubscribing
    stream = gateway.stream
    assert stream is not None
    stream._on_l2("update", [L2Row("XBTUSD", 1, "Buy", 5)])
    assert gateway.book(XBTUSD) is None
    await until(lambda: gateway.book(XBTUSD) is not None, "book resynced")
    assert stream.resyncs == 1 and any(getattr(e, "status", "") == "resync" for e in sink.data)


async def test_orders_by_cl_ord_id(gw: tuple[BitmexGateway, Sink], emu: BitmexEmulator) -> None:
    gateway, sink = gw
    gateway.submit_order(order("buy1", 300))
    await until(lambda: any(r.status is OrderStatus.FILLED for r in sink.reports), "filled")
    fills = [f for f in sink.fills if f.client_order_id == "buy1"]
    assert sum(f.qty for f in fills) == 300 and all(f.fee_ccy == "BTC" for f in fills)
    events = [e for e in sink.fills + sink.reports]
    first_filled = next(r for r in sink.reports if r.status is OrderStatus.FILLED)
    assert all(isinstance(e, Fill | OrderReport) for e in events) and first_filled.filled_qty == 300
    m = emu.driver.markets["XBTUSD"]
    low = float(m.px(m.best_bid())) - 1000
    o = order("rest1", 100, low)
    gateway.submit_order(o)
    await until(lambda: any(r.client_order_id == "rest1" for r in sink.reports), "accepted")
    gateway.amend_order(o, 200, None)
    await until(lambda: any("amended" in r.reason for r in sink.reports), "amended")
    assert [r for r in await gateway.fetch_open_orders() if r.client_order_id == "rest1"]
    gateway.cancel_order(o)
    await until(
        lambda: any(
            r.client_order_id == "rest1" and r.status is OrderStatus.CANCELED for r in sink.reports
        ),
        "canceled",
    )
    await gateway.drain()
    # a placement whose answer is lost: the retry meets "Duplicate clOrdID", one order only
    emu.faults.lose_replies(1, "drop", "POST /api/v1/order")
    gateway.submit_order(order("lost1", 100))
    await until(
        lambda: any(
            r.client_order_id == "lost1" and r.status is OrderStatus.FILLED for r in sink.reports
        ),
        "lost answer resolved",
        10,
    )
    await gateway.drain()
    placed = [i for i in emu.trading.account.infos.values() if i.client_id == "lost1"]
    assert len(placed) == 1
    assert sum(f.qty for f in sink.fills if f.client_order_id == "lost1") == 100
    # money: BTC balances from XBt, the position in contracts
    bal = {b.asset: b for b in await gateway.fetch_balances()}
    sim_btc = emu.trading.account.sim.balances()["BTC"].total
    assert bal["BTC"].total == pytest.approx(sim_btc, abs=1e-8)
    pos = {p.symbol: p for p in await gateway.fetch_positions()}
    assert pos[XBTUSD].qty == 400
    fills = await gateway.fetch_fills()
    assert {f.trade_id for f in fills} == {f.trade_id for f in sink.fills}
    assert gateway.rest.ratelimit["limit"] == 120 and gateway.rest.ratelimit["remaining"] < 120


async def test_refusals_and_rate_limit(gw: tuple[BitmexGateway, Sink], emu: BitmexEmulator) -> None:
    gateway, sink = gw
    gateway.submit_order(order("big", 10_000_000))
    await until(lambda: any(r.status is OrderStatus.REJECTED for r in sink.reports), "refused")
    rej = next(r for r in sink.reports if r.status is OrderStatus.REJECTED)
    assert rej.code.value == "insufficient_funds"
    emu.faults.fail_next_429(2)
    gateway.submit_order(order("after429", 100))
    await until(
        lambda: any(
            r.client_order_id == "after429" and r.status is OrderStatus.FILLED for r in sink.reports
        ),
        "placed after 429s",
        10,
    )
