"""Bitfinex REST v2 (``/v2/...``): public endpoints, signed ``/v2/auth/...``, error arrays.

Signing: ``bfx-signature`` = hex HMAC-SHA384(secret, ``"/api/" + path + nonce + body``) where
``path`` is the request path without its leading ``/`` (``v2/auth/r/wallets``) and ``body`` the
exact text sent; ``bfx-nonce`` must be larger than every nonce that key used before, over REST
and WebSocket auth alike (``["error", 10114, "nonce: small"]``). Errors are HTTP 500 with
``["error", CODE, "text"]`` -- the shape ccxt reads -- except the injected rate limit (429,
``11010``) and unavailability (503 ``{"code": 503, "error": "temporarily_unavailable"}``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import web

from tradeloop.emulator import rest
from tradeloop.emulator.auth import parse_number, same
from tradeloop.emulator.bitfinex import markets as mk
from tradeloop.emulator.bitfinex.orders import ERR_PARAMS, BfxError
from tradeloop.emulator.bitfinex.ws import TIMEFRAMES, sign384
from tradeloop.emulator.faults import FailKind
from tradeloop.emulator.feed import now_ms
from tradeloop.emulator.limits import clip
from tradeloop.emulator.market import SymbolMarket

if TYPE_CHECKING:
    from tradeloop.emulator.bitfinex.server import BitfinexEmulator

_enc = msgspec.json.Encoder()


@dataclass(frozen=True)
class Req:
    match: Mapping[str, str]
    query: Mapping[str, str]
    body: dict[str, Any]


Handler = Callable[["BitfinexEmulator", Req], Any]


def answer(doc: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, text=_enc.encode(doc).decode(),
                        content_type="application/json")  # fmt: skip


def error(code: int, text: str, status: int = 500) -> web.Response:
    return answer(["error", code, text], status)


class Dialect:
    """Bitfinex's answers for what the shared REST guard decides."""

    def refused(self, kind: FailKind) -> web.Response:
        if kind == "429":
            return error(11010, "ratelimit: error", 429)
        return answer({"code": 503, "error": "temporarily_unavailable"}, 503)

    def too_large(self) -> web.Response:
        return error(ERR_PARAMS, "body: too large", 413)

    def bad_body(self) -> web.Response:
        return error(ERR_PARAMS, "body: invalid")

    def crash(self) -> web.Response:
        return error(10000, "unknown error")


DIALECT = Dialect()


def verify(emu: BitfinexEmulator, request: web.Request, body: str) -> None:
    h = request.headers
    key, sig, nonce_text = (h.get(k, "") for k in ("bfx-apikey", "bfx-signature", "bfx-nonce"))
    if not key or not same(key, emu.config.api_key):
        raise BfxError("apikey: invalid", 10100)
    nonce = parse_number(nonce_text)
    if nonce is None or nonce != int(nonce) or not nonce_text.isdigit():
        raise BfxError("nonce: invalid", 10100)
    path = request.raw_path.lstrip("/")
    if not same(sig, sign384(emu.config.api_secret, f"/api/{path}{nonce_text}{body}")):
        raise BfxError("apikey: digest invalid", 10100)
    if not emu.nonces.take(int(nonce_text)):
        raise BfxError("nonce: small", 10114)


def route(emu: BitfinexEmulator, handler: Handler,
          private: bool) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:  # fmt: skip
    async def run(request: web.Request, body: str) -> web.StreamResponse:
        try:
            if private:
                verify(emu, request, body)
            doc: Any = {}
            if body.strip():
                try:
                    doc = json.loads(body)
                except (ValueError, RecursionError):
                    raise BfxError("body: invalid", ERR_PARAMS) from None
                if not isinstance(doc, dict):
                    raise BfxError("body: invalid", ERR_PARAMS)
            return answer(handler(emu, Req(request.match_info, request.query, doc)))
        except BfxError as err:
            return error(err.code, err.text)

    return rest.guard(emu.faults, DIALECT, run)


async def not_found(request: web.Request) -> web.Response:
    return error(10020, "endpoint: unknown", 404)


# -- parameters ---------------------------------------------------------------------------
def market_of(emu: BitfinexEmulator, sym: Any) -> SymbolMarket:
    m = emu.driver.markets.get(sym) if isinstance(sym, str) else None
    if m is None:
        raise BfxError("symbol: invalid", ERR_PARAMS)
    return m


def int_arg(q: Mapping[str, Any], key: str, default: int, lo: int, hi: int) -> int:
    raw = q.get(key)
    if raw in (None, ""):
        return default
    v = parse_number(raw)
    if v is None or v < lo or v != int(v):
        raise BfxError(f"{key}: invalid", ERR_PARAMS)
    return min(int(v), hi)


def window(
    q: Mapping[str, Any], rows: list[Any], ts: Callable[[Any], int], limit: int
) -> list[Any]:
    """``start`` / ``end`` (ms) / ``sort`` (-1 newest first, the default; 1 oldest first)."""
    start, end = int_arg(q, "start", 0, 0, 2**53), int_arg(q, "end", 2**53, 0, 2**53)
    sort = int_arg(q, "sort", -1, -1, 1) if str(q.get("sort", "-1")) != "-1" else -1
    picked = [r for r in rows if start <= ts(r) <= end]  # rows oldest first
    return picked[:limit] if sort == 1 else picked[::-1][:limit]


# -- public endpoints -----------------------------------------------------------------------
def platform_status(emu: BitfinexEmulator, req: Req) -> Any:
    return [0 if emu.maintenance else 1]


def ticker(emu: BitfinexEmulator, req: Req) -> Any:
    return mk.ticker(market_of(emu, req.match["symbol"]), now_ms())


def tickers(emu: BitfinexEmulator, req: Req) -> Any:
    raw = req.query.get("symbols", "ALL")
    syms = list(emu.driver.markets) if raw == "ALL" else raw.split(",")
    t = now_ms()
    return [[s, *mk.ticker(emu.driver.markets[s], t)] for s in syms if s in emu.driver.markets]


def trades(emu: BitfinexEmulator, req: Req) -> Any:
    m = market_of(emu, req.match["symbol"])
    limit = int_arg(req.query, "limit", 120, 1, 10000)
    return window(req.query, [mk.trade(t) for t in m.trades], lambda r: r[1], limit)


def book(emu: BitfinexEmulator, req: Req) -> Any:
    m = market_of(emu, req.match["symbol"])
    prec = req.match["prec"]
    if prec not in mk.PRECISIONS:
        raise BfxError("prec: invalid", ERR_PARAMS)
    depth = int_arg(req.query, "len", 25, 1, 250)
    if depth not in (1, 25, 100, 250):
        raise BfxError("len: invalid", ERR_PARAMS)
    rows, _, _ = mk.book_rows(m, prec, depth, emu.raw_base(m.instrument.symbol))
    return rows


def candles(emu: BitfinexEmulator, req: Req) -> Any:
    parts = req.match["key"].split(":")
    if len(parts) < 3 or parts[0] != "trade" or parts[1] not in TIMEFRAMES:
        raise BfxError("key: invalid", ERR_PARAMS)
    m = market_of(emu, ":".join(parts[2:]))
    rows = [mk.candle(m, c) for c in m.aggregate(TIMEFRAMES[parts[1]])]
    if req.match["section"] == "last":
        return rows[-1]
    if req.match["section"] != "hist":
        raise BfxError("section: invalid", ERR_PARAMS)
    limit = int_arg(req.query, "limit", 100, 1, 10000)
    return window(req.query, rows, lambda r: r[0], limit)


def deriv_status(emu: BitfinexEmulator, req: Req) -> Any:
    raw = req.query.get("keys", "ALL")
    syms = [s for s, i in emu.instruments.items() if i.is_derivative]
    want = syms if raw == "ALL" else [s for s in raw.split(",") if s in syms]
    return [emu.deriv_status(emu.driver.markets[s]) for s in want]


def conf(emu: BitfinexEmulator, req: Req) -> Any:
    keys = req.match["keys"].split(",")
    if len(keys) > 32:
        raise BfxError("keys: invalid", ERR_PARAMS)
    return [emu.conf_value(k) for k in keys]


# -- authenticated endpoints ---------------------------------------------------------------
def _sym(req: Req) -> str:
    return req.match.get("symbol", "")


def wallets(emu: BitfinexEmulator, req: Req) -> Any:
    return emu.trading.wallets()


def orders(emu: BitfinexEmulator, req: Req) -> Any:
    sym = _sym(req)
    if sym:
        market_of(emu, sym)
    return emu.trading.open_orders(sym, req.body.get("id"))


def orders_hist(emu: BitfinexEmulator, req: Req) -> Any:
    sym = _sym(req)
    if sym:
        market_of(emu, sym)
    limit = int_arg(req.body, "limit", 25, 1, 2500)
    return emu.trading.closed_orders(sym, req.body.get("id"), limit)


def trades_hist(emu: BitfinexEmulator, req: Req) -> Any:
    sym = _sym(req)
    if sym:
        market_of(emu, sym)
    limit = int_arg(req.body, "limit", 25, 1, 2500)
    rows = emu.trading.trades(sym, "", 100_000)[::-1]  # oldest first for the window
    return window(req.body, rows, lambda r: r[2], limit)


def order_trades(emu: BitfinexEmulator, req: Req) -> Any:
    sym, _, oid = req.match["ref"].rpartition(":")
    market_of(emu, sym)
    if not oid.isdigit():
        raise BfxError("id: invalid", ERR_PARAMS)
    return emu.trading.trades(sym, oid, 10_000)


def positions(emu: BitfinexEmulator, req: Req) -> Any:
    return emu.trading.positions()


def ledgers(emu: BitfinexEmulator, req: Req) -> Any:
    """``ledgers/{Currency}/hist`` (or every currency): newest first, ``start``/``end`` (ms,
    inclusive), ``limit`` (25 by default, at most 2500)."""
    limit = int_arg(req.body, "limit", 25, 1, 2500)
    rows = emu.funding.rows(req.match.get("currency", ""))
    return window(req.body, rows, lambda r: r[3], limit)


def _note(kind: str, info: Any, text: str) -> list[Any]:
    return [now_ms(), kind, None, None, info, None, "SUCCESS", text]


def _writable(emu: BitfinexEmulator) -> None:
    if emu.maintenance:
        raise BfxError("maintenance", 20060)


def submit(emu: BitfinexEmulator, req: Req) -> Any:
    _writable(emu)
    return _note("on-req", [emu.trading.submit(req.body)], "Submitting 1 orders.")


def cancel(emu: BitfinexEmulator, req: Req) -> Any:
    _writable(emu)
    return _note("oc-req", emu.trading.cancel(req.body),
                 "Submitted for cancellation; waiting for confirmation.")  # fmt: skip


def cancel_multi(emu: BitfinexEmulator, req: Req) -> Any:
    _writable(emu)
    rows = emu.trading.cancel_multi(req.body)
    return _note("oc_multi-req", rows, f"Submitted for cancellation ({len(rows)} orders).")


def update(emu: BitfinexEmulator, req: Req) -> Any:
    _writable(emu)
    return _note("ou-req", emu.trading.update(req.body), "Submitting update to order.")


PUBLIC: list[tuple[str, str, Handler]] = [
    ("GET", "/v2/platform/status", platform_status),
    ("GET", "/v2/tickers", tickers),
    ("GET", "/v2/ticker/{symbol}", ticker),
    ("GET", "/v2/trades/{symbol}/hist", trades),
    ("GET", "/v2/book/{symbol}/{prec}", book),
    ("GET", "/v2/candles/{key}/{section}", candles),
    ("GET", "/v2/status/deriv", deriv_status),
    ("GET", "/v2/conf/{keys}", conf),
]
PRIVATE: list[tuple[str, str, Handler]] = [
    ("POST", "/v2/auth/r/wallets", wallets),
    ("POST", "/v2/auth/r/orders", orders),
    ("POST", "/v2/auth/r/orders/hist", orders_hist),
    ("POST", "/v2/auth/r/orders/{symbol}/hist", orders_hist),
    ("POST", "/v2/auth/r/orders/{symbol}", orders),
    ("POST", "/v2/auth/r/trades/hist", trades_hist),
    ("POST", "/v2/auth/r/trades/{symbol}/hist", trades_hist),
    ("POST", "/v2/auth/r/order/{ref}/trades", order_trades),
    ("POST", "/v2/auth/r/positions", positions),
    ("POST", "/v2/auth/r/ledgers/hist", ledgers),
    ("POST", "/v2/auth/r/ledgers/{currency}/hist", ledgers),
    ("POST", "/v2/auth/w/order/submit", submit),
    ("POST", "/v2/auth/w/order/update", update),
    ("POST", "/v2/auth/w/order/cancel", cancel),
    ("POST", "/v2/auth/w/order/cancel/multi", cancel_multi),
]


def echo(text: Any) -> str:
    return clip(text, 64)
