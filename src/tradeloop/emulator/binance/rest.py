"""Binance spot REST (``/api/v3``): parameters, signing, weights, the routes.

Parameters come from the query string and (POST/PUT/DELETE) a form-encoded body; on a name in
both, the query string wins. A SIGNED route needs ``X-MBX-APIKEY`` (``-2014`` missing/
malformed, ``-2015`` unknown), a ``signature`` over query+body as received (``-1022``) and a
fresh ``timestamp`` (``-1021``; :mod:`.auth`). Every route costs its documented weight
(:data:`WEIGHTS`, some depending on parameters) before it runs; every answer carries
``X-MBX-USED-WEIGHT-1M``, order routes ``X-MBX-ORDER-COUNT-10S``/``-1D``. Refusals are
``{"code", "msg"}`` with Binance's status (400, 401, 404, 429/418 with ``Retry-After``).
Faults, bounds and lost replies come from the shared :func:`tradeloop.emulator.rest.guard`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import msgspec
from aiohttp import web

from tradeloop.emulator import rest
from tradeloop.emulator.auth import same
from tradeloop.emulator.binance import auth
from tradeloop.emulator.binance import errors as E
from tradeloop.emulator.binance import markets as mk
from tradeloop.emulator.binance.limits import Limits
from tradeloop.emulator.binance.replace import cancel_replace
from tradeloop.emulator.faults import FailKind
from tradeloop.emulator.feed import now_ms
from tradeloop.emulator.hub import Hub
from tradeloop.emulator.market import MINUTE_MS, SECOND_MS

if TYPE_CHECKING:
    from tradeloop.emulator.binance.server import BinanceEmulator

_enc = msgspec.json.Encoder()
Params = dict[str, str]
Handler = Callable[["BinanceEmulator", Params], Any]
Weight = int | Callable[[Params], int]

#: kline interval -> milliseconds (1M is served as 30 days)
INTERVALS: dict[str, int] = {
    "1s": SECOND_MS, "1m": MINUTE_MS, "3m": 3 * MINUTE_MS, "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS, "30m": 30 * MINUTE_MS, "1h": 60 * MINUTE_MS, "2h": 120 * MINUTE_MS,
    "4h": 240 * MINUTE_MS, "6h": 360 * MINUTE_MS, "8h": 480 * MINUTE_MS,
    "12h": 720 * MINUTE_MS, "1d": 1440 * MINUTE_MS, "3d": 3 * 1440 * MINUTE_MS,
    "1w": 7 * 1440 * MINUTE_MS, "1M": 30 * 1440 * MINUTE_MS,
}  # fmt: skip


def answer(
    payload: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=_enc.encode(payload), status=status, content_type="application/json", headers=headers
    )


def failure(err: E.BinanceError, headers: dict[str, str] | None = None) -> web.Response:
    h = dict(headers or {})
    if err.retry_after:
        h["Retry-After"] = str(err.retry_after)
    body: dict[str, Any] = {"code": err.code, "msg": err.msg}
    if err.data is not None:
        body["data"] = err.data
    return answer(body, err.status, h)


class Dialect:
    """How Binance words what the shared guard decides."""

    def refused(self, kind: FailKind) -> web.Response:
        if kind == "429":
            return failure(E.BinanceError(E.TOO_MANY_REQUESTS, "Too many requests.", 429, 1))
        return failure(E.BinanceError(E.UNKNOWN, "Service unavailable.", 503))

    def too_large(self) -> web.Response:
        return failure(E.BinanceError(-1101, "Too many parameters sent for this endpoint.", 413))

    def bad_body(self) -> web.Response:
        return failure(E.illegal("body"))

    def crash(self) -> web.Response:
        return failure(
            E.BinanceError(
                E.UNKNOWN, "An unknown error occurred while processing the request.", 500
            )
        )


DIALECT = Dialect()


def parse_params(request: web.Request, body: str) -> Params:
    """Query string over form body (Binance: the query wins on duplicates)."""
    out: Params = {}
    if body and request.method in ("POST", "PUT", "DELETE"):
        try:
            out.update(parse_qsl(body, keep_blank_values=True, strict_parsing=False))
        except ValueError:
            raise E.illegal("body") from None
    out.update(parse_qsl(request.rel_url.raw_query_string, keep_blank_values=True))
    return out


def check_key(emu: BinanceEmulator, request: web.Request) -> None:
    """``X-MBX-APIKEY`` must be the emulator's key (USER_STREAM routes need nothing more)."""
    key = request.headers.get("X-MBX-APIKEY", "")
    if not key or len(key) > 128:
        raise E.BinanceError(E.BAD_API_KEY_FMT, "API-key format invalid.", 401)
    if not same(key, emu.config.api_key):
        raise E.BinanceError(
            E.REJECTED_MBX_KEY, "Invalid API-key, IP, or permissions for action.", 401
        )


def verify(emu: BinanceEmulator, request: web.Request, body: str, params: Params) -> None:
    """Raise Binance's refusal unless the request is signed by the emulator's key."""
    check_key(emu, request)
    query, sig_q = auth.strip_signature(request.rel_url.raw_query_string)
    form = body if request.method in ("POST", "PUT", "DELETE") else ""
    form, sig_b = auth.strip_signature(form)
    sig = params.get("signature") or ""
    if not sig or (sig_q is None and sig_b is None):
        raise E.mandatory("signature")
    auth.check_timestamp(params, now_ms())
    if not auth.signature_ok(emu.config.api_secret, emu.ed25519_key, query + form, sig):
        raise E.BinanceError(E.INVALID_SIGNATURE, "Signature for this request is not valid.")


def route(
    emu: BinanceEmulator,
    handler: Handler,
    signed: bool | str,
    weight: Weight,
    order: bool = False,
    hub: Hub | None = None,
    limits: Limits | None = None,
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """One REST route: weight, then signature (``signed`` True) or only the API key
    (``"key"``), then the handler with the hub's pushes held until the answer is out.
    ``hub``/``limits``: the futures side's own (default: spot's)."""
    lim = limits or emu.limits

    async def run(request: web.Request, body: str) -> web.StreamResponse:
        now = now_ms()
        ip = request.remote or "?"
        emu.served[f"{request.method} {request.path}"] += 1
        headers = {"X-MBX-USED-WEIGHT-1M": str(lim.used(ip, now))}
        h = hub or emu.hub
        try:
            params = parse_params(request, body)
            cost = weight(params) if callable(weight) else weight
            headers["X-MBX-USED-WEIGHT-1M"] = str(lim.charge(ip, cost, now))
            if signed == "key":
                check_key(emu, request)
            elif signed:
                verify(emu, request, body, params)
            h.hold()
            try:
                result = handler(emu, params)
            finally:
                h.release()
        except E.BinanceError as err:
            if order:
                _order_headers(lim, headers)
            return failure(err, headers)
        if order:
            _order_headers(lim, headers)
        return answer(result, 200, headers)

    return rest.guard(emu.faults, DIALECT, run)


def _order_headers(limits: Limits, headers: dict[str, str]) -> None:
    n10, nd = limits.order_counts(now_ms())
    headers["X-MBX-ORDER-COUNT-10S"] = str(n10)
    headers["X-MBX-ORDER-COUNT-1D"] = str(nd)


async def not_found(request: web.Request) -> web.Response:
    return answer({"code": -1, "msg": "Not found."}, 404)


# -- parameters ---------------------------------------------------------------------------
def int_param(p: Params, key: str, default: int, lo: int, hi: int) -> int:
    raw = p.get(key, "")
    if raw == "":
        return default
    if not raw.isdigit() or len(raw) > 19:
        raise E.illegal(key)
    v = int(raw)
    if v < lo:
        raise E.BinanceError(-1100, f"Illegal characters found in parameter '{key}'.")
    return min(v, hi)


def depth_weight(p: Params) -> int:
    raw = p.get("limit", "100")
    n = int(raw) if raw.isdigit() and len(raw) < 7 else 100
    return 5 if n <= 100 else 25 if n <= 500 else 50 if n <= 1000 else 250


def _symbols(emu: BinanceEmulator, p: Params) -> list[str] | None:
    """``symbol`` or ``symbols`` (a JSON array); None = all."""
    if p.get("symbol"):
        return [emu.trading.market(p).instrument.symbol]
    raw = p.get("symbols")
    if not raw:
        return None
    try:
        names = json.loads(raw)
    except (ValueError, RecursionError):
        raise E.illegal("symbols") from None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise E.illegal("symbols")
    for n in names:
        if n not in emu.driver.markets:
            raise E.bad_symbol()
    return names


def _one_or_all(emu: BinanceEmulator, p: Params, fn: Callable[[Any], Any]) -> Any:
    names = _symbols(emu, p)
    if p.get("symbol"):
        return fn(emu.driver.markets[names[0]]) if names else None
    return [fn(emu.driver.markets[n]) for n in (names or list(emu.driver.markets))]


def _all_weight(single: int, many: int) -> Weight:
    return lambda p: single if p.get("symbol") else many


# -- public endpoints ---------------------------------------------------------------------
def exchange_info(emu: BinanceEmulator, p: Params) -> Any:
    names = _symbols(emu, p) or list(emu.driver.markets)
    return {
        "timezone": "UTC",
        "serverTime": now_ms(),
        "rateLimits": emu.limits.rate_limits(),
        "exchangeFilters": [],
        "symbols": [mk.symbol_row(emu.instruments[n], emu.filters[n]) for n in names],
    }


def depth(emu: BinanceEmulator, p: Params) -> Any:
    m = emu.trading.market(p)
    limit = int_param(p, "limit", 100, 1, 5000)
    bids, asks = mk.depth(m, limit)
    return {"lastUpdateId": emu.hub.update_id(m.instrument.symbol), "bids": bids, "asks": asks}


def trades(emu: BinanceEmulator, p: Params) -> Any:
    m = emu.trading.market(p)
    limit = int_param(p, "limit", 500, 1, 1000)
    return [mk.trade_row(t) for t in list(m.trades)[-limit:]]


def agg_trades(emu: BinanceEmulator, p: Params) -> Any:
    m = emu.trading.market(p)
    limit = int_param(p, "limit", 500, 1, 1000)
    start = int_param(p, "startTime", 0, 0, 2**62)
    end = int_param(p, "endTime", 2**62, 0, 2**62)
    from_id = int_param(p, "fromId", 0, 0, 2**62)
    rows = [t for t in m.trades if start <= t.ts <= end and int(t.trade_id) >= from_id]
    rows = rows[:limit] if (from_id or start) else rows[-limit:]
    return [mk.agg_row(t) for t in rows]


def klines(emu: BinanceEmulator, p: Params) -> Any:
    m = emu.trading.market(p)
    interval = p.get("interval", "")
    if not interval:
        raise E.mandatory("interval")
    bar_ms = INTERVALS.get(interval)
    if bar_ms is None:
        raise E.BinanceError(-1120, "Invalid interval.")
    limit = int_param(p, "limit", 500, 1, 1000)
    start = int_param(p, "startTime", 0, 0, 2**62)
    end = int_param(p, "endTime", 2**62, 0, 2**62)
    rows = [c for c in m.aggregate(bar_ms) if start <= c.start <= end]
    rows = rows[:limit] if start else rows[-limit:]
    return [mk.kline_row(m.instrument, c, bar_ms) for c in rows]


def ticker_24h(emu: BinanceEmulator, p: Params) -> Any:
    mini = p.get("type", "FULL") == "MINI"
    t = now_ms()
    return _one_or_all(emu, p, lambda m: mk.ticker_24h(m, t, mini))


def ticker_price(emu: BinanceEmulator, p: Params) -> Any:
    return _one_or_all(
        emu, p, lambda m: {"symbol": m.instrument.symbol, "price": mk.pad8(m.last_trade.price)}
    )


def book_ticker(emu: BinanceEmulator, p: Params) -> Any:
    return _one_or_all(emu, p, mk.book_ticker)


def avg_price(emu: BinanceEmulator, p: Params) -> Any:
    m = emu.trading.market(p)
    return {"mins": 5, "price": mk.e8(m.instrument.format_price(m.mid())), "closeTime": now_ms()}


def _test_order(emu: BinanceEmulator, p: Params) -> Any:
    emu.trading.check(p)
    if p.get("computeCommissionRates") == "true":
        rate = "0.00100000"
        return {
            "standardCommissionForOrder": {"maker": rate, "taker": rate},
            "taxCommissionForOrder": {"maker": "0.00000000", "taker": "0.00000000"},
            "discount": {"enabledForAccount": False, "enabledForSymbol": False,
                         "discountAsset": "BNB", "discount": "0.00000000"},
        }  # fmt: skip
    return {}


def _t(emu: BinanceEmulator) -> Any:
    return emu.trading


#: (method, path, handler, signed, weight, counts as an order request)
ROUTES: list[tuple[str, str, Handler, bool, Weight, bool]] = [
    ("GET", "/api/v3/ping", lambda e, p: {}, False, 1, False),
    ("GET", "/api/v3/time", lambda e, p: {"serverTime": now_ms()}, False, 1, False),
    ("GET", "/api/v3/exchangeInfo", exchange_info, False, 20, False),
    ("GET", "/api/v3/depth", depth, False, depth_weight, False),
    ("GET", "/api/v3/trades", trades, False, 25, False),
    ("GET", "/api/v3/historicalTrades", trades, False, 25, False),
    ("GET", "/api/v3/aggTrades", agg_trades, False, 4, False),
    ("GET", "/api/v3/klines", klines, False, 2, False),
    ("GET", "/api/v3/uiKlines", klines, False, 2, False),
    ("GET", "/api/v3/avgPrice", avg_price, False, 2, False),
    ("GET", "/api/v3/ticker/24hr", ticker_24h, False, _all_weight(2, 80), False),
    ("GET", "/api/v3/ticker/price", ticker_price, False, _all_weight(2, 4), False),
    ("GET", "/api/v3/ticker/bookTicker", book_ticker, False, _all_weight(2, 4), False),
    ("GET", "/api/v3/account", lambda e, p: _t(e).account_row(p), True, 20, False),
    ("POST", "/api/v3/order", lambda e, p: _t(e).place(p), True, 1, True),
    ("POST", "/api/v3/order/test", _test_order, True, 1, False),
    ("GET", "/api/v3/order", lambda e, p: _t(e).get(p), True, 4, False),
    ("DELETE", "/api/v3/order", lambda e, p: _t(e).cancel(p), True, 1, True),
    ("POST", "/api/v3/order/cancelReplace", lambda e, p: cancel_replace(_t(e), p), True, 1,
     True),
    ("GET", "/api/v3/openOrders", lambda e, p: _t(e).open_orders(p), True,
     _all_weight(6, 80), False),
    ("DELETE", "/api/v3/openOrders", lambda e, p: _t(e).cancel_all(p), True, 1, True),
    ("GET", "/api/v3/allOrders", lambda e, p: _t(e).all_orders(p), True, 20, False),
    ("GET", "/api/v3/myTrades", lambda e, p: _t(e).my_trades(p), True, 20, False),
]  # fmt: skip
