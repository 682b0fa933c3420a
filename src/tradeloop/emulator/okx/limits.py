"""OKX's own bounds on top of the emulator-wide ones (:mod:`tradeloop.emulator.limits`).

OKX documents a 64 KB subscribe payload, 20 orders per batch and 32-character request ids;
repeated failed logins close the connection with 4001. Numbers that are not plain bounded
decimals are OKX's ``51000 Parameter {name} error``, over REST and WS alike.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from tradeloop.emulator.limits import (
    MAX_ECHO,
    MAX_LOGIN_FAILURES,
    MAX_NUMBER,
    MAX_NUMBER_CHARS,
    clip,
    is_multiple,
    positive_decimal,
)
from tradeloop.emulator.okx.errors import OrderError

#: Longest request ``id`` echoed (OKX: at most 32 characters).
MAX_ID = 32
#: Longest value kept from a subscription arg (``instId``, ``ccy``, ``instFamily``...).
MAX_ARG_VALUE = 64
#: OKX: "the total length of multiple channels cannot exceed 64 KB" per subscribe request.
MAX_SUBSCRIBE_BYTES = 64 * 1024
#: Most args in one subscribe/unsubscribe request; error answers per request are capped too.
MAX_SUBSCRIBE_ARGS = 256
#: Most orders in one batch op (OKX: 20, REST and WS alike).
MAX_BATCH = 20

__all__ = [
    "MAX_ARG_VALUE",
    "MAX_BATCH",
    "MAX_ECHO",
    "MAX_ID",
    "MAX_LOGIN_FAILURES",
    "MAX_NUMBER",
    "MAX_NUMBER_CHARS",
    "MAX_SUBSCRIBE_ARGS",
    "MAX_SUBSCRIBE_BYTES",
    "clip",
    "is_multiple",
    "wire_decimal",
]


def wire_decimal(raw: Any, field: str) -> Decimal:
    """``raw`` as a positive bounded plain decimal, or ``OrderError 51000`` naming ``field``
    (OKX's answer to ``1e100``, ``inf``, ``NaN``, ``' 0.5'`` and friends)."""
    d = positive_decimal(raw)
    if d is None:
        raise OrderError("51000", "", field)
    return d


#: what OKX accepts as a clOrdId: 1-32 ASCII letters and digits
CL_ORD_ID = re.compile(r"[A-Za-z0-9]{1,32}", re.ASCII)
