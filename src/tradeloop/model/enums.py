"""Enumerations shared by every layer.

They are ``str`` enums so they serialise to JSON, log and compare readably while still being
checked by mypy; hot paths compare identity (``is``), which is as cheap as an int compare.
"""

from __future__ import annotations

from enum import Enum


class Side(str, Enum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1

    @property
    def opposite(self) -> Side:
        return Side.SELL if self is Side.BUY else Side.BUY


class OrderType(str, Enum):
    MARKET = "market"
    LIMIT = "limit"


class TimeInForce(str, Enum):
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"
    POST_ONLY = "post_only"


class OrderStatus(str, Enum):
    CREATED = "created"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    PENDING_CANCEL = "pending_cancel"
    PENDING_AMEND = "pending_amend"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def is_open(self) -> bool:
        """Working at the venue (or on its way there): may still fill."""
        return self not in _TERMINAL and self is not OrderStatus.CREATED


_TERMINAL = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)


class RejectReason(str, Enum):
    """Why a venue (or our own pre-trade checks) refused an order, typed so the engine can
    decide what to do without parsing text: a *transient* refusal is worth retrying later
    (the venue was busy or the answer got lost), a permanent one is not."""

    NONE = "none"
    RATE_LIMITED = "rate_limited"
    VENUE_UNAVAILABLE = "venue_unavailable"
    TIMEOUT = "timeout"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    INVALID_INSTRUMENT = "invalid_instrument"
    INVALID_SIZE = "invalid_size"
    INVALID_PRICE = "invalid_price"
    POST_ONLY_WOULD_TAKE = "post_only_would_take"
    REDUCE_ONLY = "reduce_only"
    DUPLICATE_ID = "duplicate_id"
    RISK = "risk"
    CANCEL_FAILED = "cancel_failed"
    #: a cancel/amend named an order the venue never had (or no longer lists)
    ORDER_NOT_FOUND = "order_not_found"
    #: a cancel/amend came after the order had already filled, been canceled or expired
    ORDER_CLOSED = "order_closed"
    OTHER = "other"

    @property
    def transient(self) -> bool:
        return self in _TRANSIENT_REJECTS


_TRANSIENT_REJECTS = frozenset(
    {RejectReason.RATE_LIMITED, RejectReason.VENUE_UNAVAILABLE, RejectReason.TIMEOUT}
)


class Liquidity(str, Enum):
    MAKER = "maker"
    TAKER = "taker"


class InstrumentKind(str, Enum):
    SPOT = "spot"
    SWAP = "swap"  # perpetual, linear (USDT-margined) unless Instrument.inverse
    FUTURE = "future"


class TradingState(str, Enum):
    """Risk engine trading state (see engine/risk.py)."""

    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"


# Hot-path aliases. Reading ``OrderType.MARKET`` goes through the enum class's attribute
# machinery (~4x a module global on Python 3.11); code that runs per order imports these.
BUY, SELL = Side.BUY, Side.SELL
MARKET, LIMIT = OrderType.MARKET, OrderType.LIMIT
IOC, FOK, POST_ONLY = TimeInForce.IOC, TimeInForce.FOK, TimeInForce.POST_ONLY
SUBMITTED, PARTIALLY_FILLED, PENDING_CANCEL = (
    OrderStatus.SUBMITTED,
    OrderStatus.PARTIALLY_FILLED,
    OrderStatus.PENDING_CANCEL,
)
FILLED, REJECTED = OrderStatus.FILLED, OrderStatus.REJECTED


class TriggerKind(str, Enum):
    """What arms a trigger order (``model.order.Trigger``); the order's ``order_type`` is the
    kind of child (market or limit) it turns into when it fires.

    * ``STOP`` — fires when the price moves *against* the side's entry: a sell when the last
      price falls to the trigger (price <= trigger), a buy when it rises to it (>=).
    * ``TAKE_PROFIT`` — the opposite direction: a sell fires at price >= trigger, a buy at <=.
    * ``TRAILING`` — a stop whose trigger follows the best price seen since it became active,
      at a callback rate (fraction) or amount behind it.
    * ``OCO`` — one order with a stop-loss and a take-profit leg; whichever fires first is the
      child and the other leg is gone with it (OKX ``oco``).
    """

    STOP = "stop"
    TAKE_PROFIT = "take_profit"
    TRAILING = "trailing"
    OCO = "oco"
