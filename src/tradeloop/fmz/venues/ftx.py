"""FTX's FMZ conventions: market names, the optional subaccount, ``__api_`` under ``/api/``.

Everything else is the FTX connector's (:mod:`tradeloop.venues.ftx`) through the generic
adapter. Two public reads FMZ strategies lean on and the Gateway contract lacks — candles
(``records``) and recent trades — are the small :class:`FtxQueries`; the rest of what FTX could
answer over REST (24 h statistics, one order by id, order history, leverage) is left to the
contract's fallbacks until the contract grows those queries.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from tradeloop.fmz.conventions import Candle, Conventions, Queries, Transport
from tradeloop.fmz.protocol import Credentials, FmzError
from tradeloop.fmz.symbols import FmzSymbol
from tradeloop.model import Instrument, TradeTick
from tradeloop.model.identity import native_of
from tradeloop.venues.base import Gateway
from tradeloop.venues.ftx import constants as C
from tradeloop.venues.ftx import parse as P
from tradeloop.venues.ftx.gateway import FtxGateway
from tradeloop.venues.ftx.rest import FtxRestClient, fill_time


def ftx_rest(gw: Gateway) -> FtxRestClient:
    if not isinstance(gw, FtxGateway):
        raise TypeError(f"expected an FTX gateway, got {type(gw).__name__}")
    return gw.rest


class FtxQueries(Queries):
    #: FTX candle resolutions, in minutes (15 s bars are not an FMZ period)
    bar_minutes = (1, 5, 15, 60, 240, 1440)

    async def trades(self, gw: Gateway, symbol: str, limit: int) -> tuple[list[TradeTick], Any]:
        path = f"{C.MARKETS}/{P.native(symbol)}/trades"
        rows = await ftx_rest(gw).request("GET", path, {"limit": limit})
        ticks = [P.parse_trade(symbol, r, int(fill_time(r) * 1e9)) for r in rows]
        return ticks, rows

    async def candles(self, gw: Gateway, symbol: str, minutes: int, count: int) -> list[Candle]:
        """One request for the window that holds ``count`` bars (FTX pages by time).
        ``volume`` is FTX's, in the quote currency."""
        res = minutes * 60
        end = int(time.time()) + 1
        query = {"resolution": res, "start_time": end - (count + 1) * res, "end_time": end}
        rows = await ftx_rest(gw).request("GET", f"{C.MARKETS}/{P.native(symbol)}/candles", query)
        out = [
            (int(r["time"]), P.f(r["open"]), P.f(r["high"]), P.f(r["low"]), P.f(r["close"]),
             P.f(r.get("volume")))
            for r in rows
        ]  # fmt: skip
        out.sort(key=lambda c: c[0])
        return out[-count:]


class FtxConventions(Conventions):
    """``BTC_USD`` = ``BTC/USD.FTX`` (spot), ``BTC_USD.swap`` = ``BTC-PERP.FTX`` (FTX's
    perpetuals are USD-margined), ``BTC_USD.0325`` = ``BTC-0325.FTX`` (a dated future). The
    docker's secret field is ``secret`` or ``secret,subaccount``."""

    venue = C.VENUE
    api_prefixes = ("/api/",)

    def __init__(self) -> None:
        self.queries = FtxQueries()

    def instrument_id(self, symbol: FmzSymbol) -> str:
        if symbol.is_spot:
            return self.symbol_id(f"{symbol.base}/{symbol.quote}")
        if symbol.quote != "USD":
            raise FmzError(f"FTX: futures are quoted in USD (use {symbol.base}_USD."
                           f"{symbol.contract})")  # fmt: skip
        if symbol.is_swap:
            return self.symbol_id(f"{symbol.base}-PERP")
        if symbol.contract.isdigit() and len(symbol.contract) == 4:
            return self.symbol_id(f"{symbol.base}-{symbol.contract}")
        raise FmzError(f"FTX: unsupported contract type {symbol.contract!r} (use .swap or an "
                       "expiry MMDD)")  # fmt: skip

    def fmz_symbol(self, symbol_id: str, inst: Instrument | None = None) -> str:
        native = native_of(symbol_id)
        base, slash, quote = native.partition("/")
        if slash:
            return f"{base}_{quote}"
        base, dash, code = native.partition("-")
        if not dash:
            return native
        return f"{base}_USD.{'swap' if code == 'PERP' else code.lower()}"

    def credentials(self, creds: Credentials) -> tuple[dict[str, str], dict[str, Any]]:
        secret, _, subaccount = creds.secret_key.partition(",")
        if not secret.strip():
            raise FmzError("FTX: secret_key must be 'secret' or 'secret,subaccount'")
        keys = {"api_key": creds.access_key, "secret": secret.strip()}
        if subaccount.strip():
            keys["subaccount"] = subaccount.strip()
        return keys, {}

    def gateway_options(
        self,
        url: str,
        transport: Transport,
        credentials: Mapping[str, str],
        options: Mapping[str, Any],
    ) -> dict[str, Any]:
        rest = FtxRestClient(
            url,
            credentials.get("api_key", ""),
            credentials.get("secret", ""),
            credentials.get("subaccount", ""),
            timeout=transport.timeout,
            retry=transport.retry,
            session=transport.session,
        )
        if not transport.rate_limits:  # an emulator: measure the bridge, not FTX's quota
            rest.http.limiter = None
        return {"rest": rest}

    async def api(
        self, gw: Gateway, method: str, path: str, params: Mapping[str, Any], signed: bool
    ) -> Any:
        """The endpoint's whole reply: FTX's envelope around its ``result`` (an error answer
        raises and becomes the docker's ``error``). GET params go in the query, others in the
        JSON body."""
        rest = ftx_rest(gw)
        if method == "GET":
            result = await rest.request(method, path, dict(params), signed=signed)
        else:
            result = await rest.request(method, path, None, dict(params) or None, signed)
        return {"success": True, "result": result}
