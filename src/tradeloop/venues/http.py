"""Shared REST client base: one pooled aiohttp session, timeouts, signing, safe retries.

Venue clients subclass :class:`RestClient` (or compose it) and provide a signer and a
``check_response`` hook that turns the venue's error envelope into typed errors. The base owns
the transport rules that must be identical everywhere:

* only *safe* requests are retried: GETs, and writes the caller marks ``retry_safe`` because
  they carry an idempotency key (an order with a client order id). A plain POST is never
  re-sent — a timeout there may mean the order exists, and a second one must not be created;
* HTTP 429 → :class:`RateLimited` (with the server's retry-after hint), 5xx / timeouts /
  connection drops → retryable :class:`VenueError`; a body that is not JSON → a clear
  non-retryable :class:`VenueError` naming the request;
* a write whose attempts failed ambiguously (see :func:`outcome_unknown`) is never reported as
  simply refused: if a later attempt is only rate limited, :class:`UnknownOutcome` is raised;
* each attempt is re-signed (timestamps are part of signatures) and pays the rate limiter
  (:meth:`RestClient.rate_limit_charges`).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

import aiohttp
import msgspec
from yarl import URL

from tradeloop.core.errors import RateLimited, VenueError
from tradeloop.core.log import get_logger
from tradeloop.venues.outcomes import (  # re-exported: callers import them from here
    NetworkError,
    NotExecuted,
    RequestTimeout,
    UnknownOutcome,
    outcome_unknown,
)
from tradeloop.venues.ratelimit import Charge, RateLimiter, parse_retry_after
from tradeloop.venues.retry import (
    DEFAULT_RETRY,
    RetryConfig,
    Rng,
    delay_with_hint,
    should_retry,
)

log = get_logger(__name__)

#: ``(method, request_path_with_query, body) -> extra headers``.
Signer = Callable[[str, str, str], Mapping[str, str]]
Sleep = Callable[[float], Awaitable[None]]

_encoder = msgspec.json.Encoder()


def encode_query(params: Mapping[str, Any] | None) -> str:
    """Query string exactly as sent *and* signed (None values dropped, bools lowercase)."""
    if not params:
        return ""
    items = []
    for k, v in params.items():
        if v is None:
            continue
        items.append((k, ("true" if v else "false") if isinstance(v, bool) else str(v)))
    return urlencode(items)


def encode_body(body: Any, encoder: msgspec.json.Encoder = _encoder) -> str:
    """Compact JSON (no spaces) — the exact text that is signed and sent (a string is taken
    as already encoded). ``encoder``: a venue's own (FTX wants decimals as JSON numbers)."""
    if body is None:
        return ""
    if isinstance(body, str):
        return body
    return encoder.encode(body).decode()


class RestClient:
    """Transport for one venue's REST API (see the module docstring for the rules)."""

    def __init__(
        self,
        base_url: str,
        *,
        signer: Signer | None = None,
        timeout: float = 10.0,
        retry: RetryConfig = DEFAULT_RETRY,
        limiter: RateLimiter | None = None,
        session: aiohttp.ClientSession | None = None,
        rng: Rng = random.random,
        sleep: Sleep = asyncio.sleep,
        max_connections: int = 32,
        budget: str = "",
        json_encoder: msgspec.json.Encoder = _encoder,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        #: one limiter group every request pays into (a venue with one budget for its whole
        #: API); "" charges each path its own bucket (see :meth:`rate_limit_charges`)
        self._one_budget = (Charge(budget),) if budget else ()
        self.signer = signer
        self.timeout = timeout
        self.retry = retry
        self.limiter = limiter
        self._session = session
        self._own_session = session is None
        self._rng = rng
        self._sleep = sleep
        self._max_connections = max_connections
        self._json = json_encoder

    # -- lifecycle ------------------------------------------------------------------------
    @property
    def session(self) -> aiohttp.ClientSession:
        """The pooled session, created on first use (it must be made inside a running loop)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                connector=aiohttp.TCPConnector(limit=self._max_connections, ttl_dns_cache=300),
            )
            self._own_session = True
        return self._session

    async def close(self) -> None:
        if self._session is not None and self._own_session and not self._session.closed:
            await self._session.close()
        self._session = None

    async def __aenter__(self) -> RestClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- hooks ----------------------------------------------------------------------------
    def rate_limit_charges(
        self, method: str, path: str, params: Mapping[str, Any] | None, body: Any
    ) -> Sequence[Charge]:
        """What one attempt of this request takes from the limiter: by default one token of
        the path's bucket, or of the single ``budget`` group when one was given. Venues
        override it for per-instrument buckets and item-counted (batch) limits."""
        return self._one_budget or (Charge(path),)

    def check_response(self, method: str, path: str, status: int, payload: Any) -> None:
        """Raise the venue's typed error for an error payload. The base only knows HTTP."""
        if status >= 400:
            raise VenueError(f"{method} {path}: HTTP {status}: {str(payload)[:200]}")

    # -- requests -------------------------------------------------------------------------
    async def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        *,
        signed: bool = False,
        retry_safe: bool | None = None,
    ) -> Any:
        """Send a request and return its decoded JSON, retrying only when safe.

        ``params`` go in the query string, ``body`` is JSON-encoded. ``retry_safe`` defaults
        to True for GET only; pass True for writes that carry an idempotency key.
        """
        method = method.upper()
        safe = method == "GET" if retry_safe is None else retry_safe
        query = encode_query(params)
        request_path = f"{path}?{query}" if query else path
        text = encode_body(body, self._json)
        charges = self.rate_limit_charges(method, path, params, body)
        attempt = 0
        in_doubt = False  # an earlier attempt of this write may have executed
        while True:
            attempt += 1
            if self.limiter is not None:
                await self.limiter.acquire_all(charges)
            try:
                return await self._once(method, path, request_path, text, signed)
            except VenueError as exc:
                if not (exc.retryable and safe and should_retry(attempt, self.retry)):
                    if in_doubt and isinstance(exc, RateLimited | NotExecuted):
                        raise UnknownOutcome(
                            f"{method} {path}: an earlier attempt may have executed; "
                            f"the last one was refused ({exc})",
                            exc.code,
                        ) from exc
                    raise
                in_doubt = in_doubt or (method != "GET" and outcome_unknown(exc))
                hint = exc.retry_after if isinstance(exc, RateLimited) else 0.0
                if hint and self.limiter is not None:
                    for c in charges:
                        self.limiter.penalize(c.group, hint, c.key)
                delay = delay_with_hint(attempt - 1, self.retry, hint, self._rng)
                log.warning(
                    "%s %s failed (%s, code=%s); retry %d in %.3fs",
                    method,
                    path,
                    exc,
                    exc.code,
                    attempt,
                    delay,
                )
                await self._sleep(delay)

    async def _once(
        self, method: str, path: str, request_path: str, body: str, signed: bool
    ) -> Any:
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
                status = resp.status
                raw = await resp.read()
                resp_headers = resp.headers
        except TimeoutError as exc:
            raise RequestTimeout(f"{method} {path}: no response within {self.timeout}s") from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        payload: Any = None
        decode_error: str = ""
        try:
            payload = msgspec.json.decode(raw) if raw else None
        except msgspec.DecodeError as exc:
            decode_error = str(exc)
        if status == 429:
            hint = parse_retry_after(resp_headers)
            code = payload.get("code", "") if isinstance(payload, dict) else ""
            raise RateLimited(f"{method} {path}: HTTP 429 rate limited", str(code), hint)
        if status >= 500:
            raise self.server_error(method, path, status, payload)
        if decode_error:
            snippet = raw[:120].decode(errors="replace")
            raise VenueError(
                f"{method} {path}: malformed JSON in HTTP {status} response "
                f"({decode_error}): {snippet!r}",
                code="malformed",
            )
        self.check_response(method, path, status, payload)
        return payload

    def server_error(self, method: str, path: str, status: int, payload: Any) -> VenueError:
        """The error for a 5xx answer: retryable, and for a write in doubt -- unless a venue
        that says in its answer that the request did not run overrides this with a
        :class:`NotExecuted`."""
        code = payload.get("code", "") if isinstance(payload, dict) else ""
        return VenueError(f"{method} {path}: HTTP {status} server error", str(code), True)


class VenueRest:
    """A venue's typed REST methods over one kit :class:`RestClient` (``http``): what every
    venue client repeated -- ``close``, ``base_url``, and :meth:`request` answering with the
    part of the venue's envelope that holds the answer (:attr:`result_key`; None: all of it).
    A subclass builds its transport, passes it here and adds one method per endpoint."""

    #: the envelope field holding a successful answer (FTX ``result``); None: the payload
    result_key: str | None = None

    def __init__(self, http: RestClient) -> None:
        self.http = http
        self.base_url = http.base_url

    async def close(self) -> None:
        await self.http.close()

    async def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        body: Any = None,
        signed: bool = False,
        retry_safe: bool | None = None,
    ) -> Any:
        """Any endpoint (passthroughs too); ``params`` with None values are left out."""
        payload = await self.http.request(
            method, path, params, body, signed=signed, retry_safe=retry_safe
        )
        key = self.result_key
        return payload if key is None else payload.get(key)
