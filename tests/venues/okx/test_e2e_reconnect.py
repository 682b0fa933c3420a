"""OKX connector: automatic catch-up after the private WebSocket reconnects, end to end against
the in-process OKX emulator.

OKX's ``orders`` channel has no snapshot, so whatever happens to our orders while the private
socket is down is only learned over REST. ``OkxGateway`` reconciles tracked open orders by
itself when the private stream reports ``reconnected``; these tests never call
``reconcile()``.

How the outage is made: ``emu.faults.drop_ws()`` aborts every WebSocket transport at once and,
in the same synchronous block (no ``await``, so the gateway cannot even notice yet, let alone
reconnect), the venue changes the order — the frozen market (``tick_interval_ms=0``) is stepped
until it trades through a resting order, or the order is canceled at the venue as another
session (the web UI) would. The pushes those changes cause go to dead sockets and are lost.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from tradeloop.core.clock import LiveClock
from tradeloop.engine.kernel import Kernel
from tradeloop.model import (
    BookLevels,
    Event,
    Fill,
    FundingPaid,
    Order,
    OrderReport,
    OrderStatus,
    OrderType,
    PositionUpdate,
    Side,
    VenueStatus,
)
from tradeloop.venues.base import ExecutionSink
from tradeloop.venues.okx import parse as P
from tradeloop.venues.okx.gateway import OkxGateway, RecoveryPolicy

from .e2e import FAST_WS, until

emulator = pytest.importorskip("tradeloop.emulator.okx.server")

KEY, SECRET, PASS = "recon-key-123", "recon-secret-456", "recon-pass-789"
#: instrument ids (what the engine and gateway speak); P.native() gives the instIds on the wire
SPOT, SWAP = "BTC-USDT.OKX", "BTC-USDT-SWAP.OKX"
S = OrderStatus


class Tee:
    """Sits between the gateway and the engine's OMS: records everything the gateway emits,
    in arrival order, and passes it on. The OMS silently drops a repeated fill and ignores a
    report that would move an order backwards, so those are caught here, before it."""

    def __init__(self, engine: ExecutionSink) -> None:
        self.engine = engine
        self.log: list[Event] = []
        self.violations: list[str] = []
        self._seen: set[tuple[str, str]] = set()
        self._filled: dict[str, float] = {}

    def on_order_report(self, report: OrderReport) -> None:
        self.log.append(report)
        cid = report.client_order_id
        if report.filled_qty + 1e-12 < self._filled.get(cid, 0.0):
            self.violations.append(f"report moves fills backwards: {report}")
        self._filled[cid] = max(self._filled.get(cid, 0.0), report.filled_qty)
        self.engine.on_order_report(report)

    def on_funding(self, payment: FundingPaid) -> None:
        self.log.append(payment)

    def on_fill(self, fill: Fill) -> None:
        self.log.append(fill)
        key = (fill.client_order_id, fill.trade_id)
        if key in self._seen:
            self.violations.append(f"duplicate fill {key}")
        self._seen.add(key)
        self.engine.on_fill(fill)

    def on_market_data(self, event: Event) -> None:
        self.log.append(event)

    def reports(self, cid: str) -> list[OrderReport]:
        return [e for e in self.log if isinstance(e, OrderReport) and e.client_order_id == cid]

    def statuses(self, cid: str) -> list[OrderStatus]:
        return [r.status for r in self.reports(cid)]

    def fills(self, cid: str) -> list[Fill]:
        return [e for e in self.log if isinstance(e, Fill) and e.client_order_id == cid]

    def reconnected_at(self, url: str) -> int:
        """Log index of the first ``reconnected`` status of the stream at ``url``."""
        return next(
            i
            for i, e in enumerate(self.log)
            if isinstance(e, VenueStatus) and e.status == "reconnected" and e.detail == url
        )


@dataclass
class Engine:
    emu: Any
    gateway: OkxGateway
    kernel: Kernel
    tee: Tee
    caplog: pytest.LogCaptureFixture

    def submit(self, order: Order) -> Order:
        """Through the OMS (risk checks, state machine), as a strategy's order would go."""
        self.kernel.oms.submit(order)
        assert order.status is S.SUBMITTED, (order.status, order.reason)
        return order

    def order(self, cid: str) -> Order:
        """The engine's own view of an order."""
        return self.kernel.oms.orders[cid]

    def assert_clean(self) -> None:
        """The gateway never sent a repeated fill or a backwards report, and the engine
        refused nothing it was sent (the OMS logs a warning when it ignores a report)."""
        assert self.tee.violations == []
        engine = [
            r.getMessage() for r in self.caplog.records if r.name.startswith("tradeloop.engine")
        ]
        assert engine == []


@pytest.fixture
async def emu() -> AsyncIterator[Any]:
    e = emulator.OkxEmulator(
        emulator.EmulatorConfig(
            api_key=KEY,
            api_secret=SECRET,
            passphrase=PASS,
            balances={"USDT": 100_000.0, "BTC": 2.0},
            symbols=[P.native(SPOT), P.native(SWAP)],
            seed=7,
            tick_interval_ms=0,  # frozen: the market moves only on emu.step()
        )
    )
    await e.start("127.0.0.1", 0)
    try:
        yield e
    finally:
        await e.stop()


@pytest.fixture
async def eng(emu: Any, caplog: pytest.LogCaptureFixture) -> AsyncIterator[Engine]:
    gateway = OkxGateway(
        emu.base_url, KEY, SECRET, PASS, inst_types=("SPOT", "SWAP"), ws_config=FAST_WS
    )
    await gateway.start()
    kernel = Kernel(gateway.instruments().values(), 50_000.0, gateway, LiveClock())
    tee = Tee(kernel.oms)
    gateway.bind(tee)  # the OMS bound itself; put the recorder in front of it
    gateway.bind_data(tee)
    caplog.set_level(logging.WARNING, logger="tradeloop.engine")
    try:
        assert gateway.private is not None and gateway.private.connected
        yield Engine(emu, gateway, kernel, tee, caplog)
    finally:
        await gateway.stop()


async def venue_book(gateway: OkxGateway, symbol: str) -> BookLevels:
    return P.parse_book_levels(symbol, await gateway.rest.books(P.native(symbol), sz=5), True, 0)


def venue_order(emu: Any, okx_cl_ord_id: str) -> Any:
    """The emulator's own record of an order (its simulator state)."""
    info = emu.trading.account.find(client_id=okx_cl_ord_id)
    assert info is not None, f"venue has no order {okx_cl_ord_id}"
    return info, emu.trading.account.record(info)


def drop_and_fill(emu: Any, okx_cl_ord_id: str, max_steps: int = 50_000) -> int:
    """Cut every WebSocket, then step the market until it has traded through the order —
    all synchronously, so the fill's pushes can only go to dead sockets. Returns how many
    WebSockets were cut."""
    info, rec = venue_order(emu, okx_cl_ord_id)
    assert rec.status in (S.ACCEPTED, S.PARTIALLY_FILLED), rec.status
    dropped = emu.faults.drop_ws()
    for _ in range(max_steps):
        if emu.trading.account.record(info).status is S.FILLED:
            return dropped
        emu.step()
    raise AssertionError(f"the market never traded through {okx_cl_ord_id}")


async def assert_fills_match_venue(
    gateway: OkxGateway, tee: Tee, cid: str, symbol: str
) -> list[Fill]:
    """The gateway's fills for ``cid`` are exactly the venue's ``/trade/fills`` rows: same
    trade ids, sizes, prices and fees, nothing missing, nothing twice."""
    got = tee.fills(cid)
    venue_id = tee.reports(cid)[-1].venue_order_id
    assert venue_id
    rows = await gateway.rest.fills(inst_id=P.native(symbol), ord_id=venue_id)
    venue = [P.parse_fill_row(r, 0, cid) for r in rows]

    def key(f: Fill) -> tuple[str, float, float, float, Side]:
        return (f.trade_id, f.qty, f.price, round(f.fee, 9), f.side)

    assert len({f.trade_id for f in got}) == len(got), "duplicate trade ids"
    assert sorted(map(key, got)) == sorted(map(key, venue))
    return got


async def test_fill_while_private_socket_down_is_caught_up_after_reconnect(eng: Engine) -> None:
    e, gateway, tee = eng.emu, eng.gateway, eng.tee
    private = gateway.private
    assert private is not None
    bid_px = (await venue_book(gateway, SPOT)).bids[0][0]
    # Joins the best bid: fills as maker once the market trades through it.
    order = eng.submit(Order("rcfill1", SPOT, Side.BUY, 0.001, OrderType.LIMIT, bid_px))
    await until(lambda: order.status is S.ACCEPTED, "rcfill1 accepted")
    await gateway.drain()

    assert drop_and_fill(e, "rcfill1") >= 1
    assert tee.statuses("rcfill1") == [S.ACCEPTED]  # nothing can have arrived yet

    # No reconcile() here: the gateway must notice, reconnect and catch up by itself.
    await until(lambda: order.status is S.FILLED, "the engine to see rcfill1 FILLED")
    assert order.filled_qty == pytest.approx(0.001) and order.avg_price == pytest.approx(bid_px)
    assert private.client.connections >= 2
    assert tee.statuses("rcfill1") == [S.ACCEPTED, S.FILLED]
    (fill,) = tee.fills("rcfill1")
    assert (fill.side, fill.qty, fill.price) == (Side.BUY, 0.001, bid_px)
    # OKX takes a spot buy's fee out of the BTC received
    assert fill.fee_ccy == "BTC" and fill.fee > 0
    held = 0.001 - fill.fee
    assert eng.kernel.portfolio.position_qty(SPOT) == pytest.approx(held, abs=1e-12)
    final = tee.reports("rcfill1")[-1]
    # Learned after the reconnect (the lost pushes are never replayed), the fill first.
    assert tee.reconnected_at(private.url) < tee.log.index(fill) < tee.log.index(final)
    await assert_fills_match_venue(gateway, tee, "rcfill1", SPOT)

    # Another outage: the finished order is not reported again, its fill not booked twice.
    n_reports = len(tee.reports("rcfill1"))
    assert e.faults.drop_ws() >= 1
    await until(lambda: private.client.connections >= 3 and private.connected, "a 2nd reconnect")
    await gateway.drain()  # the catch-up that reconnect spawned has finished
    assert len(tee.fills("rcfill1")) == 1 and len(tee.reports("rcfill1")) == n_reports
    assert order.filled_qty == pytest.approx(0.001)
    assert eng.kernel.portfolio.position_qty(SPOT) == pytest.approx(held, abs=1e-12)
    eng.assert_clean()


async def test_partial_fill_seen_live_rest_filled_while_down_no_duplicate(eng: Engine) -> None:
    """The first (taker) fill arrives over the socket; the rest fills while it is down. The
    catch-up over REST gets *all* the order's fills: the one already booked must not be
    booked again, the missed ones must be, and the position must add up."""
    e, gateway, tee = eng.emu, eng.gateway, eng.tee
    private = gateway.private
    assert private is not None
    ask_px, ask_sz = (await venue_book(gateway, SWAP)).asks[0]
    qty = ask_sz + 3  # more than the best ask holds: the rest rests at the ask
    order = eng.submit(Order("rcpart1", SWAP, Side.BUY, qty, OrderType.LIMIT, ask_px))
    await until(lambda: order.status is S.PARTIALLY_FILLED, "the live partial fill")
    await gateway.drain()
    (live_fill,) = tee.fills("rcpart1")
    assert live_fill.qty == ask_sz

    drop_and_fill(e, "rcpart1")
    await until(lambda: order.status is S.FILLED, "the engine to see rcpart1 FILLED")
    assert order.filled_qty == pytest.approx(qty)
    assert tee.statuses("rcpart1") == [S.ACCEPTED, S.PARTIALLY_FILLED, S.FILLED]
    fills = await assert_fills_match_venue(gateway, tee, "rcpart1", SWAP)
    assert len(fills) >= 2 and fills[0] == live_fill
    assert sum(f.qty for f in fills) == pytest.approx(qty)
    assert all(tee.log.index(f) > tee.reconnected_at(private.url) for f in fills[1:])
    vwap = sum(f.qty * f.price for f in fills) / qty
    assert order.avg_price == pytest.approx(vwap)
    assert eng.kernel.portfolio.position_qty(SWAP) == pytest.approx(qty)

    # The venue's position as the gateway reports it after the reconnect (positions snapshot
    # on resubscribe) and over REST agrees with the engine's.
    def last_pos() -> PositionUpdate | None:
        pos = [ev for ev in tee.log if isinstance(ev, PositionUpdate) and ev.symbol == SWAP]
        return pos[-1] if pos else None

    await until(lambda: (p := last_pos()) is not None and p.qty == qty, f"a position of {qty}")
    (rest_pos,) = await gateway.fetch_positions("SWAP")
    assert rest_pos.qty == qty
    await gateway.drain()
    eng.assert_clean()


async def test_cancel_at_venue_while_down_is_caught_up_after_reconnect(eng: Engine) -> None:
    e, gateway, tee = eng.emu, eng.gateway, eng.tee
    private = gateway.private
    assert private is not None
    bid_px = (await venue_book(gateway, SPOT)).bids[0][0]
    price = gateway.instruments()[SPOT].round_price(bid_px * 0.8)
    gone = eng.submit(Order("rcgone1", SPOT, Side.BUY, 0.01, OrderType.LIMIT, price))
    keep = eng.submit(Order("rckeep1", SPOT, Side.BUY, 0.01, OrderType.LIMIT, price))
    await until(lambda: gone.status is keep.status is S.ACCEPTED, "both orders accepted")
    await gateway.drain()

    assert e.faults.drop_ws() >= 1
    # Canceled at the venue by someone else (web UI, another session) while we are away.
    ack = e.trading.cancel({"instId": P.native(SPOT), "clOrdId": "rcgone1"})
    assert ack["sCode"] == "0", ack
    assert venue_order(e, "rcgone1")[1].status is S.CANCELED

    await until(lambda: gone.status is S.CANCELED, "the engine to see rcgone1 CANCELED")
    assert gone.filled_qty == 0.0 and tee.fills("rcgone1") == []
    assert tee.statuses("rcgone1") == [S.ACCEPTED, S.CANCELED]
    assert tee.reconnected_at(private.url) < tee.log.index(tee.reports("rcgone1")[-1])
    await gateway.drain()
    assert "rcgone1" not in eng.kernel.oms.open_orders
    # The untouched order is still open, in the engine and at the venue, and still ours.
    assert keep.status is S.ACCEPTED and tee.statuses("rckeep1") == [S.ACCEPTED]
    open_ids = {r.client_order_id for r in await gateway.fetch_open_orders("SPOT")}
    assert open_ids == {"rckeep1"}
    eng.kernel.oms.cancel(keep)
    await until(lambda: keep.status is S.CANCELED, "rckeep1 canceled by the engine")
    assert tee.statuses("rckeep1") == [S.ACCEPTED, S.CANCELED]
    assert eng.kernel.oms.open_orders == {}
    eng.assert_clean()


async def test_rest_errors_during_the_reconnect_catch_up_do_not_lose_the_fill(
    eng: Engine,
) -> None:
    """Reconnects tend to happen while the venue is in trouble: a short burst of 503s on
    REST right when the catch-up runs must delay it, not cancel it."""
    e, gateway, tee = eng.emu, eng.gateway, eng.tee
    private = gateway.private
    assert private is not None
    bid_px = (await venue_book(gateway, SPOT)).bids[0][0]
    order = eng.submit(Order("rcstorm1", SPOT, Side.BUY, 0.001, OrderType.LIMIT, bid_px))
    await until(lambda: order.status is S.ACCEPTED, "rcstorm1 accepted")
    await gateway.drain()

    drop_and_fill(e, "rcstorm1")
    e.faults.fail_next_5xx(6)  # the next 6 REST requests answer HTTP 503 (code 50001)
    # Precondition: the gateway reconnected and its catch-up ran into the outage.
    await until(
        lambda: private.client.connections >= 2 and e.faults.fail_remaining <= 2,
        "the reconnect's catch-up to hit the 503s",
        error=RuntimeError,
    )
    # The outage is over after two more 503s at most: the fill must still reach the engine
    # without anyone calling reconcile() by hand.
    await until(lambda: order.status is S.FILLED, "the engine to see rcstorm1 FILLED")
    assert len(tee.fills("rcstorm1")) == 1
    eng.assert_clean()


async def test_catch_up_that_never_gets_through_tells_the_engine(eng: Engine) -> None:
    """An outage longer than the catch-up deadline: the gateway stops trying and says so with
    a ``reconcile_failed`` status naming the order, instead of leaving it silently stale."""
    e, gateway, tee = eng.emu, eng.gateway, eng.tee
    gateway.recovery = RecoveryPolicy(reconcile_deadline_s=1.5)
    bid_px = (await venue_book(gateway, SPOT)).bids[0][0]
    order = eng.submit(Order("rcdead1", SPOT, Side.BUY, 0.001, OrderType.LIMIT, bid_px))
    await until(lambda: order.status is S.ACCEPTED, "rcdead1 accepted")
    await gateway.drain()
    drop_and_fill(e, "rcdead1")
    e.faults.fail_next_5xx(10_000)

    def failed() -> list[VenueStatus]:
        return [
            ev for ev in tee.log if isinstance(ev, VenueStatus) and ev.status == "reconcile_failed"
        ]

    await until(lambda: bool(failed()), "a reconcile_failed status")
    e.faults.fail_next_5xx(0)
    assert "rcdead1" in failed()[0].detail and order.status is S.ACCEPTED
