"""HMAC request signatures and millisecond timestamps, shared by venue credentials.

Venues differ in what they sign and how they spell it (OKX: base64 over an ISO-timestamped
prehash; FTX, Binance, BitMEX: lower-case hex over a millisecond one), not in the primitive.
Writing it once keeps the encoding details (UTF-8 key and message, SHA-256) in one tested place.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time


def hmac_sha256(secret: str, message: str) -> bytes:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()


def sign_hex(secret: str, message: str) -> str:
    """Lower-case hex HMAC-SHA256 (FTX, Binance, BitMEX)."""
    return hmac_sha256(secret, message).hex()


def sign_b64(secret: str, message: str) -> str:
    """Base64 HMAC-SHA256 (OKX)."""
    return base64.b64encode(hmac_sha256(secret, message)).decode()


def ms(now: float | None = None) -> int:
    """Unix time in whole milliseconds (``now`` in seconds; the wall clock when None): a
    signed request's timestamp, taken per attempt so a retry is signed afresh."""
    return int((time.time() if now is None else now) * 1000)
