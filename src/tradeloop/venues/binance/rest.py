"""Binance spot REST client on the shared transport (:class:`tradeloop.venues.http.RestClient`).

What is Binance's here:

* **signing per attempt**: ``recvWindow``, ``timestamp`` (local clock + the measured offset to
  the server) and ``signature`` are appended to the query at send time, so a retry is signed
  afresh; ``X-MBX-APIKEY`` goes in a header;
* **clock offset**: :meth:`sync_time` measures it from ``/api/v3/time`` (half the round trip
  counted); a ``-1021`` refusal (the request was refused, not executed) re-measures it and
  sends the request once more;
* **weights**: each request pays its documented weight to a :class:`WeightGate` before it
  goes, and every answer's ``X-MBX-USED-WEIGHT-1M`` corrects the gate's count (other
  processes on the same IP count too); HTTP 429 and 418 become :class:`RateLimited` carrying
  ``Retry-After``, and the gate stays shut that long -- a client that kept knocking after a
  429 would be banned.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
import msgspec
from yarl import URL

from tradeloop.core.errors import AuthError, RateLimited, VenueError
from tradeloop.core.log import get_logger
from tradeloop.venues.binance import constants as C
from tradeloop.venues.binance.auth import Credentials
from tradeloop.venues.http import NetworkError, RequestTimeout, RestClient
from tradeloop.venues.ratelimit import parse_retry_after

log = get_logger(__name__)


def _describe(exc: aiohttp.ClientError, query: str) -> str:
    """One line about a transport error, the signed query never in it."""
    if isinstance(exc, aiohttp.ClientResponseError):
        text = f"{exc.status}, {exc.message}"
    else:
        text = str(exc)
    if query:
        text = text.replace(query, "<query>")
    text = _SIGNED.sub("?<query>", text)
    return " ".join(text.split())


#: a query carrying a signature, wherever an error message quotes one
_SIGNED = re.compile(r"\?[^\s'\"]*signature=[^\s'\"]*")


class WeightGate:
    """The client's view of its IP's request weight this minute (module docstring)."""

    def __init__(
        self,
        limit: int = C.WEIGHT_LIMIT,
        margin: float = C.WEIGHT_MARGIN,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.limit = limit
        self.budget = int(limit * margin)
        self.clock = clock
        self.used = 0
        self._minute = 0
        self.blocked_until = 0.0

    def _roll(self, now: float) -> None:
        minute = int(now // 60)
        if minute != self._minute:
            self._minute, self.used = minute, 0

    def wait_time(self, weight: int) -> float:
        now = self.clock()
        self._roll(now)
        if self.blocked_until > now:
            return self.blocked_until - now
        if self.used + weight > self.budget and self.used > 0:
            return (self._minute + 1) * 60 - now
        return 0.0

    async def acquire(self, weight: int) -> None:
        while (wait := self.wait_time(weight)) > 0:
            log.warning("Binance weight %d/%d used; waiting %.1fs", self.used, self.limit, wait)
            await asyncio.sleep(min(wait, 60.0))
        self.used += weight

    def observe(self, used_header: str | None) -> None:
        if used_header and used_header.isdigit():
            self._roll(self.clock())
            self.used = int(used_header)  # the venue's count is the truth

    def block(self, seconds: float) -> None:
        self.blocked_until = max(self.blocked_until, self.clock() + seconds)


class BinanceRestClient(RestClient):
    """``/api/v3`` requests with Binance signing, weights and clock offset."""

    def __init__(
        self,
        base_url: str = C.REST_URL,
        credentials: Credentials | None = None,
        *,
        recv_window: int = C.DEFAULT_RECV_WINDOW,
        gate: WeightGate | None = None,
        time_path: str = "/api/v3/time",
        **kw: Any,
    ) -> None:
        super().__init__(base_url, **kw)
        self.credentials = credentials
        self.recv_window = recv_window
        self.gate = gate or WeightGate()
        self.offset_ms = 0
        #: ``/fapi/v1/time`` for the USD-M futures host
        self.time_path = time_path

    def now_ms(self) -> int:
        return int(time.time() * 1000) + self.offset_ms

    async def sync_time(self) -> int:
        t0 = time.time()
        res = await self.request("GET", self.time_path)
        t1 = time.time()
        self.offset_ms = int(res["serverTime"] - (t0 + t1) * 500)
        return self.offset_ms

    async def call(
        self, method: str, path: str, params: Mapping[str, Any] | None = None,
        signed: bool = False, retry_safe: bool | None = None,
    ) -> Any:  # fmt: skip
        """A request; a -1021 (refused: clock off) re-syncs the clock and tries once more."""
        try:
            return await self.request(method, path, params, signed=signed, retry_safe=retry_safe)
        except VenueError as exc:
            if exc.code != C.INVALID_TIMESTAMP:
                raise
            log.warning("Binance -1021 on %s %s: re-syncing the clock", method, path)
            await self.sync_time()
            return await self.request(method, path, params, signed=signed, retry_safe=retry_safe)

    def _weight(self, method: str, path: str, query: str) -> int:
        if path in ("/api/v3/depth", "/fapi/v1/depth"):
            weight = C.depth_weight if path[1] == "a" else C.futures_depth_weight
            for part in query.split("&"):
                if part.startswith("limit=") and part[6:].isdigit():
                    return weight(int(part[6:]))
            return weight(100 if path[1] == "a" else 500)
        if path.endswith("/openOrders") and method == "GET" and "symbol=" not in query:
            return 80 if path[1] == "a" else 40
        return C.WEIGHTS.get((method, path), 1)

    async def _once(
        self, method: str, path: str, request_path: str, body: str, signed: bool
    ) -> Any:
        query = request_path.partition("?")[2]
        headers = {"Accept": "application/json"}
        await self.gate.acquire(self._weight(method, path, query))
        if signed or path in C.KEY_ONLY:
            if self.credentials is None:
                raise AuthError(f"{method} {path}: signed request but no credentials")
            if signed:
                query = self.credentials.signed_query(query, self.now_ms(), self.recv_window)
            headers["X-MBX-APIKEY"] = self.credentials.api_key
        url = URL(self.base_url + path + (f"?{query}" if query else ""), encoded=True)
        try:
            async with self.session.request(method, url, headers=headers) as resp:
                status, raw, h = resp.status, await resp.read(), resp.headers
        except TimeoutError as exc:
            raise RequestTimeout(f"{method} {path}: no response within {self.timeout}s") from exc
        except aiohttp.ClientError as exc:
            # aiohttp quotes the whole URL (signature, timestamp) and the server's bytes
            # over several lines: the error says what failed in one line, without them
            why = f"{method} {path}: {type(exc).__name__}: {_describe(exc, query)}"
            raise NetworkError(why) from None
        self.gate.observe(h.get("X-MBX-USED-WEIGHT-1M"))
        try:
            payload = msgspec.json.decode(raw) if raw else None
        except msgspec.DecodeError:
            payload = None
            if status < 500:
                why = f"{method} {path}: malformed JSON (HTTP {status})"
                raise VenueError(why, "malformed") from None
        code = str(payload.get("code", "")) if isinstance(payload, dict) else ""
        msg = str(payload.get("msg", "")) if isinstance(payload, dict) else ""
        if status in (418, 429):
            hint = parse_retry_after(h) or (120.0 if status == 418 else 1.0)
            self.gate.block(hint)
            raise RateLimited(f"{method} {path}: HTTP {status} {msg}", code, hint)
        if status >= 500:
            raise VenueError(f"{method} {path}: HTTP {status} {msg}", code, True)
        if status >= 400 or (code.startswith("-") and "msg" in (payload or {})):
            err_cls = (
                AuthError
                if code in (C.BAD_API_KEY, C.REJECTED_KEY, C.INVALID_SIGNATURE)
                else VenueError
            )
            raise err_cls(f"{method} {path}: {code} {msg}", code, code == C.TIMEOUT)
        return payload
