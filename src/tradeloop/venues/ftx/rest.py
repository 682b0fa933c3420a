"""FTX REST: typed methods over the kit's :class:`~tradeloop.venues.http.RestClient` that
return FTX's own JSON (the envelope's ``result``).

Added to the kit's transport: the ``{"success", "result" | "error"}`` envelope as typed errors
(the error text becomes ``VenueError.code``), FTX signing, and one request budget for the whole
API (the kit's ``budget`` option). Order bodies carry exact decimals as JSON numbers
(``Instrument.format_*`` text), so what is signed is what is sent and no float noise reaches
the wire.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import msgspec

from tradeloop.core.errors import AuthError, RateLimited, VenueError
from tradeloop.venues.ftx import constants as C
from tradeloop.venues.ftx.auth import FtxCredentials
from tradeloop.venues.http import RestClient, VenueRest
from tradeloop.venues.paging import page_all
from tradeloop.venues.parsing import iso_seconds
from tradeloop.venues.ratelimit import RateLimiter

Json = dict[str, Any]
_body = msgspec.json.Encoder(decimal_format="number")  # Decimal("0.0001") -> 0.0001


def ftx_error(text: str, status: int, context: str = "") -> VenueError:
    msg = f"{context}: FTX {status} {text}" if context else f"FTX {status} {text}"
    if status == 429 or text == C.TOO_MANY:
        return RateLimited(msg, C.TOO_MANY)
    if status == 401 or text.startswith("Not logged in"):
        return AuthError(msg, text)
    return VenueError(msg, text, retryable=status >= 500 or text == C.RETRY)


class _FtxTransport(RestClient):
    def check_response(self, method: str, path: str, status: int, payload: Any) -> None:
        if isinstance(payload, dict) and payload.get("success") is True:
            return
        if isinstance(payload, dict) and "error" in payload:
            raise ftx_error(str(payload["error"])[:200], status, f"{method} {path}")
        raise VenueError(f"{method} {path}: HTTP {status}: not FTX's envelope: {payload!r:.120}")


def fill_time(row: Json) -> float:
    """A fill's (or funding payment's) ISO ``time`` as Unix seconds; 0.0 when unreadable
    (the row still goes to its parser, which refuses it with a line in the log)."""
    try:
        return iso_seconds(row.get("time"))
    except ValueError:
        return 0.0


class FtxRestClient(VenueRest):
    """Async FTX REST; private methods need keys. Errors raise ``VenueError`` /
    ``AuthError`` / ``RateLimited`` with FTX's text in ``.code``; :meth:`request` answers
    with the envelope's ``result``."""

    result_key = "result"

    def __init__(
        self,
        base_url: str = C.REST_URL,
        api_key: str = "",
        secret: str = "",
        subaccount: str = "",
        **transport: Any,
    ) -> None:
        """``transport``: the kit :class:`RestClient`'s options (``timeout``, ``retry``,
        ``session``, ``rng``, ``sleep``). FTX has one request budget for its whole API."""
        self.credentials = FtxCredentials(api_key, secret, subaccount) if api_key else None
        signer = self._sign if self.credentials else None
        limiter = RateLimiter({"ftx": C.RATE_LIMIT})
        opts = {"limiter": limiter, "budget": "ftx", "json_encoder": _body, **transport}
        super().__init__(_FtxTransport(base_url, signer=signer, **opts))

    def _sign(self, method: str, path: str, body: str) -> Mapping[str, str]:
        assert self.credentials is not None
        return self.credentials.rest_headers(method, path, body, time.time())

    async def markets(self) -> list[Json]:
        return list(await self.request("GET", C.MARKETS))

    async def orderbook(self, market: str, depth: int = 20) -> Json:
        return dict(await self.request("GET", f"{C.MARKETS}/{market}/orderbook", {"depth": depth}))

    async def balances(self) -> list[Json]:
        return list(await self.request("GET", C.BALANCES, signed=True))

    async def positions(self) -> list[Json]:
        return list(await self.request("GET", C.POSITIONS, signed=True))

    async def open_orders(self, market: str | None = None) -> list[Json]:
        return list(await self.request("GET", C.ORDERS, {"market": market}, signed=True))

    async def place_order(
        self,
        market: str,
        side: str,
        size: Decimal,
        price: Decimal | None,
        client_id: str,
        **flags: bool,
    ) -> Json:
        """``POST /orders``; ``price`` None is a market order (``"price": null``); ``flags``:
        ``reduceOnly``, ``ioc``, ``postOnly``. The transport may retry it: ``clientId`` makes
        it idempotent (a retry meeting the first attempt's order is "Duplicate client order
        ID", which the lifecycle resolves by looking the order up)."""
        body = {
            "market": market,
            "side": side,
            "price": price,
            "size": size,
            "clientId": client_id,
            "type": "market" if price is None else "limit",
            **flags,
        }
        return dict(await self.request("POST", C.ORDERS, None, body, True, retry_safe=True))

    async def cancel_by_client_id(self, client_id: str) -> None:
        path = C.BY_CLIENT_ID + quote(client_id, safe="")
        await self.request("DELETE", path, signed=True, retry_safe=True)

    async def order_by_client_id(self, client_id: str) -> Json:
        path = C.BY_CLIENT_ID + quote(client_id, safe="")
        return dict(await self.request("GET", path, signed=True))

    async def fills(
        self, market: str | None = None, order_id: str | None = None, start_s: float | None = None
    ) -> list[Json]:
        """Every fill at or after ``start_s``, newest first."""
        params = {"market": market, "orderId": order_id, "start_time": start_s, "limit": 100}
        return await self._by_time(C.FILLS, params)

    async def funding_payments(
        self, future: str | None = None, start_s: float | None = None
    ) -> list[Json]:
        """Every funding payment at or after ``start_s``, newest first."""
        return await self._by_time(C.FUNDING_PAYMENTS, {"future": future, "start_time": start_s})

    async def _by_time(self, path: str, params: Mapping[str, Any]) -> list[Json]:
        """A signed listing FTX pages by time (at most 100 rows an answer, newest first): a
        full page is followed back with ``end_time`` = its oldest time, de-duplicated by id
        (rows of that same second come again)."""
        rows = await page_all(
            lambda end_s: self.request("GET", path, {**params, "end_time": end_s}, signed=True),
            lambda page: min(map(fill_time, page)),
            limit=100,
            key=lambda r: r.get("id"),
        )
        return sorted(rows, key=fill_time, reverse=True)
