"""Bitfinex REST v2: typed methods over the kit's :class:`~tradeloop.venues.http.RestClient`
returning Bitfinex's own arrays.

Bitfinex answers refusals with HTTP 500 and ``["error", CODE, "text"]``. The kit's transport
treats every 5xx as "server error, maybe retry" before a venue can look at the body, which
would turn "not enough balance" into a retried unknown outcome; :class:`_BfxTransport`
therefore reads the body of a 500 first and raises the typed refusal (a gap in the kit: it
has no hook for venues whose refusals are 5xx). Only a 5xx without Bitfinex's error array is
"server error". Every attempt is signed with a fresh nonce.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping
from typing import Any

import aiohttp
import msgspec
from yarl import URL

from tradeloop.core.errors import AuthError, RateLimited, VenueError
from tradeloop.venues.bitfinex import constants as C
from tradeloop.venues.bitfinex.auth import BitfinexCredentials
from tradeloop.venues.http import NetworkError, RequestTimeout, RestClient, Sleep, VenueRest
from tradeloop.venues.ratelimit import RateLimiter
from tradeloop.venues.retry import DEFAULT_RETRY, RetryConfig, Rng

Row = list[Any]


def bfx_error(code: str, text: str, context: str = "") -> VenueError:
    msg = f"{context}: Bitfinex {code} {text}" if context else f"Bitfinex {code} {text}"
    if code == C.ERR_RATELIMIT:
        return RateLimited(msg, code)
    if code in (C.ERR_AUTH, C.ERR_NONCE) and "nonce" not in text:
        return AuthError(msg, code)
    return VenueError(msg, code, retryable=code in (C.ERR_NONCE, C.ERR_MAINTENANCE))


class _BfxTransport(RestClient):
    def check_response(self, method: str, path: str, status: int, payload: Any) -> None:
        if isinstance(payload, list) and payload[:1] == ["error"] and len(payload) >= 3:
            raise bfx_error(str(payload[1]), str(payload[2])[:200], f"{method} {path}")
        if status >= 400:
            raise VenueError(f"{method} {path}: HTTP {status}: {str(payload)[:120]}")

    async def _once(
        self, method: str, path: str, request_path: str, body: str, signed: bool
    ) -> Any:
        """The kit's attempt, except that a 5xx carrying Bitfinex's error array is the
        venue's refusal (typed), not a server error."""
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if signed:
            if self.signer is None:
                raise VenueError(f"{method} {path}: signed request but no credentials")
            headers.update(self.signer(method, request_path, body))
        url = URL(self.base_url + request_path, encoded=True)
        try:
            async with self.session.request(
                method, url, data=body.encode() if body else None, headers=headers
            ) as resp:
                status, raw = resp.status, await resp.read()
        except TimeoutError as exc:
            raise RequestTimeout(f"{method} {path}: no response within {self.timeout}s") from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        try:
            payload = msgspec.json.decode(raw) if raw else None
        except msgspec.DecodeError:
            payload = None
        if status == 429:
            raise RateLimited(f"{method} {path}: HTTP 429 rate limited", C.ERR_RATELIMIT)
        if isinstance(payload, list) and payload[:1] == ["error"]:
            self.check_response(method, path, status, payload)
        if status >= 500:
            raise VenueError(f"{method} {path}: HTTP {status} server error", "", True)
        if payload is None and raw:
            raise VenueError(f"{method} {path}: malformed JSON in HTTP {status}", "malformed")
        self.check_response(method, path, status, payload)
        return payload


class BitfinexRestClient(VenueRest):
    """Async Bitfinex REST; ``/v2/auth`` methods need keys. One request budget for the
    whole API (the kit's ``budget`` option)."""

    def __init__(self, base_url: str = C.REST_URL, api_key: str = "", secret: str = "", *,
                 timeout: float = 10.0, retry: RetryConfig = DEFAULT_RETRY,
                 session: aiohttp.ClientSession | None = None, rng: Rng = random.random,
                 sleep: Sleep = asyncio.sleep) -> None:  # fmt: skip
        self.credentials = BitfinexCredentials(api_key, secret) if api_key else None
        super().__init__(_BfxTransport(
            base_url, signer=self._sign if self.credentials else None, timeout=timeout,
            retry=retry, limiter=RateLimiter({"bitfinex": C.RATE_LIMIT}), budget="bitfinex",
            session=session, rng=rng, sleep=sleep,
        ))  # fmt: skip

    def _sign(self, method: str, path: str, body: str) -> Mapping[str, str]:
        assert self.credentials is not None
        return self.credentials.rest_headers(path, body)

    async def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return await self.http.request("GET", path, params)

    async def post(self, path: str, body: Mapping[str, Any] | None = None,
                   retry_safe: bool = True) -> Any:  # fmt: skip
        """An authenticated call (``{}`` when there is no body, signed as sent)."""
        text = msgspec.json.encode(body or {}).decode()
        return await self.http.request("POST", path, None, text, signed=True,
                                       retry_safe=retry_safe)  # fmt: skip

    # -- public -----------------------------------------------------------------------------
    async def conf(self, *keys: str) -> list[Any]:
        return list(await self.get("/v2/conf/" + ",".join(keys)))

    async def tickers(self) -> list[Row]:
        return list(await self.get("/v2/tickers", {"symbols": "ALL"}))

    async def book(self, symbol: str, depth: int = 25) -> list[Row]:
        return list(await self.get(f"/v2/book/{symbol}/P0", {"len": depth}))

    # -- account ----------------------------------------------------------------------------
    async def wallets(self) -> list[Row]:
        return list(await self.post("/v2/auth/r/wallets"))

    async def positions(self) -> list[Row]:
        return list(await self.post("/v2/auth/r/positions"))

    async def open_orders(self, ids: list[int] | None = None) -> list[Row]:
        return list(await self.post("/v2/auth/r/orders", {"id": ids} if ids else None))

    async def order_history(self, ids: list[int] | None = None, limit: int = 500) -> list[Row]:
        body: dict[str, Any] = {"limit": limit}
        if ids:
            body["id"] = ids
        return list(await self.post("/v2/auth/r/orders/hist", body))

    async def order_trades(self, symbol: str, order_id: str) -> list[Row]:
        return list(await self.post(f"/v2/auth/r/order/{symbol}:{order_id}/trades"))

    async def trades(self, start_ms: int | None = None, limit: int = 2500) -> list[Row]:
        body: dict[str, Any] = {"limit": limit, "sort": 1}
        if start_ms:
            body["start"] = start_ms
        return list(await self.post("/v2/auth/r/trades/hist", body))

    async def ledgers(self, currency: str, start_ms: int | None = None,
                      end_ms: int | None = None, limit: int = 2500) -> list[Row]:  # fmt: skip
        """``ledgers/{Currency}/hist``: entries newest first (Bitfinex has no sort here)."""
        body: dict[str, Any] = {"limit": limit}
        if start_ms:
            body["start"] = start_ms
        if end_ms:
            body["end"] = end_ms
        return list(await self.post(f"/v2/auth/r/ledgers/{currency}/hist", body))

    # -- orders (the REST fallback; the WebSocket is the normal path) ---------------------
    async def submit(self, order: Mapping[str, Any]) -> Row:
        """``w/order/submit`` -> the ORDER array. Not retried by the transport: a lost
        answer is resolved by the lifecycle's lookup by cid (Bitfinex does not refuse a
        repeated cid, so a blind retry could place the order twice)."""
        note = await self.post("/v2/auth/w/order/submit", order, retry_safe=False)
        return list(note[4][0])

    async def cancel(self, body: Mapping[str, Any]) -> Row:
        note = await self.post("/v2/auth/w/order/cancel", body)
        return list(note[4] or [])

    async def update(self, body: Mapping[str, Any]) -> Row:
        note = await self.post("/v2/auth/w/order/update", body, retry_safe=False)
        return list(note[4] or [])
