"""OKX v5 request authentication, checked exactly as the venue does.

REST: ``OK-ACCESS-SIGN = base64(HMAC-SHA256(secret, timestamp + METHOD + requestPath + body))``
where ``requestPath`` carries the ``?query`` for GET and ``timestamp`` is ISO-8601 with ms.
WS login: the same HMAC over ``timestamp + "GET" + "/users/self/verify"`` with a Unix-seconds
timestamp. Both accept a 30 s window either side of the server clock.

The checks run in OKX's order (missing headers first, then key, passphrase, timestamp, sign)
so a client sees the same code a real venue would give for the same mistake.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from tradeloop.emulator.auth import WINDOW_S, parse_number, same, sign_b64, within
from tradeloop.emulator.okx.errors import OkxError

WS_VERIFY_PATH = "/users/self/verify"
__all__ = ["WINDOW_S", "Credentials", "sign", "verify_rest", "verify_ws_login"]


@dataclass(frozen=True, slots=True)
class Credentials:
    api_key: str
    api_secret: str
    passphrase: str


def sign(secret: str, prehash: str) -> str:
    """base64(HMAC-SHA256(secret, prehash)) — OKX's signature for REST and WS login."""
    return sign_b64(secret, prehash)


def parse_iso_ms(ts: str) -> float:
    """Parse OKX's ``2020-12-08T09:08:57.715Z`` into Unix seconds; ValueError if malformed."""
    if not ts.endswith("Z") or "T" not in ts:
        raise ValueError(ts)
    return datetime.fromisoformat(ts[:-1] + "+00:00").timestamp()


def verify_rest(
    creds: Credentials,
    headers: Mapping[str, str],
    method: str,
    request_path: str,
    body: str,
    now: float,
) -> None:
    """Raise :class:`OkxError` (HTTP 401) unless the request is signed by ``creds``."""
    key = headers.get("OK-ACCESS-KEY", "")
    sig = headers.get("OK-ACCESS-SIGN", "")
    ts = headers.get("OK-ACCESS-TIMESTAMP", "")
    phrase = headers.get("OK-ACCESS-PASSPHRASE", "")
    if not key:
        raise OkxError("50103")
    if not phrase:
        raise OkxError("50104")
    if not sig:
        raise OkxError("50106")
    if not ts:
        raise OkxError("50107")
    if not same(key, creds.api_key):
        raise OkxError("50111")
    if not same(phrase, creds.passphrase):
        raise OkxError("50105")
    try:
        t = parse_iso_ms(ts)
    except ValueError:
        raise OkxError("50112") from None
    if not within(now, t):
        raise OkxError("50102")
    if not same(sig, sign(creds.api_secret, ts + method.upper() + request_path + body)):
        raise OkxError("50113")


def verify_ws_login(creds: Credentials, arg: Mapping[str, object], now: float) -> None:
    """Raise :class:`OkxError` with OKX's WS login code unless ``arg`` is a valid login."""
    key = str(arg.get("apiKey", "") or "")
    phrase = str(arg.get("passphrase", "") or "")
    ts = str(arg.get("timestamp", "") or "")
    sig = str(arg.get("sign", "") or "")
    if not key or not phrase or not ts or not sig:
        raise OkxError("60009")
    if not same(key, creds.api_key):
        raise OkxError("60005")
    if not same(phrase, creds.passphrase):
        raise OkxError("60024")
    t = parse_number(ts)
    if t is None:
        raise OkxError("60004")
    if not within(now, t):
        raise OkxError("60006")
    if not same(sig, sign(creds.api_secret, ts + "GET" + WS_VERIFY_PATH)):
        raise OkxError("60007")
