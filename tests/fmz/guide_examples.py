"""Request bodies exactly as the FMZ guide (seeds/fmz-custom-protocol-guide.en.txt, sections 3
and 6) shows them, keyed by method. ``IO`` also needs the ``Http-Method: GET`` header."""

from __future__ import annotations

from typing import Any

GUIDE_TICKER: dict[str, Any] = {
    "access_key": "xxx",
    "method": "ticker",
    "nonce": 1730275031047002000,
    "params": {"symbol": "LTC_USDT"},
    "secret_key": "xxx",
}

#: method -> params, as listed in the guide's "Spot Exchange" section
GUIDE_PARAMS: dict[str, dict[str, Any]] = {
    "ticker": {"symbol": "ETH_USDT"},
    "depth": {"limit": "30", "symbol": "ETH_USDT"},
    "trades": {"symbol": "eth_usdt"},
    "records": {"limit": "500", "period": "60", "symbol": "ETH_USDT"},
    "accounts": {},
    "assets": {},
    "trade": {"amount": "0.1", "price": "1000", "symbol": "BTC_USDT", "type": "buy"},
    "orders": {"symbol": "ETH_USDT"},
    "order": {"id": "ETH-USDT,123456", "symbol": "ETH_USDT"},
    "historyorders": {"limit": 0, "since": 0, "symbol": "ETH_USDT"},
    "cancel": {"id": "ETH-USDT,123456", "symbol": "ETH_USDT"},
    "__api_/api/v5/trade/orders-pending": {"instId": "ETH-USDT", "instType": "SPOT"},
}

#: the guide's "incomplete trading pair" example must answer {"error": ...}
GUIDE_INCOMPLETE_SYMBOL = "USDT"


def guide_request(method: str, access_key: str = "xxx", secret_key: str = "xxx") -> dict[str, Any]:
    return {
        "access_key": access_key,
        "method": method,
        "nonce": 1730275031047002000,
        "params": dict(GUIDE_PARAMS[method]),
        "secret_key": secret_key,
    }
