"""BinanceGateway: Binance spot and USD-M perpetuals as the engine sees them (a
:class:`~tradeloop.venues.base.Gateway`).

Only Binance knowledge lives here: the market-stream socket (books synced by
:mod:`.booksync`, trades, book tickers), the WS API session for orders and account events
(``executionReport`` -> fills and reports, ``outboundAccountPosition`` -> balances,
``balanceUpdate`` -> a re-read of the wallet, the event being only a delta), REST for
instruments, snapshots, lookups and as the order fallback. The order lifecycle is the
venue-neutral :class:`~tradeloop.venues.execution.OrderLifecycle` with
:class:`~tradeloop.venues.binance.orders.BinanceOrderHooks`.

USD-M perpetuals (``BTCUSDT-PERP.BINANCE``, :mod:`.futures`) live on another host
(``fapi.binance.com``; the emulator serves them on its own port under ``/fapi``): their own
REST client and weight gate, their own market-stream sockets on Binance's routed paths (books
and book tickers on ``/public/ws``, chained by ``pu``; trades and klines on ``/market/ws``),
their own WS API session for orders (``/ws-fapi/v1``, REST as the fallback: :mod:`.orders`),
and account events on ``/private/ws`` (:mod:`.userstream`; ``ACCOUNT_UPDATE`` -> positions and
the futures wallet's balances; with reason ``FUNDING_FEE`` also a read of the income history,
whose rows become ``FundingPaid``: :mod:`.funding`). Spot and futures are two wallets:
balances of the futures one carry ``wallet="usdm"`` (:data:`.futures.WALLET`), spot's the main
wallet ``""``. A server without ``/fapi`` (or ``futures=False``) leaves the gateway spot-only.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from tradeloop.core.errors import AuthError, VenueError
from tradeloop.core.log import get_logger
from tradeloop.model import (
    BalanceUpdate,
    BookLevels,
    Fill,
    FundingPaid,
    OrderReport,
    PositionUpdate,
    QuoteTick,
    Side,
    TradeTick,
    VenueStatus,
)
from tradeloop.venues.binance import constants as C
from tradeloop.venues.binance import futures as F
from tradeloop.venues.binance import parse as P
from tradeloop.venues.binance.auth import Credentials
from tradeloop.venues.binance.booksync import BinanceBookSync
from tradeloop.venues.binance.funding import NS_PER_MS, PUSH_SLACK_MS, funding_rows, parse_incomes
from tradeloop.venues.binance.orders import BinanceOrderHooks, WsCall
from tradeloop.venues.binance.rest import BinanceRestClient, WeightGate
from tradeloop.venues.binance.userstream import UserStream
from tradeloop.venues.binance.ws import WS_CONFIG, ApiSession, MarketStream
from tradeloop.venues.execution import DEFAULT_RECOVERY, DEFAULT_RETENTION, RecoveryPolicy
from tradeloop.venues.gateway_base import StreamGateway
from tradeloop.venues.wsclient import WsConfig

log = get_logger(__name__)
#: what a user data event of the wrong shape raises while it is read
_BAD_EVENT = (KeyError, ValueError, TypeError, AttributeError, IndexError)

#: levels handed to the data sink as the snapshot after a (re)sync (the REST snapshot's 1000)
SNAPSHOT_LEVELS = 5000
#: file holding an Ed25519 private key (PEM) to sign with instead of the HMAC secret
ED25519_FILE_ENV = "TRADELOOP_BINANCE_ED25519_KEY_FILE"


def default_ws_urls(rest_url: str) -> tuple[str, str]:
    """(market streams base, WS API url) for a REST base (the emulator serves all three)."""
    if rest_url.rstrip("/") == C.REST_URL:
        return C.WS_URL, C.WS_API_URL
    scheme, _, host = rest_url.rstrip("/").partition("://")
    base = ("wss" if scheme == "https" else "ws") + "://" + host
    return base, base + "/ws-api/v3"


def default_futures_urls(rest_url: str) -> tuple[str, str]:
    """(USD-M REST base, USD-M WebSocket root) for a spot REST base: Binance's futures hosts,
    or the emulator's ``/fapi`` on the same port; the routes (``/public/ws``, ``/market/ws``,
    ``/private/ws``) hang off the root."""
    if rest_url.rstrip("/") == C.REST_URL:
        return C.FAPI_URL, C.FWS_URL
    return rest_url.rstrip("/"), default_ws_urls(rest_url)[0] + "/fapi"


def default_futures_ws_api_url(rest_url: str) -> str:
    """The USD-M WS API for a spot REST base: Binance's ``ws-fapi`` host, or the emulator's
    ``/ws-fapi/v1`` on the same port."""
    if rest_url.rstrip("/") == C.REST_URL:
        return C.FWS_API_URL
    return default_ws_urls(rest_url)[0] + "/ws-fapi/v1"


#: fetch_fills asks every listed instrument when there are at most this many (an emulator, a
#: short list); otherwise the traded and subscribed ones
ASK_ALL_LIMIT = 20


class BinanceGateway(StreamGateway):
    """The shared plumbing (sinks, order calls, account and status events, stop/drain) is
    :class:`~tradeloop.venues.gateway_base.StreamGateway`'s; Binance has four sockets, not a
    public and a private one, so it keeps its own subscribe/book/quote and status routing."""

    venue = C.VENUE
    #: spot market streams, USD-M book streams (``/public`` route) and other market streams
    #: (``/market`` route), the WS API sessions (spot, USD-M), the listenKey socket
    stream_names = ("stream", "fstream", "fmstream", "api", "fapi", "user")
    stream: MarketStream | None
    fstream: MarketStream | None
    fmstream: MarketStream | None
    api: ApiSession | None
    fapi: ApiSession | None
    user: UserStream | None
    rest: BinanceRestClient

    def __init__(
        self,
        base_url: str = C.REST_URL,
        credentials: Credentials | None = None,
        *,
        ws_url: str | None = None,
        ws_api_url: str | None = None,
        use_ws_api: bool = True,
        rest: BinanceRestClient | None = None,
        ws_config: WsConfig = WS_CONFIG,
        recovery: RecoveryPolicy = DEFAULT_RECOVERY,
        now_ns: Callable[[], int] = time.time_ns,
        futures: bool = True,
        futures_url: str | None = None,
        futures_ws_url: str | None = None,
        frest: BinanceRestClient | None = None,
        futures_ws_api_url: str | None = None,
    ) -> None:
        # ``rest``/``ws_config``/``recovery``: the production shapes unless a caller (tests,
        # the conformance harness) needs shorter retry and reconnect waits.
        super().__init__(now_ns)
        self.rest = rest or BinanceRestClient(base_url, credentials)
        self.ws_config = ws_config
        stream_base, api = default_ws_urls(base_url)
        self.ws_url = (ws_url or stream_base).rstrip("/")
        self.ws_api_url = ws_api_url or api
        self.use_ws_api = use_ws_api
        f_rest, f_ws = default_futures_urls(base_url)
        self.futures_ws_url = (futures_ws_url or f_ws).rstrip("/")
        self.futures_ws_api_url = futures_ws_api_url or default_futures_ws_api_url(base_url)
        self.frest: BinanceRestClient | None = None
        if futures:
            self.frest = frest or BinanceRestClient(
                futures_url or f_rest, self.rest.credentials,
                gate=WeightGate(limit=C.FUTURES_WEIGHT_LIMIT), time_path="/fapi/v1/time",
                retry=self.rest.retry, timeout=self.rest.timeout,
            )  # fmt: skip
        self._subscribed: set[str] = set()
        #: assets a ``balanceUpdate`` moved, and the wallet read that answers them
        self._moved: set[str] = set()
        self._reading: asyncio.Task[None] | None = None
        self.hooks = BinanceOrderHooks(self.rest, self._instruments, self._streaming,
                                       self._ws_call, now_ns, self.frest,
                                       self._fws_call)  # fmt: skip
        self.orders = self.lifecycle(self.hooks, recovery, DEFAULT_RETENTION)
        #: the income reads ``FUNDING_FEE`` pushes start (one at a time; again until listed)
        self.funding_reads = self.pushed_funding(PUSH_SLACK_MS * NS_PER_MS)

    def _streaming(self) -> bool:
        return self.api is not None and self.api.connected

    def _ws_call(self) -> WsCall:
        return self.api.call if self.use_ws_api and self._streaming() and self.api else None

    def _fws_call(self) -> WsCall:
        up = self.use_ws_api and self.fapi is not None and self.fapi.connected
        return self.fapi.call if up and self.fapi is not None else None

    # -- plumbing ---------------------------------------------------------------------------
    async def start(self) -> None:
        try:
            await self.rest.sync_time()
        except VenueError as exc:
            log.warning("Binance time sync failed (%s); signing with the local clock", exc)
        self._instruments.update(
            P.parse_instruments(await self.rest.call("GET", "/api/v3/exchangeInfo"))
        )
        perps = await self._load_futures()
        cred = self.rest.credentials
        if cred is not None:
            self.api = ApiSession(self.ws_api_url, cred, self.rest.now_ms, self._on_user,
                                  self._api_status, self.ws_config,
                                  gate=self.rest.gate)  # fmt: skip
            await self.api.start(wait=10.0)
        if cred is not None and perps and self.frest is not None:
            self.user = UserStream(self.frest, self.futures_ws_url, self._on_futures_user,
                                   self._api_status, self.ws_config)  # fmt: skip
            try:
                await self.user.start(wait=10.0)
            except VenueError as exc:
                log.warning("Binance USD-M user stream unavailable (%s): no futures pushes", exc)
        if cred is not None and perps and self.use_ws_api:
            await self._start_fapi(cred)

    async def _start_fapi(self, cred: Credentials) -> None:
        """The USD-M WS API session for orders. Not reaching it is a warning, not a failure:
        perpetual orders go over REST until it connects (it keeps trying)."""
        assert self.frest is not None
        self.fapi = ApiSession(self.futures_ws_api_url, cred, self.frest.now_ms,
                               lambda ev: None, self._fapi_status, self.ws_config,
                               user_data=False, name="binance-futures-ws-api",
                               gate=self.frest.gate)  # fmt: skip
        try:
            await self.fapi.start(wait=10.0)
        except VenueError as exc:
            log.warning("Binance USD-M WS API unavailable (%s): perpetual orders over REST", exc)

    async def _load_futures(self) -> bool:
        """Add the USD-M perpetuals; a server without ``/fapi`` leaves the gateway spot-only."""
        if self.frest is None:
            return False
        self.frest.offset_ms = self.rest.offset_ms
        try:
            info = await self.frest.call("GET", "/fapi/v1/exchangeInfo")
        except VenueError as exc:
            log.warning("Binance USD-M futures unavailable (%s): spot only", exc)
            return False
        perps = F.parse_instruments(info)
        self._instruments.update(perps)
        return bool(perps)

    async def stop(self) -> None:
        if self._reading is not None:
            self._reading.cancel()
        await super().stop()
        if self.frest is not None:
            await self.frest.close()

    def _fapi_status(self, status: str, detail: str) -> None:
        # orders only, no pushes: its state is worth a log line, not a VenueStatus (the
        # lifecycle need not catch up: the listenKey socket carried the futures events)
        level = logging.INFO if status in ("connected", "reconnected") else logging.WARNING
        log.log(level, "Binance USD-M WS API %s %s", status, detail)

    def _api_status(self, status: str, detail: str) -> None:
        # the WS API session and the listenKey socket carry the order pushes
        self.stream_status(status, detail, public=False, private=True)

    def _stream_status(self, status: str, detail: str) -> None:
        if status in ("connected", "reconnected", "disconnected"):
            self._quotes.clear()
        self._account_event(VenueStatus(self.now_ns(), self.venue, status, detail))

    # -- user data --------------------------------------------------------------------------
    def _on_user(self, ev: dict[str, Any]) -> None:
        kind = ev.get("e")
        now = self.now_ns()
        try:
            if kind == "executionReport":
                self._on_execution(ev, now)
            elif kind == "outboundAccountPosition":
                for b in P.parse_balances(ev.get("B", []), now, "f", "l", "a"):
                    self._account_event(b)
            elif kind == "balanceUpdate":
                self._balance_moved(str(ev["a"]), P.f(ev["d"]))
        except _BAD_EVENT as exc:  # one line, never a traceback from the socket reader
            log.warning("Binance: bad %s: %s: %s", kind, type(exc).__name__, exc)

    def _balance_moved(self, asset: str, delta: float) -> None:
        """``balanceUpdate`` (deposit, withdrawal, transfer) is a delta, and adding it to a
        balance seen earlier could count a move twice or miss one; the spot wallet is read
        again instead and the asset's absolute balance handed on. Moves arriving while a read
        is under way are covered by one more read after it."""
        log.info("Binance: %s balance moved by %s; reading the wallet", asset, delta)
        self._moved.add(asset)
        if self._reading is None or self._reading.done():
            self._reading = asyncio.ensure_future(self._read_moved())

    async def _read_moved(self) -> None:
        while self._moved:
            assets, self._moved = self._moved, set()
            try:
                acct = await self.rest.call("GET", "/api/v3/account", signed=True)
            except VenueError as exc:
                log.warning("Binance: wallet read after a balance move failed: %s", exc)
                return
            rows = [r for r in acct.get("balances", []) if r.get("asset") in assets]
            for b in P.parse_balances(rows, self.now_ns()):
                self._account_event(b)

    def _on_futures_user(self, ev: dict[str, Any]) -> None:
        kind = ev.get("e")
        now = self.now_ns()
        try:
            if kind == "ORDER_TRADE_UPDATE":
                o = ev["o"]
                side = Side.BUY if o.get("S") == "BUY" else Side.SELL
                # push_track names adopted orders by symbol_id(native): the perpetual's id
                track = self.orders.push_track(str(o["c"]), str(o["s"]) + F.PERP, side)
                fill = F.fill_from_update(o, now, track.client_order_id)
                if fill is not None:
                    self.orders.fill(track, fill)
                self.orders.report(track, F.report_from_update(o, now, track.client_order_id))
            elif kind == "ACCOUNT_UPDATE":
                for bal in F.balances_from_account_update(ev, now):
                    self._account_event(bal)
                for pos in F.positions_from_account_update(ev, now):
                    self._account_event(pos)
                if (ev.get("a") or {}).get("m") == "FUNDING_FEE":  # no payment id: read income
                    t_ms = int(ev.get("T") or ev.get("E") or now // NS_PER_MS)
                    self.funding_reads.poke(t_ms * NS_PER_MS)
        except _BAD_EVENT as exc:
            log.warning("Binance: bad futures %s: %s: %s", kind, type(exc).__name__, exc)

    def _on_execution(self, ev: dict[str, Any], now: int) -> None:
        # a cancel's executionReport carries the cancel's own id in "c", the order's in "C"
        vcid = str(ev.get("C") or ev.get("c"))
        side = Side.BUY if ev.get("S") == "BUY" else Side.SELL
        track = self.orders.push_track(vcid, str(ev["s"]), side)
        fill = P.fill_from_execution(ev, now, track.client_order_id)
        if fill is not None:
            self.orders.fill(track, fill)
        self.orders.report(track, P.report_from_execution(ev, now, track.client_order_id))

    # -- queries ----------------------------------------------------------------------------
    async def fetch_balances(self) -> list[BalanceUpdate]:
        """Both wallets: spot's (``/api/v3/account``, wallet ``""``) and, when perpetuals are
        listed, the USD-M futures wallet's (``/fapi/v2/balance``, wallet ``"usdm"``). Both
        hold USDT; ``BalanceUpdate.wallet`` keeps them apart. The main wallet comes last, so
        a consumer that still keys by asset alone sees spot's numbers, as it did before the
        futures wallet was listed. A key without futures permission (the futures host
        refuses it) leaves the answer spot-only, with a warning: a spot trader's reconcile
        must not fail on a wallet it never uses."""
        acct = await self.rest.call("GET", "/api/v3/account", signed=True)
        out = P.parse_balances(acct.get("balances", []), self.now_ns())
        if self._has_perps() and self.frest is not None:
            try:
                rows = await self.frest.call("GET", "/fapi/v2/balance", signed=True)
            except AuthError as exc:
                log.warning("Binance USD-M wallet not readable with this key (%s)", exc)
                return out
            out = F.balances(rows, self.now_ns()) + out
        return out

    def _has_perps(self) -> bool:
        return self.frest is not None and any(i.is_derivative for i in self._instruments.values())

    async def fetch_positions(self) -> list[PositionUpdate]:
        """The open USD-M positions (spot has none)."""
        if not self._has_perps() or self.frest is None:
            return []
        rows = await self.frest.call("GET", "/fapi/v2/positionRisk", signed=True)
        return F.positions(rows, self.now_ns())

    def _cid(self, venue_client_id: str) -> str:
        # an order this process does not track: Binance's client id is ours unless it had
        # to be hashed (binance_client_id), so the venue's is the best name there is
        return self.client_id_for(venue_client_id)

    async def fetch_open_orders(self) -> list[OrderReport]:
        rows = await self.rest.call("GET", "/api/v3/openOrders", signed=True)
        now = self.now_ns()
        out = [P.parse_order(d, now, self._cid(str(d.get("clientOrderId")))) for d in rows]
        if self._has_perps() and self.frest is not None:
            frows = await self.frest.call("GET", "/fapi/v1/openOrders", signed=True)
            out += [F.parse_order(d, now, self._cid(str(d.get("clientOrderId"))))
                    for d in frows]  # fmt: skip
        return out

    def _fill_symbols(self) -> list[str]:
        """Where fetch_fills looks: the traded and subscribed instruments, or every listed
        one when they are few -- after a restart the tracker is empty, yet fills made before
        it must still be found."""
        syms = {t.symbol for t in self.orders.tracker} | self._subscribed
        if len(self._instruments) <= ASK_ALL_LIMIT:
            syms |= set(self._instruments)
        return sorted(s for s in syms if s in self._instruments)

    async def fetch_fills(self, since_ns: int = 0) -> list[Fill]:
        """Our fills at or after ``since_ns``, oldest first (:meth:`_fill_symbols`).

        ``myTrades`` / ``userTrades`` rows carry the venue's ``orderId`` only, so the client
        id comes from the order tracker, and for an order it does not hold (pruned, another
        session, before a restart) from ``allOrders`` over the same window."""
        out: list[Fill] = []
        start = since_ns // 1_000_000 or None
        for sym in self._fill_symbols():
            perp = self._instruments[sym].is_derivative
            rest = self.frest if perp and self.frest is not None else self.rest
            base = "/fapi/v1/" if perp else "/api/v3/"
            parse = F.fill_from_trade if perp else P.fill_from_trade
            p = {"symbol": self.hooks.native_symbol(sym), "startTime": start}
            rows = await rest.call("GET", base + ("userTrades" if perp else "myTrades"), p,
                                   signed=True)  # fmt: skip
            cids = {t.venue_order_id: t.client_order_id for t in self.orders.tracker
                    if t.symbol == sym and t.venue_order_id}  # fmt: skip
            if any(str(r.get("orderId")) not in cids for r in rows):
                for o in await rest.call("GET", base + "allOrders", p, signed=True):
                    cids.setdefault(str(o.get("orderId")), self._cid(str(o.get("clientOrderId"))))
            out += [parse(r, cids.get(str(r.get("orderId")), "")) for r in rows]
        return sorted(out, key=lambda f: f.ts)

    async def fetch_funding(self, since_ns: int = 0) -> list[FundingPaid]:
        """USD-M funding payments at or after ``since_ns``, oldest first, from the income
        history (:mod:`.funding`); none without perpetuals."""
        if not self._has_perps() or self.frest is None:
            return []
        rows = await funding_rows(self.frest, since_ns // 1_000_000)
        return parse_incomes(rows, self.now_ns())

    # -- market data ------------------------------------------------------------------------
    def _names(self, symbol: str, channels: tuple[str, ...]) -> list[str]:
        inst = self._instruments.get(symbol)
        low = F.wire(inst.native if inst else P.native(symbol)).lower()
        perp = inst is not None and inst.is_derivative
        out = []
        for ch in channels:
            if ch == "trades":
                out.append(f"{low}@aggTrade" if perp else f"{low}@trade")
            elif ch == "quotes":
                out.append(f"{low}@bookTicker")
            elif ch == "book":
                out.append(f"{low}@depth@100ms")
            elif ch.startswith("bars:"):
                out.append(f"{low}@kline_{ch[5:]}")
            else:
                raise ValueError(f"unknown channel {ch!r}")
        return out

    async def _snapshot(self, native: str) -> dict[str, Any]:
        res: dict[str, Any] = await self.rest.call(
            "GET", "/api/v3/depth", {"symbol": native, "limit": 1000}
        )
        return res

    async def _fsnapshot(self, native: str) -> dict[str, Any]:
        assert self.frest is not None
        res: dict[str, Any] = await self.frest.call(
            "GET", "/fapi/v1/depth", {"symbol": native, "limit": 1000}
        )
        return res

    def _is_perp(self, symbol: str) -> bool:
        inst = self._instruments.get(symbol)
        return inst is not None and inst.is_derivative

    async def subscribe(self, symbol: str, channels: tuple[str, ...]) -> None:
        names = self._names(symbol, channels)
        self._subscribed.add(symbol)
        if self._is_perp(symbol):
            for route, group in _by_route(names).items():
                await (await self._futures_stream(route)).subscribe(group)
            return
        if self.stream is None:
            self.stream = MarketStream(self.ws_url + "/ws", self._snapshot, self._on_event,
                                       self._on_book, self._stream_status,
                                       self.ws_config)  # fmt: skip
            await self.stream.start()
        await self.stream.subscribe(names)

    async def _futures_stream(self, route: str) -> MarketStream:
        """The USD-M socket of ``route`` (``/public/ws``: books and book tickers, kept as
        ``fstream``; ``/market/ws``: the rest, ``fmstream``), opened on first use."""
        attr = "fstream" if route == C.FWS_PUBLIC else "fmstream"
        stream: MarketStream | None = getattr(self, attr)
        if stream is None:
            stream = MarketStream(
                self.futures_ws_url + route, self._fsnapshot,
                lambda ev: self._on_event(ev, F.perp_id),
                lambda n, sync, snap: self._on_book(n, sync, snap, F.perp_id),
                self._stream_status, self.ws_config, futures=True,
            )  # fmt: skip
            setattr(self, attr, stream)
            await stream.start()
        return stream

    async def unsubscribe(self, symbol: str, channels: tuple[str, ...]) -> None:
        names = self._names(symbol, channels)
        if self._is_perp(symbol):
            for route, group in _by_route(names).items():
                fs = self.fstream if route == C.FWS_PUBLIC else self.fmstream
                if fs is not None:
                    await fs.unsubscribe(group)
        elif self.stream is not None:
            await self.stream.unsubscribe(names)
        self._quotes.pop(symbol, None)

    def _on_book(
        self, native: str, sync: BinanceBookSync, snapshot: bool,
        ids: Callable[[str], str] = P.symbol_id,
    ) -> None:  # fmt: skip
        # after a (re)sync the sink gets the whole book as a snapshot -- it replaces whatever
        # the sink built before the gap; afterwards each diff's changed levels
        bids, asks = sync.top(SNAPSHOT_LEVELS) if snapshot else sync.last_levels
        self.on_market_data(BookLevels(self.now_ns(), ids(native), bids, asks, snapshot,
                                       sync.last_id))  # fmt: skip

    def _on_event(self, ev: dict[str, Any], ids: Callable[[str], str] = P.symbol_id) -> None:
        now = self.now_ns()
        kind = ev.get("e")
        if kind in ("trade", "aggTrade"):
            side = Side.SELL if ev.get("m") else Side.BUY
            tid = ev.get("t" if kind == "trade" else "a", "")
            self.on_market_data(TradeTick(now, ids(ev["s"]), P.f(ev["p"]), P.f(ev["q"]), side,
                                          str(tid)))  # fmt: skip
        elif kind in (None, "bookTicker") and "b" in ev and "u" in ev:  # bookTicker
            q = QuoteTick(now, ids(ev["s"]), P.f(ev["b"]), P.f(ev["B"]), P.f(ev["a"]),
                          P.f(ev["A"]))  # fmt: skip
            self.on_market_data(q)  # kept as the latest quote, then handed on

    def book(self, symbol: str, depth: int = 20) -> BookLevels | None:
        stream, inst = (
            self.fstream if self._is_perp(symbol) else self.stream,
            self._instruments.get(symbol),
        )
        if stream is None or not stream.connected or inst is None:
            return None
        sync = stream.books.get(F.wire(inst.native))
        if sync is None or not sync.synced:
            return None
        bids, asks = sync.top(depth)
        return BookLevels(self.now_ns(), symbol, bids, asks, True, sync.last_id)

    def quote(self, symbol: str) -> QuoteTick | None:
        stream = self.fstream if self._is_perp(symbol) else self.stream
        if stream is None or not stream.connected:
            return None
        top = self.book(symbol, 1)
        if top is not None and top.bids and top.asks:
            (b, bq), (a, aq) = top.bids[0], top.asks[0]
            return QuoteTick(top.ts, symbol, b, bq, a, aq)
        return self._quotes.get(symbol)


def _by_route(names: list[str]) -> dict[str, list[str]]:
    """USD-M stream names grouped by the routed path that serves them (:func:`C.fws_route`)."""
    out: dict[str, list[str]] = {}
    for name in names:
        out.setdefault(C.fws_route(name), []).append(name)
    return out


def create(
    *,
    url: str = C.REST_URL,
    ws_url: str | None = None,
    credentials: Mapping[str, str] | None = None,
    **options: Any,
) -> BinanceGateway:
    """The registry's factory: credentials ``api_key`` and ``secret`` (HMAC); an Ed25519
    private key (PEM) as ``ed25519_key``, or in the file ``$TRADELOOP_BINANCE_ED25519_KEY_FILE``,
    signs instead (and enables ``session.logon``)."""
    c = credentials or {}
    cred = None
    ed = c.get("ed25519_key", "")
    path = os.environ.get(ED25519_FILE_ENV, "")
    if not ed and path:
        with open(path, encoding="ascii") as fh:
            ed = fh.read()
    if c.get("api_key"):
        cred = Credentials(c["api_key"], c.get("secret", ""), ed)
    return BinanceGateway(url, cred, ws_url=ws_url, **options)
