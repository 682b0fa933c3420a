"""BitMEX's FMZ conventions: contract names, ``__api_`` under ``/api/v1/``, and the futures
reads FMZ strategies use (positions with leverage and margin, leverage, funding, candles,
public trades).

Everything else — books, quotes, orders, balances, instruments — is the BitMEX connector's
(:mod:`tradeloop.venues.bitmex`) through the generic adapter. BitMEX lists only derivatives
here: ``BTC_USD.swap`` is the inverse perpetual ``XBTUSD`` (contracts of 1 USD, margin and PnL
in BTC), ``ETH_USD.swap`` the quanto ``ETHUSD`` (settled in BTC), ``BTC_USDT.swap`` the linear
``XBTUSDT``; a dated future is its BitMEX month code (``BTC_USD.h25`` = ``XBTH25``). Money
arrives in minor units (``XBt``, ``USDt``) and is shown in whole ones.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from tradeloop.core.timefmt import iso_ms
from tradeloop.fmz.conventions import (
    Candle,
    Conventions,
    Funding,
    PositionInfo,
    Queries,
    Transport,
)
from tradeloop.fmz.protocol import FmzError
from tradeloop.fmz.symbols import FmzSymbol
from tradeloop.model import NS_PER_MS, Instrument, InstrumentKind, TradeTick
from tradeloop.model.identity import native_of
from tradeloop.venues.base import Gateway
from tradeloop.venues.bitmex import constants as C
from tradeloop.venues.bitmex import parse as P
from tradeloop.venues.bitmex.gateway import BitmexGateway
from tradeloop.venues.bitmex.rest import BitmexRestClient

#: FMZ asset -> BitMEX root symbol
_ROOT = {"BTC": "XBT"}
_ASSET = {v: k for k, v in _ROOT.items()}
_MONTH = re.compile(r"^[fghjkmnquvxz]\d{2}$")  # BitMEX's futures month codes
_BINS = {1: "1m", 5: "5m", 60: "1h", 1440: "1d"}
_QUOTES = ("USDT", "USDC", "USD", "EUR")


def bitmex_rest(gw: Gateway) -> BitmexRestClient:
    if not isinstance(gw, BitmexGateway):
        raise TypeError(f"expected a BitMEX gateway, got {type(gw).__name__}")
    return gw.rest


class BitmexQueries(Queries):
    bar_minutes = tuple(_BINS)

    async def trades(self, gw: Gateway, symbol: str, limit: int) -> tuple[list[TradeTick], Any]:
        params = {"symbol": P.native(symbol), "count": limit, "reverse": True}
        rows = await bitmex_rest(gw).request("GET", C.API + "/trade", params)
        ticks = [P.parse_trade(r, _ms(r.get("timestamp")) * NS_PER_MS) for r in rows]
        return ticks, rows

    async def candles(self, gw: Gateway, symbol: str, minutes: int, count: int) -> list[Candle]:
        """``trade/bucketed`` newest first, the bin in progress included (``partial``);
        BitMEX stamps a bin with its close, FMZ with its open."""
        params = {"symbol": P.native(symbol), "binSize": _BINS[minutes], "partial": True,
                  "reverse": True, "count": count}  # fmt: skip
        rows = await bitmex_rest(gw).request("GET", C.API + "/trade/bucketed", params)
        step = minutes * 60_000
        out = [
            (_ms(r["timestamp"]) - step, P.f(r["open"]), P.f(r["high"]), P.f(r["low"]),
             P.f(r["close"]), P.f(r.get("volume")))
            for r in rows if r.get("open") is not None
        ]  # fmt: skip
        out.sort(key=lambda c: c[0])
        return out[-count:]

    async def funding(self, gw: Gateway, symbol: str) -> tuple[Funding, Any]:
        rows = await bitmex_rest(gw).request("GET", C.API + "/instrument",
                                             {"symbol": P.native(symbol)})  # fmt: skip
        if not rows:
            raise FmzError(f"BitMEX: no instrument {P.native(symbol)!r}")
        d = rows[0]
        interval = _ms(d.get("fundingInterval")) if d.get("fundingInterval") else 8 * 3_600_000
        funding = Funding(symbol, P.f(d.get("fundingRate")), interval,
                          _ms(d.get("fundingTimestamp")))  # fmt: skip
        return funding, d

    async def positions(self, gw: Gateway, symbol: str | None) -> tuple[list[PositionInfo], Any]:
        rows = await bitmex_rest(gw).positions()
        out = []
        for d in rows:
            sid = P.symbol_id(str(d.get("symbol", "")))
            if (symbol is not None and sid != symbol) or not P.f(d.get("currentQty")):
                continue  # BitMEX also lists the flat rows of symbols once traded
            ccy = d.get("currency")
            out.append(
                PositionInfo(
                    sid,
                    P.f(d.get("currentQty")),
                    P.f(d.get("avgEntryPrice")),
                    P.major(ccy, d.get("unrealisedPnl")),
                    P.f(d.get("leverage")),
                    P.major(ccy, d.get("posMargin") or d.get("maintMargin")),
                )
            )
        return out, rows

    async def set_leverage(self, gw: Gateway, symbol: str, level: int) -> Any:
        return await bitmex_rest(gw).set_leverage(P.native(symbol), Decimal(level))


#: BitMEX writes intervals as times since 2000-01-01
_EPOCH_2000_MS = iso_ms("2000-01-01T00:00:00Z")


def _ms(value: Any) -> int:
    """BitMEX's ISO timestamps (``2024-01-01T00:00:00.000Z``) as epoch ms; its intervals are
    written as times since 2000-01-01 (``2000-01-01T08:00:00.000Z`` = 8 h)."""
    text = str(value or "")
    if not text:
        return 0
    ms = iso_ms(text)
    return ms - _EPOCH_2000_MS if text.startswith("2000-") else ms


class BitmexConventions(Conventions):
    """``BTC_USD.swap`` = ``XBTUSD.BITMEX`` (inverse), ``ETH_USD.swap`` = ``ETHUSD.BITMEX``,
    ``BTC_USDT.swap`` = ``XBTUSDT.BITMEX`` (linear), ``BTC_USD.h25`` = ``XBTH25.BITMEX``. No
    spot. Keys as BitMEX issues them (``api_key``, ``secret``)."""

    venue = C.VENUE
    api_prefixes = (C.API + "/",)

    def __init__(self) -> None:
        self.queries = BitmexQueries()

    def instrument_id(self, symbol: FmzSymbol) -> str:
        root = _ROOT.get(symbol.base, symbol.base)
        if symbol.is_spot:
            raise FmzError(f"BitMEX: only contracts are traded here (use {symbol}.swap)")
        if symbol.is_swap:
            return self.symbol_id(root + symbol.quote)
        if _MONTH.match(symbol.contract):
            quote = "" if symbol.quote == "USD" else symbol.quote
            return self.symbol_id(root + quote + symbol.contract.upper())
        raise FmzError(f"BitMEX: unsupported contract type {symbol.contract!r} (use .swap or a "
                       "month code such as h25)")  # fmt: skip

    def fmz_symbol(self, symbol_id: str, inst: Instrument | None = None) -> str:
        native = native_of(symbol_id)
        if inst is not None:
            pair = f"{inst.base}_{inst.quote}"
            if inst.kind is InstrumentKind.SWAP:
                return pair + ".swap"
            return f"{pair}.{native[-3:].lower()}"
        for quote in _QUOTES:  # a perpetual's name is root + quote
            root = native[: -len(quote)]
            if native.endswith(quote) and root.isalpha():
                return f"{_ASSET.get(root, root)}_{quote}.swap"
        return native

    def gateway_options(
        self,
        url: str,
        transport: Transport,
        credentials: Mapping[str, str],
        options: Mapping[str, Any],
    ) -> dict[str, Any]:
        """The gateway's REST client on the bridge's HTTP pool, retrying once; BitMEX's
        client-side budget unless ``rate_limits = "off"`` (an emulator)."""
        rest = BitmexRestClient(
            url,
            credentials.get("api_key", ""),
            credentials.get("secret", ""),
            timeout=transport.timeout,
            retry=transport.retry,
            session=transport.session,
            rate_limits=transport.rate_limits,
        )
        return {"rest": rest}

    async def api(
        self, gw: Gateway, method: str, path: str, params: Mapping[str, Any], signed: bool
    ) -> Any:
        """BitMEX answers bare JSON (no envelope): the endpoint's reply is FMZ's ``data``; an
        error answer raises and becomes the docker's ``error``. GET params go in the query,
        others in the JSON body."""
        rest = bitmex_rest(gw)
        if method == "GET":
            return await rest.request(method, path, dict(params), signed=signed)
        return await rest.request(method, path, None, dict(params) or None, signed)
