"""The plug contracts between the engine and anything that executes orders or feeds data.

Rules every implementation follows (simulated, emulated or real venue alike):

1. ``submit_order`` / ``cancel_order`` / ``amend_order`` never block and never raise for
   venue-side problems: the outcome arrives later as ``OrderReport`` / ``Fill`` events handed to
   the ``ExecutionSink`` (a refused order is a REJECTED report with a ``reason`` and a typed
   ``code``).
2. Reports for one order arrive in venue order and never move it backwards; ``filled_qty`` is
   cumulative. A ``Fill`` is delivered before the report that accounts for it, and each trade
   id at most once.
3. ``client_order_id`` is the idempotency key: submitting the same id twice must never create
   two orders (retries rely on this). An order in doubt is looked up, never guessed rejected.
4. Identity: every ``symbol`` in and out (orders, reports, fills, market data, positions) is an
   instrument id, ``NATIVE.VENUE`` (``model.identity``); ``instruments()`` is keyed by id. Only
   the wire speaks native symbols.
5. Prices and sizes are rounded to the instrument's tick/lot by the client before they go on
   the wire, as decimal strings (see ``Instrument.format_price``).
6. A cancel that cannot get through is reported, not dropped: a report repeating the working
   status (ACCEPTED / PARTIALLY_FILLED) with ``code=CANCEL_FAILED``. An amend's outcome is a
   report repeating the working status with reason ``amended ...`` (code NONE) or
   ``amend failed: ...`` (typed code) — or the terminal report, if the order ended first.
7. Market data arrives as model events (``Bar``, ``TradeTick``, ``QuoteTick``, ``BookLevels``)
   handed to the ``MarketDataSink`` with ``ts`` set by the engine clock's time base.
8. Account and connectivity news — ``BalanceUpdate``, ``PositionUpdate``, ``VenueStatus`` —
   goes to ``Gateway.on_account_event`` when set, else to the data sink. A ``VenueStatus`` with
   status :data:`RECONCILE_FAILED` means the gateway's view of our orders may be stale; the
   engine halts trading on that venue until an operator resumes it.
9. Funding the venue settles on our positions arrives as a ``FundingPaid`` handed to the
   ``ExecutionSink`` (it moves money, like a fill), each ``payment_id`` at most once per
   session; ``fetch_funding`` returns the payments since a time (restarts, catch-up). Venues
   without perpetuals, or whose funding the gateway cannot see, deliver none.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Final, Protocol

from tradeloop.model import (
    BalanceUpdate,
    BookLevels,
    Event,
    Fill,
    FundingPaid,
    Instrument,
    Order,
    OrderReport,
    PositionUpdate,
    QuoteTick,
)

#: ``VenueStatus.status`` values a gateway emits.
CONNECTED: Final = "connected"
DISCONNECTED: Final = "disconnected"
RECONNECTED: Final = "reconnected"
#: a book was found out of sync (gap, bad checksum) and is being re-fetched
RESYNC: Final = "resync"
ERROR: Final = "error"
NOTICE: Final = "notice"
#: orders in doubt could not be settled before the deadline: halt the venue
RECONCILE_FAILED: Final = "reconcile_failed"


class ExecutionSink(Protocol):
    """Where a venue reports what happened to our orders."""

    def on_order_report(self, report: OrderReport) -> None: ...

    def on_fill(self, fill: Fill) -> None: ...

    def on_funding(self, payment: FundingPaid) -> None: ...


class MarketDataSink(Protocol):
    def on_market_data(self, event: Event) -> None: ...


class ExecutionClient(ABC):
    """Synchronous face of a venue, as the OMS sees it (see the module rules)."""

    venue: str = ""

    @abstractmethod
    def bind(self, sink: ExecutionSink) -> None:
        """Tell the client where to send reports and fills."""

    @abstractmethod
    def instruments(self) -> dict[str, Instrument]:
        """Tradable instruments keyed by instrument id."""

    @abstractmethod
    def submit_order(self, order: Order) -> None: ...

    @abstractmethod
    def cancel_order(self, order: Order) -> None: ...

    def amend_order(
        self, order: Order, qty: float | None = None, price: float | None = None
    ) -> None:
        """Change a working order's total size and/or price (None: unchanged); the outcome is a
        report (rule 6). Clients that cannot amend say so here, which is a programming error
        rather than a venue answer."""
        raise NotImplementedError(f"{type(self).__name__} cannot amend orders")


class DataClient(ABC):
    """Live market data subscription face of a venue."""

    @abstractmethod
    def bind_data(self, sink: MarketDataSink) -> None: ...

    @abstractmethod
    async def subscribe(self, symbol: str, channels: tuple[str, ...]) -> None:
        """Channels: ``trades``, ``quotes``, ``book``, ``bars:1m`` ... for an instrument id."""

    @abstractmethod
    async def unsubscribe(self, symbol: str, channels: tuple[str, ...]) -> None:
        """Stop the given channels of an instrument id (unknown ones are ignored)."""


class Gateway(ExecutionClient, DataClient):
    """Everything a live runtime needs from one venue connection (vnpy-gateway style).

    Lifecycle: ``await start()`` (clock sync, instruments, private stream when keyed) before
    use; ``await stop()`` closes every task, socket and session, also after a failed start;
    ``await drain()`` waits for in-flight order requests (orderly shutdown, tests). Orders:
    ``submit_order`` / ``cancel_order`` / ``amend_order`` (rules above). Queries ask the venue
    (REST), for reconciling the engine's view. ``book`` / ``quote`` serve the gateway's own
    verified market state — what a bridge answers depth and ticker requests from — and return
    None rather than anything stale or unverified.
    """

    #: Receiver of BalanceUpdate / PositionUpdate / VenueStatus (rule 8); None: the data sink.
    on_account_event: Callable[[Event], None] | None = None

    # -- lifecycle ------------------------------------------------------------------------
    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def stop(self) -> None: ...

    @abstractmethod
    async def drain(self, timeout: float = 30.0) -> None: ...

    @abstractmethod
    def amend_order(
        self, order: Order, qty: float | None = None, price: float | None = None
    ) -> None:
        """See :meth:`ExecutionClient.amend_order`; every gateway can amend."""

    # -- queries --------------------------------------------------------------------------
    @abstractmethod
    async def fetch_balances(self) -> list[BalanceUpdate]:
        """One update per currency, ``venue`` set."""

    @abstractmethod
    async def fetch_positions(self) -> list[PositionUpdate]:
        """Open derivative positions (signed quantity), by instrument id."""

    @abstractmethod
    async def fetch_open_orders(self) -> list[OrderReport]:
        """Every working order at the venue, with tradeloop client ids where known."""

    @abstractmethod
    async def fetch_fills(self, since_ns: int = 0) -> list[Fill]:
        """Our fills at or after ``since_ns`` (as far back as the venue keeps them), oldest
        first, with tradeloop client ids where known."""

    async def fetch_funding(self, since_ns: int = 0) -> list[FundingPaid]:
        """Funding payments on our positions at or after ``since_ns``, oldest first (rule 9).
        The default is none: a venue without perpetuals, or not yet wired for funding."""
        return []

    # -- local market state ---------------------------------------------------------------
    @abstractmethod
    def book(self, symbol: str, depth: int = 20) -> BookLevels | None:
        """The top ``depth`` levels of the gateway's verified local book as a snapshot event;
        None when the book is not subscribed or not (or no longer) in sync."""

    @abstractmethod
    def quote(self, symbol: str) -> QuoteTick | None:
        """The best bid/ask now: the verified book's top when the book is subscribed, else the
        latest quote push; None when unknown or possibly stale (e.g. while the public stream
        is down, or since it came back and before fresh data arrived)."""

    # -- helpers shared by implementations --------------------------------------------------
    def emit_account_event(self, event: Event, data_sink: MarketDataSink | None) -> None:
        """Deliver account/status news by rule 8."""
        if self.on_account_event is not None:
            self.on_account_event(event)
        elif data_sink is not None:
            data_sink.on_market_data(event)
