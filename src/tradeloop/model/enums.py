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
