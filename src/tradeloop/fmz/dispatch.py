"""Method routing: from a decoded docker request to one :class:`FmzVenue` call.

This is the only place that knows the protocol's method names, their aliases (spec B.9) and
how each method's ``params`` are spelled; venues receive typed arguments. Parameter names the
guide does not fix (``limit``, margin ``level`` ...) accept the obvious spellings.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tradeloop.fmz.protocol import Credentials, FmzError, FmzRequest, Params, Reply
from tradeloop.fmz.symbols import FmzSymbol, parse_symbol
from tradeloop.fmz.venue import SIDES, FmzVenue, OrderRequest

Handler = Callable[[FmzVenue, FmzRequest, str], Awaitable[Reply]]

API_PREFIX = "__api_"
MAX_LIMIT = 1000
#: Longest bar we build, in minutes (about four weeks); longer periods are almost surely a unit
#: mistake (seconds sent instead of minutes) and would need months of 1m candles.
MAX_PERIOD_MIN = 40320


def _symbol(p: Params) -> FmzSymbol:
    return parse_symbol(p.text("symbol"))


def _opt_symbol(p: Params) -> FmzSymbol | None:
    return parse_symbol(p.text("symbol")) if p.has("symbol") else None


def _limit(p: Params, default: int) -> int:
    n = p.integer("limit", default, lo=0)
    return default if n == 0 else min(n, MAX_LIMIT)


async def _ticker(v: FmzVenue, r: FmzRequest, _: str) -> Reply:
    return await v.ticker(_symbol(r.params))


async def _depth(v: FmzVenue, r: FmzRequest, _: str) -> Reply:
    return await v.depth(_symbol(r.params), _limit(r.params, 20))


async def _trades(v: FmzVenue, r: FmzRequest, _: str) -> Reply:
    return await v.trades(_symbol(r.params), _limit(r.params, 100))


async def _records(v: FmzVenue, r: FmzRequest, _: str) -> Reply:
    period = r.params.integer("period", 60, lo=1, hi=MAX_PERIOD_MIN)
    return await v.records(_symbol(r.params), period, _limit(r.params, 300))


async def _markets(v: FmzVenue, r: FmzRequest, _: str) -> Reply:
    return await v.markets()


async def _tickers(v: FmzVenue, r: FmzRequest, _: str) -> Reply:
    contract = r.params.text("contract_type", "") or r.params.text("symbol", "").partition(".")[2]
    return await v.tickers(contract.lower() or None)


def _wallet_scope(p: Params) -> FmzSymbol | None:
    """What ``accounts`` / ``assets`` are asked about: the guide sends no params, so absent
    means the main wallet; a ``symbol`` (``BTC_USDT.swap``) or a bare ``contract_type``
    (``swap``) picks the wallet that contract trades from (Binance: USD-M futures)."""
    if p.has("symbol"):
        return _symbol(p)
    contract = p.text("contract_type", "").strip().lower()
    return FmzSymbol("", "", contract) if contract else None


async def _accounts(v: FmzVenue, r: FmzRequest, _: str) -> Reply:
    return await v.accounts(_need_keys(r), _wallet_scope(r.params))


async def _assets(v: FmzVenue, r: FmzRequest, _: str) -> Reply:
    return await v.assets(_need_keys(r), _wallet_scope(r.params))


async def _trade(v: FmzVenue, r: FmzRequest, _: str) -> Reply:
    p = r.params
    side = p.text("type").lower()
    if side not in SIDES:
        raise FmzError(f"param 'type' must be one of {', '.join(SIDES)}, got {side[:20]!r}")
    amount = p.number("amount")
    if amount <= 0:
        raise FmzError("param 'amount' must be > 0")
    price = p.number("price")
    if price != -1 and price <= 0:
        raise FmzError("param 'price' must be > 0, or -1 for a market order")
    sym = _symbol(p)
    if side.startswith("close") and sym.is_spot:
        raise FmzError(f"type {side!r} needs a contract symbol such as BTC_USDT.swap")
    req = OrderRequest(sym, side, amount, None if price == -1 else price)
    return await v.trade(_need_keys(r), req)


async def _orders(v: FmzVenue, r: FmzRequest, _: str) -> Reply:
    return await v.orders(_need_keys(r), _opt_symbol(r.params))


def _order_id(p: Params) -> str:
    oid = p.text("id")
    if len(oid) > 128:
        raise FmzError("param 'id' is too long")
    return oid


async def _order(v: FmzVenue, r: FmzRequest, _: str) -> Reply:
    return await v.order(_need_keys(r), _order_id(r.params), _opt_symbol(r.params))


async def _history_orders(v: FmzVenue, r: FmzRequest, _: str) -> Reply:
    p = r.params
    since = p.integer("since", 0, lo=0)
    return await v.history_orders(_need_keys(r), _opt_symbol(p), since, _limit(p, 100))


async def _cancel(v: FmzVenue, r: FmzRequest, _: str) -> Reply:
    return await v.cancel(_need_keys(r), _order_id(r.params), _opt_symbol(r.params))


async def _positions(v: FmzVenue, r: FmzRequest, _: str) -> Reply:
    return await v.positions(_need_keys(r), _range_symbol(r.params))


async def _fundings(v: FmzVenue, r: FmzRequest, _: str) -> Reply:
    return await v.fundings(_range_symbol(r.params))


_LEVEL_NAMES = ("marginLevel", "margin_level", "level", "lever", "leverage", "value")


async def _set_margin_level(v: FmzVenue, r: FmzRequest, _: str) -> Reply:
    p = r.params
    name = p.first_present(*_LEVEL_NAMES)
    if name is None:
        raise FmzError("missing param 'marginLevel' (the leverage, a whole number)")
    level = p.integer(name, lo=1, hi=1000)
    return await v.set_margin_level(_need_keys(r), _symbol(p), level)


async def _io(v: FmzVenue, r: FmzRequest, verb: str) -> Reply:
    """The older ``io`` scheme: ``code`` 0 set margin, 1 direction, 2 contract type, 3 position.

    ``code``/``args`` may sit at the top level (old dockers) or inside ``params``."""
    p = r.params
    code_v = p.raw.get("code", r.extra.get("code"))
    args_v = p.raw.get("args", r.extra.get("args", []))
    if not isinstance(args_v, list):
        args_v = [args_v]
    if isinstance(code_v, bool) or not isinstance(code_v, int | str):
        raise FmzError("io: missing 'code' (0 set margin, 1 set direction, 2 contract, 3 position)")
    code = Params({"code": code_v}).integer("code", lo=0, hi=3)
    if code == 0:
        if not args_v:
            raise FmzError("io code 0 (set margin level) needs args [level]")
        level = Params({"level": args_v[0]}).integer("level", lo=1, hi=1000)
        return await v.set_margin_level(_need_keys(r), _symbol(p), level)
    if code in (1, 2):
        # Direction and contract type are docker-side state; the docker sends them with trade.
        return Reply(True)
    return await v.positions(_need_keys(r), _range_symbol(p))


async def _api(v: FmzVenue, r: FmzRequest, verb: str) -> Reply:
    path = check_api_path(r.method[len(API_PREFIX) :], v.api_prefixes)
    method = (verb or "GET").strip().upper()
    if method not in ("GET", "POST", "PUT", "DELETE"):
        raise FmzError(f"__api_: unsupported Http-Method {method[:10]!r}")
    return await v.api(r.creds, method, path, r.params.raw)


#: characters a passthrough path may contain: no '%' (no encoded anything), no '\\', '?', '#',
#: ':', '@', whitespace or non-ASCII — so nothing downstream can decode it into another path
_PATH_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-_.")
MAX_API_PATH = 256


def check_api_path(path: str, prefixes: tuple[str, ...]) -> str:
    """``path`` if it is a plain path under one of the venue's API prefixes, else FmzError.

    ``__api_`` signs and forwards to the venue host, so it must not reach anything else that
    host serves (the emulator's ``/__admin/faults`` was reachable: an SSRF). Only the venue's
    own API prefix (``/api/v5/`` for OKX) is allowed, and the path must already be in its final
    form: plain ASCII letters, digits, ``/-_.``; no empty, ``.`` or ``..`` segments. Nothing is
    decoded or normalised, so what is checked is exactly what is sent."""
    if not prefixes:
        raise FmzError("__api_: this venue has no API passthrough")
    allowed = " or ".join(prefixes)
    segments = path[1:].split("/")
    if segments[-1] == "":  # a trailing slash is fine
        segments.pop()
    if (
        len(path) > MAX_API_PATH
        or not set(path) <= _PATH_CHARS
        or not path.startswith(prefixes)
        or any(seg in ("", ".", "..") for seg in segments)
    ):
        raise FmzError(
            f"__api_: path must be a plain venue API path under {allowed} (ASCII letters, "
            f"digits, '/-_.'; no '..', no %-encoding, no URL), got {path[:60]!r}"
        )
    return path


def _need_keys(r: FmzRequest) -> Credentials:
    if not r.creds.present:
        raise FmzError(f"{r.method}: access_key and secret_key are required")
    return r.creds


def _range_symbol(p: Params) -> FmzSymbol | None:
    """``BTC_USDT.swap`` exact, ``USDT.swap`` a range (any base), absent = everything."""
    if not p.has("symbol"):
        return None
    text = p.text("symbol")
    head, dot, contract = text.partition(".")
    if "_" not in head:
        if not head.isalnum():
            raise FmzError(f"invalid symbol range {text[:40]!r}: expected QUOTE.swap")
        return FmzSymbol("", head.upper(), contract.lower() if dot else "swap")
    return parse_symbol(text)


#: canonical method -> handler
HANDLERS: dict[str, Handler] = {
    "ticker": _ticker,
    "depth": _depth,
    "trades": _trades,
    "records": _records,
    "markets": _markets,
    "tickers": _tickers,
    "accounts": _accounts,
    "assets": _assets,
    "trade": _trade,
    "orders": _orders,
    "order": _order,
    "historyorders": _history_orders,
    "cancel": _cancel,
    "positions": _positions,
    "setmarginlevel": _set_margin_level,
    "fundings": _fundings,
    "io": _io,
}

#: alias (lower case) -> canonical method (spec B.9)
ALIASES: dict[str, str] = {
    "getticker": "ticker",
    "getdepth": "depth",
    "gettrades": "trades",
    "getrecords": "records",
    "kline": "records",
    "getmarkets": "markets",
    "gettickers": "tickers",
    "account": "accounts",
    "getaccount": "accounts",
    "getassets": "assets",
    "createorder": "trade",
    "getorders": "orders",
    "getorder": "order",
    "gethistoryorders": "historyorders",
    "cancelorder": "cancel",
    "position": "positions",
    "getposition": "positions",
    "getpositions": "positions",
    "marginlevel": "setmarginlevel",
    "set_margin_level": "setmarginlevel",
    "funding": "fundings",
    "getfundings": "fundings",
}


def supported_methods() -> list[str]:
    return [*HANDLERS, f"{API_PREFIX}<path>"]


def resolve(method: str) -> tuple[str, Handler]:
    """Canonical name and handler for ``method``; unknown methods list what is supported."""
    if method.startswith(API_PREFIX):
        return API_PREFIX, _api
    key = method.lower()
    key = ALIASES.get(key, key)
    handler = HANDLERS.get(key)
    if handler is None:
        raise FmzError(
            f"unsupported method: {method[:60]} (supported: {', '.join(supported_methods())})"
        )
    return key, handler


async def dispatch(venue: FmzVenue, req: FmzRequest, http_method: str = "") -> Reply:
    _, handler = resolve(req.method)
    return await handler(venue, req, http_method)


__all__ = ["ALIASES", "HANDLERS", "check_api_path", "dispatch", "resolve", "supported_methods"]
