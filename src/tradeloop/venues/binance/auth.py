"""Binance request signing (client side): HMAC-SHA256 hex or Ed25519 base64.

REST signs the query string exactly as sent (``timestamp`` and ``recvWindow`` appended) and
appends ``signature``; an Ed25519 signature is base64 and must be percent-encoded in the URL.
The WS API signs its ``params`` sorted by name, ``k=v`` joined by ``&``, not percent-encoded.
``session.logon`` accepts Ed25519 keys only. Keys and signatures are never logged: they are
registered with the log redactor by whoever loads them (the registry does for credentials).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from tradeloop.core.log import register_secret

try:  # optional: Ed25519 signing needs ``cryptography``
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
except ImportError:  # pragma: no cover
    Ed25519PrivateKey = None  # type: ignore[assignment,misc]


class Credentials:
    """An API key with its HMAC secret or Ed25519 private key (PEM)."""

    __slots__ = ("_ed", "_secret", "api_key")

    def __init__(self, api_key: str, secret: str = "", ed25519_pem: str = "") -> None:
        self.api_key = api_key
        self._secret = secret
        self._ed: Any = None
        for value in (api_key, secret):
            if value:
                register_secret(value)
        if ed25519_pem:
            if Ed25519PrivateKey is None:
                raise ValueError("Ed25519 keys need the 'cryptography' package")
            key = load_pem_private_key(ed25519_pem.encode(), password=None)
            if not isinstance(key, Ed25519PrivateKey):
                raise ValueError("the private key is not an Ed25519 key")
            self._ed = key

    def __repr__(self) -> str:
        return "Credentials(api_key=***)"

    @property
    def ed25519(self) -> bool:
        return self._ed is not None

    def sign(self, payload: str) -> str:
        """Ed25519 (base64) when the key is Ed25519, else HMAC-SHA256 (hex)."""
        if self._ed is not None:
            return base64.b64encode(self._ed.sign(payload.encode())).decode()
        return hmac.new(self._secret.encode(), payload.encode(), hashlib.sha256).hexdigest()

    def signed_query(self, query: str, timestamp_ms: int, recv_window: int) -> str:
        """``query`` + ``recvWindow`` + ``timestamp`` + ``signature`` (REST)."""
        q = f"{query}&" if query else ""
        q += f"recvWindow={recv_window}&timestamp={timestamp_ms}"
        return f"{q}&signature={quote(self.sign(q), safe='')}"

    def signed_params(
        self, params: Mapping[str, Any], timestamp_ms: int, recv_window: int | None = None
    ) -> dict[str, Any]:
        """WS API params with ``apiKey``, ``timestamp`` and ``signature`` added."""
        p = dict(params, apiKey=self.api_key, timestamp=timestamp_ms)
        if recv_window is not None:
            p["recvWindow"] = recv_window
        p["signature"] = self.sign(ws_payload(p))
        return p


def ws_payload(params: Mapping[str, Any]) -> str:
    parts = []
    for k in sorted(params):
        if k == "signature":
            continue
        v = params[k]
        parts.append(f"{k}={('true' if v else 'false') if isinstance(v, bool) else v}")
    return "&".join(parts)
