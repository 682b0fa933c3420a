"""The plug contracts between the engine and anything that executes orders or feeds data.

Rules every implementation follows (simulated, emulated or real venue alike):

1. ``submit_order`` / ``cancel_order`` never block and never raise for venue-side problems: the
   outcome arrives later as ``OrderReport`` / ``Fill`` events handed to the ``ExecutionSink``
   (a rejected order is an ``OrderReport`` with status REJECTED and a ``reason``).
2. Reports for one order arrive in venue order; ``filled_qty`` in a report is cumulative.
   A ``Fill`` is delivered before the report that accounts for it.
3. ``client_order_id`` is the idempotency key: submitting the same id twice must never create
   two orders (retries rely on this).
4. Prices and sizes are rounded to the instrument's tick/lot by the client before they go on
   the wire, as decimal strings (see ``Instrument.format_price``).
5. Market data arrives as model events (``Bar``, ``TradeTick``, ``QuoteTick``, ``BookLevels``)
   handed to the ``MarketDataSink`` with ``ts`` set by the engine clock's time base.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Protocol

from tradeloop.model import Event, Fill, Instrument, Order, OrderReport


class ExecutionSink(Protocol):
    """Where a venue reports what happened to our orders."""

    def on_order_report(self, report: OrderReport) -> None: ...

    def on_fill(self, fill: Fill) -> None: ...


class MarketDataSink(Protocol):
    def on_market_data(self, event: Event) -> None: ...


class ExecutionClient(ABC):
    """Synchronous face of a venue, as the OMS sees it (see the module rules)."""

    venue: str = ""

    @abstractmethod
    def bind(self, sink: ExecutionSink) -> None:
        """Tell the client where to send reports and fills."""

    @abstractmethod
    def instruments(self) -> dict[str, Instrument]: ...

    @abstractmethod
    def submit_order(self, order: Order) -> None: ...

    @abstractmethod
    def cancel_order(self, order: Order) -> None: ...


class DataClient(ABC):
    """Live market data subscription face of a venue."""

    @abstractmethod
    def bind_data(self, sink: MarketDataSink) -> None: ...

    @abstractmethod
    async def subscribe(self, symbol: str, channels: tuple[str, ...]) -> None:
        """Channels: 'trades', 'quotes', 'book', 'bars:1m' ..."""
