"""FTX wire constants: hosts, paths, the rate limit, and the error texts we act on.

FTX errors are ``{"success": false, "error": "<text>"}`` without numeric codes, so the text is
the code: :mod:`.rest` puts it in ``VenueError.code`` and :mod:`.orders` reads it against the
tables here (FTX's public API docs; ``specs/exchanges.md`` §5).
"""

from __future__ import annotations

from typing import Final

from tradeloop.model.enums import RejectReason
from tradeloop.venues.ratelimit import Limit

VENUE: Final = "FTX"
REST_URL: Final = "https://ftx.com"
WS_URL: Final = "wss://ftx.com/ws/"
PING_INTERVAL: Final = 15.0  # FTX wants a ping this often, data flowing or not
BOOK_DEPTH: Final = 100  # levels per side an orderbook subscription holds and checksums

MARKETS: Final = "/api/markets"
BALANCES: Final = "/api/wallet/balances"
POSITIONS: Final = "/api/positions"
ORDERS: Final = "/api/orders"
BY_CLIENT_ID: Final = "/api/orders/by_client_id/"
FILLS: Final = "/api/fills"
FUNDING_PAYMENTS: Final = "/api/funding_payments"
#: FTX settles perpetual funding on the hour and pushes nothing for it: the gateway asks for
#: the payments this long after each hour (one request an hour)
FUNDING_POLL_DELAY_S: Final = 60.0
#: "Please do not send more than 30 requests per second": one budget for the whole API.
RATE_LIMIT: Final = Limit(30, 1.0)

NOT_FOUND: Final = "Order not found"
ALREADY_CLOSED: Final = "Order already closed"
DUPLICATE_ID: Final = "Duplicate client order ID"
TOO_MANY: Final = "Too many requests"
RETRY: Final = "Please retry request"
AMEND_UNSUPPORTED: Final = "amend unsupported"  # ours: see orders.py

#: Refusal texts (matched as prefixes: "No such market: X") -> the engine's typed reasons.
REJECT_REASONS: Final[dict[str, RejectReason]] = {
    "Not enough balances": RejectReason.INSUFFICIENT_FUNDS,
    "Account does not have enough margin": RejectReason.INSUFFICIENT_FUNDS,
    "Size too small": RejectReason.INVALID_SIZE,
    "Invalid parameter size": RejectReason.INVALID_SIZE,
    "Invalid price": RejectReason.INVALID_PRICE,
    "Missing parameter price": RejectReason.INVALID_PRICE,
    "No such market": RejectReason.INVALID_INSTRUMENT,
    "Invalid reduce-only order": RejectReason.REDUCE_ONLY,
    "Spot orders cannot be reduce-only": RejectReason.REDUCE_ONLY,
    DUPLICATE_ID: RejectReason.DUPLICATE_ID,
}
FEES: Final = (0.0002, 0.0007)  # FTX's base tier (maker, taker)
