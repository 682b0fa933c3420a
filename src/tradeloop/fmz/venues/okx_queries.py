"""OKX reads and writes FMZ needs that the Gateway contract lacks (interim, docs/fmz.md).

Each is one call of the OKX connector's REST client (the gateway's own, so its signing, clock
offset and rate limits apply), read with the connector's parsers where they exist
(:mod:`tradeloop.venues.okx.parse`); the functions below only pick the extra fields FMZ shows.
When the Gateway contract grows these queries, this module goes away.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from tradeloop.fmz.conventions import (
    Balance,
    Candle,
    Funding,
    OrderInfo,
    PositionInfo,
    Queries,
    Ticker,
)
from tradeloop.model import NS_PER_MS, BookLevels, OrderStatus, Side, TradeTick
from tradeloop.venues.base import Gateway
from tradeloop.venues.okx import constants as C
from tradeloop.venues.okx import parse as P
from tradeloop.venues.okx.gateway import OkxGateway
from tradeloop.venues.okx.rest import OkxRestClient

Json = Mapping[str, Any]

#: OKX bar sizes we use, in minutes -> ``bar`` value (UTC-aligned variants for 6h and up)
NATIVE_BARS: dict[int, str] = {
    1: "1m", 3: "3m", 5: "5m", 15: "15m", 30: "30m", 60: "1H", 120: "2H", 240: "4H",
    360: "6Hutc", 720: "12Hutc", 1440: "1Dutc", 10080: "1Wutc",
}  # fmt: skip
MAX_PAGES = 10
CANDLE_PAGE = 300
HISTORY_PAGE = 100  # history-candles allows at most 100 rows per call
ORDER_PAGE = 100


def okx_rest(gw: Gateway) -> OkxRestClient:
    """The OKX gateway's REST client (the bridge builds OKX labels' gateways from the
    registry, so anything else is a wiring bug)."""
    if not isinstance(gw, OkxGateway):
        raise TypeError(f"expected an OKX gateway, got {type(gw).__name__}")
    return gw.rest


def _int(text: Any) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        return 0


def _inst_type(native: str) -> str:
    parts = native.split("-")
    if len(parts) == 2:
        return "SPOT"
    return "SWAP" if parts[-1] == "SWAP" else "FUTURES"


# -- OKX JSON -> query records (pure, unit-tested) -------------------------------------------
def ticker_of(t: Json) -> Ticker:
    return Ticker(
        P.symbol_id(str(t.get("instId", ""))), P.f(t.get("bidPx")), P.f(t.get("askPx")),
        P.f(t.get("last")), P.f(t.get("high24h")), P.f(t.get("low24h")),
        P.f(t.get("open24h")), P.f(t.get("vol24h")), _int(t.get("ts")),
    )  # fmt: skip


def trades_of(rows: Sequence[Json]) -> list[TradeTick]:
    """``ts`` = OKX's trade time."""
    return [P.parse_trade(r, _int(r.get("ts")) * NS_PER_MS) for r in rows]


def candles_of(rows: Sequence[Sequence[Any]]) -> list[Candle]:
    """OKX candle rows (any order, the last one maybe unconfirmed) -> ascending candles."""
    out = [
        (_int(r[0]), P.f(r[1]), P.f(r[2]), P.f(r[3]), P.f(r[4]), P.f(r[5]))
        for r in rows
        if len(r) >= 6
    ]
    out.sort(key=lambda x: x[0])
    return out


def balances_of(data: Sequence[Json]) -> list[Balance]:
    """``free`` = ``availBal``, ``frozen`` = ``frozenBal`` (the contract's BalanceUpdate has
    only total and free, and OKX's total ``eq`` includes unrealised PnL)."""
    out = []
    for acct in data:
        for d in acct.get("details") or []:
            free = d.get("availBal") or d.get("availEq")
            frozen = d.get("frozenBal") or d.get("ordFrozen")
            out.append(Balance(str(d.get("ccy", "")), P.f(free), P.f(frozen)))
    return out


def order_of(o: Json) -> OrderInfo:
    market = o.get("ordType") == "market"
    return OrderInfo(
        symbol=P.symbol_id(str(o.get("instId", ""))),
        venue_order_id=str(o.get("ordId", "")),
        client_order_id=str(o.get("clOrdId") or ""),
        side=Side.BUY if o.get("side") == "buy" else Side.SELL,
        amount=P.f(o.get("sz")),
        price=None if market else P.f(o.get("px")),
        status=P.ORDER_STATES.get(str(o.get("state", "")), OrderStatus.ACCEPTED),
        filled=P.f(o.get("accFillSz")),
        avg_price=P.f(o.get("avgPx")),
        time_ms=_int(o.get("cTime")),
        reduce_only=str(o.get("reduceOnly", "")).lower() == "true",
    )


def position_of(p: Json) -> PositionInfo:
    """Side from ``posSide`` (long/short mode) or the sign of ``pos`` (net mode) — the
    connector's reading — plus leverage, margin and the part not available to close."""
    u = P.parse_position(p, 0)
    avail = abs(P.f(p.get("availPos")) if p.get("availPos") not in (None, "") else u.qty)
    return PositionInfo(
        u.symbol, u.qty, u.avg_price, u.unrealized_pnl,
        leverage=P.f(p.get("lever")) or 1.0,
        margin=P.f(p.get("margin")) or P.f(p.get("imr")),
        frozen=max(0.0, abs(u.qty) - avail),
    )  # fmt: skip


def funding_of(d: Json) -> Funding:
    t, nxt = _int(d.get("fundingTime")), _int(d.get("nextFundingTime"))
    interval = (nxt - t) if nxt > t else 8 * 3600 * 1000
    return Funding(P.symbol_id(str(d.get("instId", ""))), P.f(d.get("fundingRate")), interval, t)


# -- the queries ----------------------------------------------------------------------------
class OkxQueries(Queries):
    bar_minutes = tuple(NATIVE_BARS)

    async def ticker(self, gw: Gateway, symbol: str) -> tuple[Ticker, Any]:
        t = await okx_rest(gw).ticker(P.native(symbol))
        return ticker_of(t), t

    async def tickers(self, gw: Gateway, contract: str | None) -> tuple[list[Ticker], Any]:
        types = ["SPOT", "SWAP"] if contract is None else ["SPOT" if contract == "spot" else "SWAP"]
        rest = okx_rest(gw)
        lists = await asyncio.gather(*(rest.tickers(t) for t in types))
        rows = [t for rows in lists for t in rows]
        return [ticker_of(t) for t in rows], None

    async def book(self, gw: Gateway, symbol: str, depth: int) -> tuple[BookLevels, Any]:
        b = await okx_rest(gw).books(P.native(symbol), depth)
        return P.parse_book_levels(symbol, b, True, _int(b.get("ts")) * NS_PER_MS), b

    async def trades(self, gw: Gateway, symbol: str, limit: int) -> tuple[list[TradeTick], Any]:
        rows = await okx_rest(gw).trades(P.native(symbol), limit)
        return trades_of(rows), rows

    async def candles(self, gw: Gateway, symbol: str, minutes: int, count: int) -> list[Candle]:
        """Newest ``count`` candles, ascending, paging back with ``after`` (bounded). OKX's
        ``candles`` keeps only the latest 1440 rows; older pages come from
        ``history-candles``."""
        rest, inst, bar = okx_rest(gw), P.native(symbol), NATIVE_BARS[minutes]
        got: list[Candle] = []
        after: int | None = None
        history = False
        for _ in range(MAX_PAGES):
            n = min(HISTORY_PAGE if history else CANDLE_PAGE, count - len(got))
            if n <= 0:
                break
            fetch = rest.history_candles if history else rest.candles
            page = candles_of(await fetch(inst, bar, after=after, limit=n))
            if not page:
                if history or after is None:
                    break
                history = True  # the recent window is exhausted: continue in the archive
                continue
            got = page + got
            after = page[0][0]
        return got[-count:] if count else got

    async def funding(self, gw: Gateway, symbol: str) -> tuple[Funding, Any]:
        d = await okx_rest(gw).funding_rate(P.native(symbol))
        return funding_of(d), d

    async def balances(self, gw: Gateway) -> tuple[list[Balance], Any]:
        data = await okx_rest(gw).balance()
        return balances_of(data), data

    async def positions(self, gw: Gateway, symbol: str | None) -> tuple[list[PositionInfo], Any]:
        inst = P.native(symbol) if symbol is not None else None
        rows = await okx_rest(gw).positions(_inst_type(inst) if inst else "SWAP", inst)
        return [position_of(p) for p in rows], rows

    async def open_orders(self, gw: Gateway, symbol: str | None) -> tuple[list[OrderInfo], Any]:
        rest = okx_rest(gw)
        if symbol is not None:
            inst = P.native(symbol)
            rows = await _paged(rest, C.ORDERS_PENDING, {"instType": _inst_type(inst),
                                                         "instId": inst})  # fmt: skip
        else:
            parts = await asyncio.gather(
                *(_paged(rest, C.ORDERS_PENDING, {"instType": t}) for t in ("SPOT", "SWAP"))
            )
            rows = [r for p in parts for r in p]
        return [order_of(o) for o in rows], rows

    async def order(self, gw: Gateway, symbol: str, venue_order_id: str) -> tuple[OrderInfo, Any]:
        o = await okx_rest(gw).get_order(P.native(symbol), venue_order_id)
        return order_of(o), o

    async def history_orders(
        self, gw: Gateway, symbol: str | None, since_ms: int, limit: int
    ) -> tuple[list[OrderInfo], Any]:
        rest = okx_rest(gw)
        if symbol is not None:
            inst = P.native(symbol)
            queries: list[dict[str, Any]] = [{"instType": _inst_type(inst), "instId": inst}]
        else:
            queries = [{"instType": "SPOT"}, {"instType": "SWAP"}]
        for q in queries:
            if since_ms:
                q["begin"] = since_ms
        parts = await asyncio.gather(*(_paged(rest, C.ORDERS_HISTORY, q, limit) for q in queries))
        rows = [r for p in parts for r in p]
        return [order_of(o) for o in rows], rows

    async def cancel(self, gw: Gateway, symbol: str, venue_order_id: str) -> Any:
        return await okx_rest(gw).cancel_order(P.native(symbol), venue_order_id)

    async def set_leverage(self, gw: Gateway, symbol: str, level: int) -> Any:
        """In the margin mode swap orders use (the gateway's ``derivative_td_mode``)."""
        assert isinstance(gw, OkxGateway)
        mode = gw.hooks.derivative_td_mode
        return await okx_rest(gw).set_leverage(level, mode, inst_id=P.native(symbol))


async def _paged(
    rest: OkxRestClient, path: str, params: dict[str, Any], limit: int = 10**9
) -> list[dict[str, Any]]:
    """Follow OKX's ``after`` (older than ordId) pagination, bounded to MAX_PAGES."""
    out: list[dict[str, Any]] = []
    after: str | None = None
    for _ in range(MAX_PAGES):
        q = {**params, "limit": min(ORDER_PAGE, limit - len(out))}
        if after:
            q["after"] = after
        page = await rest.request("GET", path, q, True)
        if not isinstance(page, list):
            break
        out.extend(p for p in page if isinstance(p, dict))
        if len(page) < q["limit"] or len(out) >= limit or not page:
            break
        after = str(page[-1].get("ordId", ""))
    return out
