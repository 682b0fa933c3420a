"""Value types shared by every layer (lower layers never import higher ones)."""

from tradeloop.model.enums import (
    InstrumentKind,
    Liquidity,
    OrderStatus,
    OrderType,
    RejectReason,
    Side,
    TimeInForce,
    TradingState,
)
from tradeloop.model.events import (
    NS_PER_MS,
    NS_PER_S,
    BalanceUpdate,
    Bar,
    BookLevels,
    Event,
    Fill,
    FundingPaid,
    OrderReport,
    PositionUpdate,
    QuoteTick,
    RiskEvent,
    TimerEvent,
    TradeTick,
    VenueStatus,
)
from tradeloop.model.identity import InstrumentId, native_of, venue_of
from tradeloop.model.instrument import Instrument
from tradeloop.model.order import TRANSITIONS, IllegalTransition, Order
from tradeloop.model.position import Balance, Position

__all__ = [
    "NS_PER_MS",
    "NS_PER_S",
    "TRANSITIONS",
    "Balance",
    "BalanceUpdate",
    "Bar",
    "BookLevels",
    "Event",
    "Fill",
    "FundingPaid",
    "IllegalTransition",
    "Instrument",
    "InstrumentId",
    "InstrumentKind",
    "Liquidity",
    "Order",
    "OrderReport",
    "OrderStatus",
    "OrderType",
    "Position",
    "PositionUpdate",
    "QuoteTick",
    "RejectReason",
    "RiskEvent",
    "Side",
    "TimeInForce",
    "TimerEvent",
    "TradeTick",
    "TradingState",
    "VenueStatus",
    "native_of",
    "venue_of",
]
