"""FTX signing (``specs/exchanges.md`` §5): the kit's hex HMAC-SHA256 for REST and the WS login
(testable against the published vector) plus a credentials holder that registers its secrets
for log redaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from tradeloop.core.log import register_secret
from tradeloop.venues.signing import ms
from tradeloop.venues.signing import sign_hex as sign


def ws_login_signature(secret: str, ts_ms: int) -> str:
    return sign(secret, f"{ts_ms}websocket_login")


@dataclass(frozen=True, slots=True)
class FtxCredentials:
    """Key, secret and optional subaccount nickname."""

    api_key: str
    secret: str = field(repr=False)
    subaccount: str = ""

    def __post_init__(self) -> None:
        register_secret(self.api_key)
        register_secret(self.secret)

    def rest_headers(
        self, method: str, path: str, body: str = "", now: float | None = None
    ) -> dict[str, str]:
        """Headers for one attempt (the timestamp is signed: a retry is signed afresh):
        ``FTX-SIGN`` = sign(ts + METHOD + path_with_query + body)."""
        ts = ms(now)
        sig = sign(self.secret, f"{ts}{method.upper()}{path}{body}")
        headers = {"FTX-KEY": self.api_key, "FTX-TS": str(ts), "FTX-SIGN": sig}
        if self.subaccount:  # URI-encoded, as FTX asks
            headers["FTX-SUBACCOUNT"] = quote(self.subaccount, safe="")
        return headers

    def ws_login(self, now: float | None = None) -> dict[str, Any]:
        """The ``login`` op's ``args`` (``time`` in ms)."""
        ts = ms(now)
        sig = ws_login_signature(self.secret, ts)
        args: dict[str, Any] = {"key": self.api_key, "sign": sig, "time": ts}
        if self.subaccount:
            args["subaccount"] = self.subaccount
        return args
