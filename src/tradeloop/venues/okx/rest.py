"""OKX v5 REST client (spec §2.1–2.4).

Thin, typed methods over :class:`tradeloop.venues.http.RestClient` that return OKX's own JSON
(``data`` of the envelope) — :mod:`tradeloop.venues.okx.parse` turns it into model objects, and
the FMZ bridge can pass it through. What this layer adds:

* the OKX envelope → typed errors (``code``/``msg``, per-item ``sCode``/``sMsg``);
* signing with a clock corrected by the measured server offset;
* client-side throttling the way OKX counts (per instrument, per order in a batch), through a
  limiter the private WebSocket shares for order entry (:attr:`OkxRestClient.limiter`);
* idempotent order placement: every order carries a ``clOrdId`` (generated when absent), so a
  retry after a timeout or 429 can never create a second order; a ``51016`` duplicate answer
  means an earlier attempt landed and is resolved by looking the order up by ``clOrdId``. When
  that cannot be settled (the lookup fails too), :class:`UnknownOutcome` is raised — never
  the duplicate error itself, which a caller could mistake for a rejected order.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp

from tradeloop.core.errors import AuthError, RateLimited, VenueError
from tradeloop.core.log import get_logger
from tradeloop.venues.http import RestClient, Sleep, UnknownOutcome, outcome_unknown
from tradeloop.venues.okx import constants as C
from tradeloop.venues.okx.auth import OkxCredentials
from tradeloop.venues.okx.limits import rest_charges
from tradeloop.venues.ratelimit import Charge, RateLimiter
from tradeloop.venues.retry import DEFAULT_RETRY, RetryConfig, Rng

log = get_logger(__name__)

JsonDict = dict[str, Any]
_CLORDID_RE = re.compile(r"^[A-Za-z0-9]{1,32}$")


def new_client_order_id(prefix: str = "tl") -> str:
    """A fresh OKX-valid clOrdId (alphanumeric, 32 chars)."""
    return (prefix + uuid.uuid4().hex)[:32]


def is_valid_client_order_id(value: str) -> bool:
    return bool(_CLORDID_RE.match(value))


def okx_error(code: str, msg: str, context: str = "") -> VenueError:
    """Map an OKX error code to the typed error the rest of tradeloop understands."""
    text = f"{context}: OKX {code} {msg}".strip(": ") if context else f"OKX {code} {msg}"
    if code in C.RATE_LIMIT_CODES:
        return RateLimited(text, code)
    if code in C.AUTH_CODES:
        return AuthError(text, code)
    return VenueError(text, code, retryable=code in C.RETRYABLE_CODES)


def _first_failure(data: Any) -> tuple[str, str] | None:
    if isinstance(data, list):
        for item in data:
            if isinstance(item, dict) and str(item.get("sCode", "0")) not in ("", "0"):
                return str(item["sCode"]), str(item.get("sMsg", ""))
    return None


class _OkxTransport(RestClient):
    """RestClient with OKX's envelope checks and OKX's way of counting requests
    (:mod:`tradeloop.venues.okx.limits`)."""

    def rate_limit_charges(
        self, method: str, path: str, params: Mapping[str, Any] | None, body: Any
    ) -> Sequence[Charge]:
        return rest_charges(method, path, params, body)

    def check_response(self, method: str, path: str, status: int, payload: Any) -> None:
        ctx = f"{method} {path}"
        if not isinstance(payload, dict) or "code" not in payload:
            if status >= 400:
                raise VenueError(f"{ctx}: HTTP {status}", str(status))
            raise VenueError(f"{ctx}: response is not an OKX envelope: {str(payload)[:120]!r}")
        code = str(payload.get("code"))
        if code in (C.OK, C.PARTIAL_SUCCESS):
            return
        # "code and msg represent the request result ... unless data has sCode" (spec §2.2).
        failure = _first_failure(payload.get("data"))
        if failure is not None:
            raise okx_error(failure[0], failure[1], ctx)
        raise okx_error(code, str(payload.get("msg", "")), ctx)


class OkxRestClient:
    """Async OKX v5 REST client. Public methods work without keys; private ones need them.

    Methods return the envelope's ``data`` (OKX JSON, numbers as strings). Errors raise
    :class:`VenueError` / :class:`AuthError` / :class:`RateLimited` with the OKX code in
    ``.code``.
    """

    def __init__(
        self,
        base_url: str = C.REST_URL,
        api_key: str = "",
        secret: str = "",
        passphrase: str = "",
        simulated: bool = False,
        *,
        timeout: float = 10.0,
        retry: RetryConfig = DEFAULT_RETRY,
        limiter: RateLimiter | None = None,
        session: aiohttp.ClientSession | None = None,
        rng: Rng = random.random,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.credentials = (
            OkxCredentials(api_key, secret, passphrase, simulated) if api_key else None
        )
        self.simulated = simulated
        #: Server time minus local time, seconds (see :meth:`sync_time`).
        self.clock_offset = 0.0
        self.http = _OkxTransport(
            base_url,
            signer=self._sign if self.credentials else None,
            timeout=timeout,
            retry=retry,
            limiter=limiter or RateLimiter(C.RATE_LIMITS, C.DEFAULT_LIMIT),
            session=session,
            rng=rng,
            sleep=sleep,
        )

    @property
    def base_url(self) -> str:
        return self.http.base_url

    @property
    def limiter(self) -> RateLimiter | None:
        """The limiter REST requests pay; WS order entry must pay the same one (OKX shares
        the limits between the two)."""
        return self.http.limiter

    def now(self) -> float:
        """Local Unix time corrected to the server's clock."""
        return time.time() + self.clock_offset

    def _sign(self, method: str, request_path: str, body: str) -> Mapping[str, str]:
        assert self.credentials is not None
        return self.credentials.rest_headers(method, request_path, body, self.now())

    async def close(self) -> None:
        await self.http.close()

    async def __aenter__(self) -> OkxRestClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- generic ---------------------------------------------------------------------------
    async def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | list[Any] | None = None,
        signed: bool = False,
        *,
        retry_safe: bool | None = None,
    ) -> Any:
        """Any OKX endpoint: GET params go in the query, other methods send them as the JSON
        body. Returns ``data``. Used for passthroughs (FMZ bridge) and by every method here.

        A signed request refused for clock skew (50102, "timestamp expired") re-measures the
        server offset and is sent once more: the request never executed, so this is safe."""
        method = method.upper()
        if method == "GET" and isinstance(params, list):
            raise VenueError("GET params must be a mapping")
        try:
            env = await self._send(method, path, params, signed, retry_safe)
        except AuthError as exc:
            if exc.code != C.TIMESTAMP_EXPIRED or not signed:
                raise
            log.warning("OKX refused our timestamp (%s); re-syncing the clock", exc.code)
            await self.sync_time()
            env = await self._send(method, path, params, signed, retry_safe)
        return env.get("data", []) if isinstance(env, dict) else env

    async def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | list[Any] | None,
        signed: bool,
        retry_safe: bool | None,
    ) -> Any:
        if method == "GET":
            query = params if not isinstance(params, list) else None
            return await self.http.request(
                method, path, params=query, signed=signed, retry_safe=retry_safe
            )
        body = params if params is not None else {}
        return await self.http.request(
            method, path, body=body, signed=signed, retry_safe=retry_safe
        )

    async def _get(
        self, path: str, params: Mapping[str, Any] | None = None, signed: bool = False
    ) -> list[Any]:
        data = await self.request("GET", path, _clean(params), signed)
        return data if isinstance(data, list) else [data]

    async def _one(
        self, path: str, params: Mapping[str, Any] | None = None, signed: bool = False
    ) -> JsonDict:
        data = await self._get(path, params, signed)
        if not data:
            raise VenueError(
                f"GET {path}: empty data", C.ORDER_NOT_FOUND if "trade" in path else ""
            )
        item = data[0]
        return item if isinstance(item, dict) else {"value": item}

    # -- public ----------------------------------------------------------------------------
    async def server_time(self) -> int:
        """Server time in ms."""
        return int((await self._one(C.TIME))["ts"])

    async def sync_time(self) -> float:
        """Measure and store the server clock offset (seconds, NTP-style midpoint)."""
        t0 = time.time()
        server_ms = await self.server_time()
        t1 = time.time()
        self.clock_offset = server_ms / 1000.0 - (t0 + t1) / 2.0
        log.info("OKX clock offset %.3fs (rtt %.3fs)", self.clock_offset, t1 - t0)
        return self.clock_offset

    async def instruments(
        self, inst_type: str, inst_id: str | None = None, inst_family: str | None = None
    ) -> list[JsonDict]:
        return await self._get(
            C.INSTRUMENTS, {"instType": inst_type, "instId": inst_id, "instFamily": inst_family}
        )

    async def ticker(self, inst_id: str) -> JsonDict:
        return await self._one(C.TICKER, {"instId": inst_id})

    async def tickers(self, inst_type: str) -> list[JsonDict]:
        return await self._get(C.TICKERS, {"instType": inst_type})

    async def books(self, inst_id: str, sz: int | None = None) -> JsonDict:
        return await self._one(C.BOOKS, {"instId": inst_id, "sz": sz})

    async def trades(self, inst_id: str, limit: int | None = None) -> list[JsonDict]:
        return await self._get(C.TRADES, {"instId": inst_id, "limit": limit})

    async def candles(
        self,
        inst_id: str,
        bar: str = "1m",
        after: int | None = None,
        before: int | None = None,
        limit: int | None = None,
    ) -> list[list[str]]:
        """Rows ``[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]``, newest first."""
        params = {"instId": inst_id, "bar": bar, "after": after, "before": before, "limit": limit}
        return await self._get(C.CANDLES, params)

    async def history_candles(
        self,
        inst_id: str,
        bar: str = "1m",
        after: int | None = None,
        before: int | None = None,
        limit: int | None = None,
    ) -> list[list[str]]:
        params = {"instId": inst_id, "bar": bar, "after": after, "before": before, "limit": limit}
        return await self._get(C.HISTORY_CANDLES, params)

    async def funding_rate(self, inst_id: str) -> JsonDict:
        return await self._one(C.FUNDING_RATE, {"instId": inst_id})

    # -- account ---------------------------------------------------------------------------
    async def balance(self, ccy: str | None = None) -> list[JsonDict]:
        return await self._get(C.BALANCE, {"ccy": ccy}, signed=True)

    async def positions(
        self, inst_type: str | None = None, inst_id: str | None = None
    ) -> list[JsonDict]:
        return await self._get(C.POSITIONS, {"instType": inst_type, "instId": inst_id}, True)

    async def set_leverage(
        self,
        lever: str | int,
        mgn_mode: str,
        inst_id: str | None = None,
        ccy: str | None = None,
        pos_side: str | None = None,
    ) -> JsonDict:
        body = _clean(
            {
                "lever": str(lever),
                "mgnMode": mgn_mode,
                "instId": inst_id,
                "ccy": ccy,
                "posSide": pos_side,
            }
        )
        # Setting the same leverage twice is harmless, so it may be retried.
        data = await self.request("POST", C.SET_LEVERAGE, body, True, retry_safe=True)
        return data[0] if data else {}

    # -- trading ---------------------------------------------------------------------------
    async def place_order(
        self,
        inst_id: str,
        side: str,
        ord_type: str,
        sz: str,
        px: str | None = None,
        *,
        td_mode: str = "cash",
        cl_ord_id: str | None = None,
        tgt_ccy: str | None = None,
        reduce_only: bool | None = None,
        pos_side: str | None = None,
        tag: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> JsonDict:
        """Place one order; returns ``{ordId, clOrdId, sCode, sMsg, ...}``.

        ``sz``/``px`` are wire strings (``Instrument.format_qty/format_price``). The order
        always carries a clOrdId so transport retries are safe; if OKX answers 51016
        (duplicate clOrdId) — an earlier attempt landed — or the retries run out on a
        timeout, the order is looked up by clOrdId and returned if it exists.
        """
        cid = cl_ord_id or new_client_order_id()
        body: JsonDict = {
            "instId": inst_id,
            "tdMode": td_mode,
            "side": side,
            "ordType": ord_type,
            "sz": str(sz),
            "clOrdId": cid,
        }
        if px is not None and px != "":
            body["px"] = str(px)
        if tgt_ccy:
            body["tgtCcy"] = tgt_ccy
        if reduce_only is not None:
            body["reduceOnly"] = reduce_only
        if pos_side:
            body["posSide"] = pos_side
        if tag:
            body["tag"] = tag
        if extra:
            body.update(extra)
        try:
            data = await self.request("POST", C.ORDER, body, True, retry_safe=True)
        except VenueError as exc:
            duplicate = exc.code == C.DUPLICATE_CLORDID
            if not duplicate and not outcome_unknown(exc):
                raise
            existing = await self._lookup_after(exc, inst_id, cid)
            if existing is None:
                if duplicate:  # OKX has it, yet could not show it: still in doubt
                    raise UnknownOutcome(f"order {cid}: duplicate but not found", exc.code) from exc
                raise
            log.info("order %s already at OKX (%s); not placing again", cid, exc.code)
            return {
                "ordId": existing.get("ordId", ""),
                "clOrdId": cid,
                "sCode": "0",
                "sMsg": "",
                "tag": existing.get("tag", ""),
                "existing": existing,
            }
        return data[0] if data else {"clOrdId": cid, "sCode": "0", "sMsg": "", "ordId": ""}

    async def _lookup_after(
        self, cause: VenueError, inst_id: str, cl_ord_id: str
    ) -> JsonDict | None:
        """Look up an order whose placement is in doubt. A failing lookup leaves it in doubt:
        that is :class:`UnknownOutcome`, not the lookup's own error (a 429 on the lookup must
        not read as "the order was refused")."""
        try:
            return await self._lookup(inst_id, cl_ord_id)
        except VenueError as exc:
            raise UnknownOutcome(
                f"order {cl_ord_id}: placement in doubt ({cause.code}) and lookup failed: {exc}",
                cause.code,
            ) from exc

    async def _lookup(self, inst_id: str, cl_ord_id: str) -> JsonDict | None:
        try:
            return await self.get_order(inst_id, cl_ord_id=cl_ord_id)
        except VenueError as exc:
            if exc.code in (C.ORDER_NOT_FOUND, C.CANCEL_FAILED):
                return None
            raise

    async def batch_orders(self, orders: list[Mapping[str, Any]]) -> list[JsonDict]:
        """Place up to 20 orders; returns one ``{ordId, clOrdId, sCode, sMsg}`` per order
        (partial success is *not* an exception — check each ``sCode``)."""
        items = []
        for o in orders:
            item = dict(o)
            item.setdefault("clOrdId", new_client_order_id())
            items.append(item)
        try:
            data = await self.request("POST", C.BATCH_ORDERS, items, True, retry_safe=True)
        except VenueError as exc:
            if exc.code == C.DUPLICATE_CLORDID or outcome_unknown(exc):
                return [await self._resolve_batch_item(exc, i) for i in items]
            raise
        return list(data)

    async def _resolve_batch_item(self, cause: VenueError, item: Mapping[str, Any]) -> JsonDict:
        cid = str(item["clOrdId"])
        found = await self._lookup_after(cause, str(item["instId"]), cid)
        if found is None:
            return {
                "clOrdId": cid,
                "ordId": "",
                "sCode": C.ORDER_NOT_FOUND,
                "sMsg": "order state unknown after retries",
            }
        return {"clOrdId": cid, "ordId": found.get("ordId", ""), "sCode": "0", "sMsg": ""}

    async def cancel_order(
        self, inst_id: str, ord_id: str | None = None, cl_ord_id: str | None = None
    ) -> JsonDict:
        _need_id(ord_id, cl_ord_id)
        body = _clean({"instId": inst_id, "ordId": ord_id, "clOrdId": cl_ord_id})
        data = await self.request("POST", C.CANCEL_ORDER, body, True, retry_safe=True)
        return data[0] if data else {}

    async def amend_order(
        self,
        inst_id: str,
        ord_id: str | None = None,
        cl_ord_id: str | None = None,
        new_sz: str | None = None,
        new_px: str | None = None,
        req_id: str | None = None,
        cxl_on_fail: bool | None = None,
    ) -> JsonDict:
        _need_id(ord_id, cl_ord_id)
        body = _clean(
            {
                "instId": inst_id,
                "ordId": ord_id,
                "clOrdId": cl_ord_id,
                "newSz": new_sz,
                "newPx": new_px,
                "reqId": req_id,
                "cxlOnFail": cxl_on_fail,
            }
        )
        data = await self.request("POST", C.AMEND_ORDER, body, True)
        return data[0] if data else {}

    async def get_order(
        self, inst_id: str, ord_id: str | None = None, cl_ord_id: str | None = None
    ) -> JsonDict:
        _need_id(ord_id, cl_ord_id)
        return await self._one(
            C.ORDER, {"instId": inst_id, "ordId": ord_id, "clOrdId": cl_ord_id}, True
        )

    async def orders_pending(
        self,
        inst_type: str | None = None,
        inst_id: str | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> list[JsonDict]:
        """One page (≤100, newest first); ``after`` = an ordId to page to older orders."""
        params = {"instType": inst_type, "instId": inst_id, "limit": limit, "after": after}
        return await self._get(C.ORDERS_PENDING, params, True)

    async def orders_history(
        self,
        inst_type: str,
        inst_id: str | None = None,
        state: str | None = None,
        limit: int | None = None,
    ) -> list[JsonDict]:
        params = {"instType": inst_type, "instId": inst_id, "state": state, "limit": limit}
        return await self._get(C.ORDERS_HISTORY, params, True)

    async def fills(
        self,
        inst_type: str | None = None,
        inst_id: str | None = None,
        ord_id: str | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> list[JsonDict]:
        """One page of our fills (≤100, newest first); ``after`` = a billId to page to
        older ones."""
        params = {
            "instType": inst_type,
            "instId": inst_id,
            "ordId": ord_id,
            "limit": limit,
            "after": after,
        }
        return await self._get(C.FILLS, params, True)

    async def bills(
        self,
        bill_type: str | None = None,
        *,
        inst_type: str | None = None,
        ccy: str | None = None,
        after: str | None = None,
        begin: int | None = None,
        limit: int | None = None,
        archive: bool = False,
    ) -> list[JsonDict]:
        """One page of the account's bills (≤100, newest first): the last 7 days, or the
        last 3 months with ``archive``. ``after`` = a billId, older ones; ``begin`` = ms."""
        params = {
            "instType": inst_type,
            "ccy": ccy,
            "type": bill_type,
            "after": after,
            "begin": begin,
            "limit": limit,
        }
        return await self._get(C.BILLS_ARCHIVE if archive else C.BILLS, params, True)


def _clean(params: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (params or {}).items() if v is not None}


def _need_id(ord_id: str | None, cl_ord_id: str | None) -> None:
    if not ord_id and not cl_ord_id:
        raise ValueError("need ord_id or cl_ord_id")
