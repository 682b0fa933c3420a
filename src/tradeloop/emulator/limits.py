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
  connection that keeps failing to log in is closed after :data:`MAX_LOGIN_FAILURES`;
* **order entry** (:func:`check_entry`): an order's own fields are checked the way venues
  check them before matching, in one place, with each venue's wording passed in.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any

from tradeloop.model import Side, TimeInForce
from tradeloop.model.instrument import Instrument

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


#: Order fields by role, named as camelCase JSON venues name them (FTX).
CAMEL_KEYS = {
    "side": "side",
    "type": "type",
    "size": "size",
    "price": "price",
    "ioc": "ioc",
    "post_only": "postOnly",
    "reduce_only": "reduceOnly",
    "client_id": "clientId",
}


@dataclass(frozen=True)
class EntryTexts:
    """A venue's refusal text for each order-entry check (``{}`` = the parameter's wire name);
    the defaults are the common wording (FTX's, and ``Invalid parameter <name>`` of
    :mod:`tradeloop.emulator.api`)."""

    bad_param: str = "Invalid parameter {}"
    missing_price: str = "Missing parameter price"
    too_small: str = "Size too small"
    bad_price: str = "Invalid price"
    spot_reduce_only: str = "Spot orders cannot be reduce-only"


@dataclass(frozen=True)
class OrderEntry:
    """An order's own fields, checked; funds, reduce-only and matching are the simulator's."""

    side: Side
    size: Decimal
    price: Decimal | None  # None: a market order
    tif: TimeInForce
    reduce_only: bool
    client_id: str


def check_entry(
    inst: Instrument,
    body: Mapping[str, Any],
    keys: Mapping[str, str],
    texts: EntryTexts,
    fail: Callable[[str], Exception],
    max_client_id: int = 64,
) -> OrderEntry:
    """Check the fields a venue checks before its matching engine sees an order: side, type
    (``limit`` / ``market``), a bounded positive size on the lot grid and at least the minimum,
    a limit price on the tick grid, boolean flags, post-only neither IOC nor market, no
    reduce-only on spot, a client id of 1..``max_client_id`` characters. ``keys`` maps the
    roles (``side type size price ioc post_only reduce_only client_id``) to the venue's wire
    names; each refusal is ``fail(text)`` with the venue's wording from ``texts``."""
    side, kind = body.get(keys["side"]), body.get(keys["type"])
    if side not in ("buy", "sell"):
        raise fail(texts.bad_param.format(keys["side"]))
    if kind not in ("limit", "market"):
        raise fail(texts.bad_param.format(keys["type"]))
    size = positive_decimal(body.get(keys["size"]))
    if size is None:
        raise fail(texts.bad_param.format(keys["size"]))
    if size < Decimal(repr(inst.min_size)) or not is_multiple(size, inst.lot_size):
        raise fail(texts.too_small)
    price: Decimal | None = None
    if kind == "limit":
        if body.get(keys["price"]) is None:
            raise fail(texts.missing_price)
        price = positive_decimal(body.get(keys["price"]))
        if price is None or not is_multiple(price, inst.tick_size):
            raise fail(texts.bad_price)
    flags = {}
    for role in ("ioc", "post_only", "reduce_only"):
        v = body.get(keys[role])
        if v is not None and not isinstance(v, bool):
            raise fail(texts.bad_param.format(keys[role]))
        flags[role] = bool(v)
    ioc, post = flags["ioc"], flags["post_only"]
    if post and (ioc or kind == "market"):
        raise fail(texts.bad_param.format(keys["post_only"]))
    if flags["reduce_only"] and not inst.is_derivative:
        raise fail(texts.spot_reduce_only)
    cid = body.get(keys["client_id"])
    if cid is not None and (not isinstance(cid, str) or not 0 < len(cid) <= max_client_id):
        raise fail(texts.bad_param.format(keys["client_id"]))
    tif = TimeInForce.POST_ONLY if post else (TimeInForce.IOC if ioc else TimeInForce.GTC)
    return OrderEntry(Side(side), size, price, tif, flags["reduce_only"], cid or "")
