"""What a BitMEX ``partial`` says about its table: ``keys``, ``types``, ``foreignKeys`` and
``attributes``.

Why a table of constants: a BitMEX client may read ``types`` to decode rows (``long`` vs
``float``, ``timestamp``) and ``keys`` to match updates to rows, so they must be what BitMEX
sends. Taken from the recorded partials (``orderBookL2``, ``quote``: the 2021 capture; ``trade``,
``order``: BitMEX's 2020 testnet fixtures) and, for the tables no recording has
(``tradeBin1m``, ``instrument``, ``wallet``), from the field types of BitMEX's REST spec
(``int64`` -> ``long``, ``double`` -> ``float``, ``date-time`` -> ``timestamp``).
"""

from __future__ import annotations

from typing import Any

ACCOUNT = 1234567

KEYS: dict[str, list[str]] = {
    "orderBookL2": ["symbol", "id", "side"],
    "orderBookL2_25": ["symbol", "id", "side"],
    "orderBook10": ["symbol"],
    "quote": [],
    "trade": [],
    "tradeBin1m": [],
    "instrument": ["symbol"],
    "order": ["orderID"],
    "execution": ["execID"],
    "position": ["account", "symbol"],
    "margin": ["account", "currency"],
    "wallet": ["account", "currency"],
}


def _of(kind: str, *names: str) -> dict[str, str]:
    return dict.fromkeys(names, kind)


L2_TYPES = {"symbol": "symbol", "id": "long", "side": "symbol", "size": "long",
            "price": "float", "timestamp": "timestamp"}  # fmt: skip
TYPES: dict[str, dict[str, str]] = {
    "orderBookL2": L2_TYPES,
    "orderBookL2_25": L2_TYPES,
    "quote": {
        "timestamp": "timestamp",
        "symbol": "symbol",
        "bidSize": "long",
        "bidPrice": "float",
        "askPrice": "float",
        "askSize": "long",
    },
    "trade": {
        "timestamp": "timestamp",
        "symbol": "symbol",
        "side": "symbol",
        "size": "long",
        "price": "float",
        "tickDirection": "symbol",
        "trdMatchID": "guid",
        "grossValue": "long",
        "homeNotional": "float",
        "foreignNotional": "float",
        "trdType": "symbol",
    },
    "tradeBin1m": {
        "timestamp": "timestamp",
        "symbol": "symbol",
        **_of("float", "open", "high", "low", "close", "vwap", "homeNotional", "foreignNotional"),
        **_of("long", "trades", "volume", "lastSize", "turnover"),
    },
    "instrument": {
        **_of(
            "symbol",
            "symbol",
            "rootSymbol",
            "state",
            "typ",
            "positionCurrency",
            "underlying",
            "quoteCurrency",
            "underlyingSymbol",
            "reference",
            "referenceSymbol",
            "settlCurrency",
            "markMethod",
        ),
        **_of(
            "timestamp",
            "listing",
            "front",
            "expiry",
            "fundingTimestamp",
            "fundingInterval",
            "timestamp",
        ),
        **_of(
            "long",
            "maxOrderQty",
            "lotSize",
            "multiplier",
            "underlyingToPositionMultiplier",
            "underlyingToSettleMultiplier",
            "quoteToSettleMultiplier",
            "volume24h",
            "turnover24h",
            "openInterest",
        ),
        **_of(
            "float",
            "maxPrice",
            "tickSize",
            "initMargin",
            "maintMargin",
            "makerFee",
            "takerFee",
            "fundingRate",
            "indicativeFundingRate",
            "prevPrice24h",
            "highPrice",
            "lowPrice",
            "lastPrice",
            "bidPrice",
            "askPrice",
            "midPrice",
            "markPrice",
            "fairPrice",
            "indicativeSettlePrice",
            "lastChangePcnt",
            "homeNotional24h",
            "foreignNotional24h",
            "vwap",
        ),
        **_of("boolean", "isQuanto", "isInverse", "hasLiquidity"),
    },
    "order": {
        "orderID": "guid",
        "clOrdID": "string",
        "clOrdLinkID": "symbol",
        "account": "long",
        **_of(
            "symbol",
            "symbol",
            "side",
            "pegPriceType",
            "currency",
            "settlCurrency",
            "ordType",
            "timeInForce",
            "execInst",
            "contingencyType",
            "exDestination",
            "ordStatus",
            "triggered",
            "ordRejReason",
            "multiLegReportingType",
        ),
        **_of(
            "float",
            "simpleOrderQty",
            "price",
            "stopPx",
            "pegOffsetValue",
            "simpleLeavesQty",
            "simpleCumQty",
            "avgPx",
        ),
        **_of("long", "orderQty", "displayQty", "leavesQty", "cumQty"),
        "workingIndicator": "boolean",
        "text": "string",
        "transactTime": "timestamp",
        "timestamp": "timestamp",
    },
    "wallet": {
        "account": "long",
        "currency": "symbol",
        **_of(
            "long",
            "amount",
            "deposited",
            "withdrawn",
            "transferIn",
            "transferOut",
            "pendingCredit",
            "pendingDebit",
            "confirmedDebit",
        ),
        "timestamp": "timestamp",
        "addr": "string",
        "script": "string",
        "withdrawalLock": "symbols",
    },
}
_PUBLIC_ATTRS = {"timestamp": "sorted", "symbol": "grouped"}
FOREIGN_KEYS: dict[str, dict[str, str]] = {
    "orderBookL2": {"symbol": "instrument", "side": "side"},
    "orderBookL2_25": {"symbol": "instrument", "side": "side"},
    "quote": {"symbol": "instrument"},
    "trade": {"symbol": "instrument", "side": "side"},
    "tradeBin1m": {"symbol": "instrument"},
    "order": {"symbol": "instrument", "side": "side", "ordStatus": "ordStatus"},
}
ATTRIBUTES: dict[str, dict[str, str]] = {
    "orderBookL2": {"symbol": "parted", "id": "sorted"},
    "orderBookL2_25": {"symbol": "parted", "id": "sorted"},
    "quote": _PUBLIC_ATTRS,
    "trade": _PUBLIC_ATTRS,
    "tradeBin1m": _PUBLIC_ATTRS,
    "instrument": {"symbol": "unique"},
    "order": {
        "orderID": "grouped",
        "account": "grouped",
        "ordStatus": "grouped",
        "workingIndicator": "grouped",
    },
    "wallet": {"account": "sorted", "currency": "grouped"},
}


def partial(table: str, data: list[Any], flt: dict[str, Any]) -> dict[str, Any]:
    """A ``partial`` message: the full image of ``table`` under ``filter`` ``flt`` (``{}``
    for every symbol, ``{"symbol": ...}`` for one, ``{"account": ...}`` for a private
    table)."""
    return {
        "table": table,
        "action": "partial",
        "keys": KEYS[table],
        "types": TYPES.get(table, {}),
        "foreignKeys": FOREIGN_KEYS.get(table, {}),
        "attributes": ATTRIBUTES.get(table, {}),
        "filter": flt,
        "data": data,
    }
