"""Bitfinex signing (``specs/exchanges.md`` §3.1, §3.4): hex HMAC-SHA384 for REST
(``"/api/" + path + nonce + body``) and WS auth (``"AUTH" + nonce``), and the nonce source.

Bitfinex wants every nonce of a key larger than the last one it saw, over REST and WS alike;
one :class:`NonceSource` per credentials hands out microsecond nonces that strictly increase
even when two requests are signed in the same microsecond.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass, field
from typing import Any

from tradeloop.core.log import register_secret


def sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha384).hexdigest()


def rest_signature(secret: str, path: str, nonce: str, body: str) -> str:
    """``path`` like ``v2/auth/r/wallets`` (a leading ``/`` is dropped)."""
    return sign(secret, f"/api/{path.lstrip('/')}{nonce}{body}")


class NonceSource:
    """Strictly increasing microsecond nonces."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        self._last = max(self._last + 1, time.time_ns() // 1000)
        return self._last


@dataclass(slots=True)
class BitfinexCredentials:
    api_key: str
    secret: str = field(repr=False)
    nonces: NonceSource = field(default_factory=NonceSource, repr=False)

    def __post_init__(self) -> None:
        register_secret(self.api_key)
        register_secret(self.secret)

    def rest_headers(self, path: str, body: str) -> dict[str, str]:
        """Headers for one attempt (a fresh nonce: a retry is signed afresh)."""
        nonce = str(self.nonces.next())
        return {"bfx-nonce": nonce, "bfx-apikey": self.api_key,
                "bfx-signature": rest_signature(self.secret, path, nonce, body)}  # fmt: skip

    def ws_auth(self, dms: int | None = 4) -> dict[str, Any]:
        nonce = self.nonces.next()
        payload = f"AUTH{nonce}"
        msg: dict[str, Any] = {"event": "auth", "apiKey": self.api_key,
                               "authSig": sign(self.secret, payload), "authPayload": payload,
                               "authNonce": nonce}  # fmt: skip
        if dms is not None:
            msg["dms"] = dms
        return msg
