"""FTX REST (``/api``): the ``{"success", "result"}`` envelope, FTX's signing, and the routes.

Signing, as FTX documents it: ``FTX-KEY``, ``FTX-TS`` (ms) and ``FTX-SIGN`` = hex
HMAC-SHA256(secret, ts + METHOD + path_with_query + body), optional URI-encoded
``FTX-SUBACCOUNT``; more than 30 s off the server clock is refused. Every refusal is FTX's
``{"success": false, "error": "..."}`` with its HTTP status ("Not logged in..." 401, "Order not
found" 404, "Too many requests" 429). Faults, bounds and lost replies come from the shared
:func:`tradeloop.emulator.rest.guard`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from aiohttp import web

from tradeloop.emulator import api, rest
from tradeloop.emulator.api import ApiError as FtxError
from tradeloop.emulator.api import Req, int_arg, window
from tradeloop.emulator.auth import parse_number, same, sign_hex, within
from tradeloop.emulator.feed import now_ms
from tradeloop.emulator.ftx import markets as mk
from tradeloop.emulator.market import SECOND_MS, SymbolMarket

if TYPE_CHECKING:
    from tradeloop.emulator.ftx.server import FtxEmulator

__all__ = ["FtxError", "Req", "int_arg", "window"]
#: resolutions (seconds) FTX serves besides any multiple of a day
RESOLUTIONS = (15, 60, 300, 900, 3600, 14400)
#: A handler: synchronous (the simulator answers at once), its result goes in ``result``.
Handler = Callable[["FtxEmulator", Req], Any]


def failure(status: int, msg: str) -> web.Response:
    return api.json_response({"success": False, "error": msg}, status)


def success(result: Any) -> web.Response:
    return api.json_response({"success": True, "result": result})


ENVELOPE = api.Envelope(success, failure)
#: How FTX words what the shared guard decides: 429, 503, 413, bad body, internal error.
DIALECT = rest.TextDialect(
    failure,
    "Too many requests",
    "Please retry request",
    "Request Entity Too Large",
    "Invalid JSON",
    "An unexpected error occurred, please try again later.",
)


def verify(emu: FtxEmulator, request: web.Request, body: str, now_s: float | None = None) -> None:
    """Raise FTX's 401 unless ``request`` is signed with the emulator's key."""
    now_s = time.time() if now_s is None else now_s
    h = request.headers
    key, ts, sig = h.get("FTX-KEY", ""), h.get("FTX-TS", ""), h.get("FTX-SIGN", "")
    if not (key and ts and sig):
        raise FtxError("Not logged in", 401)
    if not same(key, emu.config.api_key):
        raise FtxError("Not logged in: Invalid API key", 401)
    t = parse_number(ts)
    if t is None or not within(now_s, t / 1000):
        raise FtxError("Not logged in: Timestamp too far from current time", 401)
    expected = sign_hex(emu.config.api_secret, ts + request.method + request.raw_path + body)
    if not same(sig, expected):
        raise FtxError("Not logged in: Invalid signature", 401)
    sub = unquote(h.get("FTX-SUBACCOUNT", ""))
    if sub and sub not in emu.config.subaccounts:
        raise FtxError("Not logged in: No such subaccount", 401)


def route(
    emu: FtxEmulator, handler: Handler, private: bool
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    check = partial(verify, emu) if private else None
    return api.route(emu.faults, DIALECT, ENVELOPE, partial(handler, emu), check)


async def not_found(request: web.Request) -> web.Response:
    return failure(404, "Not Found")


# -- parameters ---------------------------------------------------------------------------
def market_of(emu: FtxEmulator, name: Any) -> SymbolMarket:
    return api.lookup(emu.driver.markets, name, "No such market")


# -- public endpoints -----------------------------------------------------------------------
def markets(emu: FtxEmulator, req: Req) -> Any:
    t = now_ms()
    return [mk.market_row(m, t) for m in emu.driver.markets.values()]


def market(emu: FtxEmulator, req: Req) -> Any:
    return mk.market_row(market_of(emu, req.match["name"]), now_ms())


def orderbook(emu: FtxEmulator, req: Req) -> Any:
    m = market_of(emu, req.match["name"])
    bids, asks = m.float_levels(int_arg(req.query, "depth", 20, 1, 100))
    return {"bids": bids, "asks": asks}


def trades(emu: FtxEmulator, req: Req) -> Any:
    m = market_of(emu, req.match["name"])
    return [mk.trade(t) for t in window(reversed(m.trades), req.query, lambda t: t.ts, 20)]


def candles(emu: FtxEmulator, req: Req) -> Any:
    m = market_of(emu, req.match["name"])
    res = int_arg(req.query, "resolution", 0, 0, 30 * 86_400)
    if res not in RESOLUTIONS and (res == 0 or res % 86_400):
        raise FtxError("Invalid parameter resolution")
    limit = int_arg(req.query, "limit", 1500, 1, 5000)
    start, end = api.time_range(req.query)
    rows = [c for c in m.aggregate(res * SECOND_MS) if start <= c.start <= end]
    return [mk.candle(m, c) for c in rows[-limit:]]


PUBLIC: list[tuple[str, str, Handler, bool]] = [
    ("GET", "/api/markets", markets, False),
    ("GET", "/api/markets/{name:.+}/orderbook", orderbook, False),
    ("GET", "/api/markets/{name:.+}/trades", trades, False),
    ("GET", "/api/markets/{name:.+}/candles", candles, False),
    ("GET", "/api/markets/{name:.+}", market, False),
]
