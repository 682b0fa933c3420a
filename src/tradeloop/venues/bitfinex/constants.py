"""Bitfinex v2 wire constants: hosts, paths, ``conf`` flags and the error codes/texts we act on
(``specs/exchanges.md`` §3)."""

from __future__ import annotations

from typing import Final

from tradeloop.model.enums import RejectReason
from tradeloop.venues.ratelimit import Limit

VENUE: Final = "BITFINEX"
REST_URL: Final = "https://api.bitfinex.com"
WS_URL: Final = "wss://api.bitfinex.com/ws/2"

TIMESTAMP, SEQ_ALL, OB_CHECKSUM, BULK = 32768, 65536, 131072, 536870912
#: what the connector asks for: sequence numbers (gap detection) and book checksums
CONF_FLAGS: Final = SEQ_ALL | OB_CHECKSUM
BOOK_LEN: Final = "25"
CHECKSUM_DEPTH: Final = 25
DMS: Final = 4  # dead-man switch: the venue cancels our orders if the auth socket drops

FLAG_HIDDEN, FLAG_CLOSE, FLAG_REDUCE_ONLY, FLAG_POST_ONLY = 64, 512, 1024, 4096
#: Bitfinex allows 90 authenticated requests a minute per endpoint; one budget is simpler
RATE_LIMIT: Final = Limit(90, 60.0)

ERR_NONCE: Final = "10114"
ERR_AUTH: Final = "10100"
ERR_RATELIMIT: Final = "11010"
ERR_MAINTENANCE: Final = "20060"
NOT_FOUND_TEXT: Final = "Order not found"
INFO_RECONNECT, INFO_MAINT_START, INFO_MAINT_END = 20051, 20060, 20061

#: Refusal texts (matched as substrings, case-insensitive) -> the engine's typed reasons.
REJECT_REASONS: Final[dict[str, RejectReason]] = {
    "not enough": RejectReason.INSUFFICIENT_FUNDS,
    "insufficient": RejectReason.INSUFFICIENT_FUNDS,
    "minimum size": RejectReason.INVALID_SIZE,
    "amount: invalid": RejectReason.INVALID_SIZE,
    "price: invalid": RejectReason.INVALID_PRICE,
    "invalid price": RejectReason.INVALID_PRICE,
    "symbol: invalid": RejectReason.INVALID_INSTRUMENT,
    "reduce-only": RejectReason.REDUCE_ONLY,
}
