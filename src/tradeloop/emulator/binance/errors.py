"""Binance's error codes and texts, and the simulator's typed refusals mapped onto them.

Every refusal is ``{"code": <negative int>, "msg": "..."}`` with an HTTP status (REST) or the
same object under ``error`` with a ``status`` (WS API). The texts are Binance's own
(``errors.md``); filter failures are ``-1013 "Filter failure: <FILTER>"``.
"""

from __future__ import annotations

from typing import Any

from tradeloop.model.enums import RejectReason


class BinanceError(Exception):
    """Becomes ``{"code": code, "msg": msg}`` with HTTP ``status``; ``retry_after`` (seconds)
    adds a ``Retry-After`` header (429/418); ``data`` is added as ``"data"`` (what each half of
    a failed cancel-replace did)."""

    def __init__(
        self,
        code: int,
        msg: str,
        status: int = 400,
        retry_after: int = 0,
        data: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(msg)
        self.code, self.msg, self.status, self.retry_after = code, msg, status, retry_after
        self.data = data


UNKNOWN = -1000
TOO_MANY_REQUESTS = -1003
INVALID_MESSAGE = -1013
TOO_MANY_ORDERS = -1015
INVALID_TIMESTAMP = -1021
INVALID_SIGNATURE = -1022
ILLEGAL_CHARS = -1100
MANDATORY_PARAM = -1102
UNKNOWN_PARAM = -1104
BAD_PRECISION = -1111
INVALID_TIF = -1115
INVALID_ORDER_TYPE = -1116
INVALID_SIDE = -1117
BAD_SYMBOL = -1121
BAD_RECV_WINDOW = -1131
NEW_ORDER_REJECTED = -2010
CANCEL_REJECTED = -2011
NO_SUCH_ORDER = -2013
BAD_API_KEY_FMT = -2014
REJECTED_MBX_KEY = -2015
REPLACE_PARTIALLY_FAILED = -2021
REPLACE_FAILED = -2022

INSUFFICIENT_BALANCE = "Account has insufficient balance for requested action."
UNKNOWN_ORDER = "Unknown order sent."
DUPLICATE_ORDER = "Duplicate order sent."
WOULD_TAKE = "Order would immediately match and take."


def mandatory(name: str) -> BinanceError:
    return BinanceError(
        MANDATORY_PARAM,
        f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.",
    )


def illegal(name: str) -> BinanceError:
    return BinanceError(ILLEGAL_CHARS, f"Illegal characters found in parameter '{name}'.")


def filter_failure(name: str) -> BinanceError:
    return BinanceError(INVALID_MESSAGE, f"Filter failure: {name}")


def bad_symbol() -> BinanceError:
    return BinanceError(BAD_SYMBOL, "Invalid symbol.")


def no_such_order() -> BinanceError:
    return BinanceError(NO_SUCH_ORDER, "Order does not exist.")


R = RejectReason
#: The simulator's typed refusal of a new order -> Binance's (code, msg).
NEW_ORDER_REFUSALS: dict[RejectReason, tuple[int, str]] = {
    R.INSUFFICIENT_FUNDS: (NEW_ORDER_REJECTED, INSUFFICIENT_BALANCE),
    R.POST_ONLY_WOULD_TAKE: (NEW_ORDER_REJECTED, WOULD_TAKE),
    R.DUPLICATE_ID: (NEW_ORDER_REJECTED, DUPLICATE_ORDER),
    R.INVALID_SIZE: (INVALID_MESSAGE, "Filter failure: LOT_SIZE"),
    R.INVALID_PRICE: (INVALID_MESSAGE, "Filter failure: PRICE_FILTER"),
    R.INVALID_INSTRUMENT: (BAD_SYMBOL, "Invalid symbol."),
}


def refused(code: RejectReason) -> BinanceError:
    c, msg = NEW_ORDER_REFUSALS.get(code, (NEW_ORDER_REJECTED, "Order rejected."))
    return BinanceError(c, msg)
