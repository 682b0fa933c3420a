"""FTX wire constants: hosts, REST paths, the rate limit and the error texts we act on.

FTX answers errors as ``{"success": false, "error": "<text>"}`` with no numeric codes, so the
text *is* the code: :mod:`.rest` puts it in ``VenueError.code`` and :mod:`.orders` reads it
from the tables here. Values from FTX's public API docs (``specs/exchanges.md`` §5).
"""

from __future__ import annotations

from typing import Final

from tradeloop.model.enums import RejectReason
from tradeloop.venues.ratelimit import Limit

VENUE: Final = "FTX"

REST_URL: Final = "https://ftx.com"
WS_URL: Final = "wss://ftx.com/ws/"
#: FTX wants a client ping this often, whether or not data is flowing.
PING_INTERVAL: Final = 15.0
#: Levels per side an ``orderbook`` subscription holds and its checksum covers.
BOOK_DEPTH: Final = 100

MARKETS: Final = "/api/markets"
BALANCES: Final = "/api/wallet/balances"
POSITIONS: Final = "/api/positions"
ORDERS: Final = "/api/orders"
BY_CLIENT_ID: Final = "/api/orders/by_client_id/"
FILLS: Final = "/api/fills"

#: "Please do not send more than 30 requests per second" (one budget for the whole API).
RATE_LIMIT: Final = Limit(30, 1.0)
RATE_GROUP: Final = "ftx"

NOT_FOUND: Final = "Order not found"
ALREADY_CLOSED: Final = "Order already closed"
DUPLICATE_ID: Final = "Duplicate client order ID"
TOO_MANY: Final = "Too many requests"
RETRY: Final = "Please retry request"
#: The code our amend hook raises: FTX's modify cancels and re-places under a new order id.
AMEND_UNSUPPORTED: Final = "amend unsupported"

#: FTX refusal texts -> the engine's typed reasons (prefix match: "No such market: X").
REJECT_REASONS: Final[dict[str, RejectReason]] = {
    "Not enough balances": RejectReason.INSUFFICIENT_FUNDS,
    "Account does not have enough margin for order": RejectReason.INSUFFICIENT_FUNDS,
    "Size too small": RejectReason.INVALID_SIZE,
    "Invalid parameter size": RejectReason.INVALID_SIZE,
    "Invalid price": RejectReason.INVALID_PRICE,
    "Missing parameter price": RejectReason.INVALID_PRICE,
    "No such market": RejectReason.INVALID_INSTRUMENT,
    "Invalid reduce-only order": RejectReason.REDUCE_ONLY,
    "Spot orders cannot be reduce-only": RejectReason.REDUCE_ONLY,
    DUPLICATE_ID: RejectReason.DUPLICATE_ID,
}

#: FTX's base fee tier (maker, taker); account rates need ``/account``.
FEES: Final = (0.0002, 0.0007)
