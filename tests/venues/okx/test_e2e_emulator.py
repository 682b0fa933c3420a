"""OKX connector end to end against the in-process OKX emulator over real loopback sockets:
REST, book sync with checksums, order entry with reports and fills from the private orders
channel, and the faults a live venue throws (dropped sockets, 429 storms, lost book messages,
bad checksums)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tradeloop.core.errors import AuthError, VenueError
from tradeloop.model import (
    BookLevels,
    Event,
    Fill,
    FundingPaid,
    Order,
    OrderReport,
    OrderStatus,
    OrderType,
    QuoteTick,
    Side,
    TradeTick,
)
from tradeloop.venues.okx import parse as P
from tradeloop.venues.okx.gateway import OkxGateway
from tradeloop.venues.okx.rest import OkxRestClient
from tradeloop.venues.okx.ws import OkxStream

from .e2e import FAST_WS, until

emulator = pytest.importorskip("tradeloop.emulator.okx.server")

KEY, SECRET, PASS = "e2e-key-123", "e2e-secret-456", "e2e-pass-789"
#: Instrument ids (what the engine and the gateway speak); the wire and books keep instIds.
BTC, ETH = "BTC-USDT.OKX", "ETH-USDT.OKX"


class Sink:
    def __init__(self) -> None:
        self.reports: list[OrderReport] = []
        self.fills: list[Fill] = []
        self.events: list[Event] = []
        self.order: list[str] = []

    def on_order_report(self, report: OrderReport) -> None:
        self.reports.append(report)
        self.order.append(f"report:{report.status.value}")

    def on_funding(self, payment: FundingPaid) -> None:
        self.events.append(payment)

    def on_fill(self, fill: Fill) -> None:
        self.fills.append(fill)
        self.order.append("fill")

    def on_market_data(self, event: Event) -> None:
        self.events.append(event)

    def statuses(self, cid: str) -> list[OrderStatus]:
        return [r.status for r in self.reports if r.client_order_id == cid]


@pytest.fixture
async def emu() -> AsyncIterator[tuple[Any, str]]:
    e = emulator.OkxEmulator(
        emulator.EmulatorConfig(
            api_key=KEY,
            api_secret=SECRET,
            passphrase=PASS,
            balances={"USDT": 100_000.0, "BTC": 2.0},
            symbols=["BTC-USDT", "ETH-USDT"],
            seed=7,
            tick_interval_ms=40,
        )
    )
    url = await e.start("127.0.0.1", 0)
    try:
        yield e, url
    finally:
        await e.stop()


@pytest.fixture
async def gw(emu: tuple[Any, str]) -> AsyncIterator[tuple[Any, OkxGateway, Sink]]:
    e, url = emu
    gateway = OkxGateway(url, KEY, SECRET, PASS, inst_types=("SPOT",), ws_config=FAST_WS)
    sink = Sink()
    gateway.bind(sink)
    gateway.bind_data(sink)
    await gateway.start()
    try:
        yield e, gateway, sink
    finally:
        await gateway.stop()


async def test_rest_public_and_private(emu: tuple[Any, str]) -> None:
    _, url = emu
    async with OkxRestClient(url, KEY, SECRET, PASS) as rest:
        assert await rest.server_time() > 0
        insts = P.parse_instruments(await rest.instruments("SPOT"))
        btc = insts[BTC]
        assert btc.venue == "OKX" and btc.tick_size > 0 and btc.lot_size > 0
        t = P.parse_ticker(await rest.ticker("BTC-USDT"), 0)
        assert 0 < t.bid < t.ask
        book = P.parse_book_levels("BTC-USDT", await rest.books("BTC-USDT", sz=5), True, 0)
        assert book.bids and book.asks and book.bids[0][0] < book.asks[0][0]
        assert await rest.trades("BTC-USDT", limit=5) is not None
        bals = {b.asset: b for b in P.parse_balances(await rest.balance(), 0)}
        assert bals["USDT"].total == pytest.approx(100_000.0)


async def test_book_sync_checksums_and_market_data(gw: tuple[Any, OkxGateway, Sink]) -> None:
    _, gateway, sink = gw
    await gateway.subscribe(BTC, ("book", "trades", "quotes"))
    public = gateway.public
    assert public is not None
    await until(lambda: public.books["BTC-USDT"].checksums_ok >= 10)
    assert public.resyncs == 0
    books = [e for e in sink.events if isinstance(e, BookLevels)]
    assert books[0].snapshot and not any(b.snapshot for b in books[1:])
    await until(lambda: any(isinstance(e, TradeTick) for e in sink.events))
    # events carry instrument ids, never bare instIds
    market = [e for e in sink.events if isinstance(e, BookLevels | TradeTick | QuoteTick)]
    assert {e.symbol for e in market} == {BTC}
    bb, ba = public.books["BTC-USDT"].book.best_bid(), public.books["BTC-USDT"].book.best_ask()
    assert bb is not None and ba is not None and bb[0] < ba[0]


@pytest.mark.parametrize("fault", ["skip_seq_once", "corrupt_checksum_once"])
async def test_gap_or_bad_checksum_triggers_resync(
    gw: tuple[Any, OkxGateway, Sink], fault: str
) -> None:
    e, gateway, sink = gw
    await gateway.subscribe(BTC, ("book",))
    public = gateway.public
    assert public is not None
    sync = public.books["BTC-USDT"]
    await until(lambda: sync.checksums_ok >= 3)
    getattr(e.faults, fault)()
    await until(lambda: public.resyncs >= 1)
    expected = "sequence gap" if fault == "skip_seq_once" else "checksum mismatch"
    assert expected in sync.last_error
    before = sync.checksums_ok
    await until(lambda: sync.synced and sync.checksums_ok >= before + 3)
    snaps = [ev for ev in sink.events if isinstance(ev, BookLevels) and ev.snapshot]
    assert len(snaps) >= 2  # the original snapshot and the fresh one after resubscribing


def _order(cid: str, side: Side, qty: float, price: float = 0.0) -> Order:
    kind = OrderType.LIMIT if price else OrderType.MARKET
    return Order(cid, BTC, side, qty, order_type=kind, price=price)


async def test_place_cancel_and_fill_over_private_channel(
    gw: tuple[Any, OkxGateway, Sink],
) -> None:
    _, gateway, sink = gw
    assert gateway.private is not None and gateway.private.connected
    q = P.parse_ticker(await gateway.rest.ticker("BTC-USDT"), 0)
    resting = _order("restbuy1", Side.BUY, 0.01, price=q.bid * 0.8)
    gateway.submit_order(resting)
    await until(lambda: OrderStatus.ACCEPTED in sink.statuses("restbuy1"))
    gateway.cancel_order(resting)
    await until(lambda: OrderStatus.CANCELED in sink.statuses("restbuy1"))
    assert sink.statuses("restbuy1") == [OrderStatus.ACCEPTED, OrderStatus.CANCELED]

    gateway.submit_order(_order("mktbuy1", Side.BUY, 0.02))
    await until(lambda: OrderStatus.FILLED in sink.statuses("mktbuy1"))
    fills = [f for f in sink.fills if f.client_order_id == "mktbuy1"]
    final = [r for r in sink.reports if r.client_order_id == "mktbuy1"][-1]
    assert fills and sum(f.qty for f in fills) == pytest.approx(final.filled_qty)
    assert final.filled_qty == pytest.approx(0.02)
    assert all(f.fee >= 0 and f.side is Side.BUY and f.trade_id for f in fills)
    assert {f.symbol for f in fills} == {BTC} and final.symbol == BTC
    assert len({f.trade_id for f in fills}) == len(fills)
    # A fill is delivered before the report that accounts for it.
    assert sink.order.index("fill") < sink.order.index("report:filled")
    open_now = await gateway.fetch_open_orders()
    assert all(r.client_order_id != "restbuy1" for r in open_now)
    bals = {b.asset: b for b in await gateway.fetch_balances()}
    assert bals["BTC"].total == pytest.approx(2.02, rel=1e-3)  # bought 0.02 (fee in BTC or not)


async def test_unknown_symbol_and_too_small_are_rejected(gw: tuple[Any, OkxGateway, Sink]) -> None:
    _, gateway, sink = gw
    gateway.submit_order(Order("nosuch1", "NOPE-USDT.OKX", Side.BUY, 1.0))
    gateway.submit_order(_order("tiny1", Side.BUY, 1e-12))
    await gateway.drain()
    assert sink.statuses("nosuch1") == [OrderStatus.REJECTED]
    assert sink.statuses("tiny1") == [OrderStatus.REJECTED]


async def test_dropped_websockets_reconnect_and_resubscribe(
    gw: tuple[Any, OkxGateway, Sink],
) -> None:
    e, gateway, sink = gw
    await gateway.subscribe(BTC, ("book", "trades"))
    await gateway.subscribe(ETH, ("book",))
    public, private = gateway.public, gateway.private
    assert public is not None and private is not None
    await until(lambda: all(public.books[s].checksums_ok >= 2 for s in ("BTC-USDT", "ETH-USDT")))
    subs_before = set(public.client.subscriptions)
    assert e.faults.drop_ws() >= 1
    await until(lambda: public.client.connections >= 2 and private.client.connections >= 2)
    assert set(public.client.subscriptions) == subs_before
    marks = {s: public.books[s].checksums_ok for s in ("BTC-USDT", "ETH-USDT")}
    await until(lambda: all(public.books[s].checksums_ok >= marks[s] + 3 for s in marks))
    n_trades = sum(isinstance(ev, TradeTick) for ev in sink.events)
    await until(lambda: sum(isinstance(ev, TradeTick) for ev in sink.events) > n_trades)
    # The private socket logged in again and still delivers our orders.
    gateway.submit_order(_order("afterdrop1", Side.BUY, 0.01))
    await until(lambda: OrderStatus.FILLED in sink.statuses("afterdrop1"))
    assert any(f.client_order_id == "afterdrop1" for f in sink.fills)


async def test_429_storm_retries_without_duplicating_the_order(
    gw: tuple[Any, OkxGateway, Sink],
) -> None:
    """Retries get through a short 429 storm. (A 429 is answered before anything runs, so the
    count below cannot catch a duplicate; the lost-reply tests in ``test_e2e_recovery.py``
    are the ones where a retry meets an order that already exists.)"""
    e, gateway, sink = gw
    e.faults.fail_next_429(3)
    gateway.submit_order(_order("storm1", Side.BUY, 0.01))
    await until(lambda: OrderStatus.FILLED in sink.statuses("storm1"))
    await gateway.drain()
    assert e.faults.fail_remaining == 0
    hist = await gateway.rest.orders_history("SPOT", inst_id="BTC-USDT")
    assert [h["clOrdId"] for h in hist].count("storm1") == 1
    assert sink.statuses("storm1")[-1] is OrderStatus.FILLED
    assert len([f for f in sink.fills if f.client_order_id == "storm1"]) >= 1


async def test_private_stream_login_failure_does_not_connect(emu: tuple[Any, str]) -> None:
    _, url = emu

    class Null:
        def on_market_data(self, event: Event) -> None: ...
        def on_orders(self, items: list[dict[str, Any]]) -> None: ...
        def on_account(self, channel: str, items: list[dict[str, Any]]) -> None: ...
        def on_status(self, status: str, detail: str) -> None: ...

    from tradeloop.venues.okx.auth import OkxCredentials

    bad = OkxCredentials(KEY, "wrong-secret", PASS)
    stream = OkxStream(
        url.replace("http", "ws") + "/ws/v5/private", Null(), credentials=bad, config=FAST_WS
    )
    try:
        # the refusal ends the wait at once, as the venue's own error (not a bare timeout)
        with pytest.raises(AuthError, match="login failed"):
            await stream.start(wait=5.0)
        assert not stream.connected
    finally:
        await stream.stop()


async def test_ws_order_entry_ops(gw: tuple[Any, OkxGateway, Sink]) -> None:
    _, gateway, sink = gw
    private = gateway.private
    assert private is not None
    q = P.parse_ticker(await gateway.rest.ticker("BTC-USDT"), 0)
    px = gateway.instruments()[BTC].format_price(q.bid * 0.8)
    (ack,) = await private.send_op(
        "order",
        [
            {
                "instId": "BTC-USDT",
                "tdMode": "cash",
                "side": "buy",
                "ordType": "limit",
                "sz": "0.01",
                "px": px,
                "clOrdId": "wsop1",
            }
        ],
    )
    assert ack["sCode"] == "0" and ack["ordId"] and ack["clOrdId"] == "wsop1"
    await until(lambda: OrderStatus.ACCEPTED in sink.statuses("wsop1"))
    (cack,) = await private.send_op("cancel-order", [{"instId": "BTC-USDT", "clOrdId": "wsop1"}])
    assert cack["sCode"] == "0"
    await until(lambda: OrderStatus.CANCELED in sink.statuses("wsop1"))
    with pytest.raises(VenueError) as ei:
        await private.send_op(
            "order",
            [
                {
                    "instId": "NOPE-USDT",
                    "tdMode": "cash",
                    "side": "buy",
                    "ordType": "market",
                    "sz": "1",
                }
            ],
        )
    assert ei.value.code


async def test_reconcile_over_rest_recovers_missed_fills(gw: tuple[Any, OkxGateway, Sink]) -> None:
    _, gateway, sink = gw
    assert gateway.private is not None
    await gateway.private.stop()  # pushes are lost from here on
    gateway.submit_order(_order("missed1", Side.BUY, 0.02))
    await gateway.drain()
    assert sink.statuses("missed1") == [OrderStatus.ACCEPTED]  # the REST answer only
    await gateway.reconcile()
    assert sink.statuses("missed1")[-1] is OrderStatus.FILLED
    fills = [f for f in sink.fills if f.client_order_id == "missed1"]
    assert fills and sum(f.qty for f in fills) == pytest.approx(0.02)
    assert sink.order.index("fill") < sink.order.index("report:filled")
    await gateway.reconcile()  # idempotent: nothing new
    assert len([f for f in sink.fills if f.client_order_id == "missed1"]) == len(fills)


async def test_cancel_racing_its_placement_is_not_lost(gw: tuple[Any, OkxGateway, Sink]) -> None:
    _, gateway, sink = gw
    q = P.parse_ticker(await gateway.rest.ticker("BTC-USDT"), 0)
    o = _order("race1", Side.BUY, 0.01, price=q.bid * 0.7)
    gateway.submit_order(o)
    gateway.cancel_order(o)  # same tick: the place request has not even been sent
    await until(lambda: OrderStatus.CANCELED in sink.statuses("race1"))
    await gateway.drain()
    assert sink.statuses("race1")[-1] is OrderStatus.CANCELED
