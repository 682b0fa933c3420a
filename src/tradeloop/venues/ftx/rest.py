"""FTX REST client: thin typed methods over :class:`tradeloop.venues.http.RestClient` that
return FTX's own JSON (the envelope's ``result``).

What this layer adds to the kit's transport: the ``{"success", "result" | "error"}`` envelope
as typed errors (the error text becomes ``VenueError.code``: FTX has no numeric codes), FTX's
signing, and one client-side budget for the whole API. Order bodies are written here with
exact decimal numbers (``Instrument.format_*`` text as JSON numbers), so what is signed is what
is sent and no float noise reaches the wire.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import aiohttp
import msgspec

from tradeloop.core.errors import AuthError, RateLimited, VenueError
from tradeloop.venues.ftx import constants as C
from tradeloop.venues.ftx.auth import FtxCredentials
from tradeloop.venues.http import RestClient, Sleep
from tradeloop.venues.ratelimit import Charge, RateLimiter
from tradeloop.venues.retry import DEFAULT_RETRY, RetryConfig, Rng

Json = dict[str, Any]
#: Decimals as JSON numbers (``0.0001``, never ``1e-04`` or ``"0.0001"``).
_body = msgspec.json.Encoder(decimal_format="number")


def ftx_error(text: str, status: int, context: str = "") -> VenueError:
    """An FTX error answer as the typed error the rest of tradeloop understands."""
    msg = f"{context}: FTX {status} {text}" if context else f"FTX {status} {text}"
    if status == 429 or text == C.TOO_MANY:
        return RateLimited(msg, C.TOO_MANY)
    if status == 401 or text.startswith("Not logged in"):
        return AuthError(msg, text)
    return VenueError(msg, text, retryable=status >= 500 or text == C.RETRY)


class _FtxTransport(RestClient):
    """The kit's transport with FTX's envelope and its single request budget."""

    def rate_limit_charges(
        self, method: str, path: str, params: Mapping[str, Any] | None, body: Any
    ) -> Sequence[Charge]:
        return (Charge(C.RATE_GROUP),)

    def check_response(self, method: str, path: str, status: int, payload: Any) -> None:
        if isinstance(payload, dict) and payload.get("success") is True:
            return
        ctx = f"{method} {path}"
        if isinstance(payload, dict) and "error" in payload:
            raise ftx_error(str(payload["error"])[:200], status, ctx)
        raise VenueError(f"{ctx}: HTTP {status}: not an FTX envelope: {str(payload)[:120]!r}")


class FtxRestClient:
    """Async FTX REST. Public methods work without keys; private ones need them. Errors raise
    :class:`VenueError` / :class:`AuthError` / :class:`RateLimited` with FTX's text in
    ``.code``."""

    def __init__(
        self,
        base_url: str = C.REST_URL,
        api_key: str = "",
        secret: str = "",
        subaccount: str = "",
        *,
        timeout: float = 10.0,
        retry: RetryConfig = DEFAULT_RETRY,
        session: aiohttp.ClientSession | None = None,
        rng: Rng = random.random,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.credentials = FtxCredentials(api_key, secret, subaccount) if api_key else None
        self.http = _FtxTransport(
            base_url,
            signer=self._sign if self.credentials else None,
            timeout=timeout,
            retry=retry,
            limiter=RateLimiter({C.RATE_GROUP: C.RATE_LIMIT}),
            session=session,
            rng=rng,
            sleep=sleep,
        )

    @property
    def base_url(self) -> str:
        return self.http.base_url

    def _sign(self, method: str, path: str, body: str) -> Mapping[str, str]:
        assert self.credentials is not None
        return self.credentials.rest_headers(method, path, body, time.time())

    async def close(self) -> None:
        await self.http.close()

    async def __aenter__(self) -> FtxRestClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        signed: bool = False,
        *,
        retry_safe: bool | None = None,
    ) -> Any:
        """Any FTX endpoint; returns ``result`` (also for passthroughs such as the FMZ
        bridge)."""
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        text = body if body is None or isinstance(body, str) else _body.encode(body).decode()
        env = await self.http.request(
            method, path, clean, text, signed=signed, retry_safe=retry_safe
        )
        return env.get("result")

    # -- public ----------------------------------------------------------------------------
    async def markets(self) -> list[Json]:
        return list(await self.request("GET", C.MARKETS))

    async def orderbook(self, market: str, depth: int = 20) -> Json:
        return dict(await self.request("GET", f"{C.MARKETS}/{market}/orderbook", {"depth": depth}))

    # -- account ---------------------------------------------------------------------------
    async def balances(self) -> list[Json]:
        return list(await self.request("GET", C.BALANCES, signed=True))

    async def positions(self) -> list[Json]:
        return list(await self.request("GET", C.POSITIONS, signed=True))

    # -- orders ----------------------------------------------------------------------------
    async def place_order(
        self,
        market: str,
        side: str,
        size: Decimal,
        price: Decimal | None,
        client_id: str,
        *,
        reduce_only: bool = False,
        ioc: bool = False,
        post_only: bool = False,
    ) -> Json:
        """``POST /orders``; ``price`` None is a market order (sent as ``"price": null``).
        Retried by the transport because ``clientId`` makes it idempotent: a retry that meets
        the first attempt's order is answered "Duplicate client order ID"."""
        body = {
            "market": market,
            "side": side,
            "price": price,
            "type": "market" if price is None else "limit",
            "size": size,
            "reduceOnly": reduce_only,
            "ioc": ioc,
            "postOnly": post_only,
            "clientId": client_id,
        }
        return dict(await self.request("POST", C.ORDERS, body=body, signed=True, retry_safe=True))

    async def cancel_by_client_id(self, client_id: str) -> Any:
        path = C.BY_CLIENT_ID + quote(client_id, safe="")
        return await self.request("DELETE", path, signed=True, retry_safe=True)

    async def order_by_client_id(self, client_id: str) -> Json:
        path = C.BY_CLIENT_ID + quote(client_id, safe="")
        return dict(await self.request("GET", path, signed=True))

    async def open_orders(self, market: str | None = None) -> list[Json]:
        return list(await self.request("GET", C.ORDERS, {"market": market}, signed=True))

    async def fills(
        self,
        market: str | None = None,
        order_id: str | None = None,
        start_s: float | None = None,
        end_s: float | None = None,
        limit: int | None = None,
    ) -> list[Json]:
        """One page of our fills (FTX pages by time: ``start_time`` / ``end_time``, seconds)."""
        params = {"market": market, "orderId": order_id, "start_time": start_s,
                  "end_time": end_s, "limit": limit}  # fmt: skip
        return list(await self.request("GET", C.FILLS, params, signed=True))

    async def all_fills(
        self,
        market: str | None = None,
        order_id: str | None = None,
        start_s: float | None = None,
        page: int = 100,
    ) -> list[Json]:
        """Every fill at or after ``start_s`` (newest first, as FTX pages them): full pages
        are followed back in time by ``end_time`` = the oldest time seen, de-duplicated by
        fill id (fills sharing that second come again)."""
        rows: dict[Any, Json] = {}
        end: float | None = None
        while True:
            batch = await self.fills(market, order_id, start_s, end, page)
            fresh = [r for r in batch if r.get("id") not in rows]
            rows.update((r.get("id"), r) for r in fresh)
            if len(batch) < page or not fresh:
                return sorted(rows.values(), key=fill_time, reverse=True)
            end = min(fill_time(r) for r in batch)


def fill_time(row: Json) -> float:
    """A fill's ``time`` (ISO 8601) as Unix seconds; 0 when absent."""
    raw = row.get("time")
    return datetime.fromisoformat(raw).timestamp() if isinstance(raw, str) else 0.0
