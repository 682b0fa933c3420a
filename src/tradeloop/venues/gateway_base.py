"""What every REST + WebSocket gateway repeats, written once (the venue kit, gateway side).

A venue gateway is venue knowledge (which sockets, which channels, how a push becomes a
report) around the same plumbing: sinks to bind, order calls forwarded to the shared
:class:`~tradeloop.venues.execution.OrderLifecycle`, the latest quote pushes, ``book()`` /
``quote()`` served only from verified state, account and status events routed by rule 8 of
:mod:`tradeloop.venues.base`, and start/stop/drain. :class:`StreamGateway` is that plumbing;
the OKX and FTX gateways subclass it, so a rule fixed here (a quote gone stale over a
reconnect, a socket ``stop`` forgot) is fixed for every venue. :class:`ChannelGateway` adds
what a venue with one public stream of ``(channel, symbol)`` subscriptions needs (FTX).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from tradeloop.book.orderbook import OrderBook
from tradeloop.core.errors import VenueError
from tradeloop.core.log import get_logger
from tradeloop.model import (
    BookLevels,
    Event,
    FundingPaid,
    Instrument,
    Order,
    QuoteTick,
    VenueStatus,
)
from tradeloop.venues.base import CONNECTED, RECONNECTED, ExecutionSink, Gateway, MarketDataSink
from tradeloop.venues.execution import OrderLifecycle, RecoveryPolicy, Retention, VenueHooks
from tradeloop.venues.funding_reads import FundingReads

log = get_logger(__name__)

#: how far before the newest payment delivered a reconnect's funding catch-up asks from
FUNDING_LOOKBACK_NS = 600 * 1_000_000_000


class VerifiedBook(Protocol):
    """A local book kept in sync with a venue stream (``book.okx_sync``, ``book.topn``)."""

    book: OrderBook
    synced: bool
    seq_id: int | None


class Stream(Protocol):
    """One venue socket as the gateway base uses it."""

    @property
    def connected(self) -> bool: ...

    async def stop(self) -> None: ...


class Closable(Protocol):
    async def close(self) -> None: ...


def ws_url_for(rest_url: str, venue_rest: str, venue_ws: str, path: str) -> str:
    """The WebSocket URL that goes with a REST URL: the venue's own for the venue's REST
    host, else the same host (an emulator, a proxy) with ``ws(s)://`` and ``path``."""
    if rest_url.rstrip("/") == venue_rest:
        return venue_ws
    scheme, _, rest = rest_url.rstrip("/").partition("://")
    return ("wss" if scheme == "https" else "ws") + "://" + rest + path


class StreamGateway(Gateway):
    """The shared half of a gateway (see the module docstring).

    A subclass calls ``super().__init__(now_ns)``, sets ``rest``, its streams (attributes
    named in :attr:`stream_names`, None until opened; ``public`` carries the books and
    quotes, ``private`` the order pushes) and ``orders = self.lifecycle(hooks, ...)``, and
    routes its streams' state changes to :meth:`stream_status`.
    """

    #: the attributes holding this gateway's sockets; ``stop`` closes them in this order
    stream_names: tuple[str, ...] = ("public", "private")
    #: an instrument id of this venue, for error messages
    id_example: str = ""
    #: the engine's channel names -> the venue's (venues with one public stream of
    #: ``(channel, symbol)`` subscriptions; see :meth:`wire_channels`)
    channels: Mapping[str, str] = {}

    rest: Closable
    orders: OrderLifecycle
    public: Any
    private: Any

    def __init__(self, now_ns: Callable[[], int]) -> None:
        self.now_ns = now_ns
        self._instruments: dict[str, Instrument] = {}  # by instrument id
        self._data_sink: MarketDataSink | None = None
        self._quotes: dict[str, QuoteTick] = {}  # last quote push per instrument id
        self.on_account_event: Callable[[Event], None] | None = None
        for name in self.stream_names:  # none open until started / subscribed
            setattr(self, name, None)
        #: the newest funding payment delivered (ns), else when this gateway was made: where
        #: the catch-up after a private reconnect asks from (earlier is start-up's business)
        self._funding_since = now_ns()

    def lifecycle(
        self, hooks: VenueHooks, recovery: RecoveryPolicy, retention: Retention
    ) -> OrderLifecycle:
        """The order lifecycle over ``hooks``; its status news goes out by rule 8."""
        return OrderLifecycle(
            hooks,
            recovery=recovery,
            retention=retention,
            now_ns=self.now_ns,
            on_status=self._account_event,
        )

    def status_of(self, name: str) -> Callable[[str, str], None]:
        """The state-change callback for the stream kept in attribute ``name``."""

        def on_status(status: str, detail: str) -> None:
            self.stream_status(status, detail, public=name == "public", private=name == "private")

        return on_status

    def _private_up(self) -> bool:
        """Whether order pushes flow (the lifecycle's ``streaming`` hook)."""
        return self.private is not None and self.private.connected

    # -- plumbing -------------------------------------------------------------------------
    def bind(self, sink: ExecutionSink) -> None:
        self.orders.bind(sink)

    def bind_data(self, sink: MarketDataSink) -> None:
        self._data_sink = sink

    def instruments(self) -> dict[str, Instrument]:
        return dict(self._instruments)

    async def stop(self) -> None:
        """Close the order tasks, every socket and the REST session (also after a failed
        start); forget quotes, which nothing refreshes any more."""
        await self.orders.close()
        for name in self.stream_names:
            stream: Stream | None = getattr(self, name)
            if stream is not None:
                await stream.stop()
            setattr(self, name, None)
        self._quotes.clear()
        await self.rest.close()

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait for scheduled order tasks to finish (tests, orderly shutdown)."""
        await self.orders.drain(timeout)

    # -- events ---------------------------------------------------------------------------
    def on_market_data(self, event: Event) -> None:
        if type(event) is QuoteTick:
            self._quotes[event.symbol] = event
        if self._data_sink is not None:
            self._data_sink.on_market_data(event)

    def _account_event(self, ev: Event) -> None:
        self.emit_account_event(ev, self._data_sink)

    def stream_status(self, status: str, detail: str, *, public: bool, private: bool) -> None:
        """A socket's state change, as a ``VenueStatus``. After the public socket (re)connects
        the quotes from before may be stale; after the private one reconnects, what happened
        to our orders meanwhile is fetched over REST (no venue replays missed pushes)."""
        self._account_event(VenueStatus(self.now_ns(), self.venue, status, detail))
        if public and status in (CONNECTED, RECONNECTED):
            self._quotes.clear()
        if private and status == RECONNECTED:
            self.orders.reconcile_later()
            self.orders.run_later(self.catch_up_funding(), f"{self.venue}-funding")
            self.orders.run_later(self.catch_up_venue_fills(), f"{self.venue}-venue-fills")

    async def catch_up_venue_fills(self) -> None:
        """Fills the venue made on its own (liquidations) while the private socket was down:
        no order of ours is tracked for them, so the order catch-up cannot find them. None
        by default; a venue that can tell them apart in its fill history overrides this."""
        return None

    # -- funding (rule 9) -------------------------------------------------------------------
    def emit_funding(self, payment: FundingPaid) -> bool:
        """Hand a funding payment to the engine unless already delivered."""
        self._funding_since = max(self._funding_since, payment.ts)
        return self.orders.tracker.funding(payment)

    def pushed_funding(self, lookback_ns: int = FUNDING_LOOKBACK_NS) -> FundingReads:
        """The reads a venue's "funding settled" push starts when the push names no payment
        (:class:`~tradeloop.venues.funding_reads.FundingReads` over this gateway's
        ``fetch_funding``, delivered by :meth:`emit_funding`, run as lifecycle tasks)."""
        return FundingReads(self.venue, self.fetch_funding, self.emit_funding,
                            lambda: self._funding_since, self.orders.run_later,
                            lookback_ns=lookback_ns)  # fmt: skip

    async def catch_up_funding(self) -> None:
        """Payments settled while the private socket was down (no venue replays pushes)."""
        try:  # from a little before the newest delivered: a venue lists a settlement's
            # payments over a few seconds, and its clock is not ours (ids dedupe the overlap)
            payments = await self.fetch_funding(max(self._funding_since - FUNDING_LOOKBACK_NS, 0))
        except (VenueError, OSError, KeyError, ValueError, TypeError) as exc:
            log.warning("%s: funding catch-up failed (%s); the next start-up fetches it",
                        self.venue, exc)  # fmt: skip
            return
        for p in payments:
            self.emit_funding(p)

    # -- orders ---------------------------------------------------------------------------
    def submit_order(self, order: Order) -> None:
        self.orders.submit(order)

    def cancel_order(self, order: Order) -> None:
        self.orders.cancel(order)

    def amend_order(
        self, order: Order, qty: float | None = None, price: float | None = None
    ) -> None:
        self.orders.amend(order, qty, price)

    # -- market data ----------------------------------------------------------------------
    def native(self, symbol: str) -> str:
        """The wire symbol of an instrument id; an id this venue does not list is an error
        once instruments are loaded (before, the caller is trusted)."""
        if symbol not in self._instruments and self._instruments:
            example = self.id_example
            raise ValueError(
                f"unknown {self.venue} instrument {symbol!r} (ids look like {example})"
            )
        return self.orders.hooks.native_symbol(symbol)

    def wire_channels(self, symbol: str, channels: tuple[str, ...]) -> tuple[str, list[str]]:
        """The native symbol and the venue's channels (each once) for engine ``channels``
        (:attr:`channels`); an unknown channel is a ValueError naming those there are."""
        unknown = [ch for ch in channels if ch not in self.channels]
        if unknown:  # bars come from trades (the live runner aggregates them)
            known = sorted(self.channels)
            raise ValueError(f"unknown channel(s) {unknown}: {self.venue} streams {known}")
        return self.native(symbol), list(dict.fromkeys(self.channels[ch] for ch in channels))

    def client_id_for(self, venue_client_id: str) -> str:
        """The tradeloop client id behind a venue client id (itself when not ours)."""
        return self.orders.client_id_of(venue_client_id) or venue_client_id

    def _books(self) -> Mapping[str, VerifiedBook]:
        """The public stream's books by wire symbol."""
        books: Mapping[str, VerifiedBook] = self.public.books
        return books

    def book(self, symbol: str, depth: int = 20) -> BookLevels | None:
        """By instrument id only (rule 4): a native symbol or an unlisted id has no book."""
        inst = self._instruments.get(symbol)
        if self.public is None or not self.public.connected or inst is None:
            return None
        sync = self._books().get(inst.native)
        if sync is None or not sync.synced:
            return None
        bids, asks = sync.book.top(depth)
        return BookLevels(self.now_ns(), symbol, bids, asks, True, sync.seq_id or 0)

    def quote(self, symbol: str) -> QuoteTick | None:
        if self.public is None or not self.public.connected:
            return None
        top = self.book(symbol, 1)
        if top is not None and top.bids and top.asks:
            (bid, bid_qty), (ask, ask_qty) = top.bids[0], top.asks[0]
            return QuoteTick(top.ts, symbol, bid, bid_qty, ask, ask_qty)
        return self._quotes.get(symbol)


class ChannelGateway(StreamGateway):
    """A :class:`StreamGateway` whose market data is one public stream of ``(wire channel,
    native symbol)`` subscriptions (FTX): ``subscribe`` / ``unsubscribe`` by the
    :attr:`~StreamGateway.channels` table, the stream opened on first use by
    :meth:`new_stream`; private pushes go by channel to the methods :attr:`private_routes`
    names, a malformed one logged and dropped (never raised into the socket's reader)."""

    #: private channel -> the name of the method taking its pushes (one decoded item each)
    private_routes: Mapping[str, str] = {}

    def new_stream(self, name: str) -> Any:
        """A new, not yet started stream for attribute ``name`` (``public``, ``private``)."""
        raise NotImplementedError

    async def subscribe(self, symbol: str, channels: tuple[str, ...]) -> None:
        native, wanted = self.wire_channels(symbol, channels)
        if self.public is None:
            self.public = self.new_stream("public")
            await self.public.start()
        for ch in wanted:
            await self.public.subscribe(ch, native)

    async def unsubscribe(self, symbol: str, channels: tuple[str, ...]) -> None:
        native, wanted = self.wire_channels(symbol, channels)
        for ch in wanted if self.public is not None else []:
            await self.public.unsubscribe(ch, native)
        if {"quotes", "tickers"} & set(channels):
            self._quotes.pop(symbol, None)  # nothing refreshes it any more

    def on_private(self, channel: str, data: Any) -> None:
        name = self.private_routes.get(channel)
        try:
            if name is not None:
                getattr(self, name)(data)
        except (KeyError, IndexError, ValueError, TypeError, AttributeError) as exc:
            log.warning("%s: bad %s push %r: %s", self.venue, channel, data, exc)
