"""Bounds every emulator front-end applies to what it accepts and echoes (venue-neutral).

The emulators face whatever a client -- or a fuzzer -- sends. These rules keep them answering
like the venue instead of failing or amplifying; each front-end wraps them in its own error
shapes (OKX ``51000``, FTX ``"Invalid parameter ..."``):

* **numbers on the wire** are plain ASCII decimals of bounded length and magnitude. ``1e100``,
  ``inf``, ``NaN``, ``1_000``, a megabyte of digits or Arabic-Indic digits (which
  :class:`~decimal.Decimal` would happily read) are refused, never an arithmetic exception that
  becomes an HTTP 500 or kills a WebSocket;
* **echoes** of client text are clipped to a short prefix, so an error answer is never larger
  than a small constant;
* **bodies and messages** are capped (:data:`MAX_BODY`, :data:`MAX_WS_MESSAGE`), and a
  connection that keeps failing to log in is closed after :data:`MAX_LOGIN_FAILURES`.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any

#: Longest number string accepted (real venues' values are far shorter).
MAX_NUMBER_CHARS = 40
#: Largest size, price or leverage accepted; beyond any real instrument's limits.
MAX_NUMBER = Decimal("1e15")
#: Plain decimal notation only: optional sign, ASCII digits, one dot, optional short exponent.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?", re.ASCII)

#: Most characters of client text quoted back in an error message.
MAX_ECHO = 128
#: Largest REST body (aiohttp's default cap, answered by the venue's 413 rather than a 500).
MAX_BODY = 1 << 20
#: Largest WS message (aiohttp closes with 1009 "message too big" beyond it).
MAX_WS_MESSAGE = 1 << 20
#: Failed logins tolerated on one connection; the next failure closes it.
MAX_LOGIN_FAILURES = 5


def clip(text: Any, limit: int = MAX_ECHO) -> str:
    """``text`` as a string of at most ``limit`` characters (a prefix, marked with "...")."""
    s = text if isinstance(text, str) else str(text)
    return s if len(s) <= limit else s[:limit] + "..."


def positive_decimal(raw: Any) -> Decimal | None:
    """``raw`` (a JSON string or number) as a positive, finite, plain decimal of bounded size,
    or None when it is anything else -- the caller answers with its venue's parameter error.
    Booleans are not numbers here (``True`` is an ``int`` to Python, not to a venue)."""
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        return None
    text = raw if isinstance(raw, str) else repr(raw)
    if len(text) > MAX_NUMBER_CHARS or not _NUMBER.fullmatch(text):
        return None
    try:
        d = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    if not d.is_finite() or d <= 0 or d > MAX_NUMBER:
        return None
    return d


def is_multiple(value: Decimal, step: float) -> bool:
    """Whether ``value`` is a whole multiple of ``step`` (a tick or lot size). Exact, with
    enough precision for every value :func:`positive_decimal` lets through; a value the decimal
    module still cannot divide counts as "not a multiple" rather than raising."""
    with localcontext() as ctx:
        ctx.prec = 80
        try:
            return value % Decimal(repr(step)) == 0
        except InvalidOperation:
            return False
