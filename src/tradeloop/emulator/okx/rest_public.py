"""OKX public REST endpoints: time, instruments, currencies, tickers, books, trades, candles,
funding rate. All read the synthetic market; none need auth (except asset/currencies, which
OKX signs and ccxt's load_markets calls)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tradeloop.emulator.feed import now_ms
from tradeloop.emulator.market import SymbolMarket
from tradeloop.emulator.okx import views
from tradeloop.emulator.okx.bars import lookup
from tradeloop.emulator.okx.errors import OkxError
from tradeloop.emulator.okx.rest import Ctx, Handler

if TYPE_CHECKING:
    from tradeloop.emulator.okx.server import OkxEmulator

INST_TYPES = ("SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION")


def market_of(emu: OkxEmulator, inst_id: str) -> SymbolMarket:
    m = emu.driver.markets.get(inst_id)
    if m is None:
        raise OkxError("51001")
    return m


def int_param(ctx: Ctx, key: str, default: int, lo: int, hi: int) -> int:
    raw = ctx.get(key)
    if raw == "":
        return default
    try:
        v = int(raw)
    except ValueError:
        raise OkxError("51000", "", key) from None
    if v < lo:
        raise OkxError("51000", "", key)
    return min(v, hi)


async def time_(emu: OkxEmulator, ctx: Ctx) -> list[Any]:
    return [{"ts": str(now_ms())}]


async def instruments(emu: OkxEmulator, ctx: Ctx) -> list[Any]:
    kind = ctx.require("instType")
    if kind not in INST_TYPES:
        raise OkxError("51000", "", "instType")
    inst_id = ctx.get("instId")
    rows = [r for r in emu.rows.values() if r["instType"] == kind]
    if inst_id:
        rows = [r for r in rows if r["instId"] == inst_id]
    return rows


async def currencies(emu: OkxEmulator, ctx: Ctx) -> list[Any]:
    wanted = {c for c in ctx.get("ccy").split(",") if c}
    out = []
    for ccy in sorted(emu.currencies()):
        if wanted and ccy not in wanted:
            continue
        out.append(
            {
                "ccy": ccy,
                "name": ccy,
                "chain": f"{ccy}-{ccy}",
                "canDep": True,
                "canWd": True,
                "canInternal": True,
                "minDep": "0.00000001",
                "minWd": "0.0001",
                "maxWd": "10000000",
                "wdTickSz": "8",
                "wdQuota": "10000000",
                "usedWdQuota": "0",
                "minFee": "0",
                "maxFee": "0",
                "minWdUnlockConfirm": "1",
                "minDepArrivalConfirm": "1",
                "mainNet": True,
                "needTag": False,
                "logoLink": "",
                "ctAddr": "",
                "depQuotaFixed": "",
                "usedDepQuotaFixed": "",
                "depQuoteDailyLayer2": "",
                "burningFeeRate": "",
                "depEstOpenTime": "",
                "wdEstOpenTime": "",
            }
        )
    return out


async def ticker(emu: OkxEmulator, ctx: Ctx) -> list[Any]:
    return [views.ticker(market_of(emu, ctx.require("instId")), now_ms())]


async def tickers(emu: OkxEmulator, ctx: Ctx) -> list[Any]:
    kind = ctx.require("instType")
    if kind not in INST_TYPES:
        raise OkxError("51000", "", "instType")
    t = now_ms()
    return [views.ticker(m, t) for s, m in emu.driver.markets.items() if views.inst_type(s) == kind]


async def books(emu: OkxEmulator, ctx: Ctx) -> list[Any]:
    m = market_of(emu, ctx.require("instId"))
    depth = int_param(ctx, "sz", 1, 1, 400)
    asks, bids = views.book_levels(m, depth)
    return [{"asks": asks, "bids": bids, "ts": str(now_ms())}]


async def trades(emu: OkxEmulator, ctx: Ctx) -> list[Any]:
    m = market_of(emu, ctx.require("instId"))
    limit = int_param(ctx, "limit", 100, 1, 500)
    recent = list(m.trades)[-limit:]
    return [views.trade(t, m.instrument.symbol) for t in reversed(recent)]


def _candles(max_limit: int) -> Handler:
    async def handler(emu: OkxEmulator, ctx: Ctx) -> list[Any]:
        m = market_of(emu, ctx.require("instId"))
        bar = lookup(ctx.get("bar") or "1m")
        if bar is None:
            raise OkxError("51000", "", "bar")
        bar_ms, offset = bar
        limit = int_param(ctx, "limit", 100, 1, max_limit)
        after = int_param(ctx, "after", 0, 0, 1 << 62)
        before = int_param(ctx, "before", 0, 0, 1 << 62)
        t = now_ms()
        rows = m.aggregate(bar_ms, offset)
        if after:
            rows = [c for c in rows if c.start < after]
        if before:
            rows = [c for c in rows if c.start > before]
            rows = rows[:limit]  # closest to ``before`` first, then newest-first below
        else:
            rows = rows[-limit:]
        return [views.candle(m, c, bar_ms, t) for c in reversed(rows)]

    return handler


async def funding_rate(emu: OkxEmulator, ctx: Ctx) -> list[Any]:
    inst_id = ctx.require("instId")
    m = market_of(emu, inst_id)
    if views.inst_type(inst_id) != "SWAP":
        raise OkxError("51000", "", "instId")
    return [views.funding_row(m, emu.funding_rate(inst_id), now_ms())]


async def mark_price(emu: OkxEmulator, ctx: Ctx) -> list[Any]:
    kind = ctx.require("instType")
    inst_id = ctx.get("instId")
    t = now_ms()
    out = [
        views.mark_price_row(m, t)
        for sym, m in emu.driver.markets.items()
        if views.inst_type(sym) == kind and (not inst_id or sym == inst_id)
    ]
    if inst_id and not out:
        raise OkxError("51001")
    return out


ROUTES: list[tuple[str, str, Handler, bool]] = [
    ("GET", "/api/v5/public/time", time_, False),
    ("GET", "/api/v5/public/instruments", instruments, False),
    ("GET", "/api/v5/asset/currencies", currencies, True),
    ("GET", "/api/v5/market/ticker", ticker, False),
    ("GET", "/api/v5/market/tickers", tickers, False),
    ("GET", "/api/v5/market/books", books, False),
    ("GET", "/api/v5/market/trades", trades, False),
    ("GET", "/api/v5/market/history-trades", trades, False),
    ("GET", "/api/v5/public/mark-price", mark_price, False),
    ("GET", "/api/v5/market/candles", _candles(300), False),
    ("GET", "/api/v5/market/history-candles", _candles(100), False),
    ("GET", "/api/v5/public/funding-rate", funding_rate, False),
]
