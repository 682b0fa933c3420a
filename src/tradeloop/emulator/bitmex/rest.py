"""BitMEX REST (``/api/v1``): error envelope, ``api-expires`` signing, rate-limit headers and
the table-query parameters every GET shares; the public routes.

Signing, as BitMEX documents it: ``api-key``, ``api-expires`` (Unix seconds) and
``api-signature`` = hex HMAC-SHA256(secret, VERB + path-with-query + expires + body). An
``expires`` in the past, or more than :data:`MAX_EXPIRES_AHEAD_S` ahead (a request signed to
live forever), is refused with 401 like a bad signature. Public routes need no key, but a
request that carries one is verified as BitMEX does (ccxt signs everything once keyed).

Errors are ``{"error": {"message", "name"}}`` with BitMEX's statuses. Every answer carries
``x-ratelimit-limit`` / ``-remaining`` / ``-reset`` from a token bucket per key (per peer when
anonymous); an empty bucket is 429 ``RateLimitError`` whose ``Retry-After`` (and message)
give the whole seconds until one token is back. Faults, bounds and lost replies come
from the shared :func:`tradeloop.emulator.rest.guard`.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import msgspec
from aiohttp import web

from tradeloop.emulator import rest
from tradeloop.emulator.api import ApiError
from tradeloop.emulator.auth import same, sign_hex
from tradeloop.emulator.bitmex import contracts as ct
from tradeloop.emulator.faults import FailKind
from tradeloop.emulator.feed import now_ms
from tradeloop.emulator.limits import clip
from tradeloop.emulator.market import MINUTE_MS, SymbolMarket

if TYPE_CHECKING:
    from tradeloop.emulator.bitmex.server import BitmexEmulator

_enc = msgspec.json.Encoder()
MAX_EXPIRES_AHEAD_S = 3600
MAX_COUNT = 1000
BIN_SIZES = {"1m": MINUTE_MS, "5m": 5 * MINUTE_MS, "1h": 60 * MINUTE_MS, "1d": 1440 * MINUTE_MS}
OVERLOADED = "The system is currently overloaded. Please try again later."


class BitmexError(ApiError):
    """Becomes ``{"error": {"message", "name"}}`` with ``status`` (the kit's
    :class:`~tradeloop.emulator.api.ApiError` plus BitMEX's error ``name``)."""

    def __init__(self, message: str, status: int = 400, name: str = "HTTPError") -> None:
        super().__init__(message, status)
        self.name = name


def answer(
    payload: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=_enc.encode(payload),
        status=status,
        content_type="application/json",
        headers=headers,
    )


def failure(
    status: int, message: str, name: str = "HTTPError", headers: Mapping[str, str] | None = None
) -> web.Response:
    return answer({"error": {"message": message, "name": name}}, status, headers)


def rate_limited(wait_s: int, headers: Mapping[str, str] | None = None) -> web.Response:
    """BitMEX's 429: ``Retry-After`` and the message both say ``wait_s`` seconds, as in
    ``{"error": {"message": "Rate limit exceeded, retry in 1 seconds.", "name":
    "RateLimitError"}}`` (the wording BitMEX sends, plural and all)."""
    return failure(
        429,
        f"Rate limit exceeded, retry in {wait_s} seconds.",
        "RateLimitError",
        {**(headers or {}), "Retry-After": str(wait_s)},
    )


class Dialect:
    """How BitMEX words what the shared guard decides (injected 429/503, 413, bad body)."""

    def refused(self, kind: FailKind) -> web.Response:
        if kind == "429":
            return rate_limited(1)
        return failure(503, OVERLOADED)

    def too_large(self) -> web.Response:
        return failure(413, "Request Entity Too Large")

    def bad_body(self) -> web.Response:
        return failure(400, "Unable to parse request body", "ValidationError")

    def crash(self) -> web.Response:
        return failure(500, "Internal server error")


DIALECT = Dialect()


@dataclass(frozen=True, slots=True)
class Taken:
    """One request's pass through the limiter: allowed or not, the whole tokens left
    (``x-ratelimit-remaining``), when the bucket is full again (``x-ratelimit-reset``, epoch
    s) and, when refused, the whole seconds until one token is back (``Retry-After``)."""

    ok: bool
    remaining: int
    reset: int
    retry_after: int


class Limiter:
    """BitMEX's request limiter: ``limit`` tokens per key, refilled evenly over a minute."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    @property
    def rate(self) -> float:
        """Tokens refilled per second."""
        return self.limit / 60.0

    def tokens(self, key: str, now: float) -> float:
        """The tokens ``key`` holds at ``now`` (a full bucket when never seen)."""
        tokens, at = self._buckets.get(key, (float(self.limit), now))
        return min(float(self.limit), tokens + max(now - at, 0.0) * self.rate)

    def take(self, key: str, now: float) -> Taken:
        tokens = self.tokens(key, now)
        ok = tokens >= 1.0
        if ok:
            tokens -= 1.0
        if len(self._buckets) > 10_000:
            self._buckets.clear()
        self._buckets[key] = (tokens, now)
        reset = math.ceil(now + (self.limit - tokens) / self.rate)
        wait = 0 if ok else max(1, math.ceil((1.0 - tokens) / self.rate))
        return Taken(ok, int(tokens), reset, wait)


@dataclass
class Req:
    """One request: every parameter (query, then JSON or form body) and who sent it."""

    params: dict[str, Any]
    method: str
    authed: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


Handler = Callable[["BitmexEmulator", Req], Any]


def verify(emu: BitmexEmulator, request: web.Request, body: str, now_s: float) -> bool:
    """True when signed with the emulator's key, False when unsigned; BitmexError(401) when
    a signature is there but wrong, expired or too far ahead."""
    h = request.headers
    key, expires, sig = h.get("api-key", ""), h.get("api-expires", ""), h.get("api-signature", "")
    if not (key or sig):
        return False
    check_signed(emu, key, expires, sig, request.method + request.raw_path, body, now_s)
    return True


def check_signed(
    emu: BitmexEmulator,
    key: str,
    expires: str,
    sig: str,
    verb_path: str,
    body: str,
    now_s: float,
    max_ahead_s: float = MAX_EXPIRES_AHEAD_S,
) -> None:
    """BitMEX's checks of a signed request, in its words (BitmexError 401): the key, the
    ``api-expires`` text, expired, too far ahead, then the signature of verb + path +
    expires + body. REST requests and the WebSocket upgrade's api-* headers share them."""
    if not same(key, emu.config.api_key):
        raise BitmexError("Invalid API Key.", 401)
    if not expires.isascii() or not expires.isdigit() or len(expires) > 16:
        raise BitmexError("Missing or invalid api-expires header.", 401)
    exp = int(expires)
    if exp < now_s:
        raise BitmexError(
            f"This request has expired - `expires` is in the past. Current time: {int(now_s)}",
            401,
        )
    if exp > now_s + max_ahead_s:
        raise BitmexError("Request `expires` is too far in the future.", 401)
    expected = sign_hex(emu.config.api_secret, verb_path + expires + body)
    if not same(sig, expected):
        raise BitmexError("Signature not valid.", 401)


def parse_params(request: web.Request, body: str) -> dict[str, Any]:
    out: dict[str, Any] = dict(request.query)
    text = body.strip()
    if not text:
        return out
    if text.startswith("{"):
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError):
            raise BitmexError("Unable to parse request body", 400, "ValidationError") from None
        if not isinstance(doc, dict):
            raise BitmexError("Unable to parse request body", 400, "ValidationError")
        out.update(doc)
    else:  # formData, as the swagger describes POST/PUT/DELETE parameters
        out.update(parse_qsl(text, keep_blank_values=True))
    return out


def route(
    emu: BitmexEmulator, handler: Handler, private: bool
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def run(request: web.Request, body: str) -> web.StreamResponse:
        now = time.time()
        who = request.headers.get("api-key", "") or (request.remote or "?")
        taken = emu.limiter.take(who, now)
        headers = {
            "x-ratelimit-limit": str(emu.limiter.limit),
            "x-ratelimit-remaining": str(taken.remaining),
            "x-ratelimit-reset": str(taken.reset),
        }
        if not taken.ok:
            return rate_limited(taken.retry_after, headers)
        try:
            authed = verify(emu, request, body, now)
            if private and not authed:
                raise BitmexError("Invalid API Key.", 401)
            req = Req(parse_params(request, body), request.method, authed)
            result = handler(emu, req)
        except ApiError as err:  # the kit's Refusals answer with plain ApiErrors
            name = err.name if isinstance(err, BitmexError) else "HTTPError"
            return failure(err.status, err.msg, name, headers)
        return answer(result, headers=headers)

    return rest.guard(emu.faults, DIALECT, run)


async def not_found(request: web.Request) -> web.Response:
    return failure(404, "Not Found")


# -- parameters ---------------------------------------------------------------------------
def market_of(emu: BitmexEmulator, symbol: Any, required: bool = True) -> SymbolMarket | None:
    if symbol in (None, "") and not required:
        return None
    m = emu.driver.markets.get(symbol) if isinstance(symbol, str) else None
    if m is None:
        if symbol in (None, ""):
            raise BitmexError("'symbol' is a required arg.", 400, "ValidationError")
        raise BitmexError(f"Unknown symbol: {clip(symbol, 32)}", 404)
    return m


def int_param(p: Mapping[str, Any], key: str, default: int, lo: int, hi: int) -> int:
    raw = p.get(key)
    if raw in (None, ""):
        return default
    if isinstance(raw, bool):
        raise BitmexError(f"Invalid {key}", 400, "ValidationError")
    try:
        v = int(str(raw)) if isinstance(raw, str) else int(raw)
    except (TypeError, ValueError, OverflowError):
        raise BitmexError(f"Invalid {key}", 400, "ValidationError") from None
    if (isinstance(raw, float) and raw != v) or v < lo:
        raise BitmexError(f"Invalid {key}", 400, "ValidationError")
    return min(v, hi)


def bool_param(p: Mapping[str, Any], key: str, default: bool = False) -> bool:
    raw = p.get(key)
    if raw in (None, ""):
        return default
    if isinstance(raw, bool):
        return raw
    if str(raw).lower() in ("true", "1"):
        return True
    if str(raw).lower() in ("false", "0"):
        return False
    raise BitmexError(f"Invalid {key}", 400, "ValidationError")


def json_param(p: Mapping[str, Any], key: str) -> Any:
    raw = p.get(key)
    if raw in (None, ""):
        return None
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise BitmexError(f"Invalid {key}: must be valid JSON", 400, "ValidationError") from None


def table(
    rows: list[dict[str, Any]],
    p: Mapping[str, Any],
    time_key: str = "timestamp",
    default_count: int = 100,
) -> list[dict[str, Any]]:
    """BitMEX's table query over ``rows`` (oldest first): ``filter`` (field equality),
    ``startTime`` / ``endTime``, ``reverse``, ``start``, ``count`` and ``columns``."""
    flt = json_param(p, "filter")
    if flt is not None and not isinstance(flt, dict):
        raise BitmexError("Invalid filter", 400, "ValidationError")
    if flt:
        rows = [r for r in rows if all(k not in r or r[k] == v for k, v in flt.items())]
    for key, keep in (("startTime", lambda t, b: t >= b), ("endTime", lambda t, b: t <= b)):
        raw = p.get(key)
        if raw not in (None, ""):
            bound = ct.parse_iso(str(raw))
            if bound is None:
                raise BitmexError(f"Invalid {key}", 400, "ValidationError")
            rows = [r for r in rows if keep(ct.parse_iso(r[time_key]) or 0.0, bound)]
    if bool_param(p, "reverse"):
        rows = rows[::-1]
    start = int_param(p, "start", 0, 0, 10**9)
    count = int_param(p, "count", default_count, 1, MAX_COUNT)
    rows = rows[start : start + count]
    cols = json_param(p, "columns")
    if isinstance(cols, str):
        cols = [c.strip() for c in cols.split(",") if c.strip()]
    if cols:
        if not isinstance(cols, list) or not all(isinstance(c, str) for c in cols):
            raise BitmexError("Invalid columns", 400, "ValidationError")
        wanted = set(cols) | {"symbol", "timestamp", "orderID", "execID", "account", "currency"}
        rows = [{k: v for k, v in r.items() if k in wanted} for r in rows]
    return rows


# -- public endpoints -----------------------------------------------------------------------
def _symbols(emu: BitmexEmulator, p: Mapping[str, Any]) -> list[SymbolMarket]:
    sym = p.get("symbol")
    if sym in (None, ""):
        return list(emu.driver.markets.values())
    m = emu.driver.markets.get(sym) if isinstance(sym, str) else None
    if m is None:  # BitMEX answers an unknown symbol in a table query with no rows
        root = str(sym).split(":")[0]
        return [
            x for x in emu.driver.markets.values() if ct.SPECS[x.instrument.symbol].root == root
        ]
    return [m]


def instruments(emu: BitmexEmulator, req: Req) -> Any:
    t = now_ms()
    rows = [emu.instrument_row(m, t) for m in _symbols(emu, req.params)]
    return table(rows, req.params, default_count=500)


def active(emu: BitmexEmulator, req: Req) -> Any:
    t = now_ms()
    return [emu.instrument_row(m, t) for m in emu.driver.markets.values()]


def order_book(emu: BitmexEmulator, req: Req) -> Any:
    m = market_of(emu, req.params.get("symbol"))
    assert m is not None
    depth = int_param(req.params, "depth", 25, 0, 10**6) or 10**6
    sym, idx = m.instrument.symbol, emu.index[m.instrument.symbol]
    t = ct.iso(now_ms())
    asks = [(p, s) for p, s in m.sorted_asks()[:depth]][::-1]
    rows = [
        {
            "symbol": sym,
            "id": ct.level_id(idx, p),
            "side": "Sell",
            "size": ct.num(s),
            "price": ct.num(m.px(p)),
            "timestamp": t,
        }
        for p, s in asks
    ]
    rows += [
        {
            "symbol": sym,
            "id": ct.level_id(idx, p),
            "side": "Buy",
            "size": ct.num(s),
            "price": ct.num(m.px(p)),
            "timestamp": t,
        }
        for p, s in m.sorted_bids()[:depth]
    ]
    return rows


def quotes(emu: BitmexEmulator, req: Req) -> Any:
    t = now_ms()
    return table([ct.quote_row(m, t) for m in _symbols(emu, req.params)], req.params)


def trades(emu: BitmexEmulator, req: Req) -> Any:
    rows = [ct.trade_row(m, tr) for m in _symbols(emu, req.params) for tr in m.trades]
    rows.sort(key=lambda r: str(r["timestamp"]))
    return table(rows, req.params)


def bucketed(emu: BitmexEmulator, req: Req) -> Any:
    p = req.params
    bar = BIN_SIZES.get(str(p.get("binSize", "1m")))
    if bar is None:
        raise BitmexError("Invalid binSize: must be one of 1m, 5m, 1h, 1d", 400, "ValidationError")
    partial = bool_param(p, "partial")
    t = now_ms()
    rows = []
    for m in _symbols(emu, p):
        for c in m.aggregate(bar):
            if c.start + bar > t and not partial:
                continue
            rows.append(ct.bin_row(m, c, bar))
    rows.sort(key=lambda r: str(r["timestamp"]))
    return table(rows, p)


def wallet_assets(emu: BitmexEmulator, req: Req) -> Any:
    out = []
    for code, (ccy, scale) in ct.CURRENCIES.items():
        out.append(
            {
                "asset": ccy if ccy != "BTC" else "XBT",
                "currency": code,
                "majorCurrency": ccy,
                "name": ccy,
                "currencyType": "Crypto",
                "scale": len(str(scale)) - 1,
                "enabled": True,
                "isMarginCurrency": True,
                "minDepositAmount": 10000,
                "minWithdrawalAmount": 10000,
                "maxWithdrawalAmount": 10**15,
                "networks": [
                    {
                        "asset": ccy,
                        "tokenAddress": "",
                        "depositEnabled": True,
                        "withdrawalEnabled": True,
                        "withdrawalFee": 0,
                        "minFee": 0,
                        "maxFee": 0,
                    }
                ],
            }
        )
    return out


def funding(emu: BitmexEmulator, req: Req) -> Any:
    return table(list(emu.funding_history), req.params)


PUBLIC: list[tuple[str, str, Handler, bool]] = [
    ("GET", "/api/v1/instrument", instruments, False),
    ("GET", "/api/v1/instrument/active", active, False),
    ("GET", "/api/v1/instrument/activeAndIndices", active, False),
    ("GET", "/api/v1/orderBook/L2", order_book, False),
    ("GET", "/api/v1/quote", quotes, False),
    ("GET", "/api/v1/trade", trades, False),
    ("GET", "/api/v1/trade/bucketed", bucketed, False),
    ("GET", "/api/v1/wallet/assets", wallet_assets, False),
    ("GET", "/api/v1/funding", funding, False),
]
