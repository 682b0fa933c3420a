"""The in-process sim client answers the whole Gateway contract from the SimExchange: amend
outcomes, failed cancels, queries, and book/quote — so contract checks can run against it as
against a venue over the wire."""

from __future__ import annotations

import pytest

from tradeloop.core.clock import SimClock
from tradeloop.model import (
    BookLevels,
    Fill,
    Instrument,
    InstrumentKind,
    Order,
    OrderReport,
    OrderStatus,
    OrderType,
    RejectReason,
    Side,
)
from tradeloop.venues import registry
from tradeloop.venues.base import Gateway
from tradeloop.venues.sim.client import SimExecutionClient

S = OrderStatus
BTC = Instrument.of("BTC-USDT", "SIM", "BTC", "USDT", tick_size=0.1, lot_size=0.001)
PERP = Instrument.of(
    "BTC-PERP", "SIM", "BTC", "USDT", tick_size=0.1, lot_size=0.001, kind=InstrumentKind.SWAP
)


class Sink:
    def __init__(self) -> None:
        self.reports: list[OrderReport] = []
        self.fills: list[Fill] = []

    def on_order_report(self, report: OrderReport) -> None:
        self.reports.append(report)

    def on_fill(self, fill: Fill) -> None:
        self.fills.append(fill)


def client() -> tuple[SimExecutionClient, Sink, SimClock]:
    clock = SimClock(1_000_000_000)
    c = SimExecutionClient([BTC, PERP], {"USDT": 10_000.0, "BTC": 1.0}, clock)
    sink = Sink()
    c.bind(sink)
    for inst in (BTC, PERP):
        c.exchange.on_book(
            BookLevels(clock.now(), inst.symbol, [(100.0, 5.0)], [(100.5, 5.0)], True)
        )
    return c, sink, clock


def resting(c: SimExecutionClient, cid: str = "r1", price: float = 99.0) -> Order:
    order = Order(cid, BTC.symbol, Side.BUY, 1.0, OrderType.LIMIT, price)
    c.submit_order(order)
    order.status = S.ACCEPTED
    return order


def test_it_is_a_gateway_named_after_its_instruments_venue() -> None:
    c, _, _ = client()
    assert isinstance(c, Gateway) and c.venue == "SIM"
    other = SimExecutionClient([Instrument.of("X-Y", "OKX", "X", "Y")], {}, SimClock())
    assert other.venue == "OKX"  # a backtest standing in for that venue


def test_amend_outcomes_are_reports_repeating_the_working_state() -> None:
    c, sink, _ = client()
    order = resting(c)
    c.amend_order(order, price=99.5)
    assert (sink.reports[-1].status, sink.reports[-1].code) == (S.ACCEPTED, RejectReason.NONE)
    assert sink.reports[-1].reason.startswith("amended")
    assert c.exchange.order("r1").price == 99.5  # type: ignore[union-attr]
    c.amend_order(order, qty=1_000.0)  # 100k USDT: more than the account holds
    last = sink.reports[-1]
    assert (last.status, last.code) == (S.ACCEPTED, RejectReason.INSUFFICIENT_FUNDS)
    assert last.reason.startswith("amend failed")
    c.amend_order(order, price=float("nan"))
    assert sink.reports[-1].code is RejectReason.INVALID_PRICE
    n = len(sink.reports)
    c.cancel_order(order)
    assert sink.reports[-1].status is S.CANCELED
    c.amend_order(order, price=98.0)  # it ended first: nothing more to say
    assert len(sink.reports) == n + 1


def test_a_cancel_of_an_order_the_venue_never_had_is_reported_failed() -> None:
    c, sink, _ = client()
    ghost = Order("ghost", BTC.symbol, Side.BUY, 1.0, OrderType.LIMIT, 90.0)
    ghost.status = S.ACCEPTED
    c.cancel_order(ghost)
    (report,) = sink.reports
    assert report.code is RejectReason.CANCEL_FAILED and report.status is S.ACCEPTED


async def test_queries_book_and_quote() -> None:
    c, _sink, clock = client()
    await c.start()
    resting(c, "r1", 99.0)
    c.submit_order(Order("m1", BTC.symbol, Side.BUY, 0.5))
    c.submit_order(Order("p1", PERP.symbol, Side.SELL, 0.2))
    assert [r.client_order_id for r in await c.fetch_open_orders()] == ["r1"]
    bals = {b.asset: b for b in await c.fetch_balances()}
    assert {b.venue for b in bals.values()} == {"SIM"} and bals["BTC"].total > 1.0
    (pos,) = await c.fetch_positions()
    assert (pos.symbol, pos.qty) == (PERP.symbol, -0.2)
    assert {f.client_order_id for f in await c.fetch_fills()} == {"m1", "p1"}
    assert await c.fetch_fills(clock.now() + 1) == []
    book = c.book(BTC.symbol, 5)
    assert book is not None and book.bids[0] == (100.0, 5.0) and (99.0, 1.0) in book.bids
    quote = c.quote(BTC.symbol)
    assert quote is not None and (quote.bid, quote.ask) == (100.0, 100.5)
    assert c.book("NOPE.SIM") is None and c.quote("NOPE.SIM") is None
    await c.subscribe(BTC.symbol, ("book",))
    await c.unsubscribe(BTC.symbol, ("book",))
    with pytest.raises(ValueError):
        await c.subscribe("NOPE.SIM", ("book",))
    await c.drain()
    await c.stop()


def test_the_registry_builds_a_sim_gateway() -> None:
    gw = registry.get("sim").build(instruments=[BTC], balances={"USDT": 5.0})
    assert isinstance(gw, SimExecutionClient) and BTC.symbol in gw.instruments()
    with pytest.raises(TypeError):
        registry.get("SIM").build(bogus=1)
