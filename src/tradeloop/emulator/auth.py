"""Request-signing plumbing shared by every emulator front-end.

Venues differ in *what* they sign (OKX: ``ts + METHOD + path + body`` in base64, FTX: the same
in hex, FTX WS: ``f"{time}websocket_login"``) and in which error they answer, not in how a check
must be done. These helpers do the parts that are easy to get subtly wrong:

* comparisons are constant-time and total: a header with non-ASCII text (which
  :func:`hmac.compare_digest` refuses for ``str``) compares as bytes and is simply unequal, not
  a ``TypeError`` that turns into an HTTP 500;
* timestamps are parsed strictly (finite, plain numbers) and checked against a window either
  side of the server clock, so a stale or replayed signature fails the way the venue fails it.

Secrets never leave this module in text form: nothing here logs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import time
from collections.abc import Callable

#: The signature window every venue we emulate documents: 30 s either side of server time.
WINDOW_S = 30.0
_NUMBER_CHARS = frozenset("0123456789.+-eE")


def same(given: str, expected: str) -> bool:
    """Constant-time equality of two strings, whatever characters ``given`` holds."""
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode())


def hmac_sha256(secret: str, message: str) -> bytes:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()


def sign_hex(secret: str, message: str) -> str:
    """Lower-case hex HMAC-SHA256 (FTX, Binance, BitMEX)."""
    return hmac_sha256(secret, message).hex()


def sign_b64(secret: str, message: str) -> str:
    """Base64 HMAC-SHA256 (OKX)."""
    return base64.b64encode(hmac_sha256(secret, message)).decode()


def parse_number(text: object) -> float | None:
    """A timestamp sent as a JSON number or decimal string, or None if it is not a finite
    plain number (``"nan"``, ``"1e999"``, ``True`` and ``" 12"`` are not)."""
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        return None
    s = text if isinstance(text, str) else repr(text)
    if not s or len(s) > 32 or not set(s) <= _NUMBER_CHARS:
        return None
    try:
        v = float(s)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def within(now_s: float, ts_s: float, window_s: float = WINDOW_S) -> bool:
    """Whether ``ts_s`` lies within ``window_s`` of ``now_s`` (both Unix seconds)."""
    return abs(now_s - ts_s) <= window_s


def timed_login_ok(
    api_key: str,
    secret: str,
    key: object,
    signature: object,
    t_ms: object,
    prehash: Callable[[int], str],
    now_s: float | None = None,
) -> bool:
    """A WS login signed with hex HMAC-SHA256 over ``prehash(t_ms)`` (FTX:
    ``f"{time}websocket_login"``): key and signature strings, ``t_ms`` a plain integer of
    milliseconds within the window of the server clock, both equal to what the emulator's
    credentials give (constant time). Anything malformed is simply a failed login."""
    return (
        isinstance(key, str)
        and isinstance(signature, str)
        and isinstance(t_ms, int)
        and not isinstance(t_ms, bool)
        and 0 < t_ms < 10**15
        and within(time.time() if now_s is None else now_s, t_ms / 1000)
        and same(key, api_key)
        and same(signature, sign_hex(secret, prehash(t_ms)))
    )
