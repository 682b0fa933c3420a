"""One started gateway per docker key: orders through the lifecycle, balances cached safely.

Dockers send their keys with every request, so the bridge keeps a keyed
:class:`~tradeloop.venues.base.Gateway` per key (LRU-bounded), built by the registry factory and
started on the key's first private call; it has its own REST client (rate-limit buckets are per
account at every venue) and its private stream. A key that fails to start (refused login) is not
kept: the next request tries again.

Orders go through the gateway's order lifecycle (``submit_order`` / ``cancel_order``): client-id
idempotency, placements in doubt looked up, cancels re-sent until confirmed. FMZ is request /
response, so :class:`OrderWatch` — the gateway's execution sink — lets a request await the report
that answers it: the first report naming the venue's order id (or the refusal) for ``trade``, a
terminal report or a failed-cancel report for ``cancel``.

``GetAccount`` is called in every strategy loop; each call would be a signed REST round trip.
The balance reply is reused while provably unchanged: the gateway's account events (balance and
position pushes, connection news) and the bridge's own writes for the key each bump an *epoch*;
a cached reply is valid only in the epoch its REST call started in, only after a balance push on
the current connection, and only while the stream is up. Pushes are a change signal, never data:
answers are always exactly what REST returned.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

from tradeloop.fmz.protocol import Credentials
from tradeloop.model import (
    BalanceUpdate,
    Event,
    Fill,
    FundingPaid,
    Order,
    OrderReport,
    RejectReason,
    VenueStatus,
)
from tradeloop.venues.base import CONNECTED, DISCONNECTED, ERROR, RECONNECTED, Gateway

log = logging.getLogger(__name__)

#: docker keys with a started gateway at once (each holds a private stream)
MAX_KEYS = 64
#: orders remembered per key (those placed or adopted through the bridge)
MAX_ORDERS = 10_000

Predicate = Callable[[OrderReport], bool]


class OrderWatch:
    """The keyed gateway's :class:`~tradeloop.venues.base.ExecutionSink`: the orders placed or
    adopted through the bridge (bounded, oldest forgotten first), each kept up to date from its
    reports, and the requests waiting for a report about one of them."""

    def __init__(self, limit: int = MAX_ORDERS) -> None:
        self.limit = limit
        self._orders: OrderedDict[str, Order] = OrderedDict()
        self._by_venue: dict[str, str] = {}
        self._waiters: dict[str, list[tuple[Predicate, asyncio.Future[OrderReport]]]] = {}

    def add(self, order: Order) -> None:
        self._orders[order.client_order_id] = order
        if order.venue_order_id:
            self._by_venue[order.venue_order_id] = order.client_order_id
        while len(self._orders) > self.limit:
            _, old = self._orders.popitem(last=False)
            self._by_venue.pop(old.venue_order_id, None)

    def get(self, client_order_id: str) -> Order | None:
        return self._orders.get(client_order_id)

    def by_venue_id(self, venue_order_id: str) -> Order | None:
        cid = self._by_venue.get(venue_order_id)
        return self._orders.get(cid) if cid is not None else None

    def orders(self) -> list[Order]:
        return list(self._orders.values())

    async def expect(self, client_order_id: str, done: Predicate, act: Callable[[], None]) -> Any:
        """Run ``act`` (a submit or cancel) and return the first report about the order that
        satisfies ``done``. Registered before ``act``, so a report delivered at once is not
        missed; the caller's deadline bounds the wait."""
        fut: asyncio.Future[OrderReport] = asyncio.get_running_loop().create_future()
        waiters = self._waiters.setdefault(client_order_id, [])
        entry = (done, fut)
        waiters.append(entry)
        try:
            act()
            return await fut
        finally:
            waiters.remove(entry)
            if not waiters:
                self._waiters.pop(client_order_id, None)

    # -- ExecutionSink ------------------------------------------------------------------------
    def on_order_report(self, report: OrderReport) -> None:
        cid = report.client_order_id
        order = self._orders.get(cid)
        if order is not None:
            if report.venue_order_id and not order.venue_order_id:
                order.venue_order_id = report.venue_order_id
                self._by_venue[report.venue_order_id] = cid
            if not order.is_terminal:
                order.status = report.status
            order.filled_qty = max(order.filled_qty, report.filled_qty)
            if report.avg_price:
                order.avg_price = report.avg_price
            order.ts_updated = report.ts
        for done, fut in list(self._waiters.get(cid, ())):
            if not fut.done() and done(report):
                fut.set_result(report)

    def on_fill(self, fill: Fill) -> None:
        return None  # the reports carry the cumulative fill FMZ shows

    def on_funding(self, payment: FundingPaid) -> None:
        return None  # the bridge books nothing: FMZ reads the venue's own account


class KeyedGateway:
    """One docker key's started gateway, its :class:`OrderWatch` and its balance cache."""

    def __init__(self, gw: Gateway) -> None:
        self.gw = gw
        self.watch = OrderWatch()
        gw.bind(self.watch)
        gw.on_account_event = self._on_account
        self.epoch = 0
        #: bumped before and after every write: a read never joins one started before it
        self.writes = 0
        self._writing = 0
        self._connected = False
        self._ready = False  # a balance push arrived on the current connection
        #: wallet -> (epoch, reply): a venue with several wallets (Binance spot and USD-M)
        #: answers each from its own REST call
        self._cached: dict[str, tuple[int, Any]] = {}
        #: monotonic time of the last instrument reload asked for this key (at most one/10 s)
        self.reloaded_at = float("-inf")

    # -- balance cache ------------------------------------------------------------------------
    def cached(self, wallet: str = "") -> Any | None:
        """The last stored balance reply of ``wallet`` (``""``: the main one) if nothing can
        have changed since it was fetched."""
        c = self._cached.get(wallet)
        if c is None or c[0] != self.epoch or self._writing or not self._ready:
            return None
        return c[1] if self._connected else None

    def store(self, epoch: int, value: Any, wallet: str = "") -> None:
        """Keep ``value`` (``wallet``'s balances), fetched by a call that started in
        ``epoch``."""
        if epoch == self.epoch:
            self._cached[wallet] = (epoch, value)

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """Around every write (trade, cancel, leverage, a non-GET passthrough): the cached
        balance is dropped and reads issued during or after it start fresh upstream calls."""
        self.writes += 1
        self._writing += 1
        self.epoch += 1
        try:
            yield
        finally:
            self.writes += 1
            self._writing -= 1
            self.epoch += 1

    def _on_account(self, event: Event) -> None:
        self.epoch += 1
        if isinstance(event, BalanceUpdate):
            self._ready = True
        elif isinstance(event, VenueStatus) and event.status in (CONNECTED, RECONNECTED):
            self._connected, self._ready = True, False  # wait for the new connection's push
        elif isinstance(event, VenueStatus) and event.status == DISCONNECTED:
            self._connected = self._ready = False
        elif isinstance(event, VenueStatus) and event.status == ERROR:
            self._ready = False  # the venue complained: re-read before trusting the cache

    # -- orders -------------------------------------------------------------------------------
    async def place(self, order: Order) -> OrderReport:
        """Submit and wait for the report that names the venue's order id, or the refusal."""
        self.watch.add(order)
        report: OrderReport = await self.watch.expect(
            order.client_order_id,
            lambda r: r.status.is_terminal or bool(r.venue_order_id),
            lambda: self.gw.submit_order(order),
        )
        return report

    async def cancel(self, order: Order) -> OrderReport:
        """Cancel and wait for the order's end or the gateway's word that the cancel failed."""
        report: OrderReport = await self.watch.expect(
            order.client_order_id,
            lambda r: r.status.is_terminal or r.code is RejectReason.CANCEL_FAILED,
            lambda: self.gw.cancel_order(order),
        )
        return report


class KeyPool:
    """Started :class:`KeyedGateway` s by docker key, LRU-bounded; concurrent first requests of
    one key share one start, and a failed start is not kept."""

    def __init__(self, build: Callable[[Credentials], Gateway], limit: int = MAX_KEYS) -> None:
        self._build = build
        self.limit = limit
        self._entries: OrderedDict[tuple[str, str], asyncio.Task[KeyedGateway]] = OrderedDict()
        self._closing: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, creds: Credentials) -> KeyedGateway:
        key = (creds.access_key, creds.secret_key)
        task = self._entries.get(key)
        if task is None:
            gw = self._build(creds)  # bad key format: FmzError before anything is kept
            task = asyncio.ensure_future(self._start(gw))
            task.add_done_callback(_retrieve)
            self._entries[key] = task
            self._evict()
        else:
            self._entries.move_to_end(key)
        try:
            return await asyncio.shield(task)
        except Exception:
            if self._entries.get(key) is task and task.done():
                del self._entries[key]
            raise

    async def _start(self, gw: Gateway) -> KeyedGateway:
        kg = KeyedGateway(gw)
        try:
            await gw.start()
        except BaseException:
            await _stop(gw)
            raise
        return kg

    def _evict(self) -> None:
        while len(self._entries) > self.limit:
            _, task = self._entries.popitem(last=False)
            closing = asyncio.ensure_future(_close_entry(task))
            self._closing.add(closing)
            closing.add_done_callback(self._closing.discard)

    def started(self) -> list[KeyedGateway]:
        return [t.result() for t in self._entries.values() if t.done() and not t.exception()]

    async def close(self) -> None:
        tasks = list(self._entries.values())
        self._entries.clear()
        await asyncio.gather(*(_close_entry(t) for t in tasks), *list(self._closing))


def _retrieve(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()


async def _close_entry(task: asyncio.Task[KeyedGateway]) -> None:
    if not task.done():
        task.cancel()
        with contextlib.suppress(BaseException):
            await task
        return
    if task.cancelled() or task.exception() is not None:
        return
    await _stop(task.result().gw)


async def _stop(gw: Gateway) -> None:
    try:
        await gw.stop()
    except Exception as exc:
        log.warning("stopping a keyed %s gateway failed: %s", gw.venue, exc)
