"""BitMEX REST client: thin typed methods over :class:`tradeloop.venues.http.RestClient` that
return BitMEX's own JSON.

What this layer adds to the kit's transport: the ``{"error": {"message", "name"}}`` envelope
as typed errors (the message becomes ``VenueError.code``: BitMEX has no numeric codes; 401 is
an :class:`AuthError`, 429 :class:`RateLimited` with ``Retry-After``, 503 "overloaded" a
retryable error that provably did not run), ``api-expires`` signing, the client-side budget
(120/min, 10/s on order routes) and tracking of BitMEX's ``x-ratelimit-*`` answer headers
(:attr:`BitmexRestClient.ratelimit`), read through an aiohttp trace hook so the kit's
transport stays untouched; when BitMEX says the budget is spent the client holds its requests
for a token rather than earn a 429. Order bodies are written here with exact decimal numbers
(``Instrument.format_*`` text as JSON numbers), so what is signed is what is sent.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import aiohttp
import msgspec

from tradeloop.core.errors import AuthError, RateLimited, VenueError
from tradeloop.core.log import get_logger
from tradeloop.venues.bitmex import constants as C
from tradeloop.venues.bitmex.auth import BitmexCredentials
from tradeloop.venues.http import NotExecuted, RestClient, Sleep, VenueRest
from tradeloop.venues.paging import page_all
from tradeloop.venues.ratelimit import Charge, RateLimiter
from tradeloop.venues.retry import DEFAULT_RETRY, RetryConfig, Rng

log = get_logger(__name__)

Json = dict[str, Any]
_body = msgspec.json.Encoder(decimal_format="number")
_ORDER_PATHS = frozenset({C.ORDER, C.ORDER_ALL, C.LEVERAGE, C.API + "/position/isolate"})


def bitmex_error(message: str, status: int, context: str = "") -> VenueError:
    """A BitMEX error answer as the typed error the rest of tradeloop understands."""
    msg = f"{context}: BitMEX {status} {message}" if context else f"BitMEX {status} {message}"
    if status == 429:
        return RateLimited(msg, message)
    if status == 401:
        return AuthError(msg, message)
    return VenueError(msg, message, retryable=status >= 500)


class _Transport(RestClient):
    """The kit's transport with BitMEX's envelope, budget and rate-limit header tracking."""

    ratelimit: dict[str, int]

    def rate_limit_charges(
        self, method: str, path: str, params: Mapping[str, Any] | None, body: Any
    ) -> Sequence[Charge]:
        if method != "GET" and path in _ORDER_PATHS:
            return (Charge(C.RATE_GROUP), Charge(C.ORDER_GROUP))
        return (Charge(C.RATE_GROUP),)

    def check_response(self, method: str, path: str, status: int, payload: Any) -> None:
        if status < 400:
            return
        ctx = f"{method} {path}"
        err = payload.get("error") if isinstance(payload, dict) else None
        if isinstance(err, dict):
            raise bitmex_error(str(err.get("message", ""))[:200], status, ctx)
        raise VenueError(f"{ctx}: HTTP {status}: {str(payload)[:120]!r}")

    def server_error(self, method: str, path: str, status: int, payload: Any) -> VenueError:
        """BitMEX's 503 "system is currently overloaded" is a refusal on arrival: the request
        did not run, so a write that ends on it is not in doubt (no lookup, a plain retryable
        refusal). Any other 5xx keeps the kit's meaning: it may have run."""
        err = payload.get("error") if isinstance(payload, dict) else None
        message = str(err.get("message", ""))[:200] if isinstance(err, dict) else ""
        if status == 503 and message.startswith(C.OVERLOADED):
            return NotExecuted(f"{method} {path}: BitMEX {status} {message}", message)
        if message:
            return bitmex_error(message, status, f"{method} {path}")
        return super().server_error(method, path, status, payload)

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            trace = aiohttp.TraceConfig()
            trace.on_request_end.append(self._on_end)
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                connector=aiohttp.TCPConnector(limit=self._max_connections),
                trace_configs=[trace],
            )
            self._own_session = True
        return self._session

    async def _on_end(self, session: Any, ctx: SimpleNamespace, params: Any) -> None:
        h = params.response.headers
        for name in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"):
            value = h.get(name)
            if value is not None and value.isdigit():
                self.ratelimit[name.removeprefix("x-ratelimit-")] = int(value)
        self._pace()

    def _pace(self) -> None:
        """BitMEX said its budget for this key is spent (``x-ratelimit-remaining: 0``; the key
        may be shared with another program, so our own count can be behind): hold every
        request until one token is back -- the time to refill the whole budget by
        ``x-ratelimit-reset``, over its size -- instead of earning a 429."""
        rl = self.ratelimit
        if rl.get("remaining") != 0 or "reset" not in rl or self.limiter is None:
            return
        wait = max(rl["reset"] - time.time(), 0.0) / max(rl.get("limit", 1), 1)
        if wait > 0:
            log.info("BitMEX: request budget spent (x-ratelimit-remaining 0); holding "
                     "requests %.2fs", wait)  # fmt: skip
            self.limiter.penalize(C.RATE_GROUP, wait)


class BitmexRestClient(VenueRest):
    """Async BitMEX REST. Public methods work without keys; private ones need them.
    :meth:`request` reaches any endpoint (passthroughs such as the FMZ bridge use it too)."""

    http: _Transport

    def __init__(
        self,
        base_url: str = C.REST_URL,
        api_key: str = "",
        secret: str = "",
        *,
        timeout: float = 10.0,
        retry: RetryConfig = DEFAULT_RETRY,
        rng: Rng = random.random,
        sleep: Sleep = asyncio.sleep,
        session: aiohttp.ClientSession | None = None,
        rate_limits: bool = True,
    ) -> None:
        """``session``: a shared HTTP pool (the FMZ bridge's), not closed here; answer headers
        are tracked only on the client's own session. ``rate_limits=False`` drops the
        client-side budget (an emulator)."""
        self.credentials = BitmexCredentials(api_key, secret) if api_key else None
        budget = {C.RATE_GROUP: C.RATE_LIMIT, C.ORDER_GROUP: C.ORDER_RATE_LIMIT}
        http = _Transport(
            base_url,
            signer=self._sign if self.credentials else None,
            timeout=timeout,
            retry=retry,
            limiter=RateLimiter(budget) if rate_limits else None,
            rng=rng,
            sleep=sleep,
            session=session,
            json_encoder=_body,
        )
        http.ratelimit = {}
        super().__init__(http)

    @property
    def ratelimit(self) -> dict[str, int]:
        """The last ``x-ratelimit-limit`` / ``-remaining`` / ``-reset`` BitMEX sent."""
        return self.http.ratelimit

    def _sign(self, method: str, path: str, body: str) -> Mapping[str, str]:
        assert self.credentials is not None
        return self.credentials.rest_headers(method, path, body, time.time())

    def _signed(self) -> bool:
        return self.credentials is not None

    # -- public ----------------------------------------------------------------------------
    async def instruments(self) -> list[Json]:
        return list(await self.request("GET", C.INSTRUMENT_ACTIVE, signed=self._signed()))

    async def order_book(self, symbol: str, depth: int = 25) -> list[Json]:
        params = {"symbol": symbol, "depth": depth}
        return list(await self.request("GET", C.ORDER_BOOK, params, signed=self._signed()))

    # -- account ---------------------------------------------------------------------------
    async def margins(self) -> list[Json]:
        return list(await self.request("GET", C.MARGIN, {"currency": "all"}, signed=True))

    async def positions(self) -> list[Json]:
        return list(await self.request("GET", C.POSITION, signed=True))

    async def set_leverage(self, symbol: str, leverage: Decimal) -> Json:
        body = {"symbol": symbol, "leverage": leverage}
        return dict(await self.request("POST", C.LEVERAGE, body=body, signed=True))

    # -- orders ----------------------------------------------------------------------------
    async def place_order(self, fields: Json) -> Json:
        """``POST /order``. Retried by the transport because ``clOrdID`` makes it idempotent:
        a retry that meets the first attempt's order is answered "Duplicate clOrdID"."""
        return dict(await self.request("POST", C.ORDER, body=fields, signed=True, retry_safe=True))

    async def amend_order(self, fields: Json) -> Json:
        return dict(await self.request("PUT", C.ORDER, body=fields, signed=True, retry_safe=True))

    async def cancel_order(self, cl_ord_id: str) -> list[Json]:
        body = {"clOrdID": cl_ord_id}
        return list(await self.request("DELETE", C.ORDER, body=body, signed=True, retry_safe=True))

    async def cancel_all_after(self, timeout_ms: int) -> Json:
        body = {"timeout": timeout_ms}
        res = await self.request("POST", C.CANCEL_ALL_AFTER, body=body, signed=True,
                                 retry_safe=True)  # fmt: skip
        return dict(res or {})

    async def orders(self, flt: Json | None = None, symbol: str | None = None,
                     count: int = C.PAGE, start: int = 0) -> list[Json]:  # fmt: skip
        params = {"symbol": symbol, "count": count, "start": start or None, "reverse": True,
                  "filter": json.dumps(flt, separators=(",", ":")) if flt else None}  # fmt: skip
        return list(await self.request("GET", C.ORDER, params, signed=True))

    async def executions(self, flt: Json | None = None, start_time: str | None = None,
                         count: int = C.PAGE, start: int = 0) -> list[Json]:  # fmt: skip
        """One page of ``execution/tradeHistory`` (oldest first)."""
        params = {"count": count, "start": start or None, "startTime": start_time,
                  "filter": json.dumps(flt, separators=(",", ":")) if flt else None}  # fmt: skip
        return list(await self.request("GET", C.TRADE_HISTORY, params, signed=True))

    async def all_executions(self, flt: Json | None = None,
                             start_time: str | None = None) -> list[Json]:  # fmt: skip
        """Every execution row matching, oldest first, following ``start`` pages."""
        offset = 0

        def after(page: Sequence[Json]) -> int:
            nonlocal offset
            offset += len(page)
            return offset

        return await page_all(lambda start: self.executions(flt, start_time, C.PAGE, start or 0),
                              after, limit=C.PAGE)  # fmt: skip
