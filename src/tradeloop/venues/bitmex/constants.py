"""BitMEX wire constants: hosts, REST paths, limits and the error texts we act on.

BitMEX answers errors as ``{"error": {"message", "name"}}`` with HTTP statuses and no numeric
codes, so the message *is* the code: :mod:`.rest` puts it in ``VenueError.code`` and
:mod:`.orders` reads it from the tables here (``specs/exchanges.md`` §4).
"""

from __future__ import annotations

from typing import Final

from tradeloop.model.enums import RejectReason
from tradeloop.venues.ratelimit import Limit

VENUE: Final = "BITMEX"
REST_URL: Final = "https://www.bitmex.com"
WS_URL: Final = "wss://ws.bitmex.com/realtime"
API: Final = "/api/v1"

INSTRUMENT_ACTIVE: Final = API + "/instrument/active"
ORDER_BOOK: Final = API + "/orderBook/L2"
ORDER: Final = API + "/order"
ORDER_ALL: Final = API + "/order/all"
CANCEL_ALL_AFTER: Final = API + "/order/cancelAllAfter"
POSITION: Final = API + "/position"
LEVERAGE: Final = API + "/position/leverage"
MARGIN: Final = API + "/user/margin"
TRADE_HISTORY: Final = API + "/execution/tradeHistory"

#: Signed requests live this long (``api-expires`` = now + this, seconds).
EXPIRES_S: Final = 10
#: BitMEX's published budget: 120 requests a minute per key, plus 10/s on order routes.
RATE_LIMIT: Final = Limit(120, 60.0)
ORDER_RATE_LIMIT: Final = Limit(10, 1.0)
RATE_GROUP: Final = "bitmex"
ORDER_GROUP: Final = "bitmex-order"
#: The dead-man switch (``cancelAllAfter``) as gateways built by the registry arm it: BitMEX
#: suggests a 60 s timeout refreshed about every 15 s, i.e. a quarter of the timeout
#: (:data:`DEAD_MAN_REFRESH`). ``$TRADELOOP_BITMEX_DEAD_MAN_MS`` overrides it; ``0`` turns it off.
DEAD_MAN_MS: Final = 60_000
DEAD_MAN_ENV: Final = "TRADELOOP_BITMEX_DEAD_MAN_MS"
DEAD_MAN_REFRESH: Final = 4
#: How long a clean stop waits for BitMEX to confirm the switch is off (seconds).
DISARM_TIMEOUT_S: Final = 5.0
#: Rows per page of table queries (BitMEX caps ``count`` at 1000; 500 is what ccxt uses).
PAGE: Final = 500

DUPLICATE_ID: Final = "Duplicate clOrdID"
NOT_FOUND: Final = "Not Found"
INVALID_STATUS: Final = "Invalid ordStatus"
CANCEL_STATE: Final = "Unable to cancel order due to existing state"
OVERLOADED: Final = "The system is currently overloaded. Please try again later."

#: BitMEX refusal texts (prefix match) -> the engine's typed reasons.
REJECT_REASONS: Final[dict[str, RejectReason]] = {
    "Account has insufficient Available Balance": RejectReason.INSUFFICIENT_FUNDS,
    "orderQty is invalid": RejectReason.INVALID_SIZE,
    "Invalid orderQty": RejectReason.INVALID_SIZE,
    "Order quantity must be a multiple of lot size": RejectReason.INVALID_SIZE,
    "Invalid price": RejectReason.INVALID_PRICE,
    "Invalid execInst: ReduceOnly": RejectReason.REDUCE_ONLY,
    "Unknown symbol": RejectReason.INVALID_INSTRUMENT,
    "Instrument not listed": RejectReason.INVALID_INSTRUMENT,
    DUPLICATE_ID: RejectReason.DUPLICATE_ID,
}
#: BitMEX money codes -> (unified currency, minor units per unit)
CURRENCIES: Final[dict[str, tuple[str, int]]] = {
    "XBt": ("BTC", 100_000_000),
    "XBT": ("BTC", 1),
    "USDt": ("USDT", 1_000_000),
    "Gwei": ("ETH", 1_000_000_000),
}
#: BitMEX root/quote codes -> unified currency codes (BitMEX's XBT is BTC)
UNIFIED: Final[dict[str, str]] = {"XBT": "BTC", "XBt": "BTC", "USDt": "USDT"}
