"""OKX v5 wire constants: hosts, REST paths, per-endpoint rate limits and error codes.

Kept in one place so the REST client, the WS client and the tests agree on every literal, and so
a limit changed by OKX is a one-line edit. Values come from the OKX v5 docs as summarised in
``specs/exchanges.md`` §2.
"""

from __future__ import annotations

from typing import Final

from tradeloop.model.enums import RejectReason
from tradeloop.venues.ratelimit import Limit

VENUE: Final = "OKX"

REST_URL: Final = "https://www.okx.com"
WS_URL: Final = "wss://ws.okx.com:8443/ws/v5"
WS_URL_DEMO: Final = "wss://wspap.okx.com:8443/ws/v5"
WS_PUBLIC: Final = "/public"
WS_PRIVATE: Final = "/private"
WS_BUSINESS: Final = "/business"

#: WS login signs this fixed request (spec §2.5).
WS_LOGIN_PATH: Final = "/users/self/verify"

# -- REST paths --------------------------------------------------------------------------------
TIME: Final = "/api/v5/public/time"
INSTRUMENTS: Final = "/api/v5/public/instruments"
FUNDING_RATE: Final = "/api/v5/public/funding-rate"
TICKER: Final = "/api/v5/market/ticker"
TICKERS: Final = "/api/v5/market/tickers"
BOOKS: Final = "/api/v5/market/books"
TRADES: Final = "/api/v5/market/trades"
CANDLES: Final = "/api/v5/market/candles"
HISTORY_CANDLES: Final = "/api/v5/market/history-candles"
BALANCE: Final = "/api/v5/account/balance"
POSITIONS: Final = "/api/v5/account/positions"
SET_LEVERAGE: Final = "/api/v5/account/set-leverage"
ORDER: Final = "/api/v5/trade/order"
BATCH_ORDERS: Final = "/api/v5/trade/batch-orders"
CANCEL_ORDER: Final = "/api/v5/trade/cancel-order"
CANCEL_BATCH_ORDERS: Final = "/api/v5/trade/cancel-batch-orders"
AMEND_ORDER: Final = "/api/v5/trade/amend-order"
AMEND_BATCH_ORDERS: Final = "/api/v5/trade/amend-batch-orders"
ORDERS_PENDING: Final = "/api/v5/trade/orders-pending"
ORDERS_HISTORY: Final = "/api/v5/trade/orders-history"
FILLS: Final = "/api/v5/trade/fills"
#: the account ledger: the last 7 days, and the last 3 months (slower)
BILLS: Final = "/api/v5/account/bills"
BILLS_ARCHIVE: Final = "/api/v5/account/bills-archive"
BILLS_RECENT_DAYS: Final = 7
#: bill ``type`` of a funding payment (``subType`` 173 expense, 174 income)
BILL_FUNDING: Final = "8"
#: the private channel whose ``eventType`` says why cash moved (``funding_fee``...)
BALANCE_AND_POSITION: Final = "balance_and_position"
FUNDING_EVENT: Final = "funding_fee"

# -- rate-limit groups that are not simply a REST path ------------------------------------------
#: ``GET /trade/order`` (order details) has its own limit, apart from placing (same path).
ORDER_DETAILS: Final = "GET " + ORDER
#: Sub-account budget for new + amended orders across all instruments (spec §2.4, 50061).
SUB_ACCOUNT_ORDERS: Final = "sub-account new+amend orders"

#: Rate limits keyed by group — a REST path, or one of the groups above (spec §2.3/§2.4).
#: ``count`` is requests per window, or orders for the :data:`PER_ORDER` groups. Endpoints the
#: spec lists without a number get a conservative guess so we never burst unthrottled.
RATE_LIMITS: Final[dict[str, Limit]] = {
    TIME: Limit(10, 2.0),
    INSTRUMENTS: Limit(20, 2.0),
    FUNDING_RATE: Limit(10, 2.0),
    TICKER: Limit(20, 2.0),
    TICKERS: Limit(20, 2.0),
    BOOKS: Limit(40, 2.0),
    TRADES: Limit(100, 2.0),
    CANDLES: Limit(40, 2.0),
    HISTORY_CANDLES: Limit(20, 2.0),
    BALANCE: Limit(10, 2.0),
    POSITIONS: Limit(10, 2.0),
    SET_LEVERAGE: Limit(20, 2.0),
    ORDER: Limit(60, 2.0),
    ORDER_DETAILS: Limit(60, 2.0),
    BATCH_ORDERS: Limit(300, 2.0),
    CANCEL_ORDER: Limit(60, 2.0),
    CANCEL_BATCH_ORDERS: Limit(300, 2.0),  # not in the spec: assumed like batch place
    AMEND_ORDER: Limit(60, 2.0),
    AMEND_BATCH_ORDERS: Limit(300, 2.0),  # not in the spec: assumed like batch place
    SUB_ACCOUNT_ORDERS: Limit(1000, 2.0),
    ORDERS_PENDING: Limit(60, 2.0),
    ORDERS_HISTORY: Limit(40, 2.0),
    FILLS: Limit(60, 2.0),
    BILLS: Limit(5, 1.0),
    BILLS_ARCHIVE: Limit(5, 2.0),
}
DEFAULT_LIMIT: Final = Limit(10, 2.0)

#: Groups whose limit is per instrument (bucket keyed by instId as well): place, amend and
#: cancel, single or batch, are per instrument (spec §2.4); so are order details and funding.
PER_INSTRUMENT: Final = frozenset(
    {
        ORDER,
        BATCH_ORDERS,
        CANCEL_ORDER,
        CANCEL_BATCH_ORDERS,
        AMEND_ORDER,
        AMEND_BATCH_ORDERS,
        ORDER_DETAILS,
        FUNDING_RATE,
    }
)
#: Groups whose limit counts orders, not requests ("300 orders/2s", spec §2.3).
PER_ORDER: Final = frozenset({BATCH_ORDERS, CANCEL_BATCH_ORDERS, AMEND_BATCH_ORDERS})
#: Groups that also draw on :data:`SUB_ACCOUNT_ORDERS` (new and amended orders).
NEW_OR_AMEND: Final = frozenset({ORDER, BATCH_ORDERS, AMEND_ORDER, AMEND_BATCH_ORDERS})
#: WebSocket order-entry ops and the REST limit each one shares (spec §2.4/§2.5: "shared
#: between REST and WS").
WS_OP_GROUPS: Final[dict[str, str]] = {
    "order": ORDER,
    "batch-orders": BATCH_ORDERS,
    "cancel-order": CANCEL_ORDER,
    "batch-cancel-orders": CANCEL_BATCH_ORDERS,
    "amend-order": AMEND_ORDER,
    "batch-amend-orders": AMEND_BATCH_ORDERS,
}

# -- error codes (spec §2.1, §2.2, §2.5) --------------------------------------------------------
OK: Final = "0"
PARTIAL_SUCCESS: Final = "2"
RATE_LIMIT_CODES: Final = frozenset({"50011", "50061", "50013"})
RETRYABLE_CODES: Final = frozenset({"50001", "50004", "50013", "50026"})
AUTH_CODES: Final = frozenset(
    {
        "50101", "50102", "50103", "50104", "50105", "50106", "50107",
        "50110", "50111", "50112", "50113", "50114",
        "60004", "60005", "60006", "60007", "60009", "60011", "60024",
    }
)  # fmt: skip
TIMESTAMP_EXPIRED: Final = "50102"
DUPLICATE_CLORDID: Final = "51016"
ORDER_NOT_FOUND: Final = "51603"
CANCEL_FAILED: Final = "51400"
#: A cancel/amend of an order that is already filled, canceled or gone (51400 "cancellation
#: failed", 51401 "already canceled", 51402 "already completed", 51503 "amend failed: filled,
#: canceled or does not exist"): only the order's state says which.
ORDER_FINISHED_CODES: Final = frozenset({CANCEL_FAILED, "51401", "51402", "51503"})
INSTRUMENT_NOT_FOUND: Final = "51001"
INSUFFICIENT_BALANCE: Final = "51008"

#: OKX refusal codes -> the engine's typed reasons (anything else: OTHER, or transient when
#: the code is a rate limit / "try again"; see ``orders.reject_reason``).
REJECT_REASONS: Final[dict[str, RejectReason]] = {
    INSUFFICIENT_BALANCE: RejectReason.INSUFFICIENT_FUNDS,
    "51004": RejectReason.INSUFFICIENT_FUNDS,  # exceeds position tier / leverage limit
    "51119": RejectReason.INSUFFICIENT_FUNDS,  # insufficient margin
    INSTRUMENT_NOT_FOUND: RejectReason.INVALID_INSTRUMENT,
    "51000": RejectReason.INVALID_SIZE,  # parameter error (sz/px)
    "51020": RejectReason.INVALID_SIZE,  # below the minimum size
    "51121": RejectReason.INVALID_SIZE,  # not a whole number of lots
    "51006": RejectReason.INVALID_PRICE,  # outside the price limit
    "51137": RejectReason.INVALID_PRICE,
    "51124": RejectReason.POST_ONLY_WOULD_TAKE,
    "51169": RejectReason.REDUCE_ONLY,  # no position to reduce
    DUPLICATE_CLORDID: RejectReason.DUPLICATE_ID,
}

#: OKX's regular-tier fees (fractions of notional); account-specific rates need
#: /account/trade-fee. Used only to fill Instrument defaults.
SPOT_FEES: Final = (0.0008, 0.001)
SWAP_FEES: Final = (0.0002, 0.0005)
