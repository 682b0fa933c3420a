"""The hooks a venue supplies to the order lifecycle (see the package docstring for the list).

The lifecycle knows *when* to place, cancel, amend and look up, and what each answer means for
the engine; a venue knows only *how* to say those things on its wire and how to read its errors.
:class:`VenueHooks` is that seam. Errors cross it as :class:`~tradeloop.core.errors.VenueError`
(every venue client raises those) and come back through :meth:`VenueHooks.classify` as a
:class:`Verdict`, so no venue code or message text ever reaches the lifecycle.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from enum import Enum

from tradeloop.core.errors import VenueError
from tradeloop.model import Fill, Instrument, Order, OrderReport, OrderStatus, RejectReason, Side


class ErrorKind(str, Enum):
    """What a failed venue request means for the order it was about."""

    #: the venue has no order under that id (lookup, cancel, amend)
    NOT_FOUND = "not_found"
    #: a cancel/amend came too late: the order already filled, was canceled or expired
    FINISHED = "finished"
    #: a placement met an order already holding that client id (an earlier attempt landed)
    DUPLICATE_ID = "duplicate_id"
    #: refused before it ran (busy, 5xx "try again" that provably did not execute): retry later
    TRANSIENT = "transient"
    #: refused by the rate limiter; ``Verdict.retry_after`` is the venue's hint, if any
    RATE_LIMITED = "rate_limited"
    #: may or may not have executed (timeout, dropped connection, lost answer): look it up
    UNKNOWN_OUTCOME = "unknown_outcome"
    #: refused for good; ``Verdict.reason`` says why
    PERMANENT = "permanent"


_DEFAULT_REASON = {
    ErrorKind.NOT_FOUND: RejectReason.ORDER_NOT_FOUND,
    ErrorKind.FINISHED: RejectReason.ORDER_CLOSED,
    ErrorKind.DUPLICATE_ID: RejectReason.DUPLICATE_ID,
    ErrorKind.TRANSIENT: RejectReason.VENUE_UNAVAILABLE,
    ErrorKind.RATE_LIMITED: RejectReason.RATE_LIMITED,
    ErrorKind.UNKNOWN_OUTCOME: RejectReason.TIMEOUT,
    ErrorKind.PERMANENT: RejectReason.OTHER,
}
#: Kinds worth sending the same (idempotent) request again for.
RETRYABLE_KINDS = frozenset(
    {ErrorKind.TRANSIENT, ErrorKind.RATE_LIMITED, ErrorKind.UNKNOWN_OUTCOME}
)


@dataclass(frozen=True, slots=True)
class Verdict:
    """A venue error, classified. ``reason`` types the refusal the engine sees when the error
    ends an order (defaults per kind: RATE_LIMITED, VENUE_UNAVAILABLE, TIMEOUT, ...)."""

    kind: ErrorKind
    reason: RejectReason = RejectReason.NONE
    retry_after: float = 0.0

    def __post_init__(self) -> None:
        if self.reason is RejectReason.NONE:
            object.__setattr__(self, "reason", _DEFAULT_REASON[self.kind])

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE_KINDS


@dataclass(frozen=True, slots=True)
class PlaceAck:
    """A placement the venue took. ``existing``: the venue already had this client id (an
    earlier attempt landed), so the order may have traded meanwhile; the lifecycle then looks
    it up (fills first, then state) instead of reporting a plain ACCEPTED."""

    venue_order_id: str = ""
    existing: bool = False


@dataclass(slots=True, eq=False)
class OrderTrack:
    """What the lifecycle knows about one order: both ids, the last state it reported to the
    engine, the trade ids it has delivered, and which request loops are running for it."""

    client_order_id: str
    venue_client_id: str
    symbol: str
    side: Side
    status: OrderStatus = OrderStatus.SUBMITTED
    filled: float = 0.0
    venue_order_id: str = ""
    #: cumulative fee already delivered in fills (venues whose pushes carry only a running fee)
    cum_fee: float = 0.0
    trade_ids: set[str] = field(default_factory=set)
    placing: bool = False  # the place request is in flight
    cancel_requested: bool = False  # cancel asked while placing: send it once placed
    cancelling: bool = False  # a cancel loop is running (one per order at a time)
    #: (qty, price) of an amend asked while placing or while another amend runs
    amend_requested: tuple[float | None, float | None] | None = None
    amending: bool = False
    #: not placed through this lifecycle (a previous process, the venue's web UI)
    adopted: bool = False


class VenueHooks(ABC):
    """What a venue implements so the lifecycle can run its orders (see the package docstring).

    Request hooks are coroutines that either succeed or raise ``VenueError``; they never
    retry on their own beyond what their transport does, and never report to the engine.
    """

    venue: str = ""

    # -- ids -------------------------------------------------------------------------------
    @abstractmethod
    def instrument(self, symbol: str) -> Instrument | None:
        """The instrument behind an instrument id (None: this venue does not list it)."""

    @abstractmethod
    def venue_client_id(self, client_order_id: str) -> str:
        """The client order id as the venue accepts it; stable, so a restarted process finds
        its orders again."""

    @abstractmethod
    def native_symbol(self, symbol: str) -> str:
        """Instrument id (``BTC-USDT.OKX``) -> the venue's own symbol (``BTC-USDT``)."""

    @abstractmethod
    def symbol_id(self, native: str) -> str:
        """The venue's own symbol -> instrument id."""

    @abstractmethod
    def streaming(self) -> bool:
        """Is a private order stream up, so order changes will be pushed? When not, the
        lifecycle asks (looks the order up) after a cancel instead of waiting for news."""

    # -- requests ---------------------------------------------------------------------------
    @abstractmethod
    async def place(self, order: Order, track: OrderTrack) -> PlaceAck:
        """Send ``order`` under ``track.venue_client_id`` (idempotent by that id). The order
        passed the lifecycle's pre-trade checks: instrument known, numbers sane, size and price
        not rounding to zero."""

    @abstractmethod
    async def cancel(self, track: OrderTrack) -> None:
        """Ask the venue to cancel (by client id; safe to repeat)."""

    @abstractmethod
    async def amend(self, track: OrderTrack, qty: float | None, price: float | None) -> None:
        """Change total size and/or price (None: unchanged). Success means the venue took it."""

    @abstractmethod
    async def fetch_order(self, track: OrderTrack) -> OrderReport:
        """The order's current state by client id, as a report carrying
        ``track.client_order_id`` and the instrument id. Raises NOT_FOUND-classified errors
        when the venue has no such order."""

    @abstractmethod
    async def fetch_fills(self, track: OrderTrack) -> list[Fill]:
        """Every fill of the order (``track.venue_order_id`` is set), oldest first, carrying
        ``track.client_order_id`` and the instrument id."""

    # -- knowledge --------------------------------------------------------------------------
    @abstractmethod
    def classify(self, exc: VenueError) -> Verdict:
        """What a failed request means (see :class:`ErrorKind`)."""
