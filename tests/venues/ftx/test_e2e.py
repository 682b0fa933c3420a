"""FTX connector end to end against the in-process FTX emulator over real loopback sockets:
market data with checksummed books (and the resync a lost or corrupted update forces), order
entry with the reports and fills of the private pushes, and the faults a live venue throws —
duplicate client ids, 429 storms, replies lost after the order was placed, a private socket
dropped while the order filled."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from typing import Any

import pytest
from aiohttp import web

from tradeloop.core.errors import AuthError
from tradeloop.model import (
    BookLevels,
    Fill,
    Order,
    OrderReport,
    OrderStatus,
    OrderType,
    QuoteTick,
    RejectReason,
    Side,
    TimeInForce,
    TradeTick,
)
from tradeloop.venues.ftx.gateway import FtxGateway

from .conftest import KEY, PERP, SPOT, Sink, make_emulator, make_gateway, until

S = OrderStatus
GW = tuple[FtxGateway, Sink]


def venue(emu: Any, cid: str) -> tuple[Any, Any]:
    """The emulator's own record of the order under clientId ``cid``."""
    info = emu.trading.account.find(client_id=cid)
    assert info is not None, f"the venue has no order {cid}"
    return info, emu.trading.account.record(info)


def venue_orders(emu: Any) -> list[Any]:
    return [info.client_id for info, _ in emu.trading.account.orders()]


async def best(gateway: FtxGateway, market: str = "BTC-PERP") -> tuple[float, float]:
    book = await gateway.rest.orderbook(market, 1)
    return float(book["bids"][0][0]), float(book["asks"][0][0])


def limit(cid: str, side: Side, qty: float, price: float, symbol: str = PERP) -> Order:
    return Order(cid, symbol, side, qty, OrderType.LIMIT, price)


async def step_until(emu: Any, cond: Any, what: str, steps: int = 20_000) -> None:
    for _ in range(steps):
        if cond():
            return
        emu.step()
    raise AssertionError(f"the market never got to {what}")


# -- market data --------------------------------------------------------------------------------
async def test_book_trades_quotes_carry_ids_and_checksums_hold(emu: Any, gw: GW) -> None:
    gateway, sink = gw
    await gateway.subscribe(PERP, ("book", "trades", "quotes"))
    public = gateway.public
    assert public is not None
    await until(lambda: "BTC-PERP" in public.books and public.books["BTC-PERP"].synced, "a partial")
    for _ in range(30):
        emu.step()
    await until(lambda: public.books["BTC-PERP"].checksums_ok >= 25, "25 verified messages")
    await until(lambda: bool(sink.of(TradeTick)), "a trade")
    assert public.resyncs == 0
    books = sink.of(BookLevels)
    assert books[0].snapshot and not any(b.snapshot for b in books[1:])
    market = sink.of(BookLevels) + sink.of(TradeTick) + sink.of(QuoteTick)
    assert {e.symbol for e in market} == {PERP}
    # the verified local book is the venue's book
    await until(lambda: public.books["BTC-PERP"].checksums_ok >= 30 or True)
    local = gateway.book(PERP, 5)
    venue_book = await gateway.rest.orderbook("BTC-PERP", 5)
    assert local is not None
    assert local.bids == [tuple(x) for x in venue_book["bids"]]
    assert local.asks == [tuple(x) for x in venue_book["asks"]]
    q = gateway.quote(PERP)
    assert q is not None and q.bid == local.bids[0][0] and q.ask == local.asks[0][0]
    await gateway.unsubscribe(PERP, ("book",))
    assert gateway.book(PERP) is None


@pytest.mark.parametrize("fault", ["skip_seq_once", "corrupt_checksum_once"])
async def test_lost_or_corrupt_update_forces_a_resync(emu: Any, gw: GW, fault: str) -> None:
    gateway, sink = gw
    await gateway.subscribe(PERP, ("book",))
    public = gateway.public
    assert public is not None
    await until(lambda: "BTC-PERP" in public.books and public.books["BTC-PERP"].synced, "a partial")
    getattr(emu.faults, fault)()
    for _ in range(200):
        emu.step()
        if public.resyncs:
            break
    await until(lambda: public.resyncs >= 1, "the mismatch noticed")
    sync = public.books["BTC-PERP"]
    assert "checksum mismatch" in sync.last_error
    await until(lambda: sync.synced, "a fresh partial")
    before = sync.checksums_ok
    for _ in range(10):
        emu.step()
    await until(lambda: sync.checksums_ok >= before + 5, "verified updates after the resync")
    assert len([b for b in sink.of(BookLevels) if b.snapshot]) >= 2
    assert any(getattr(e, "status", "") == "resync" for e in sink.log)


# -- orders -------------------------------------------------------------------------------------
async def test_limit_place_then_cancel(emu: Any, gw: GW) -> None:
    gateway, sink = gw
    bid, _ = await best(gateway)
    gateway.submit_order(limit("lim1", Side.BUY, 0.01, bid - 50))
    await until(lambda: sink.statuses("lim1") == [S.ACCEPTED], "lim1 accepted")
    info, rec = venue(emu, "lim1")
    accepted = sink.reports("lim1")[0]
    assert accepted.venue_order_id == info.order_id and accepted.symbol == PERP
    assert rec.status is S.ACCEPTED and info.extra["price"] == bid - 50
    gateway.cancel_order(limit("lim1", Side.BUY, 0.01, bid - 50))
    await until(lambda: S.CANCELED in sink.statuses("lim1"), "lim1 canceled")
    await gateway.drain()
    assert venue(emu, "lim1")[1].status is S.CANCELED
    assert sink.statuses("lim1") == [S.ACCEPTED, S.CANCELED]
    assert await gateway.fetch_open_orders() == []


async def test_amend_is_reported_unsupported_without_touching_the_order(emu: Any, gw: GW) -> None:
    gateway, sink = gw
    bid, _ = await best(gateway)
    order = limit("am1", Side.BUY, 0.01, bid - 40)
    gateway.submit_order(order)
    await until(lambda: sink.statuses("am1") == [S.ACCEPTED], "am1 accepted")
    gateway.amend_order(order, qty=0.02, price=bid - 30)
    await until(lambda: len(sink.reports("am1")) == 2, "the amend outcome")
    outcome = sink.reports("am1")[1]
    assert outcome.status is S.ACCEPTED and outcome.code is RejectReason.OTHER
    assert outcome.reason.startswith("amend failed:") and "cannot amend" in outcome.reason
    info, rec = venue(emu, "am1")
    assert (info.extra["size"], info.extra["price"], rec.status) == (0.01, bid - 40, S.ACCEPTED)


@pytest.fixture
async def tapped() -> AsyncIterator[tuple[Any, list[str]]]:
    """An emulator that keeps the raw body of every POST /api/orders."""
    bodies: list[str] = []

    @web.middleware
    async def tap(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        try:
            return await handler(request)
        finally:
            if request.method == "POST" and request.path == "/api/orders":
                bodies.append((await request.read()).decode())

    e = make_emulator()
    e.app.middlewares.append(tap)
    await e.start("127.0.0.1", 0)
    try:
        yield e, bodies
    finally:
        await e.stop()


async def test_market_order_sends_price_null_and_fill_precedes_report(
    tapped: tuple[Any, list[str]],
) -> None:
    emu, bodies = tapped
    gateway, sink = make_gateway(emu.base_url), Sink()
    gateway.bind(sink)
    await gateway.start()
    try:
        await _market_order(gateway, sink)
    finally:
        await gateway.stop()
    assert bodies == [
        '{"market":"BTC-PERP","side":"buy","price":null,"size":0.01,"clientId":"mkt1",'
        '"type":"market","reduceOnly":false,"ioc":false,"postOnly":false}'
    ]


async def _market_order(gateway: FtxGateway, sink: Sink) -> None:
    _, ask = await best(gateway)
    gateway.submit_order(Order("mkt1", PERP, Side.BUY, 0.01, OrderType.MARKET))
    await until(lambda: S.FILLED in sink.statuses("mkt1"), "mkt1 filled")
    row = await gateway.rest.order_by_client_id("mkt1")
    assert (row["type"], row["price"], row["size"]) == ("market", None, 0.01)
    fills = sink.fills("mkt1")  # it may walk several ask levels
    final = sink.reports("mkt1")[-1]
    assert all(sink.log.index(f) < sink.log.index(final) for f in fills)
    assert {f.venue_order_id for f in fills} == {final.venue_order_id} == {str(row["id"])}
    assert {(f.side, f.symbol, f.fee_ccy) for f in fills} == {(Side.BUY, PERP, "USD")}
    assert sum(f.qty for f in fills) == pytest.approx(0.01) and fills[0].price == ask
    assert all(f.fee > 0 for f in fills)
    venue_fills = await gateway.rest.fills("BTC-PERP", str(row["id"]))
    assert sorted(str(r["id"]) for r in venue_fills) == sorted(f.trade_id for f in fills)
    vwap = sum(f.qty * f.price for f in fills) / 0.01
    assert final.filled_qty == 0.01 and final.avg_price == pytest.approx(vwap)
    (pos,) = await gateway.fetch_positions()
    assert (pos.symbol, pos.qty) == (PERP, 0.01)
    queried = await gateway.fetch_fills()
    assert [(f.client_order_id, f.trade_id) for f in queried] == [
        ("mkt1", f.trade_id) for f in fills
    ]


async def test_quote_sized_spot_market_buy_and_refusals(emu: Any, gw: GW) -> None:
    gateway, sink = gw
    _, ask = await best(gateway, "BTC/USD")
    gateway.submit_order(Order("spot1", SPOT, Side.BUY, 0.0, OrderType.MARKET, quote_qty=1000.0))
    await until(lambda: S.FILLED in sink.statuses("spot1"), "spot1 filled")
    qty = sum(f.qty for f in sink.fills("spot1"))
    assert qty == pytest.approx(round(1000.0 / ask - 0.00005, 4))
    gateway.submit_order(Order("big1", SPOT, Side.BUY, 50.0, OrderType.MARKET))
    gateway.submit_order(Order("fok1", PERP, Side.BUY, 0.01, OrderType.LIMIT, 1.0, TimeInForce.FOK))
    gateway.submit_order(limit("tiny", Side.BUY, 0.0004, 1000.0, symbol="NOPE.FTX"))
    await gateway.drain()
    assert sink.reports("big1")[-1].code is RejectReason.INSUFFICIENT_FUNDS
    assert "Not enough balances" in sink.reports("big1")[-1].reason
    assert sink.reports("fok1")[-1].status is S.REJECTED
    assert sink.reports("tiny")[-1].code is RejectReason.INVALID_INSTRUMENT
    assert {"big1", "fok1", "tiny"}.isdisjoint(venue_orders(emu))


async def test_duplicate_client_id_never_makes_a_second_order(emu: Any, gw: GW) -> None:
    gateway, sink = gw
    bid, _ = await best(gateway)
    # an earlier process placed "dup1" (its answer lost); this one places it again
    await gateway.rest.place_order("BTC-PERP", "buy", Decimal("0.01"), Decimal(bid - 60), "dup1")
    gateway.submit_order(limit("dup1", Side.BUY, 0.01, bid - 60))
    await until(lambda: S.ACCEPTED in sink.statuses("dup1"), "dup1 resolved as placed")
    await gateway.drain()
    assert venue_orders(emu).count("dup1") == 1
    assert S.REJECTED not in sink.statuses("dup1")
    assert sink.reports("dup1")[0].venue_order_id == venue(emu, "dup1")[0].order_id


async def test_429_storm_is_ridden_out_or_reported_transient(emu: Any, gw: GW) -> None:
    gateway, sink = gw
    bid, _ = await best(gateway)
    emu.faults.fail_next_429(3)  # inside one request's retries
    gateway.submit_order(limit("rl1", Side.BUY, 0.01, bid - 70))
    await until(lambda: sink.statuses("rl1") == [S.ACCEPTED], "rl1 through the storm")
    emu.faults.fail_next_429(8)  # outlasts them: a typed, transient refusal; nothing placed
    gateway.submit_order(limit("rl2", Side.BUY, 0.01, bid - 70))
    await until(lambda: S.REJECTED in sink.statuses("rl2"), "rl2 refused")
    refused = sink.reports("rl2")[-1]
    assert refused.code is RejectReason.RATE_LIMITED and refused.code.transient
    assert "rl2" not in venue_orders(emu)
    emu.faults.fail_next_429(6)  # a cancel keeps at it until it gets through
    gateway.cancel_order(limit("rl1", Side.BUY, 0.01, bid - 70))
    await until(lambda: S.CANCELED in sink.statuses("rl1"), "rl1 canceled through a storm", 20)
    assert emu.faults.fail_remaining == 0


@pytest.mark.parametrize(("kind", "count"), [("drop", 1), ("5xx", 1), ("5xx", 4)])
async def test_lost_reply_is_resolved_by_client_id(
    emu: Any, gw: GW, kind: str, count: int, caplog: pytest.LogCaptureFixture
) -> None:
    """The venue places the order and the answer is lost; retries meet "Duplicate client
    order ID" (or lose their answers too): the order is looked up by clientId, never reported
    rejected, never placed twice."""
    gateway, sink = gw
    bid, _ = await best(gateway)
    emu.faults.lose_replies(count, kind, "POST /api/orders")
    gateway.submit_order(limit("lost1", Side.BUY, 0.01, bid - 80))
    await until(lambda: S.ACCEPTED in sink.statuses("lost1"), "lost1 found placed")
    await gateway.drain()
    assert venue_orders(emu).count("lost1") == 1
    assert sink.statuses("lost1") == [S.ACCEPTED]
    assert sink.reports("lost1")[0].venue_order_id == venue(emu, "lost1")[0].order_id
    assert emu.faults.lose_remaining == 0
    # the retry met the order it had placed (or every answer was lost): resolved, not refused
    why = "Duplicate client order ID" if count == 1 else "outcome of lost1 unknown"
    assert any(why in r.getMessage() for r in caplog.records)


async def test_fill_while_private_socket_down_is_caught_up(emu: Any, gw: GW) -> None:
    gateway, sink = gw
    private = gateway.private
    assert private is not None and private.connected
    bid, _ = await best(gateway)
    gateway.submit_order(limit("down1", Side.BUY, 0.01, bid))  # joins the best bid
    await until(lambda: sink.statuses("down1") == [S.ACCEPTED], "down1 accepted")
    info, _ = venue(emu, "down1")
    # cut every socket and trade through the order in one synchronous block: its pushes go
    # to dead sockets
    assert emu.faults.drop_ws() >= 1
    await step_until(emu, lambda: emu.trading.account.record(info).status is S.FILLED, "fill")
    assert sink.statuses("down1") == [S.ACCEPTED]
    await until(lambda: S.FILLED in sink.statuses("down1"), "down1 caught up after reconnect")
    assert private.client.connections >= 2
    venue_fills = await gateway.rest.fills("BTC-PERP", info.order_id)
    got = sink.fills("down1")
    assert sorted(f.trade_id for f in got) == sorted(str(r["id"]) for r in venue_fills)
    assert sum(f.qty for f in got) == pytest.approx(0.01)
    final = sink.reports("down1")[-1]
    assert all(sink.log.index(f) < sink.log.index(final) for f in got)
    # another outage: nothing reported or booked twice
    n = len(sink.log)
    assert emu.faults.drop_ws() >= 1
    await until(lambda: private.client.connections >= 3 and private.connected, "a 2nd reconnect")
    await gateway.drain()
    assert len(sink.fills("down1")) == len(got) and len(sink.reports("down1")) == 2
    assert all(not isinstance(e, Fill | OrderReport) for e in sink.log[n:])


async def test_bad_credentials_fail_start(emu: Any) -> None:
    gateway = make_gateway(emu.base_url)
    gateway.rest.credentials = type(gateway.rest.credentials)(KEY, "wrong")  # type: ignore[misc]
    with pytest.raises(AuthError, match="login refused"):
        await gateway.start()
    await gateway.stop()
