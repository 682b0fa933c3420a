"""Bounds on what the OKX front-end accepts and echoes, in one place.

The emulator faces whatever a client (or a fuzzer) sends. Three rules keep it answering like
OKX instead of failing or amplifying:

* **numbers on the wire** are plain ASCII decimals of bounded length and magnitude; anything
  else (``1e100``, ``inf``, ``NaN``, ``1_000``, a megabyte of digits, Arabic-Indic digits that
  :class:`~decimal.Decimal` would happily read) is OKX's ``51000 Parameter {name} error`` --
  never an arithmetic exception that becomes HTTP 500 or kills a WebSocket;
* **echoes** of client text (``Invalid request: ...``, unknown channel names, ids, clOrdIds)
  are clipped to a short prefix, so an error answer is never larger than a small constant;
* **WebSocket requests** are bounded as OKX bounds them (64 KB subscribe payload, 20 orders
  per batch) and repeated failed logins close the connection with OKX's 4001.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any

from tradeloop.emulator.okx.errors import OrderError

#: Longest number string accepted (OKX's own values are far shorter).
MAX_NUMBER_CHARS = 40
#: Largest size, price or leverage accepted; beyond any real instrument's limits.
MAX_NUMBER = Decimal("1e15")
#: Plain decimal notation only: optional sign, ASCII digits, one dot, optional exponent.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?", re.ASCII)

#: Most characters of client text quoted back in an error message.
MAX_ECHO = 128
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
#: Failed logins tolerated on one connection; the next failure closes it (OKX close 4001).
MAX_LOGIN_FAILURES = 5


def clip(text: Any, limit: int = MAX_ECHO) -> str:
    """``text`` as a string of at most ``limit`` characters (a prefix, marked with "...")."""
    s = text if isinstance(text, str) else str(text)
    return s if len(s) <= limit else s[:limit] + "..."


def wire_decimal(raw: Any, field: str) -> Decimal:
    """A positive, finite, plain decimal of bounded size, or ``OrderError 51000`` naming
    ``field``. Accepts what OKX accepts in practice: a JSON string (or number) such as
    ``"0.01"`` or ``"1e-3"``."""
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise OrderError("51000", "", field)
    text = raw if isinstance(raw, str) else str(raw)
    if len(text) > MAX_NUMBER_CHARS or not _NUMBER.fullmatch(text):
        raise OrderError("51000", "", field)
    try:
        d = Decimal(text)
    except (InvalidOperation, ValueError):
        raise OrderError("51000", "", field) from None
    if not d.is_finite() or d <= 0 or d > MAX_NUMBER:
        raise OrderError("51000", "", field)
    return d


def is_multiple(value: Decimal, step: float) -> bool:
    """Whether ``value`` is a whole multiple of ``step`` (a tick or lot size). Exact, with
    enough precision for every value :func:`wire_decimal` lets through; a value the decimal
    module still cannot divide counts as "not a multiple" rather than raising."""
    with localcontext() as ctx:
        ctx.prec = 80
        try:
            return value % Decimal(repr(step)) == 0
        except InvalidOperation:
            return False
