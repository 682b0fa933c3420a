"""Binance request signing as the server checks it: HMAC-SHA256 (hex) or Ed25519 (base64).

REST: the signed payload is the query string and the body *as received* (still
percent-encoded), concatenated without a separator, with the ``signature`` parameter taken
out. WS API: every ``params`` entry except ``signature``, sorted by name, joined ``k=v`` with
``&``, UTF-8 and *not* percent-encoded. An HMAC signature is compared case-insensitively
(Binance does), an Ed25519 one is verified against the configured public key. ``timestamp``
(ms, or µs when it has 16 digits) must satisfy ``ts < server + 1000`` and
``server - ts <= recvWindow`` (default 5000, at most 60000): otherwise ``-1021``.

Nothing here logs: payloads and signatures carry keys.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from tradeloop.emulator.auth import same, sign_hex
from tradeloop.emulator.binance import errors as E

try:  # optional: Ed25519 needs ``cryptography`` (not a declared dependency of tradeloop)
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key
except ImportError:  # pragma: no cover - the environment has it
    Ed25519PublicKey = None  # type: ignore[assignment,misc]

MAX_RECV_WINDOW = 60_000
DEFAULT_RECV_WINDOW = 5_000


def load_ed25519(pem: bytes | str) -> Any:
    """The Ed25519 public key in a PEM text; ValueError if it is not one (or no support)."""
    if Ed25519PublicKey is None:
        raise ValueError("Ed25519 keys need the 'cryptography' package")
    key = load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def strip_signature(raw: str) -> tuple[str, str | None]:
    """``raw`` (a query string or form body) without its ``signature=`` part, and that
    part's value (None when absent)."""
    if "signature=" not in raw:
        return raw, None
    kept, sig = [], None
    for part in raw.split("&"):
        if part.startswith("signature="):
            sig = part[len("signature=") :]
        else:
            kept.append(part)
    return "&".join(kept), sig


def signature_ok(secret: str, ed_key: Any, payload: str, signature: str) -> bool:
    """HMAC hex (any case) with ``secret``, else Ed25519 base64 with ``ed_key`` (if any)."""
    if len(signature) == 64 and all(c in "0123456789abcdefABCDEF" for c in signature):
        return same(signature.lower(), sign_hex(secret, payload))
    if ed_key is None:
        return False
    try:
        raw = base64.b64decode(signature.encode("ascii"), validate=True)
        ed_key.verify(raw, payload.encode("utf-8"))
    except (InvalidSignature, binascii.Error, ValueError, UnicodeEncodeError):
        return False
    return True


def is_ed25519(signature: str) -> bool:
    return not (len(signature) == 64 and all(c in "0123456789abcdefABCDEF" for c in signature))


def check_timestamp(params: Mapping[str, Any], now_ms: int) -> None:
    """Binance's timing rule (module docstring); raises its error."""
    raw = params.get("timestamp")
    text = str(raw) if isinstance(raw, int | str) and not isinstance(raw, bool) else ""
    if not text.isdigit() or len(text) > 20:
        raise E.mandatory("timestamp")
    ts = int(text)
    if ts > 10**15:  # microseconds
        ts //= 1000
    window = Decimal(DEFAULT_RECV_WINDOW)
    rw = params.get("recvWindow")
    if rw is not None and rw != "":
        try:
            window = Decimal(str(rw))
        except InvalidOperation:
            raise E.illegal("recvWindow") from None
        if not window.is_finite() or window <= 0 or window > MAX_RECV_WINDOW:
            raise E.BinanceError(E.BAD_RECV_WINDOW, "recvWindow must be less than 60000", 400)
    if ts >= now_ms + 1000:
        raise E.BinanceError(
            E.INVALID_TIMESTAMP, "Timestamp for this request was 1000ms ahead of the server's time."
        )
    if now_ms - ts > window:
        raise E.BinanceError(
            E.INVALID_TIMESTAMP, "Timestamp for this request is outside of the recvWindow."
        )


def ws_payload(params: Mapping[str, Any]) -> str:
    """The WS API's signed text: sorted ``k=v`` pairs without ``signature``, not encoded."""
    parts = []
    for k in sorted(params):
        if k == "signature":
            continue
        v = params[k]
        if isinstance(v, bool):
            v = "true" if v else "false"
        parts.append(f"{k}={v}")
    return "&".join(parts)
