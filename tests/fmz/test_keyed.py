"""The per-key pieces without a venue: the balance cache's epochs, requests awaiting order
reports, and the key pool (shared start, failed starts not kept, LRU eviction stops)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tradeloop.core.errors import AuthError
from tradeloop.fmz.keyed import KeyedGateway, KeyPool, OrderWatch
from tradeloop.fmz.protocol import Credentials
from tradeloop.model import (
    BalanceUpdate,
    BookLevels,
    Fill,
    Instrument,
    Order,
    OrderReport,
    OrderStatus,
    PositionUpdate,
    QuoteTick,
    RejectReason,
    Side,
    VenueStatus,
)
from tradeloop.venues.base import (
    CONNECTED,
    DISCONNECTED,
    ExecutionSink,
    Gateway,
    MarketDataSink,
)


class StubGateway(Gateway):
    """Only what the keyed pieces touch; ``on_submit`` answers submits."""

    venue = "STUB"

    def __init__(self, fail: BaseException | None = None) -> None:
        self.fail = fail
        self.sink: ExecutionSink | None = None
        self.started = self.stopped = 0
        self.gate: asyncio.Event | None = None
        self.on_submit: Any = None
        self.on_cancel: Any = None

    async def start(self) -> None:
        self.started += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.fail is not None:
            raise self.fail

    async def stop(self) -> None:
        self.stopped += 1

    async def drain(self, timeout: float = 30.0) -> None:
        return None

    def bind(self, sink: ExecutionSink) -> None:
        self.sink = sink

    def bind_data(self, sink: MarketDataSink) -> None:
        return None

    def instruments(self) -> dict[str, Instrument]:
        return {}

    def submit_order(self, order: Order) -> None:
        self.on_submit(order)

    def cancel_order(self, order: Order) -> None:
        self.on_cancel(order)

    def amend_order(self, order: Order, qty: float | None = None,
                    price: float | None = None) -> None:  # fmt: skip
        raise NotImplementedError

    async def subscribe(self, symbol: str, channels: tuple[str, ...]) -> None:
        return None

    async def unsubscribe(self, symbol: str, channels: tuple[str, ...]) -> None:
        return None

    async def fetch_balances(self) -> list[BalanceUpdate]:
        return []

    async def fetch_positions(self) -> list[PositionUpdate]:
        return []

    async def fetch_open_orders(self) -> list[OrderReport]:
        return []

    async def fetch_fills(self, since_ns: int = 0) -> list[Fill]:
        return []

    def book(self, symbol: str, depth: int = 20) -> BookLevels | None:
        return None

    def quote(self, symbol: str) -> QuoteTick | None:
        return None


def _status(s: str) -> VenueStatus:
    return VenueStatus(0, "STUB", s)


def test_balance_cache_epochs() -> None:
    kg = KeyedGateway(StubGateway())
    assert kg.gw.on_account_event is not None
    push = kg.gw.on_account_event
    push(_status(CONNECTED))
    e = kg.epoch
    kg.store(e, "reply")
    assert kg.cached() is None  # no balance push on this connection yet
    push(BalanceUpdate(0, "USDT", 1.0, 1.0))
    kg.store(kg.epoch, "reply")
    assert kg.cached() == "reply"
    kg.store(e, "older")  # fetched before the push: never kept
    assert kg.cached() == "reply"
    with kg.writing():  # our own trade: nothing cached while it runs ...
        assert kg.cached() is None
    assert kg.cached() is None  # ... nor after
    kg.store(kg.epoch, "after")
    assert kg.cached() == "after"
    push(PositionUpdate(0, "X.STUB", 1.0, 1.0))  # any account news is a change signal
    assert kg.cached() is None
    kg.store(kg.epoch, "again")
    push(_status(DISCONNECTED))
    assert kg.cached() is None
    push(_status(CONNECTED))
    kg.store(kg.epoch, "reconnected")
    assert kg.cached() is None  # until the new connection's first balance push
    w = kg.writes
    with kg.writing():
        pass
    assert kg.writes == w + 2


async def test_requests_await_the_answering_report() -> None:
    gw = StubGateway()
    kg = KeyedGateway(gw)
    order = Order("c1", "X.STUB", Side.BUY, 1.0)

    def ack(o: Order) -> None:  # answered synchronously, before the waiter could await
        assert gw.sink is not None
        gw.sink.on_order_report(OrderReport(5, o.client_order_id, "", o.symbol,
                                            OrderStatus.SUBMITTED))  # fmt: skip
        gw.sink.on_order_report(OrderReport(6, o.client_order_id, "v1", o.symbol,
                                            OrderStatus.ACCEPTED))  # fmt: skip

    gw.on_submit = ack
    r = await kg.place(order)
    assert r.venue_order_id == "v1" and kg.watch.by_venue_id("v1") is order
    assert order.status is OrderStatus.ACCEPTED

    def cancel_fails(o: Order) -> None:
        loop = asyncio.get_running_loop()
        assert gw.sink is not None
        why, code = "cancel failed: busy", RejectReason.CANCEL_FAILED
        rep = OrderReport(7, o.client_order_id, "v1", o.symbol, OrderStatus.ACCEPTED,
                          reason=why, code=code)  # fmt: skip
        loop.call_later(0.01, gw.sink.on_order_report, rep)

    gw.on_cancel = cancel_fails
    r = await kg.cancel(order)
    assert r.code is RejectReason.CANCEL_FAILED and not order.is_terminal
    gw.on_cancel = lambda o: gw.sink.on_order_report(  # type: ignore[union-attr]
        OrderReport(8, o.client_order_id, "v1", o.symbol, OrderStatus.CANCELED)
    )
    assert (await kg.cancel(order)).status is OrderStatus.CANCELED and order.is_terminal
    # a request that gives up leaves no waiter behind
    gw.on_submit = lambda o: None
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await kg.place(Order("c2", "X.STUB", Side.SELL, 1.0))
    assert not kg.watch._waiters


def test_order_watch_is_bounded() -> None:
    w = OrderWatch(limit=3)
    for i in range(5):
        w.add(Order(f"c{i}", "X.STUB", Side.BUY, 1.0, venue_order_id=f"v{i}"))
    assert [o.client_order_id for o in w.orders()] == ["c2", "c3", "c4"]
    assert w.by_venue_id("v0") is None and w.by_venue_id("v4") is not None


async def test_key_pool_shares_starts_and_forgets_failures() -> None:
    built: list[StubGateway] = []
    refuse = {"bad"}

    def build(creds: Credentials) -> Gateway:
        gw = StubGateway(AuthError("refused") if creds.access_key in refuse else None)
        gw.gate = asyncio.Event()
        built.append(gw)
        return gw

    pool = KeyPool(build, limit=2)
    good = Credentials("good", "s")
    waiting = [asyncio.ensure_future(pool.get(good)) for _ in range(5)]
    await asyncio.sleep(0.01)
    assert len(built) == 1  # five concurrent first calls, one start
    assert built[0].gate is not None
    built[0].gate.set()
    kgs = await asyncio.gather(*waiting)
    assert all(k is kgs[0] for k in kgs) and built[0].started == 1
    bad = asyncio.ensure_future(pool.get(Credentials("bad", "s")))
    await asyncio.sleep(0.01)
    assert built[1].gate is not None
    built[1].gate.set()
    with pytest.raises(AuthError):
        await bad
    assert len(pool) == 1 and built[1].stopped == 1  # a refused key is not kept
    refuse.clear()
    for key in ("k2", "k3"):  # LRU: a third key evicts the least recently used one
        task = asyncio.ensure_future(pool.get(Credentials(key, "s")))
        await asyncio.sleep(0.01)
        gate = built[-1].gate
        assert gate is not None
        gate.set()
        await task
    await asyncio.sleep(0.01)
    assert len(pool) == 2 and built[0].stopped == 1
    await pool.close()
    assert all(g.stopped == 1 for g in built)
