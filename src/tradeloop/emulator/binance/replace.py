"""``POST /api/v3/order/cancelReplace``: cancel one order and place another in one request.

Binance evaluates the new order's parameters and filters first (a bad new order refuses the
whole request, nothing cancelled). Then the cancel runs; with ``STOP_ON_FAILURE`` a failed
cancel stops there, with ``ALLOW_FAILURE`` the new order is tried anyway. Anything short of
two successes is an HTTP 400 whose ``data`` says what each half did: ``-2022`` when nothing
took effect, ``-2021`` when one half did (so a client can tell "old order still working" from
"old order gone, new one refused").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tradeloop.emulator.binance import errors as E

if TYPE_CHECKING:
    from tradeloop.emulator.binance.trading import BinanceTrading

MODES = ("STOP_ON_FAILURE", "ALLOW_FAILURE")
#: the cancel's parameters -> the name the plain cancel takes (None: not passed on)
_CANCEL_KEYS: dict[str, str | None] = {
    "cancelOrderId": "orderId",
    "cancelOrigClientOrderId": "origClientOrderId",
    "cancelNewClientOrderId": "newClientOrderId",
    "cancelReplaceMode": None,
    "cancelRestrictions": None,
    "orderRateLimitExceededMode": None,
}


def _error(err: E.BinanceError) -> dict[str, Any]:
    return {"code": err.code, "msg": err.msg}


def cancel_replace(t: BinanceTrading, p: dict[str, str]) -> dict[str, Any]:
    mode = p.get("cancelReplaceMode", "")
    if not mode:
        raise E.mandatory("cancelReplaceMode")
    if mode not in MODES:
        raise E.BinanceError(-1145, "Invalid cancelReplaceMode.")
    if not p.get("cancelOrderId") and not p.get("cancelOrigClientOrderId"):
        raise E.BinanceError(E.MANDATORY_PARAM, "Param 'cancelOrigClientOrderId' or "
                             "'cancelOrderId' must be sent, but both were empty/null!")  # fmt: skip
    new = {k: v for k, v in p.items() if k not in _CANCEL_KEYS}
    t.check(new)  # parameters and filters of the new order: refuse the whole request
    old = {"symbol": p.get("symbol", "")}
    for src, dst in _CANCEL_KEYS.items():
        if dst is not None and p.get(src):
            old[dst] = p[src]
    cancel: dict[str, Any] | None = None
    cancel_err: E.BinanceError | None = None
    try:
        cancel = t.cancel(old)
    except E.BinanceError as err:
        cancel_err = err
    if cancel_err is not None and mode == "STOP_ON_FAILURE":
        raise E.BinanceError(E.REPLACE_FAILED, "Order cancel-replace failed.", data={
            "cancelResult": "FAILURE", "newOrderResult": "NOT_ATTEMPTED",
            "cancelResponse": _error(cancel_err), "newOrderResponse": None,
        })  # fmt: skip
    placed: dict[str, Any] | None = None
    place_err: E.BinanceError | None = None
    try:
        placed = t.place(new)
    except E.BinanceError as err:
        place_err = err
    out: dict[str, Any] = {
        "cancelResult": "FAILURE" if cancel_err else "SUCCESS",
        "newOrderResult": "FAILURE" if place_err else "SUCCESS",
        "cancelResponse": _error(cancel_err) if cancel_err else cancel,
        "newOrderResponse": _error(place_err) if place_err else placed,
    }
    if cancel_err is None and place_err is None:
        return out
    if cancel_err is not None and place_err is not None:
        raise E.BinanceError(E.REPLACE_FAILED, "Order cancel-replace failed.", data=out)
    raise E.BinanceError(E.REPLACE_PARTIALLY_FAILED, "Order cancel-replace partially failed.",
                         data=out)  # fmt: skip
