"""FTX request signing (``specs/exchanges.md`` §5): pure functions plus a credentials holder,
so the published WS-login vector is testable without I/O. Secrets are registered for log
redaction the moment they are held."""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from tradeloop.core.log import register_secret


def sign(secret: str, payload: str) -> str:
    """Hex HMAC-SHA256 — FTX's only signature primitive (REST and WS login alike)."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def rest_signature(secret: str, ts_ms: int, method: str, path: str, body: str = "") -> str:
    """``ts + METHOD + path_with_query + body``."""
    return sign(secret, f"{ts_ms}{method.upper()}{path}{body}")


def ws_login_signature(secret: str, ts_ms: int) -> str:
    return sign(secret, f"{ts_ms}websocket_login")


@dataclass(frozen=True, slots=True)
class FtxCredentials:
    """API key, secret and optional subaccount nickname (sent URI-encoded, as FTX asks)."""

    api_key: str
    secret: str = field(repr=False)
    subaccount: str = ""

    def __post_init__(self) -> None:
        register_secret(self.api_key)
        register_secret(self.secret)

    def rest_headers(
        self, method: str, path: str, body: str = "", now: float | None = None
    ) -> dict[str, str]:
        """Headers for one signed request; call per attempt (the timestamp is signed)."""
        ts = int((time.time() if now is None else now) * 1000)
        headers = {
            "FTX-KEY": self.api_key,
            "FTX-TS": str(ts),
            "FTX-SIGN": rest_signature(self.secret, ts, method, path, body),
        }
        if self.subaccount:
            headers["FTX-SUBACCOUNT"] = quote(self.subaccount, safe="")
        return headers

    def ws_login(self, now: float | None = None) -> dict[str, Any]:
        """The ``login`` op's ``args``."""
        ts = int((time.time() if now is None else now) * 1000)
        args: dict[str, Any] = {
            "key": self.api_key,
            "sign": ws_login_signature(self.secret, ts),
            "time": ts,
        }
        if self.subaccount:
            args["subaccount"] = self.subaccount
        return args
