"""OKX v5 error codes, their messages and the HTTP status OKX answers them with.

Business errors travel as HTTP 200 with a non-zero ``code``; auth errors are 401; rate limits
429; a few system errors 5xx (doc 14-error-code). Raising :class:`OkxError` anywhere in a
handler turns into the right envelope in one place (``okx.envelope``).
"""

from __future__ import annotations

from tradeloop.model import RejectReason

#: code -> (HTTP status, message). Messages follow OKX's wording where the docs give it.
CODES: dict[str, tuple[int, str]] = {
    "1": (200, "All operations failed"),
    "2": (200, "Batch operation partially succeeded"),
    "50000": (400, "Body for POST request cannot be empty."),
    "50001": (503, "Service temporarily unavailable. Please try again later."),
    "50002": (400, "JSON syntax error"),
    "50011": (429, "Too Many Requests"),
    "50013": (429, "Systems are busy. Please try again later."),
    "50014": (400, "Parameter {param0} can not be empty."),
    "50026": (500, "System error. Try again later."),
    "50101": (401, "APIKey does not match current environment."),
    "50102": (401, "Timestamp request expired."),
    "50103": (401, "Request header OK-ACCESS-KEY can not be empty."),
    "50104": (401, "Request header OK-ACCESS-PASSPHRASE can not be empty."),
    "50105": (401, "Request header OK-ACCESS-PASSPHRASE incorrect."),
    "50106": (401, "Request header OK-ACCESS-SIGN can not be empty."),
    "50107": (401, "Request header OK-ACCESS-TIMESTAMP can not be empty."),
    "50111": (401, "Invalid OK-ACCESS-KEY."),
    "50112": (401, "Invalid OK-ACCESS-TIMESTAMP."),
    "50113": (401, "Invalid Sign."),
    "50114": (401, "Invalid Authority."),
    "51000": (400, "Parameter {param0} error"),
    "51001": (200, "Instrument ID or Spread ID doesn't exist."),
    "51008": (200, "Order failed. Insufficient balance."),
    "51016": (200, "Duplicated client order ID"),
    "51020": (200, "Your order should meet or exceed the minimum order amount."),
    "51006": (200, "Order price is not within the price limit."),
    "51169": (
        200,
        "Order failed because you don't have any positions in this direction for this "
        "contract to reduce or close.",
    ),
    "51121": (200, "Order quantity must be a multiple of the lot size."),
    "51400": (
        200,
        "Order cancellation failed as the order has been filled, canceled or does not exist.",
    ),
    "51503": (
        200,
        "Order modification failed as the order has been filled, canceled or does not exist.",
    ),
    "51603": (200, "Order does not exist."),
    # WebSocket
    "60004": (200, "Invalid timestamp"),
    "60005": (200, "Invalid apiKey"),
    "60006": (200, "Timestamp request expired"),
    "60007": (200, "Invalid sign"),
    "60009": (200, "Login failed."),
    "60011": (200, "Please log in"),
    "60012": (200, "Invalid request"),
    "60013": (200, "Invalid args"),
    "60018": (200, "Wrong URL or channel:{param0},instId:{param1} doesn't exist."),
    "60024": (200, "Wrong passphrase"),
    "60031": (200, "The WebSocket endpoint does not allow multiple or repeated logins."),
}


def message(code: str, *params: str) -> str:
    """OKX's message for ``code`` with ``{param0}``... filled in."""
    text = CODES.get(code, (200, "Error"))[1]
    for i, p in enumerate(params):
        text = text.replace(f"{{param{i}}}", p)
    return text


def http_status(code: str) -> int:
    return CODES.get(code, (200, ""))[0]


class OkxError(Exception):
    """A request-level failure: becomes ``{"code": code, "msg": msg, "data": []}``."""

    def __init__(self, code: str, msg: str = "", *params: str, status: int | None = None) -> None:
        self.code = code
        self.msg = msg or message(code, *params)
        self.status = http_status(code) if status is None else status
        super().__init__(f"{code}: {self.msg}")


class OrderError(Exception):
    """A per-order failure: becomes one ``data[i]`` item with ``sCode``/``sMsg``."""

    def __init__(self, code: str, msg: str = "", *params: str) -> None:
        self.code = code
        self.msg = msg or message(code, *params)
        super().__init__(f"{code}: {self.msg}")


#: The simulator's typed refusal -> OKX ``sCode`` (+ message params); anything else is
#: ``51000 Parameter order error``. A crossing post-only order is not here: OKX accepts it and
#: cancels it at once (``cancelSource`` 31).
PARAM_ORDER: tuple[str, ...] = ("51000", "", "order")
REJECT_CODES: dict[RejectReason, tuple[str, ...]] = {
    RejectReason.INSUFFICIENT_FUNDS: ("51008",),
    RejectReason.INVALID_SIZE: ("51020",),
    RejectReason.INVALID_PRICE: ("51000", "", "px"),
    RejectReason.INVALID_INSTRUMENT: ("51001",),
    RejectReason.REDUCE_ONLY: ("51169",),
    RejectReason.DUPLICATE_ID: ("51016",),
}
