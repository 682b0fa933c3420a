"""Binance's FMZ conventions (spot and USD-M ``.swap``): symbols, keys, ``__api_`` under
``/api/v3/`` and ``/fapi/``, and the reads the Gateway contract lacks (interim, as
:mod:`.okx_queries` is for OKX).

Everything else -- live books, orders, balances, instruments -- is the Binance connector's
(:mod:`tradeloop.venues.binance`) through the generic adapter. Each query here is one call of
the gateway's own REST client (its signing, clock offset and weight gate apply), read with the
connector's parsers where they exist. ``BTC_USDT.swap`` is the USD-M perpetual
``BTCUSDT-PERP.BINANCE``: its queries go to the gateway's futures client (``/fapi``). Binance
keeps two wallets, both holding USDT: ``accounts`` reports the spot wallet
(``/api/v3/account``), and for a request naming a swap (``symbol`` ``BTC_USDT.swap`` or
``contract_type`` ``swap``) the USD-M futures wallet (``/fapi/v2/balance``: ``free`` = available
balance, ``frozen`` = wallet balance - available, i.e. margin in use).

Keys: the docker's ``access_key`` is the API key; its ``secret_key`` is the HMAC secret, or an
Ed25519 private key in PEM (then requests are signed with it and the WS API session logs on).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from tradeloop.fmz.conventions import (
    Balance,
    Candle,
    Conventions,
    Funding,
    OrderInfo,
    PositionInfo,
    Queries,
    Ticker,
    Transport,
)
from tradeloop.fmz.protocol import Credentials, FmzError
from tradeloop.fmz.symbols import FmzSymbol
from tradeloop.model import NS_PER_MS, BookLevels, Instrument, OrderStatus, Side, TradeTick
from tradeloop.model.identity import native_of
from tradeloop.venues.base import Gateway
from tradeloop.venues.binance import constants as C
from tradeloop.venues.binance import futures as F
from tradeloop.venues.binance import parse as P
from tradeloop.venues.binance.auth import Credentials as BinanceCredentials
from tradeloop.venues.binance.gateway import BinanceGateway
from tradeloop.venues.binance.rest import BinanceRestClient, WeightGate

Json = Mapping[str, Any]

#: FMZ period (minutes) -> Binance kline interval
NATIVE_BARS: dict[int, str] = {
    1: "1m", 3: "3m", 5: "5m", 15: "15m", 30: "30m", 60: "1h", 120: "2h", 240: "4h",
    360: "6h", 480: "8h", 720: "12h", 1440: "1d", 4320: "3d", 10080: "1w",
}  # fmt: skip
KLINE_PAGE = 1000
MAX_PAGES = 10
#: ``historyorders`` without a symbol asks ``allOrders`` per listed symbol; beyond this many
#: (a real exchangeInfo lists thousands) the docker must name one
MAX_HISTORY_SYMBOLS = 20


def binance_rest(gw: Gateway) -> BinanceRestClient:
    """The Binance gateway's REST client (labels' gateways come from the registry)."""
    if not isinstance(gw, BinanceGateway):
        raise TypeError(f"expected a Binance gateway, got {type(gw).__name__}")
    return gw.rest


def _rest_for(gw: Gateway, symbol: str | None) -> tuple[BinanceRestClient, str, bool]:
    """(client, path prefix, is a perpetual) for ``symbol``'s market."""
    if symbol is not None and F.is_perp_id(symbol):
        if not isinstance(gw, BinanceGateway) or gw.frest is None:
            raise FmzError("Binance: this gateway has no USD-M futures client")
        return gw.frest, "/fapi/v1/", True
    return binance_rest(gw), "/api/v3/", False


def _native(symbol: str) -> str:
    return P.native(symbol).removesuffix(F.PERP)


def _ids(perp: bool) -> Any:
    return F.perp_id if perp else P.symbol_id


def _int(x: Any) -> int:
    try:
        return int(x)
    except (TypeError, ValueError):
        return 0


# -- Binance JSON -> query records (pure) -------------------------------------------------------
def ticker_of(t: Json, ids: Any = P.symbol_id) -> Ticker:
    """A ``ticker/24hr`` row; ``time_ms`` = its ``closeTime``."""
    return Ticker(
        ids(str(t.get("symbol", ""))), P.f(t.get("bidPrice")), P.f(t.get("askPrice")),
        P.f(t.get("lastPrice")), P.f(t.get("highPrice")), P.f(t.get("lowPrice")),
        P.f(t.get("openPrice")), P.f(t.get("volume")), _int(t.get("closeTime")),
    )  # fmt: skip


def trades_of(symbol: str, rows: Sequence[Json]) -> list[TradeTick]:
    """``/api/v3/trades`` rows; the taker sold when the buyer was the maker."""
    return [
        TradeTick(_int(r.get("time")) * NS_PER_MS, symbol, P.f(r.get("price")), P.f(r.get("qty")),
                  Side.SELL if r.get("isBuyerMaker") else Side.BUY, str(r.get("id", "")))
        for r in rows
    ]  # fmt: skip


def candles_of(rows: Sequence[Sequence[Any]]) -> list[Candle]:
    """Kline rows ``[openTime, o, h, l, c, volume, ...]`` -> ascending candles."""
    out = [(_int(r[0]), P.f(r[1]), P.f(r[2]), P.f(r[3]), P.f(r[4]), P.f(r[5]))
           for r in rows if len(r) >= 6]  # fmt: skip
    out.sort(key=lambda c: c[0])
    return out


def order_of(o: Json) -> OrderInfo:
    """An order row (``order``, ``openOrders``, ``allOrders``). A market buy sized in quote
    (``quoteOrderQty``) reports that amount, as FMZ shows it."""
    market = o.get("type") == "MARKET"
    filled = P.f(o.get("executedQty"))
    quote = P.f(o.get("cummulativeQuoteQty"))
    amount = P.f(o.get("origQty"))
    if market and o.get("side") == "BUY" and P.f(o.get("origQuoteOrderQty")) > 0:
        amount = P.f(o.get("origQuoteOrderQty"))
    return OrderInfo(
        symbol=P.symbol_id(str(o.get("symbol", ""))),
        venue_order_id=str(o.get("orderId", "")),
        client_order_id=str(o.get("clientOrderId") or ""),
        side=Side.BUY if o.get("side") == "BUY" else Side.SELL,
        amount=amount,
        price=None if market else P.f(o.get("price")),
        status=P.STATUS.get(str(o.get("status", "")), OrderStatus.ACCEPTED),
        filled=filled,
        avg_price=quote / filled if filled else 0.0,
        time_ms=_int(o.get("time")),
    )


def futures_order_of(o: Json) -> OrderInfo:
    """A ``/fapi/v1`` order row."""
    return OrderInfo(
        symbol=F.perp_id(str(o.get("symbol", ""))),
        venue_order_id=str(o.get("orderId", "")),
        client_order_id=str(o.get("clientOrderId") or ""),
        side=Side.BUY if o.get("side") == "BUY" else Side.SELL,
        amount=P.f(o.get("origQty")),
        price=None if o.get("type") != "LIMIT" else P.f(o.get("price")),
        status=P.STATUS.get(str(o.get("status", "")), OrderStatus.ACCEPTED),
        filled=P.f(o.get("executedQty")),
        avg_price=P.f(o.get("avgPrice")),
        time_ms=_int(o.get("time")),
    )


def position_of(r: Json) -> PositionInfo:
    """A ``/fapi/v2/positionRisk`` row (one-way mode: the sign of ``positionAmt``)."""
    return PositionInfo(
        F.perp_id(str(r.get("symbol", ""))), P.f(r.get("positionAmt")), P.f(r.get("entryPrice")),
        P.f(r.get("unRealizedProfit")), leverage=P.f(r.get("leverage")) or 1.0,
        margin=P.f(r.get("initialMargin")) or P.f(r.get("isolatedMargin")),
    )  # fmt: skip


def balances_of(account: Json) -> list[Balance]:
    return [
        Balance(str(b.get("asset", "")), P.f(b.get("free")), P.f(b.get("locked")))
        for b in account.get("balances") or []
    ]


def _dec(x: Any) -> Decimal:
    try:
        return Decimal(str(x)) if x not in (None, "") else Decimal(0)
    except InvalidOperation:
        return Decimal(0)


def futures_balances_of(rows: Sequence[Json]) -> list[Balance]:
    """``/fapi/v2/balance`` rows: ``free`` = ``availableBalance``, ``frozen`` = ``balance`` -
    available (exact in decimal, never negative: unrealised profit can make available exceed
    the wallet balance)."""
    out = []
    for r in rows:
        total, free = _dec(r.get("balance")), _dec(r.get("availableBalance"))
        out.append(Balance(str(r.get("asset", "")), float(free),
                           float(max(total - free, Decimal(0)))))  # fmt: skip
    return out


# -- the queries ------------------------------------------------------------------------------
class BinanceQueries(Queries):
    bar_minutes = tuple(NATIVE_BARS)

    async def ticker(self, gw: Gateway, symbol: str) -> tuple[Ticker, Any]:
        rest, pre, perp = _rest_for(gw, symbol)
        t = await rest.call("GET", pre + "ticker/24hr", {"symbol": _native(symbol)})
        if perp:  # the futures 24 h ticker has no book: add the book ticker's
            bt = await rest.call("GET", pre + "ticker/bookTicker", {"symbol": _native(symbol)})
            t = {**t, "bidPrice": bt.get("bidPrice"), "askPrice": bt.get("askPrice")}
        return ticker_of(t, _ids(perp)), t

    async def tickers(self, gw: Gateway, contract: str | None) -> tuple[list[Ticker], Any]:
        out: list[Ticker] = []
        if contract in (None, "spot"):
            rows = await binance_rest(gw).call("GET", "/api/v3/ticker/24hr")
            out += [ticker_of(t) for t in rows]
        if contract in (None, "swap") and isinstance(gw, BinanceGateway) and gw.frest:
            rows = await gw.frest.call("GET", "/fapi/v1/ticker/24hr")
            out += [ticker_of(t, F.perp_id) for t in rows]
        return out, None

    async def book(self, gw: Gateway, symbol: str, depth: int) -> tuple[BookLevels, Any]:
        rest, pre, perp = _rest_for(gw, symbol)
        limit = max(1, min(depth, 5000))
        if perp:  # the futures depth takes these limits only
            limit = next(n for n in (5, 10, 20, 50, 100, 500, 1000) if n >= min(limit, 1000))
        b = await rest.call("GET", pre + "depth", {"symbol": _native(symbol), "limit": limit})

        def side(rows: Sequence[Sequence[Any]]) -> list[tuple[float, float]]:
            return [(P.f(r[0]), P.f(r[1])) for r in rows[:depth]]

        levels = BookLevels(0, symbol, side(b.get("bids", [])), side(b.get("asks", [])), True,
                            _int(b.get("lastUpdateId")))  # fmt: skip
        return levels, b

    async def trades(self, gw: Gateway, symbol: str, limit: int) -> tuple[list[TradeTick], Any]:
        rest, pre, _ = _rest_for(gw, symbol)
        p = {"symbol": _native(symbol), "limit": max(1, min(limit, 1000))}
        rows = await rest.call("GET", pre + "trades", p)
        return trades_of(symbol, rows), rows

    async def candles(self, gw: Gateway, symbol: str, minutes: int, count: int) -> list[Candle]:
        """Newest ``count`` candles, ascending, paging back by ``endTime`` (bounded)."""
        rest, pre, _ = _rest_for(gw, symbol)
        native, interval = _native(symbol), NATIVE_BARS[minutes]
        got: list[Candle] = []
        end: int | None = None
        for _ in range(MAX_PAGES):
            n = min(KLINE_PAGE, (count or KLINE_PAGE) - len(got))
            if n <= 0:
                break
            p: dict[str, Any] = {"symbol": native, "interval": interval, "limit": n}
            if end is not None:
                p["endTime"] = end
            page = candles_of(await rest.call("GET", pre + "klines", p))
            page = [c for c in page if not got or c[0] < got[0][0]]
            if not page:
                break
            got = page + got
            end = page[0][0] - 1
        return got[-count:] if count else got

    async def balances(self, gw: Gateway) -> tuple[list[Balance], Any]:
        acct = await binance_rest(gw).call("GET", "/api/v3/account", signed=True)
        return balances_of(acct), acct

    async def wallet_balances(self, gw: Gateway, wallet: str) -> tuple[list[Balance], Any]:
        """The USD-M futures wallet (:data:`~tradeloop.venues.binance.futures.WALLET`)."""
        if wallet != F.WALLET:
            raise FmzError(f"Binance: no wallet {wallet[:20]!r} (spot or {F.WALLET})")
        if not isinstance(gw, BinanceGateway) or gw.frest is None:
            raise FmzError("Binance: this gateway has no USD-M futures client")
        rows = await gw.frest.call("GET", "/fapi/v2/balance", signed=True)
        return futures_balances_of(rows), rows

    async def funding(self, gw: Gateway, symbol: str) -> tuple[Funding, Any]:
        rest, pre, perp = _rest_for(gw, symbol)
        if not perp:
            raise FmzError(f"Binance: {symbol} is spot (funding is for .swap)")
        d = await rest.call("GET", pre + "premiumIndex", {"symbol": _native(symbol)})
        return Funding(symbol, P.f(d.get("lastFundingRate")), 8 * 3600 * 1000,
                       _int(d.get("nextFundingTime"))), d  # fmt: skip

    async def positions(self, gw: Gateway, symbol: str | None) -> tuple[list[PositionInfo], Any]:
        if not isinstance(gw, BinanceGateway) or gw.frest is None:
            return [], []
        p = {"symbol": _native(symbol)} if symbol is not None else {}
        rows = await gw.frest.call("GET", "/fapi/v2/positionRisk", p, signed=True)
        return [position_of(r) for r in rows if P.f(r.get("positionAmt")) != 0], rows

    async def set_leverage(self, gw: Gateway, symbol: str, level: int) -> Any:
        rest, pre, perp = _rest_for(gw, symbol)
        if not perp:
            raise FmzError(f"Binance: {symbol} is spot (leverage is for .swap)")
        p = {"symbol": _native(symbol), "leverage": level}
        return await rest.call("POST", pre + "leverage", p, signed=True, retry_safe=True)

    async def open_orders(self, gw: Gateway, symbol: str | None) -> tuple[list[OrderInfo], Any]:
        rest, pre, perp = _rest_for(gw, symbol)
        p = {"symbol": _native(symbol)} if symbol is not None else {}
        rows = await rest.call("GET", pre + "openOrders", p, signed=True)
        out = [futures_order_of(o) if perp else order_of(o) for o in rows]
        if symbol is None and isinstance(gw, BinanceGateway) and gw.frest is not None:
            frows = await gw.frest.call("GET", "/fapi/v1/openOrders", signed=True)
            out += [futures_order_of(o) for o in frows]
            rows = rows + frows
        return out, rows

    async def order(self, gw: Gateway, symbol: str, venue_order_id: str) -> tuple[OrderInfo, Any]:
        rest, pre, perp = _rest_for(gw, symbol)
        p = {"symbol": _native(symbol), "orderId": venue_order_id}
        o = await rest.call("GET", pre + "order", p, signed=True)
        return (futures_order_of(o) if perp else order_of(o)), o

    async def history_orders(
        self, gw: Gateway, symbol: str | None, since_ms: int, limit: int
    ) -> tuple[list[OrderInfo], Any]:
        """``allOrders`` takes one symbol; without one, each listed symbol (few: an
        emulator or a short list), else the docker must name one."""
        if symbol is not None:
            symbols = [symbol]
        else:
            symbols = sorted(gw.instruments())
            if len(symbols) > MAX_HISTORY_SYMBOLS:
                raise FmzError("Binance: historyorders needs a symbol (allOrders is per symbol)")
        rows: list[Any] = []
        out: list[OrderInfo] = []
        for sym in symbols:
            rest, pre, perp = _rest_for(gw, sym)
            p: dict[str, Any] = {"symbol": _native(sym), "limit": max(1, min(limit or 500, 1000))}
            if since_ms:
                p["startTime"] = since_ms
            got = await rest.call("GET", pre + "allOrders", p, signed=True)
            rows += got
            out += [futures_order_of(o) if perp else order_of(o) for o in got]
        return sorted(out, key=lambda o: o.time_ms), rows

    async def cancel(self, gw: Gateway, symbol: str, venue_order_id: str) -> Any:
        rest, pre, _ = _rest_for(gw, symbol)
        p = {"symbol": _native(symbol), "orderId": venue_order_id}
        return await rest.call("DELETE", pre + "order", p, signed=True, retry_safe=False)


class BinanceConventions(Conventions):
    """``BTC_USDT`` = ``BTCUSDT.BINANCE``, ``BTC_USDT.swap`` = ``BTCUSDT-PERP.BINANCE``; FMZ
    order ids ``<native id>,<orderId>``."""

    venue = C.VENUE
    api_prefixes = ("/api/v3/", "/fapi/")

    def __init__(self) -> None:
        self.queries = BinanceQueries()

    def instrument_id(self, symbol: FmzSymbol) -> str:
        if symbol.is_swap:
            return F.perp_id(f"{symbol.base}{symbol.quote}")
        if not symbol.is_spot:
            raise FmzError(f"Binance: unsupported contract type {symbol.contract!r} (use "
                           "BASE_QUOTE or BASE_QUOTE.swap)")  # fmt: skip
        return self.symbol_id(f"{symbol.base}{symbol.quote}")

    def wallet(self, scope: FmzSymbol) -> str:
        """Swaps trade from the USD-M futures wallet, spot from the main one."""
        if scope.is_swap:
            return F.WALLET
        if not scope.is_spot:
            raise FmzError(f"Binance: unsupported contract type {scope.contract!r} (use "
                           "BASE_QUOTE or BASE_QUOTE.swap)")  # fmt: skip
        return ""

    def fmz_symbol(self, symbol_id: str, inst: Instrument | None = None) -> str:
        """``BTCUSDT`` cannot be split without the instrument (base/quote from exchangeInfo);
        a perpetual adds ``.swap``."""
        tail = ".swap" if F.is_perp_id(symbol_id) else ""
        if inst is not None and inst.base and inst.quote:
            return f"{inst.base}_{inst.quote}{tail}"
        return native_of(symbol_id)

    def credentials(self, creds: Credentials) -> tuple[dict[str, str], dict[str, Any]]:
        secret = creds.secret_key.strip()
        if secret.startswith("-----BEGIN"):
            return {"api_key": creds.access_key, "secret": "", "ed25519_key": secret}, {}
        return {"api_key": creds.access_key, "secret": secret}, {}

    def gateway_options(
        self,
        url: str,
        transport: Transport,
        credentials: Mapping[str, str],
        options: Mapping[str, Any],
    ) -> dict[str, Any]:
        """The gateway's REST client on the bridge's HTTP pool and retry policy; the weight
        gate at Binance's limit unless ``rate_limits = "off"`` (an emulator)."""
        cred = None
        if credentials.get("api_key"):
            cred = BinanceCredentials(credentials["api_key"], credentials.get("secret", ""),
                                      credentials.get("ed25519_key", ""))  # fmt: skip
        gate = WeightGate() if transport.rate_limits else WeightGate(limit=10**9)
        rest = BinanceRestClient(url, cred, gate=gate, timeout=transport.timeout,
                                 retry=transport.retry, session=transport.session)  # fmt: skip
        return {"rest": rest}

    async def api(
        self, gw: Gateway, method: str, path: str, params: Mapping[str, Any], signed: bool
    ) -> Any:
        """The endpoint's reply as ``data`` (a Binance error raises and becomes the docker's
        ``error``)."""
        rest = binance_rest(gw)
        if path.startswith("/fapi/"):
            rest, _, _ = _rest_for(gw, F.perp_id("X"))
        return await rest.call(method, path, dict(params), signed=signed)
