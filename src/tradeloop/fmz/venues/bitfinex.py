"""Bitfinex's FMZ conventions: symbols (``t`` pairs, ``UST`` for USDt, ``F0`` perpetuals), keys,
``__api_`` under ``/v2/``, and the reads the Gateway contract lacks.

Everything else -- live books, orders over the authenticated WebSocket, balances, instruments --
is the Bitfinex connector's (:mod:`tradeloop.venues.bitfinex`) through the generic adapter. Each
query here is one call of the gateway's own REST client (its signing, nonces and rate budget
apply) and reads Bitfinex's positional arrays (never relying on their length beyond the fields
used).

Symbols: ``BTC_USD`` = ``tBTCUSD.BITFINEX``; ``BTC_USDT`` = ``tBTCUST.BITFINEX`` (Bitfinex names
USDt ``UST``); a currency longer than three letters takes Bitfinex's colon form
(``tDOGE:USD``); ``BTC_USDT.swap`` = ``tBTCF0:USTF0.BITFINEX`` (the USDt-margined perpetual, the
only perpetual FMZ names; ``BTC_EUR.swap`` would be ``tBTCF0:EUTF0``).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from tradeloop.core.errors import VenueError
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
from tradeloop.fmz.protocol import FmzError
from tradeloop.fmz.symbols import FmzSymbol
from tradeloop.model import NS_PER_MS, BookLevels, Instrument, Side, TradeTick
from tradeloop.model.identity import native_of
from tradeloop.venues.base import Gateway
from tradeloop.venues.bitfinex import constants as C
from tradeloop.venues.bitfinex import parse as P
from tradeloop.venues.bitfinex.gateway import BitfinexGateway
from tradeloop.venues.bitfinex.rest import BitfinexRestClient

Row = Sequence[Any]

#: FMZ period (minutes) -> Bitfinex candle time frame
NATIVE_BARS: dict[int, str] = {1: "1m", 5: "5m", 15: "15m", 30: "30m", 60: "1h", 180: "3h",
                               360: "6h", 720: "12h", 1440: "1D", 10080: "1W"}  # fmt: skip
#: FMZ currency <-> Bitfinex currency
_TO_BFX = {"USDT": "UST", "EURT": "EUT"}
_FROM_BFX = {v: k for k, v in _TO_BFX.items()}
FUNDING_INTERVAL_MS = 8 * 3_600_000  # Bitfinex settles perpetual funding every 8 h


def bitfinex_rest(gw: Gateway) -> BitfinexRestClient:
    if not isinstance(gw, BitfinexGateway):
        raise TypeError(f"expected a Bitfinex gateway, got {type(gw).__name__}")
    return gw.rest


def _ccy(fmz: str) -> str:
    return _TO_BFX.get(fmz, fmz)


def _fmz_ccy(bfx: str) -> str:
    return _FROM_BFX.get(bfx, bfx)


def pair(base: str, quote: str) -> str:
    """(BTC, UST) -> ``tBTCUST``; a currency longer than 3 letters -> ``tDOGE:USD``."""
    return f"t{base}{quote}" if len(base) == 3 and len(quote) == 3 else f"t{base}:{quote}"


def _int(x: Any) -> int:
    try:
        return int(x)
    except (TypeError, ValueError):
        return 0


# -- Bitfinex arrays -> query records (pure) ----------------------------------------------------
def ticker_of(symbol: str, d: Row) -> Ticker:
    """``[BID, BID_SIZE, ASK, ASK_SIZE, DAILY_CHANGE, DAILY_CHANGE_REL, LAST, VOLUME, HIGH,
    LOW]`` (a ``/v2/ticker`` answer, or a ``/v2/tickers`` row without its symbol); Bitfinex
    sends no time, so ``time_ms`` is 0 and the adapter stamps it."""
    last = P.f(d[6])
    return Ticker(symbol, P.f(d[0]), P.f(d[2]), last, P.f(d[8]), P.f(d[9]), last - P.f(d[4]),
                  P.f(d[7]), 0)  # fmt: skip


def order_of(d: Row) -> OrderInfo:
    """An ORDER array ``[ID, GID, CID, SYMBOL, MTS_CREATE, MTS_UPDATE, AMOUNT, AMOUNT_ORIG,
    TYPE, TYPE_PREV, MTS_TIF, _, FLAGS, STATUS, _, _, PRICE, PRICE_AVG, ...]``."""
    status, filled, _ = P.order_status(d)
    market = "MARKET" in str(d[8] or "")
    return OrderInfo(
        symbol=P.symbol_id(str(d[3])),
        venue_order_id=str(d[0]),
        client_order_id=str(d[2] or ""),
        side=Side.BUY if P.f(d[7]) > 0 else Side.SELL,
        amount=abs(P.f(d[7])),
        price=None if market else P.f(d[16]),
        status=status,
        filled=filled,
        avg_price=P.f(d[17]),
        time_ms=_int(d[4]),
        reduce_only=bool(_int(d[12]) & C.FLAG_REDUCE_ONLY),
    )


def candles_of(rows: Sequence[Row]) -> list[Candle]:
    """``[MTS, OPEN, CLOSE, HIGH, LOW, VOLUME]`` (Bitfinex puts close second) -> ascending."""
    out = [(_int(r[0]), P.f(r[1]), P.f(r[3]), P.f(r[4]), P.f(r[2]), P.f(r[5]))
           for r in rows if len(r) >= 6]  # fmt: skip
    out.sort(key=lambda c: c[0])
    return out


def balances_of(rows: Sequence[Row]) -> list[Balance]:
    """Trading wallets (``exchange``, ``margin``): available and the rest as frozen."""
    out = []
    for r in rows:
        if len(r) < 3 or r[0] not in ("exchange", "margin"):
            continue
        total = P.f(r[2])
        free = total if len(r) < 5 or r[4] is None else P.f(r[4])
        out.append(Balance(_fmz_ccy(str(r[1])), free, max(total - free, 0.0)))
    return out


def position_of(d: Row) -> PositionInfo:
    """``[SYMBOL, STATUS, AMOUNT, BASE_PRICE, _, _, PL, PL_PERC, PRICE_LIQ, LEVERAGE, ...]``."""
    qty = 0.0 if d[1] == "CLOSED" else P.f(d[2])
    lev = P.f(d[9]) if len(d) > 9 else 0.0
    return PositionInfo(P.symbol_id(str(d[0])), qty, P.f(d[3]), P.f(d[6]), leverage=lev)


class BitfinexQueries(Queries):
    bar_minutes = tuple(NATIVE_BARS)

    async def ticker(self, gw: Gateway, symbol: str) -> tuple[Ticker, Any]:
        row = await bitfinex_rest(gw).get(f"/v2/ticker/{P.native(symbol)}")
        return ticker_of(symbol, row), row

    async def tickers(self, gw: Gateway, contract: str | None) -> tuple[list[Ticker], Any]:
        rows = await bitfinex_rest(gw).tickers()
        out = []
        for r in rows:
            sym = str(r[0]) if r else ""
            if not sym.startswith("t") or len(r) < 11:
                continue  # funding tickers (``fUSD``) are not markets
            perp = sym.endswith("F0") and ":" in sym
            if (contract == "spot" and perp) or (contract == "swap" and not perp):
                continue
            out.append(ticker_of(P.symbol_id(sym), r[1:]))
        return out, rows

    async def book(self, gw: Gateway, symbol: str, depth: int) -> tuple[BookLevels, Any]:
        rows = await bitfinex_rest(gw).book(P.native(symbol), 100 if depth > 25 else 25)
        bids = [(P.f(r[0]), P.f(r[2])) for r in rows if P.f(r[2]) > 0][:depth]
        asks = [(P.f(r[0]), -P.f(r[2])) for r in rows if P.f(r[2]) < 0][:depth]
        return BookLevels(time.time_ns(), symbol, bids, asks, True), rows

    async def trades(self, gw: Gateway, symbol: str, limit: int) -> tuple[list[TradeTick], Any]:
        rows = await bitfinex_rest(gw).get(f"/v2/trades/{P.native(symbol)}/hist",
                                           {"limit": limit})  # fmt: skip
        return [P.parse_trade(symbol, r, _int(r[1]) * NS_PER_MS) for r in rows], rows

    async def candles(self, gw: Gateway, symbol: str, minutes: int, count: int) -> list[Candle]:
        key = f"trade:{NATIVE_BARS[minutes]}:{P.native(symbol)}"
        rows = await bitfinex_rest(gw).get(f"/v2/candles/{key}/hist",
                                           {"limit": min(count, 10_000)})  # fmt: skip
        return candles_of(rows)[-count:]

    async def funding(self, gw: Gateway, symbol: str) -> tuple[Funding, Any]:
        rows = await bitfinex_rest(gw).get("/v2/status/deriv", {"keys": P.native(symbol)})
        if not rows:
            raise FmzError(f"Bitfinex: {native_of(symbol)} has no funding (not a perpetual)")
        row = rows[0]
        return Funding(symbol, P.f(row[12]), FUNDING_INTERVAL_MS, _int(row[8])), row

    async def balances(self, gw: Gateway) -> tuple[list[Balance], Any]:
        rows = await bitfinex_rest(gw).wallets()
        return balances_of(rows), rows

    async def positions(self, gw: Gateway, symbol: str | None) -> tuple[list[PositionInfo], Any]:
        rows = await bitfinex_rest(gw).positions()
        out = [position_of(r) for r in rows if r]
        return [p for p in out if symbol is None or p.symbol == symbol], rows

    async def open_orders(self, gw: Gateway, symbol: str | None) -> tuple[list[OrderInfo], Any]:
        rows = await bitfinex_rest(gw).open_orders()
        out = [order_of(r) for r in rows]
        return [o for o in out if symbol is None or o.symbol == symbol], rows

    async def order(self, gw: Gateway, symbol: str, venue_order_id: str) -> tuple[OrderInfo, Any]:
        if not venue_order_id.isdigit():
            raise FmzError(f"Bitfinex: order id {venue_order_id[:40]!r} is not a number")
        rest, ids = bitfinex_rest(gw), [int(venue_order_id)]
        rows = await rest.open_orders(ids) or await rest.order_history(ids, limit=1)
        if not rows:
            raise FmzError(f"Bitfinex: order {venue_order_id} not found")
        return order_of(rows[0]), rows[0]

    async def history_orders(
        self, gw: Gateway, symbol: str | None, since_ms: int, limit: int
    ) -> tuple[list[OrderInfo], Any]:
        rest = bitfinex_rest(gw)
        path = f"/v2/auth/r/orders/{P.native(symbol)}/hist" if symbol else "/v2/auth/r/orders/hist"
        body: dict[str, Any] = {"limit": min(max(limit, 1), 2500)}
        if since_ms:
            body["start"] = since_ms
        rows = await rest.post(path, body)
        out = sorted((order_of(r) for r in rows), key=lambda o: (o.time_ms, o.venue_order_id))
        return out, rows

    async def cancel(self, gw: Gateway, symbol: str, venue_order_id: str) -> Any:
        if not venue_order_id.isdigit():
            raise FmzError(f"Bitfinex: order id {venue_order_id[:40]!r} is not a number")
        return await bitfinex_rest(gw).cancel({"id": int(venue_order_id)})

    async def set_leverage(self, gw: Gateway, symbol: str, level: int) -> Any:
        """Bitfinex has no leverage endpoint: a perpetual's leverage is the ``lev`` (1-100) of
        each order, so the level is kept for this key's later orders on ``symbol`` (no
        request; FMZ's SetMarginLevel does the same on such exchanges). The position shows it
        once an order carrying it trades."""
        if not isinstance(gw, BitfinexGateway):
            raise TypeError(f"expected a Bitfinex gateway, got {type(gw).__name__}")
        try:
            gw.hooks.set_leverage(symbol, level)
        except VenueError as exc:
            raise FmzError(str(exc)) from None
        return {"symbol": P.native(symbol), "lev": level}


class BitfinexConventions(Conventions):
    """See the module docstring. Leverage is set per order on Bitfinex (``lev``):
    ``setmarginlevel`` on a perpetual keeps it for the key's later orders there; spot pairs
    trade the unleveraged exchange wallet and get the bridge's "needs a contract" error."""

    venue = C.VENUE
    api_prefixes = ("/v2/",)

    def __init__(self) -> None:
        self.queries = BitfinexQueries()

    def instrument_id(self, symbol: FmzSymbol) -> str:
        base, quote = _ccy(symbol.base), _ccy(symbol.quote)
        if symbol.is_spot:
            return self.symbol_id(pair(base, quote))
        if not symbol.is_swap:
            raise FmzError(f"Bitfinex: unsupported contract type {symbol.contract!r} (use .swap)")
        if quote not in ("UST", "EUT"):
            raise FmzError(f"Bitfinex: perpetuals are USDT-margined (use {symbol.base}_USDT.swap)")
        return self.symbol_id(f"t{base}F0:{quote}F0")

    def fmz_symbol(self, symbol_id: str, inst: Instrument | None = None) -> str:
        native = native_of(symbol_id)
        if not native.startswith("t") or len(native) < 7:
            return native
        base, quote = P.split(native)
        if base.endswith("F0") and quote.endswith("F0"):
            return f"{_fmz_ccy(base[:-2])}_{_fmz_ccy(quote[:-2])}.swap"
        return f"{_fmz_ccy(base)}_{_fmz_ccy(quote)}"

    def split_order_id(self, text: str, fallback: str | None) -> tuple[str, str]:
        """``"tBTCUSD,123"`` / ``"tBTCF0:USTF0,123"`` -> (instrument id, venue id). Bitfinex
        symbols are case-sensitive (a lower-case ``t``) and may hold a colon."""
        native, sep, vid = text.rpartition(",")
        native, vid = native.strip(), vid.strip()
        ok = len(native) <= 40 and all(c.isalnum() or c == ":" for c in native)
        if not sep or not native or not vid or not ok:
            return super().split_order_id(text, fallback)
        return self.symbol_id("t" + native[1:].upper() if native[0] in "tT" else native), vid

    def gateway_options(
        self,
        url: str,
        transport: Transport,
        credentials: Mapping[str, str],
        options: Mapping[str, Any],
    ) -> dict[str, Any]:
        """The gateway's REST client on the bridge's HTTP pool, retrying once; Bitfinex's
        client-side budget unless ``rate_limits = "off"`` (an emulator)."""
        rest = BitfinexRestClient(
            url, credentials.get("api_key", ""), credentials.get("secret", ""),
            timeout=transport.timeout, retry=transport.retry, session=transport.session,
        )  # fmt: skip
        if not transport.rate_limits:
            rest.http.limiter = None  # an emulator: measure the bridge, not Bitfinex's quota
        return {"rest": rest}

    async def api(
        self, gw: Gateway, method: str, path: str, params: Mapping[str, Any], signed: bool
    ) -> Any:
        """The endpoint's own answer (Bitfinex has no envelope; an error array raises and
        becomes the docker's ``error``). Signed calls are POSTs with a JSON body, as
        Bitfinex's ``/v2/auth`` endpoints are; public ones are GETs with a query."""
        rest = bitfinex_rest(gw)
        if signed and path.startswith("/v2/auth/"):
            return await rest.post(path, dict(params) or None)
        return await rest.get(path, dict(params) or None)
