"""Binance facts the connector needs: URLs, request weights, error codes and what they mean.

Weights are the documented ``REQUEST_WEIGHT`` cost of each REST path (exchanges.md §1.3); the
client pays them to its own weight gate *before* sending, so it slows down ahead of the
venue's limit instead of collecting 429s (which Binance escalates to 418 IP bans).
"""

from __future__ import annotations

from typing import Final

from tradeloop.model import RejectReason

VENUE: Final = "BINANCE"
REST_URL: Final = "https://api.binance.com"
WS_URL: Final = "wss://stream.binance.com:9443"
WS_API_URL: Final = "wss://ws-api.binance.com:443/ws-api/v3"
#: USD-M futures: REST host and the WebSocket root. Binance split the root (notice 2026-03-06;
#: the legacy ``/ws`` and ``/stream`` stopped carrying most streams on 2026-04-23): book
#: streams on ``/public``, the other market streams on ``/market``, user data on ``/private``
FAPI_URL: Final = "https://fapi.binance.com"
FWS_URL: Final = "wss://fstream.binance.com"
FWS_PUBLIC: Final = "/public/ws"
FWS_MARKET: Final = "/market/ws"
#: ``?listenKey=K&events=A/B``: the events are an allow list, so the expiry notice is named too
FWS_PRIVATE: Final = "/private/ws"
FWS_EVENTS: Final = "ORDER_TRADE_UPDATE/ACCOUNT_UPDATE/listenKeyExpired"
#: USD-M futures WS API (orders; ``session.logon`` with Ed25519 keys)
FWS_API_URL: Final = "wss://ws-fapi.binance.com/ws-fapi/v1"
FUTURES_WEIGHT_LIMIT: Final = 2400
#: USER_STREAM routes: the API key header, no signature
KEY_ONLY: Final = frozenset({"/fapi/v1/listenKey", "/api/v3/userDataStream"})

#: the REQUEST_WEIGHT limit per minute Binance advertises (exchangeInfo.rateLimits)
WEIGHT_LIMIT: Final = 6000
#: fraction of the limit the client allows itself (the rest is margin for other processes)
WEIGHT_MARGIN: Final = 0.9
DEFAULT_RECV_WINDOW: Final = 5000

WEIGHTS: dict[tuple[str, str], int] = {
    ("GET", "/api/v3/ping"): 1,
    ("GET", "/api/v3/time"): 1,
    ("GET", "/api/v3/exchangeInfo"): 20,
    ("GET", "/api/v3/trades"): 25,
    ("GET", "/api/v3/klines"): 2,
    ("GET", "/api/v3/account"): 20,
    ("POST", "/api/v3/order"): 1,
    ("GET", "/api/v3/order"): 4,
    ("DELETE", "/api/v3/order"): 1,
    ("GET", "/api/v3/openOrders"): 6,
    ("GET", "/api/v3/allOrders"): 20,
    ("GET", "/api/v3/myTrades"): 20,
    ("GET", "/fapi/v1/exchangeInfo"): 1,
    ("POST", "/fapi/v1/order"): 0,
    ("GET", "/fapi/v1/order"): 1,
    ("DELETE", "/fapi/v1/order"): 1,
    ("GET", "/fapi/v1/openOrders"): 1,
    ("GET", "/fapi/v1/allOrders"): 5,
    ("GET", "/fapi/v1/userTrades"): 5,
    ("GET", "/fapi/v2/positionRisk"): 5,
    ("GET", "/fapi/v2/balance"): 5,
    ("GET", "/fapi/v2/account"): 5,
    ("GET", "/fapi/v1/income"): 30,
}


def fws_route(name: str) -> str:
    """The routed path a USD-M market stream is served on: ``@depth*`` and ``@bookTicker``
    are public (high-frequency), every other stream (aggTrade, kline, markPrice ...) market."""
    event = name.partition("@")[2]
    return FWS_PUBLIC if event.startswith(("depth", "bookTicker")) else FWS_MARKET


def depth_weight(limit: int) -> int:
    return 5 if limit <= 100 else 25 if limit <= 500 else 50 if limit <= 1000 else 250


def futures_depth_weight(limit: int) -> int:
    return 2 if limit <= 50 else 5 if limit <= 100 else 10 if limit <= 500 else 20


# -- error codes (errors.md) -------------------------------------------------------------
TOO_MANY_REQUESTS: Final = "-1003"
TIMEOUT: Final = "-1007"
TOO_MANY_ORDERS: Final = "-1015"
INVALID_TIMESTAMP: Final = "-1021"
INVALID_SIGNATURE: Final = "-1022"
BAD_SYMBOL: Final = "-1121"
NEW_ORDER_REJECTED: Final = "-2010"
CANCEL_REJECTED: Final = "-2011"
NO_SUCH_ORDER: Final = "-2013"
BAD_API_KEY: Final = "-2014"
REJECTED_KEY: Final = "-2015"
FILTER_FAILURE: Final = "-1013"

DUPLICATE_ORDER_MSG: Final = "Duplicate order sent."
INSUFFICIENT_MSG: Final = "Account has insufficient balance for requested action."
WOULD_TAKE_MSG: Final = "Order would immediately match and take."

#: codes that refuse an order for good -> the typed reason the engine sees
REJECT_REASONS: dict[str, RejectReason] = {
    BAD_SYMBOL: RejectReason.INVALID_INSTRUMENT,
    "-1100": RejectReason.OTHER,
    "-1102": RejectReason.OTHER,
    "-1111": RejectReason.INVALID_SIZE,
    BAD_API_KEY: RejectReason.OTHER,
    REJECTED_KEY: RejectReason.OTHER,
}

#: USD-M futures: a client order id still in use
F_DUPLICATE_ID: Final = "-4116"
#: USD-M futures refusals -> the typed reason (errors.md of the futures API)
FUTURES_REFUSALS: dict[str, RejectReason] = {
    "-2019": RejectReason.INSUFFICIENT_FUNDS,  # Margin is insufficient.
    "-2022": RejectReason.REDUCE_ONLY,  # ReduceOnly Order is rejected.
    "-5022": RejectReason.POST_ONLY_WOULD_TAKE,  # GTX would take
    "-4003": RejectReason.INVALID_SIZE,
    "-4005": RejectReason.INVALID_SIZE,
    "-4164": RejectReason.INVALID_SIZE,  # below the minimum notional
    "-4013": RejectReason.INVALID_PRICE,
    "-4014": RejectReason.INVALID_PRICE,
    "-4016": RejectReason.INVALID_PRICE,
}
