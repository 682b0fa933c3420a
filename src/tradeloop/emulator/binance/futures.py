"""The USD-M futures half of the Binance emulator: REST ``/fapi/v1|v2|v3``, the futures
WebSockets (``/fapi/ws``, ``/fapi/stream``, the routed ``/fapi/public|market/ws`` and
``/fapi/private/ws?listenKey=``) and the futures WS API (``/ws-fapi/v1``, spot's
:class:`~.wsapi.ApiWs` over :func:`ws_methods`), served by the same process and port as spot.

:class:`FuturesSide` owns what Binance keeps apart from spot: the perpetual markets (their own
seeded driver, stepped with spot's), the futures wallet (a second simulated account, funded
with ``futures_balances``), weights (the futures limit is its own), listenKeys and the
:class:`~.futures_streams.FuturesHub`. Signing, ``timestamp``/``recvWindow``, weight headers
and refusals are spot's (:func:`.rest.route`); only the handlers differ.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tradeloop.emulator import ws
from tradeloop.emulator.account import SimAccount
from tradeloop.emulator.binance import futures_markets as fm
from tradeloop.emulator.binance import rest
from tradeloop.emulator.binance.futures_algo import FuturesAlgo
from tradeloop.emulator.binance.futures_funding import FundingLedger
from tradeloop.emulator.binance.futures_streams import FuturesHub
from tradeloop.emulator.binance.futures_trading import FuturesTrading, ferr
from tradeloop.emulator.binance.limits import LimitConfig, Limits
from tradeloop.emulator.binance.streams import PRIVATE, ws_routes
from tradeloop.emulator.binance.wsapi import ApiWs, Method, text_params
from tradeloop.emulator.feed import MarketDriver, now_ms
from tradeloop.emulator.funding_clock import next_funding_ms
from tradeloop.emulator.market import BookChange, MarketParams, SymbolMarket

if TYPE_CHECKING:
    from tradeloop.emulator.binance.server import BinanceEmulator

Params = rest.Params
#: a listenKey lives this long without a keepalive (Binance: 60 minutes)
LISTEN_KEY_MS = 60 * 60 * 1000


class FuturesSide:
    """USD-M perpetuals next to spot (see the module docstring)."""

    def __init__(self, emu: BinanceEmulator, symbols: list[str], balances: dict[str, float]
                 ) -> None:  # fmt: skip
        cfg = emu.config
        self.emu = emu
        self.instruments = {i.symbol: i for i in map(fm.instrument, symbols)}
        self.filters = {s: fm.filters_for(s) for s in self.instruments}
        self.settle = "USDT"
        params = MarketParams(tick_interval_ms=cfg.tick_interval_ms, levels=cfg.book_levels,
                              trade_probability=cfg.trade_probability)  # fmt: skip
        self.driver = MarketDriver(self.instruments.values(), cfg.seed + 7, params,
                                   cfg.start_prices)  # fmt: skip
        lim = cfg.limits
        self.limits = Limits(LimitConfig(min(2400, lim.weight_per_minute),
                                         max(300, lim.orders_per_10s), lim.orders_per_day,
                                         lim.ban_after, lim.ban_s))  # fmt: skip
        self.hub = FuturesHub(emu, self)
        self.driver.listeners.append(self.hub.on_step)
        account = SimAccount(self.instruments, dict(balances), self.driver, cfg.leverage,
                             id_base=8_000_000_000 + cfg.seed * 1000,
                             fee_in_received_ccy=False, fee_decimals=8)  # fmt: skip
        account.trade_listeners.append(self.hub.push_user_trade)
        self.trading = FuturesTrading(self, account)
        self.trading.user_listeners.append(self.hub.push_user)
        #: listenKey -> expiry (ms)
        self.listen_keys: dict[str, int] = {}
        #: funding settles on the epoch-aligned boundaries of this interval (Binance: 8 h)
        self.funding_ms = max(1, int(cfg.funding_interval_s * 1000))
        self._next_funding = next_funding_ms(now_ms(), self.funding_ms)
        self.ledger = FundingLedger(self)
        #: the futures WS API dialect (set with the routes)
        self.ws_api: ApiWs | None = None
        self.driver.listeners.append(self._maybe_settle)

    # -- funding ------------------------------------------------------------------------------
    def _maybe_settle(self, m: SymbolMarket, change: BookChange) -> None:
        if change.ts >= self._next_funding:
            self.settle_funding(self._next_funding)

    @property
    def settle_rate(self) -> float:
        """The rate every perpetual settles at (``BinanceConfig.funding_rate``)."""
        return float(self.emu.config.funding_rate)

    def settle_funding(self, at_ms: int | None = None) -> list[dict[str, Any]]:
        """Pay every open position's funding now (longs pay a positive rate): the new
        ``/fapi/v1/income`` rows (:mod:`.futures_funding`)."""
        at = at_ms if at_ms is not None else now_ms()
        self._next_funding = next_funding_ms(at, self.funding_ms)
        return self.ledger.settle(at, self.settle_rate)

    @property
    def payments(self) -> list[dict[str, Any]]:
        """Every funding income row, oldest first."""
        return self.ledger.rows

    def income(self, p: Params) -> list[dict[str, Any]]:
        """``/fapi/v1/income`` (funding is the only income type kept here)."""
        sym = self.trading.market(p).instrument.symbol if p.get("symbol") else ""
        return self.ledger.income(p, sym)

    # -- listenKey ----------------------------------------------------------------------------
    def new_listen_key(self, p: Params) -> dict[str, Any]:
        """Binance answers the live key again while one exists (and extends it)."""
        now = now_ms()
        for key, until in list(self.listen_keys.items()):
            if until < now:
                self.drop_listen_key(key)
        key = next(iter(self.listen_keys), "") or secrets.token_urlsafe(48)[:64]
        self.listen_keys[key] = now + LISTEN_KEY_MS
        return {"listenKey": key}

    def keepalive(self, p: Params) -> dict[str, Any]:
        key = next(iter(self.listen_keys), "")
        if not key or self.listen_keys[key] < now_ms():
            raise ferr(-1125, "This listenKey does not exist.")
        self.listen_keys[key] = now_ms() + LISTEN_KEY_MS
        return {"listenKey": key}

    def close_listen_key(self, p: Params) -> dict[str, Any]:
        for key in list(self.listen_keys):
            self.drop_listen_key(key)
        return {}

    def drop_listen_key(self, key: str) -> None:
        self.listen_keys.pop(key, None)
        self.hub.expire(key)

    # -- public -------------------------------------------------------------------------------
    def exchange_info(self, p: Params) -> dict[str, Any]:
        return {
            "timezone": "UTC", "serverTime": now_ms(), "futuresType": "U_MARGINED",
            "rateLimits": self.limits.rate_limits(), "exchangeFilters": [],
            "assets": [{"asset": self.settle, "marginAvailable": True,
                        "autoAssetExchange": "-10000"}],
            "symbols": [fm.symbol_row(self.instruments[s], self.filters[s])
                        for s in self.instruments],
        }  # fmt: skip

    def depth(self, p: Params) -> dict[str, Any]:
        m = self.trading.market(p)
        limit = rest.int_param(p, "limit", 500, 1, 1000)
        return self.hub.depth(m, limit, now_ms())

    def trades(self, p: Params) -> list[dict[str, Any]]:
        m = self.trading.market(p)
        limit = rest.int_param(p, "limit", 500, 1, 1000)
        return [fm.trade_row(t) for t in list(m.trades)[-limit:]]

    def klines(self, p: Params) -> list[list[Any]]:
        m = self.trading.market(p)
        interval = p.get("interval", "")
        if not interval:
            raise rest.E.mandatory("interval")
        bar_ms = rest.INTERVALS.get(interval)
        if bar_ms is None:
            raise ferr(-1120, "Invalid interval.")
        limit = rest.int_param(p, "limit", 500, 1, 1500)
        start = rest.int_param(p, "startTime", 0, 0, 2**62)
        end = rest.int_param(p, "endTime", 2**62, 0, 2**62)
        rows = [c for c in m.aggregate(bar_ms) if start <= c.start <= end]
        rows = rows[:limit] if start else rows[-limit:]
        return [fm.kline_row(m.instrument, c, bar_ms) for c in rows]

    def _each(self, p: Params, fn: Any) -> Any:
        if p.get("symbol"):
            return fn(self.trading.market(p))
        return [fn(m) for m in self.driver.markets.values()]

    def premium_index(self, p: Params) -> Any:
        t = now_ms()
        return self._each(p, lambda m: fm.premium_index(m, t, self.funding_ms, self.settle_rate))

    def funding_rate(self, p: Params) -> Any:
        limit = rest.int_param(p, "limit", 100, 1, 1000)
        t = now_ms()
        if p.get("symbol"):
            return fm.funding_history(
                self.trading.market(p), t, limit, self.funding_ms, self.settle_rate
            )
        rate = self.settle_rate
        return [r for m in self.driver.markets.values()
                for r in fm.funding_history(m, t, 1, self.funding_ms, rate)]  # fmt: skip

    def ticker_price(self, p: Params) -> Any:
        return self._each(
            p,
            lambda m: {
                "symbol": m.instrument.symbol,
                "price": m.last_trade.price,
                "time": now_ms(),
            },
        )

    def book_ticker(self, p: Params) -> Any:
        def row(m: Any) -> dict[str, Any]:
            bt = self.hub.book_ticker(m)
            return {"symbol": bt["s"], "bidPrice": bt["b"], "bidQty": bt["B"],
                    "askPrice": bt["a"], "askQty": bt["A"], "time": now_ms()}  # fmt: skip

        return self._each(p, row)

    def ticker_24h(self, p: Params) -> Any:
        t = now_ms()

        def row(m: Any) -> dict[str, Any]:
            r = rest.mk.ticker_24h(m, t)
            for k in ("bidPrice", "bidQty", "askPrice", "askQty"):
                r.pop(k, None)
            return r

        return self._each(p, row)

    def brackets(self, p: Params) -> Any:
        """One notional bracket per symbol (the emulator has no tiers)."""

        def row(m: Any) -> dict[str, Any]:
            return {"symbol": m.instrument.symbol, "brackets": [
                {"bracket": 1, "initialLeverage": 125, "notionalCap": 480_000_000,
                 "notionalFloor": 0, "maintMarginRatio": 0.004, "cum": 0.0}]}  # fmt: skip

        return self._each(p, row)

    # -- routes -------------------------------------------------------------------------------
    def setup_routes(self, app: web.Application) -> None:
        t, algo = self.trading, FuturesAlgo(self.trading)
        v1, v2, v3 = "/fapi/v1", "/fapi/v2", "/fapi/v3"

        def call(fn: Any) -> rest.Handler:
            return lambda e, p: fn(p)

        routes: list[tuple[str, str, Any, bool | str, rest.Weight, bool]] = [
            ("GET", v1 + "/ping", lambda p: {}, False, 1, False),
            ("GET", v1 + "/time", lambda p: {"serverTime": now_ms()}, False, 1, False),
            ("GET", v1 + "/exchangeInfo", self.exchange_info, False, 1, False),
            ("GET", v1 + "/depth", self.depth, False, _depth_weight, False),
            ("GET", v1 + "/trades", self.trades, False, 5, False),
            ("GET", v1 + "/aggTrades", lambda p: [rest.mk.agg_row(x) for x in list(
                self.trading.market(p).trades)[-500:]], False, 20, False),
            ("GET", v1 + "/klines", self.klines, False, 5, False),
            ("GET", v1 + "/markPriceKlines", self.klines, False, 5, False),
            ("GET", v1 + "/indexPriceKlines", self.klines, False, 5, False),
            ("GET", v1 + "/premiumIndex", self.premium_index, False, 1, False),
            ("GET", v1 + "/fundingRate", self.funding_rate, False, 1, False),
            ("GET", v1 + "/ticker/24hr", self.ticker_24h, False, _all(1, 40), False),
            ("GET", v1 + "/ticker/price", self.ticker_price, False, _all(1, 2), False),
            ("GET", v2 + "/ticker/price", self.ticker_price, False, _all(1, 2), False),
            ("GET", v1 + "/ticker/bookTicker", self.book_ticker, False, _all(2, 5), False),
            ("POST", v1 + "/order", t.place, True, 0, True),
            ("GET", v1 + "/order", t.get, True, 1, False),
            ("DELETE", v1 + "/order", t.cancel, True, 1, True),
            ("PUT", v1 + "/order", t.amend, True, 1, True),
            ("GET", v1 + "/openOrder", t.open_order, True, 1, False),
            ("POST", v1 + "/algoOrder", algo.place, True, 0, True),
            ("GET", v1 + "/algoOrder", algo.get, True, 1, False),
            ("DELETE", v1 + "/algoOrder", algo.cancel, True, 1, True),
            ("GET", v1 + "/openAlgoOrders", algo.open, True, _all(1, 40), False),
            ("GET", v1 + "/allAlgoOrders", algo.all, True, 5, False),
            ("GET", v1 + "/openOrders", t.open_orders, True, _all(1, 40), False),
            ("DELETE", v1 + "/allOpenOrders", t.cancel_all, True, 1, True),
            ("GET", v1 + "/allOrders", t.all_orders, True, 5, False),
            ("GET", v1 + "/userTrades", t.user_trades, True, 5, False),
            ("GET", v2 + "/account", t.account_row, True, 5, False),
            ("GET", v3 + "/account", t.account_row, True, 5, False),
            ("GET", v2 + "/balance", lambda p: t.balance_rows(), True, 5, False),
            ("GET", v3 + "/balance", lambda p: t.balance_rows(), True, 5, False),
            ("GET", v2 + "/positionRisk", t.position_rows, True, 5, False),
            ("GET", v3 + "/positionRisk", lambda p: t.position_rows(p, True), True, 5, False),
            ("POST", v1 + "/leverage", t.set_leverage, True, 1, False),
            ("POST", v1 + "/marginType", t.set_margin_type, True, 1, False),
            ("GET", v1 + "/leverageBracket", self.brackets, True, 1, False),
            ("GET", v1 + "/income", self.income, True, 30, False),
            ("GET", v1 + "/positionSide/dual", lambda p: {"dualSidePosition": False}, True, 30,
             False),
            ("GET", v1 + "/multiAssetsMargin", lambda p: {"multiAssetsMargin": False}, True,
             30, False),
            ("POST", v1 + "/listenKey", self.new_listen_key, "key", 1, False),
            ("PUT", v1 + "/listenKey", self.keepalive, "key", 1, False),
            ("DELETE", v1 + "/listenKey", self.close_listen_key, "key", 1, False),
        ]  # fmt: skip
        for method, path, fn, signed, weight, order in routes:
            app.router.add_route(
                method,
                path,
                rest.route(
                    self.emu, call(fn), signed, weight, order, hub=self.hub, limits=self.limits
                ),
            )
        emu = self.emu
        self.ws_api = ApiWs(emu, ws_methods(self), limits=self.limits, hub=self.hub,
                            path=WS_API_PATH, version="", user_data=False)  # fmt: skip
        # Binance's routed futures endpoints (/public: book streams, /market: the others,
        # /private: user data) next to the legacy /fapi/ws and /fapi/stream (retired by Binance
        # 2026-04-23, kept here because ccxt 4.5.90 still connects there)
        streams = ws_routes(app, emu, self.hub, ("/fapi",), self.ws_api, WS_API_PATH,
                            routed=("/fapi/public", "/fapi/market"))  # fmt: skip

        async def private(request: web.Request) -> web.WebSocketResponse:
            """``/private/ws?listenKey=K&events=A/B`` (or ``/private/ws/K``): the key's user
            data, only the named events when ``events`` is given (an allow list)."""
            emu.served["WS /fapi/private/ws"] += 1
            key = request.match_info.get("tail", "") or request.query.get("listenKey", "")
            events = request.query.get("events", "")
            kind = f"raw@{PRIVATE}:{key}" + ("?" + events if events else "")
            return await ws.serve(emu, self.hub, streams, request, kind)

        app.router.add_get("/fapi/private/ws", private)
        app.router.add_get("/fapi/private/ws/{tail:.*}", private)


#: the futures WS API (Binance: ``wss://ws-fapi.binance.com/ws-fapi/v1``)
WS_API_PATH = "/ws-fapi/v1"


def ws_methods(side: FuturesSide) -> dict[str, tuple[Method, bool, int]]:
    """The futures WS API's methods -> (handler, signed, weight): the REST handlers of the
    same names (``order.place`` = ``POST /fapi/v1/order``, ``v2/account.balance`` =
    ``GET /fapi/v2/balance`` ...). ``v2/`` is part of a name here, not a version to strip."""
    t = side.trading

    def on(fn: Any) -> Method:
        return lambda e, p: fn(text_params(p))

    def rows(fn: Any) -> Method:
        return lambda e, p: fn()

    out: dict[str, tuple[Method, bool, int]] = {
        "ping": (lambda e, p: {}, False, 1),
        "time": (lambda e, p: {"serverTime": now_ms()}, False, 1),
        "depth": (on(side.depth), False, 5),
        "ticker.price": (on(side.ticker_price), False, 1),
        "ticker.book": (on(side.book_ticker), False, 2),
        "order.place": (on(t.place), True, 0),
        "order.modify": (on(t.amend), True, 1),
        "order.cancel": (on(t.cancel), True, 1),
        "order.status": (on(t.get), True, 1),
    }
    account = {"account.status": on(t.account_row), "account.balance": rows(t.balance_rows),
               "account.position": on(t.position_rows)}  # fmt: skip
    for name, handler in account.items():  # v2 answers alike, but for positions
        out[name] = out["v2/" + name] = (handler, True, 5)
    out["v2/account.position"] = (on(lambda p: t.position_rows(p, True)), True, 5)
    return out


def _depth_weight(p: Params) -> int:
    raw = p.get("limit", "500")
    n = int(raw) if raw.isdigit() and len(raw) < 7 else 500
    return 2 if n <= 50 else 5 if n <= 100 else 10 if n <= 500 else 20


def _all(single: int, many: int) -> rest.Weight:
    return lambda p: single if p.get("symbol") else many
