"""Binance market streams: ``/ws/<stream>`` (raw) and ``/stream?streams=a/b`` (combined).

Stream names are Binance's (``btcusdt@depth@100ms``, ``btcusdt@trade``, ``btcusdt@kline_1m``,
``btcusdt@bookTicker``, ``btcusdt@depth5``, ``btcusdt@ticker``, ...; symbol lower-case, event
type case-sensitive). A raw connection gets payloads as they are, a combined one gets
``{"stream": name, "data": payload}``; the hub keys each subscription by (form, name) so every
payload is encoded once per form. Live control: ``SUBSCRIBE`` / ``UNSUBSCRIBE`` /
``LIST_SUBSCRIPTIONS`` / ``SET_PROPERTY ["combined", bool]`` / ``GET_PROPERTY`` with an id,
answered ``{"result": ..., "id": ...}``; errors ``{"code": 0..3, "msg", "id"}``.

Diff depth: every market step that changed the book is one ``depthUpdate`` with ``U`` (first
update id) and ``u`` (last), consecutive across messages; ``GET /api/v3/depth`` answers with
``lastUpdateId`` = the last ``u`` sent, so the documented sync procedure works against it. The
``skip_seq`` fault drops one diff (the ids still advance: a client sees ``U > last u + 1``).

Routed endpoints (USD-M since 2026-03: ``/public`` for ``@depth*``/``@bookTicker``, ``/market``
for the rest, ``/private`` for user data): a connection remembers its route, and a stream named
on the wrong one is acknowledged but never delivered -- what Binance was reported doing
(``{"result": null}`` then silence: ccxt/ccxt#28396, aggTrade on ``/public``). Each refusal
is counted in :attr:`BinanceHub.misrouted` so tests can see it without waiting for silence.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tradeloop.emulator import hub, ws
from tradeloop.emulator.binance import lifetime
from tradeloop.emulator.binance import markets as mk
from tradeloop.emulator.binance.rest import INTERVALS
from tradeloop.emulator.hub import Conn
from tradeloop.emulator.limits import clip
from tradeloop.emulator.market import BookChange, PublicTrade, SymbolMarket
from tradeloop.emulator.ws import WsProtocol

if TYPE_CHECKING:
    from tradeloop.emulator.binance.server import BinanceEmulator

log = logging.getLogger(__name__)

MAX_STREAMS = 1024
_STREAM = re.compile(
    r"([a-z0-9]{2,20})@(trade|aggTrade|bookTicker|ticker|miniTicker|avgPrice"
    r"|depth(?:5|10|20)?(?:@100ms|@1000ms|@500ms|@250ms)?|kline_(\w{2,3})|markPrice(?:@1s)?)"
)
RAW, COMBINED = "raw", "combined"
#: the USD-M routes; a connection on no route ("": legacy ``/fapi/ws``, spot) takes any stream
PUBLIC, MARKET, PRIVATE = "public", "market", "private"


def stream_routes(name: str) -> tuple[str, ...]:
    """The routes Binance serves a USD-M stream on: the high-frequency book streams are public,
    every other market stream "market"; ``@trade`` is on both (the notice lists it under
    market, ccxt 4.5.90 asks /public for it and ccxt/ccxt#28396 reports it flowing there)."""
    event = name.partition("@")[2]
    if event == "trade":
        return (PUBLIC, MARKET)
    return (PUBLIC,) if event.startswith(("depth", "bookTicker")) else (MARKET,)


def valid_stream(hub: BinanceHub, name: str) -> bool:
    m = _STREAM.fullmatch(name)
    if m is None or m.group(1).upper() not in hub.markets:
        return False
    if m.group(2).startswith("markPrice") and not hub.futures:
        return False
    return m.group(3) is None or m.group(3) in INTERVALS


class BinanceHub(hub.Hub):
    """Binance's market streams (and the user data fan-out of :mod:`.wsapi`)."""

    overflow = (1008, b"Buffer full")
    #: USD-M futures streams: ``pu`` on diffs, ``e``/``T`` on book tickers, markPrice
    futures = False

    def __init__(self, emu: BinanceEmulator, markets: dict[str, SymbolMarket] | None = None,
                 ) -> None:  # fmt: skip
        super().__init__()
        self.emu = emu
        #: pings and the age limit for this hub's connections (:mod:`.lifetime`)
        self.lifetime = emu.config.ws_lifetime
        self._expiry: dict[Conn, asyncio.TimerHandle] = {}
        self.markets = markets if markets is not None else emu.driver.markets
        self._uid: dict[str, int] = {}
        self._kline_start: dict[tuple[str, str], int] = {}
        #: each routed connection's route (:func:`stream_routes`)
        self._route: dict[Conn, str] = {}
        #: (route, stream) pairs refused for being on the wrong route, in order
        self.misrouted: list[tuple[str, str]] = []
        for k, sym in enumerate(self.markets):
            self._uid[sym] = 1_000_000 * (k + 1) + emu.config.seed * 1000

    def update_id(self, symbol: str) -> int:
        return self._uid[symbol]

    # -- connections ------------------------------------------------------------------------
    def open(self, ws: Any, kind: str = "") -> Conn:
        """``kind`` is ``raw:<streams>``, ``combined:<streams>`` or ``api:<ip>``, the form
        optionally ``@<route>`` (``raw@public:...``); the streams named in the URL are
        subscribed at once (names that are not streams are ignored: clients such as ccxt
        connect to ``/ws/0`` and SUBSCRIBE afterwards; wrong-route ones are refused)."""
        head, _, tail = kind.partition(":")
        form, _, route = head.partition("@")
        conn = super().open(ws, form + ":" + tail)
        if route:
            self._route[conn] = route
        timer = lifetime.apply(ws, conn, self.lifetime)
        if timer is not None:
            self._expiry[conn] = timer
        if form in (RAW, COMBINED):
            for name in tail.split("/")[:MAX_STREAMS]:
                if name and valid_stream(self, name) and self.admit(conn, name):
                    self.subscribe(conn, (form, name))
        return conn

    def admit(self, conn: Conn, name: str) -> bool:
        """False (and counted) for a stream that ``conn``'s route does not carry."""
        route = self._route.get(conn, "")
        if not route or route in stream_routes(name):
            return True
        self.misrouted.append((route, name))
        del self.misrouted[:-256]
        log.info("stream %s refused on the /%s route", clip(name, 64), route)
        return False

    def route(self, conn: Conn) -> str:
        return self._route.get(conn, "")

    def remove(self, conn: Conn) -> None:
        self._route.pop(conn, None)
        timer = self._expiry.pop(conn, None)
        if timer is not None:
            timer.cancel()
        super().remove(conn)

    def form(self, conn: Conn) -> str:
        return COMBINED if conn.kind.startswith(COMBINED) else RAW

    def set_combined(self, conn: Conn, combined: bool) -> None:
        names = self.names(conn)
        for name in names:
            self.unsubscribe(conn, (self.form(conn), name))
        conn.kind = (COMBINED if combined else RAW) + ":"
        for name in names:
            self.subscribe(conn, (self.form(conn), name))

    def names(self, conn: Conn) -> list[str]:
        return sorted(k[1] for k in conn.public_keys)

    # -- publishing -------------------------------------------------------------------------
    def _active(self, prefix: str) -> list[str]:
        return [k[1] for k, c in self.subs.items() if c and k[1].startswith(prefix)]

    def publish(self, name: str, payload: Any) -> None:
        self.broadcast((RAW, name), payload)
        if self.listening((COMBINED, name)):
            self.broadcast((COMBINED, name), {"stream": name, "data": payload})

    def on_step(self, m: SymbolMarket, change: BookChange) -> None:
        sym = m.instrument.symbol
        ts = change.ts
        first = prev = 0
        if not change.empty:
            prev = self._uid[sym]
            # futures ids jump between messages (only pu chains them); spot's are consecutive
            first = prev + (3 if self.futures else 1)
            self._uid[sym] = first - 1 + max(1, len(change.bids) + len(change.asks))
        active = self._active(sym.lower() + "@")
        if not active:
            return
        trades = [n for n in active if n.endswith(("@trade", "@aggTrade"))]
        if change.trades and trades:
            self._trades(m, change.trades, trades)
        for name in active:
            kind = name.partition("@")[2]
            if kind.startswith("depth") and kind[5:7] in ("", "@1"):
                if not change.empty:
                    self._diff(m, name, first, prev, change)
            elif kind.startswith("depth"):
                n = int(kind[5:].partition("@")[0])
                bids, asks = mk.depth(m, n)
                self.publish(name, {"lastUpdateId": self._uid[sym], "bids": bids, "asks": asks})
            elif kind == "bookTicker" and not change.empty:
                self.publish(name, self.book_ticker(m))
            elif kind in ("ticker", "miniTicker"):
                self.publish(name, self.ticker(m, ts, kind == "miniTicker"))
            elif kind.startswith("kline_"):
                self._kline(m, name, kind[6:], ts)
            elif kind.startswith("markPrice"):
                self.publish(name, self.mark_price(m, ts))

    def mark_price(self, m: SymbolMarket, ts: int) -> dict[str, Any]:
        return {}

    def _diff(self, m: SymbolMarket, name: str, first: int, prev: int, change: BookChange) -> None:
        sym = m.instrument.symbol
        if self.emu.faults.take_skip_seq():
            log.info("fault: dropped depth diff %s", sym)
            return
        pad = self.pad
        bids = [[pad(m.px(p)), pad(s)] for p, s in sorted(change.bids.items(), reverse=True)]
        asks = [[pad(m.px(p)), pad(s)] for p, s in sorted(change.asks.items())]
        msg: dict[str, Any] = {"e": "depthUpdate", "E": change.ts}
        if self.futures:
            msg["T"] = change.ts
        msg.update(s=sym, U=first, u=self._uid[sym])
        if self.futures:
            msg["pu"] = prev
        msg.update(b=bids, a=asks)
        self.publish(name, msg)

    @staticmethod
    def pad(text: str) -> str:
        """Spot writes eight decimals; futures override this with the symbol's own."""
        return mk.pad8(text)

    def book_ticker(self, m: SymbolMarket) -> dict[str, Any]:
        bt = mk.book_ticker(m)
        return {"u": self._uid[m.instrument.symbol], "s": bt["symbol"], "b": bt["bidPrice"],
                "B": bt["bidQty"], "a": bt["askPrice"], "A": bt["askQty"]}  # fmt: skip

    def ticker(self, m: SymbolMarket, ts: int, mini: bool) -> dict[str, Any]:
        t = mk.ticker_24h(m, ts, mini=mini)
        out: dict[str, Any] = {"e": "24hrMiniTicker" if mini else "24hrTicker", "E": ts,
                               "s": t["symbol"], "c": t["lastPrice"], "o": t["openPrice"],
                               "h": t["highPrice"], "l": t["lowPrice"], "v": t["volume"],
                               "q": t["quoteVolume"]}  # fmt: skip
        if not mini:
            out.update(p=t["priceChange"], P=t["priceChangePercent"], w=t["weightedAvgPrice"],
                       x=t["prevClosePrice"], Q=t["lastQty"], b=t["bidPrice"], B=t["bidQty"],
                       a=t["askPrice"], A=t["askQty"], O=t["openTime"], C=t["closeTime"],
                       F=t["firstId"], L=t["lastId"], n=t["count"])  # fmt: skip
        return out

    def _kline(self, m: SymbolMarket, name: str, interval: str, ts: int) -> None:
        bar_ms = INTERVALS[interval]
        bars = m.aggregate(bar_ms)[-2:]
        key = (m.instrument.symbol, interval)
        last = self._kline_start.get(key)
        cur = bars[-1]
        if last is not None and last != cur.start and len(bars) > 1 and bars[0].start == last:
            self.publish(name, self.kline(m, interval, bars[0], ts, closed=True))
        self._kline_start[key] = cur.start
        self.publish(name, self.kline(m, interval, cur, ts, closed=False))

    def kline(self, m: SymbolMarket, interval: str, c: Any, ts: int, closed: bool) -> Any:
        row = mk.kline_row(m.instrument, c, INTERVALS[interval])
        sym = m.instrument.symbol
        k = {"t": row[0], "T": row[6], "s": sym, "i": interval, "f": -1, "L": -1, "o": row[1],
             "c": row[4], "h": row[2], "l": row[3], "v": row[5], "n": 0, "x": closed,
             "q": row[7], "V": "0.00000000", "Q": "0.00000000", "B": "0"}  # fmt: skip
        return {"e": "kline", "E": ts, "s": sym, "k": k}

    def _trades(self, m: SymbolMarket, trades: list[PublicTrade], names: list[str]) -> None:
        sym = m.instrument.symbol
        for name in names:
            agg = name.endswith("@aggTrade")
            for t in trades:
                tid = int(t.trade_id)
                msg: dict[str, Any] = {"e": "aggTrade" if agg else "trade", "E": t.ts, "s": sym}
                if agg:
                    msg.update(a=tid, p=mk.pad8(t.price), q=mk.pad8(t.size), f=tid, l=tid)
                else:
                    msg.update(t=tid, p=mk.pad8(t.price), q=mk.pad8(t.size))
                msg.update(T=t.ts, m=t.side == "sell", M=True)
                self.publish(name, msg)

    def push_user_trade(self, m: SymbolMarket, t: PublicTrade) -> None:
        """A user's taker fill, already on the market's tape: print it on the trade streams
        after the answer to the request that caused it."""
        names = [n for n in self._active(m.instrument.symbol.lower() + "@")
                 if n.endswith(("@trade", "@aggTrade"))]  # fmt: skip
        if names:
            self.defer(lambda: self._trades(m, [t], names))

    def push_user(self, event: dict[str, Any]) -> None:
        """A user data event to every WS API connection subscribed to it (deferred)."""

        def go() -> None:
            for conn in list(self.conns):
                sub = conn.private_subs.get("user")
                if sub is not None:
                    conn.send_json({"subscriptionId": int(sub["id"]), "event": event})

        self.defer(go)


class StreamWs:
    """The market-stream dialect (live control messages) for the shared WS loop."""

    login_close = (1008, b"Too many failed logins")

    def __init__(self, emu: BinanceEmulator, hub_: BinanceHub | None = None) -> None:
        self.emu = emu
        self.hub = hub_ or emu.hub

    def on_text(self, conn: Conn, text: str) -> None:
        try:
            req = json.loads(text)
        except (ValueError, RecursionError):
            return conn.send_json({"code": 3, "msg": "Invalid JSON: malformed request"})
        if not isinstance(req, dict):
            return conn.send_json({"code": 3, "msg": "Invalid JSON: expected an object"})
        rid = req.get("id")
        if not (rid is None or (isinstance(rid, int) and not isinstance(rid, bool) and
                                abs(rid) < 2**63) or
                (isinstance(rid, str) and len(rid) <= 36 and rid.isalnum())):  # fmt: skip
            return conn.send_json({"code": 2, "msg": "Invalid request: invalid id", "id": None})
        method, params = req.get("method"), req.get("params")
        hub_ = self.hub
        if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
            if not isinstance(params, list) or not all(isinstance(p, str) for p in params):
                return self._error(conn, 2, "Invalid request: params must be stream names", rid)
            bad = [p for p in params if not valid_stream(hub_, p)]
            if bad:
                return self._error(conn, 2, f"Invalid request: unknown stream {clip(bad[0], 64)}",
                                   rid)  # fmt: skip
            if method == "SUBSCRIBE" and len(conn.public_keys | set(params)) > MAX_STREAMS:
                return self._error(conn, 2, "Invalid request: too many streams", rid)
            form = hub_.form(conn)
            for p in params:
                if method == "SUBSCRIBE":
                    if hub_.admit(conn, p):  # a misrouted one is acknowledged, never sent
                        hub_.subscribe(conn, (form, p))
                else:
                    hub_.unsubscribe(conn, (form, p))
            return conn.send_json({"result": None, "id": rid})
        if method == "LIST_SUBSCRIPTIONS":
            return conn.send_json({"result": hub_.names(conn), "id": rid})
        if method in ("SET_PROPERTY", "GET_PROPERTY"):
            if not isinstance(params, list) or not params or params[0] != "combined":
                return self._error(conn, 0, "Unknown property", rid)
            if method == "GET_PROPERTY":
                return conn.send_json({"result": hub_.form(conn) == COMBINED, "id": rid})
            if len(params) != 2 or not isinstance(params[1], bool):
                return self._error(conn, 1, "Invalid value type: expected Boolean", rid)
            hub_.set_combined(conn, params[1])
            return conn.send_json({"result": None, "id": rid})
        self._error(conn, 2, f"Invalid request: unknown method {clip(method, 32)}", rid)

    def _error(self, conn: Conn, code: int, msg: str, rid: Any) -> None:
        conn.send_json({"code": code, "msg": msg, "id": rid})

    def on_binary(self, conn: Conn, data: bytes) -> None:
        conn.send_json({"code": 3, "msg": "Invalid JSON: binary frame"})

    def on_crash(self, conn: Conn) -> None:
        conn.send_json({"code": 2, "msg": "Invalid request: internal error"})


def ws_routes(
    app: web.Application, emu: BinanceEmulator, hub_: BinanceHub, bases: tuple[str, ...],
    api: WsProtocol | None = None, api_path: str = "", routed: tuple[str, ...] = (),
) -> StreamWs:  # fmt: skip
    """Serve ``hub_``'s market streams at ``<base>/ws``, ``<base>/ws/<streams>`` and
    ``<base>/stream?streams=`` for each base (spot: ``""``; USD-M: ``/fapi`` ...) and each
    routed base (``/fapi/public``: only that route's streams, the last path part naming it),
    and the WS API dialect ``api`` at ``api_path``; the stream dialect is returned for further
    routes. Each connection counts in ``emu.served`` as ``"WS <base>/ws"`` or ``/stream``."""
    streams = StreamWs(emu, hub_)

    def handlers(base: str, route: str) -> tuple[Any, Any]:
        tag = "@" + route if route else ""

        async def raw(request: web.Request) -> web.WebSocketResponse:
            emu.served[f"WS {base}/ws"] += 1
            tail = request.match_info.get("tail", "")
            return await ws.serve(emu, hub_, streams, request, RAW + tag + ":" + tail)

        async def combined(request: web.Request) -> web.WebSocketResponse:
            emu.served[f"WS {base}/stream"] += 1
            names = request.query.get("streams", "")
            return await ws.serve(emu, hub_, streams, request, COMBINED + tag + ":" + names)

        return raw, combined

    async def ws_api(request: web.Request) -> web.WebSocketResponse:
        assert api is not None
        return await ws.serve(emu, hub_, api, request, "api:" + (request.remote or "?"))

    for base in bases + routed:
        raw, combined = handlers(base, base.rsplit("/", 1)[1] if base in routed else "")
        app.router.add_get(base + "/ws", raw)
        app.router.add_get(base + "/ws/{tail:.*}", raw)
        app.router.add_get(base + "/stream", combined)
    if api is not None:
        app.router.add_get(api_path, ws_api)
    return streams
