"""OKX v5 request signing (spec §2.1 REST, §2.5 WS login).

Pure functions plus a small credentials holder so signing is testable against the published
vectors without any I/O. Secrets are registered for log redaction the moment they are read.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tradeloop.core.log import register_secret
from tradeloop.venues.okx.constants import WS_LOGIN_PATH
from tradeloop.venues.signing import sign_b64

#: Base64(HMAC-SHA256(secret, prehash)) — OKX's only signature primitive.
sign = sign_b64


def iso_timestamp(epoch_s: float) -> str:
    """UTC ISO-8601 with milliseconds and a ``Z`` (what OK-ACCESS-TIMESTAMP wants)."""
    ms = round(epoch_s * 1000)
    dt = datetime.fromtimestamp(ms // 1000, tz=UTC)
    return f"{dt:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


def rest_prehash(timestamp: str, method: str, request_path: str, body: str = "") -> str:
    """``timestamp + METHOD + requestPath(+?query) + body`` (body omitted when empty)."""
    return f"{timestamp}{method.upper()}{request_path}{body}"


def rest_signature(
    secret: str, timestamp: str, method: str, request_path: str, body: str = ""
) -> str:
    return sign(secret, rest_prehash(timestamp, method, request_path, body))


def ws_login_signature(secret: str, timestamp: str) -> str:
    """WS login: timestamp is Unix *seconds*; the signed request is ``GET /users/self/verify``."""
    return sign(secret, f"{timestamp}GET{WS_LOGIN_PATH}")


@dataclass(frozen=True, slots=True)
class OkxCredentials:
    """API key triple plus environment switch.

    ``clock`` returns the current Unix time in seconds; the REST client swaps in a function
    corrected by the measured server offset so signed requests are not refused for skew (50102).
    """

    api_key: str
    secret: str = field(repr=False)
    passphrase: str = field(repr=False)
    simulated: bool = False

    def __post_init__(self) -> None:
        for value in (self.api_key, self.secret, self.passphrase):
            register_secret(value)

    def rest_headers(
        self, method: str, request_path: str, body: str = "", now: float | None = None
    ) -> dict[str, str]:
        """Headers for one signed REST request. Call per attempt: the timestamp is part of the
        signature, so a retried request must be re-signed."""
        ts = iso_timestamp(time.time() if now is None else now)
        headers = {
            "OK-ACCESS-KEY": self.api_key,
            "OK-ACCESS-SIGN": rest_signature(self.secret, ts, method, request_path, body),
            "OK-ACCESS-TIMESTAMP": ts,
            "OK-ACCESS-PASSPHRASE": self.passphrase,
        }
        if self.simulated:
            headers["x-simulated-trading"] = "1"
        return headers

    def ws_login_args(self, now: float | None = None) -> dict[str, str]:
        ts = str(int(time.time() if now is None else now))
        return {
            "apiKey": self.api_key,
            "passphrase": self.passphrase,
            "timestamp": ts,
            "sign": ws_login_signature(self.secret, ts),
        }
