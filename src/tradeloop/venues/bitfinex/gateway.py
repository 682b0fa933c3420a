"""BitfinexGateway: Bitfinex as the engine sees it (a :class:`~tradeloop.venues.base.Gateway`).

Only Bitfinex knowledge lives here: sockets, pairs, channels, REST queries, routing channel-0
pushes to orders. The order lifecycle is the kit's
:class:`~tradeloop.venues.execution.OrderLifecycle`, driven through
:class:`~tradeloop.venues.bitfinex.orders.BitfinexOrderHooks`.

Money first: Bitfinex announces a fill twice -- ``te`` at execution (no fee yet) and ``tu`` a
moment later with the fee -- and sends the order's ``ou``/``oc`` *between* them. Fills are
delivered from ``tu`` only (the fee is exact), and an order report counting fills not yet
delivered is held until their ``tu`` arrive, so the engine always gets each fill before the
report that counts it. If a ``tu`` never comes the order is refreshed over REST.

An OCO is two Bitfinex orders under one cid; :class:`~tradeloop.venues.bitfinex.triggers.OcoView`
picks which of their pushes are the engine order's news.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

from tradeloop.core.log import get_logger
from tradeloop.model import (
    BalanceUpdate,
    BookLevels,
    Event,
    Fill,
    Instrument,
    Order,
    OrderReport,
    PositionUpdate,
    QuoteTick,
    VenueStatus,
)
from tradeloop.venues.base import CONNECTED, RECONNECTED, ExecutionSink, Gateway, MarketDataSink
from tradeloop.venues.bitfinex import constants as C
from tradeloop.venues.bitfinex import parse as P
from tradeloop.venues.bitfinex import triggers as T
from tradeloop.venues.bitfinex.orders import BitfinexOrderHooks
from tradeloop.venues.bitfinex.rest import BitfinexRestClient
from tradeloop.venues.bitfinex.ws import BFX_WS_CONFIG, BitfinexStream
from tradeloop.venues.execution import (
    DEFAULT_RECOVERY,
    DEFAULT_RETENTION,
    OrderLifecycle,
    RecoveryPolicy,
    Retention,
)
from tradeloop.venues.wsclient import WsConfig

log = get_logger(__name__)

CHANNELS = {"trades": "trades", "quotes": "ticker", "tickers": "ticker", "book": "book"}
TU_WAIT_S = 3.0  # how long a report may wait for its fills' ``tu`` before a REST refresh


def default_ws_url(rest_url: str) -> str:
    if rest_url.rstrip("/") == C.REST_URL:
        return C.WS_URL
    scheme, _, rest = rest_url.rstrip("/").partition("://")
    return ("wss" if scheme == "https" else "ws") + "://" + rest + "/ws/2"


class BitfinexGateway(Gateway):
    """Bitfinex over REST + WebSocket. ``await start()`` before use, ``await stop()`` after."""

    venue = C.VENUE

    def __init__(self, base_url: str = C.REST_URL, api_key: str = "", secret: str = "", *,
                 ws_url: str | None = None, rest: BitfinexRestClient | None = None,
                 ws_config: WsConfig = BFX_WS_CONFIG, dms: int | None = C.DMS,
                 op_timeout: float = 10.0,
                 recovery: RecoveryPolicy = DEFAULT_RECOVERY,
                 retention: Retention = DEFAULT_RETENTION,
                 now_ns: Callable[[], int] = time.time_ns) -> None:  # fmt: skip
        self.rest = rest or BitfinexRestClient(base_url, api_key, secret)
        self.ws_url = ws_url or default_ws_url(self.rest.base_url)
        self.ws_config, self.dms, self.now_ns = ws_config, dms, now_ns
        self.op_timeout = op_timeout  # a WS order request unanswered this long: unknown outcome
        self._instruments: dict[str, Instrument] = {}
        self._data_sink: MarketDataSink | None = None
        self._quotes: dict[str, QuoteTick] = {}
        self.public: BitfinexStream | None = None
        self.private: BitfinexStream | None = None
        self.on_account_event: Callable[[Event], None] | None = None
        self.hooks = BitfinexOrderHooks(self.rest, self._instruments, lambda: self.private, now_ns)
        self.orders = OrderLifecycle(self.hooks, recovery=recovery, retention=retention,
                                     now_ns=now_ns, on_status=self._account_event)  # fmt: skip
        self._delivered: dict[str, float] = {}  # venue client id -> fill qty delivered
        self._held: dict[str, OrderReport] = {}
        self.oco = T.OcoView()
        self._tasks: set[asyncio.Task[Any]] = set()

    def bind(self, sink: ExecutionSink) -> None:
        self.orders.bind(sink)

    def bind_data(self, sink: MarketDataSink) -> None:
        self._data_sink = sink

    def instruments(self) -> dict[str, Instrument]:
        return dict(self._instruments)

    async def start(self) -> None:
        """Load pairs (ticks from today's prices); open the authenticated socket when keyed."""
        spot, perps = await self.rest.conf("pub:info:pair", "pub:info:pair:futures")
        prices = {str(r[0]): P.f(r[7]) for r in await self.rest.tickers() if len(r) > 7}
        self._instruments.update(P.parse_pairs(spot, perps, prices))
        if self.rest.credentials is not None:
            self.private = BitfinexStream(self.ws_url, self, credentials=self.rest.credentials,
                                          dms=self.dms, config=self.ws_config,
                                          now_ns=self.now_ns, name="bitfinex/private",
                                          op_timeout=self.op_timeout)  # fmt: skip
            await self.private.start()

    async def stop(self) -> None:
        await self.orders.close()
        for task in list(self._tasks):
            task.cancel()
        for s in (self.public, self.private):
            if s is not None:
                await s.stop()
        self.public = self.private = None
        self._quotes.clear()
        await self.rest.close()

    async def drain(self, timeout: float = 30.0) -> None:
        await self.orders.drain(timeout)

    # -- StreamHandler ----------------------------------------------------------------------
    def on_market_data(self, event: Event) -> None:
        if type(event) is QuoteTick:
            self._quotes[event.symbol] = event
        if self._data_sink is not None:
            self._data_sink.on_market_data(event)

    def on_status(self, stream: BitfinexStream, status: str, detail: str) -> None:
        self._account_event(VenueStatus(self.now_ns(), self.venue, status, detail))
        if status in (CONNECTED, RECONNECTED) and stream is self.public:
            self._quotes.clear()
        if status == RECONNECTED and stream is self.private:
            self.orders.reconcile_later()  # what happened while we were away: over REST

    def _account_event(self, ev: Event) -> None:
        self.emit_account_event(ev, self._data_sink)

    def on_private(self, kind: str, data: Any) -> None:
        try:
            now = self.now_ns()
            if kind in ("on", "ou", "oc"):
                self._on_order(data)
            elif kind == "os":
                for row in data:  # what is working now; orders we do not track stay unknown
                    vcid = self.hooks.remember_row(row)  # (a re-submit of one is recognised)
                    self.hooks.note_state(vcid, str(row[0]), True)
                    if self.orders.tracker.get(vcid) is not None:
                        self._on_order(row)
            elif kind == "tu":
                self._on_fill(data)
            elif kind in ("ws", "wu"):
                for row in data if kind == "ws" else [data]:
                    if row and row[0] in ("exchange", "margin"):
                        self._account_event(P.parse_wallet(row, now))
            elif kind in ("ps", "pn", "pu", "pc"):
                for row in data if kind == "ps" else [data]:
                    self._account_event(P.parse_position(row, now))
        except (KeyError, ValueError, TypeError, IndexError) as exc:
            log.warning("Bitfinex: bad %s push %r: %s", kind, data, exc)

    def _on_order(self, d: list[Any]) -> None:
        vcid = self.hooks.remember_row(d)
        if T.is_oco(d):
            self.hooks.oco_cids.add(vcid)
            if not self.oco.news(vcid, d):
                return  # the other order of the pair speaks for the engine's order
            if not str(d[13] or "").startswith(("ACTIVE", "PARTIALLY")):
                self.oco.forget(vcid)
        self.hooks.note_state(vcid, str(d[0]), str(d[13] or "").startswith(("ACTIVE", "PARTIALLY")))
        track = self.orders.push_track(vcid, str(d[3]), P.order_side(d))
        report = P.parse_order(d, self.now_ns(), track.client_order_id)
        if report.filled_qty > self._delivered.get(vcid, track.filled) + 1e-12:
            self._held[vcid] = report  # its fills' ``tu`` are on the way
            self._later(self._await_fills(vcid))
            return
        self.orders.report(track, report)

    def _on_fill(self, d: list[Any]) -> None:
        oid = str(d[3])
        vcid = str(d[11]) if len(d) > 11 and d[11] else self.hooks.order_ids.get(oid, f"id{oid}")
        fill_side = P.Side.BUY if P.f(d[4]) > 0 else P.Side.SELL
        track = self.orders.push_track(vcid, str(d[1]), fill_side)
        fill = P.parse_fill(d, self.now_ns(), track.client_order_id)
        if self.orders.fill(track, fill):
            self._delivered[vcid] = self._delivered.get(vcid, track.filled) + fill.qty
        held = self._held.get(vcid)
        if held is not None and held.filled_qty <= self._delivered[vcid] + 1e-9:
            del self._held[vcid]
            self.orders.report(track, held)

    async def _await_fills(self, vcid: str) -> None:
        await asyncio.sleep(TU_WAIT_S)
        if self._held.pop(vcid, None) is None:
            return
        track = self.orders.tracker.get(vcid)
        if track is not None:
            log.warning("Bitfinex: fills of %s not pushed in %.0fs; asking REST", vcid, TU_WAIT_S)
            await self.orders.refresh(track)

    def _later(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- orders and queries -----------------------------------------------------------------
    def submit_order(self, order: Order) -> None:
        self.orders.submit(order)

    def cancel_order(self, order: Order) -> None:
        self.orders.cancel(order)

    def amend_order(
        self, order: Order, qty: float | None = None, price: float | None = None
    ) -> None:
        self.orders.amend(order, qty, price)

    def _client_id(self, d: list[Any]) -> str:
        vcid = self.hooks.remember_row(d)
        return self.orders.client_id_of(vcid) or vcid

    async def fetch_open_orders(self) -> list[OrderReport]:
        """Open orders; an OCO's unfired stop is not listed beside its limit (one order)."""
        now, rows = self.now_ns(), await self.rest.open_orders()
        ids = {d[0] for d in rows}
        rows = [d for d in rows if not (T.is_oco(d) and T.is_stop_leg(d) and d[25] in ids
                                        and not T.stop_fired(d))]  # fmt: skip
        return [P.parse_order(d, now, self._client_id(d)) for d in rows]

    async def fetch_fills(self, since_ns: int = 0) -> list[Fill]:
        rows = await self.rest.trades(start_ms=since_ns // 1_000_000 if since_ns else None)
        now = self.now_ns()
        out = []
        for r in rows:
            vcid = str(r[11]) if len(r) > 11 and r[11] else self.hooks.order_ids.get(
                str(r[3]), f"id{r[3]}")  # fmt: skip
            out.append(P.parse_fill(r, now, self.orders.client_id_of(vcid) or vcid))
        return sorted(out, key=lambda fl: (fl.trade_id.isdigit() and int(fl.trade_id)) or 0)

    async def fetch_balances(self) -> list[BalanceUpdate]:
        return P.parse_wallets(await self.rest.wallets(), self.now_ns())

    async def fetch_positions(self) -> list[PositionUpdate]:
        now = self.now_ns()
        return [P.parse_position(r, now) for r in await self.rest.positions()]

    # -- market data ------------------------------------------------------------------------
    def _wanted(self, symbol: str, channels: tuple[str, ...]) -> tuple[str, list[str]]:
        inst = self._instruments.get(symbol)
        if inst is None and self._instruments:
            raise ValueError(f"unknown Bitfinex instrument {symbol!r} (ids: tBTCUSD.BITFINEX)")
        unknown = [ch for ch in channels if ch not in CHANNELS]
        if unknown:
            raise ValueError(f"unknown channel(s) {unknown}: Bitfinex streams {sorted(CHANNELS)}")
        return (inst.native if inst else P.native(symbol)), list(
            dict.fromkeys(CHANNELS[ch] for ch in channels))  # fmt: skip

    async def subscribe(self, symbol: str, channels: tuple[str, ...]) -> None:
        """Channels: ``trades``, ``quotes`` (Bitfinex's ``ticker``), ``book`` (P0, 25 levels,
        checksum-verified)."""
        native, wanted = self._wanted(symbol, channels)
        if self.public is None:
            self.public = BitfinexStream(self.ws_url, self, config=self.ws_config,
                                         now_ns=self.now_ns, name="bitfinex/public")  # fmt: skip
            await self.public.start()
        for ch in wanted:
            await self.public.subscribe(ch, native)

    async def unsubscribe(self, symbol: str, channels: tuple[str, ...]) -> None:
        native, wanted = self._wanted(symbol, channels)
        for ch in wanted if self.public is not None else []:
            await self.public.unsubscribe(ch, native)  # type: ignore[union-attr]
        if "ticker" in wanted:
            self._quotes.pop(symbol, None)

    def book(self, symbol: str, depth: int = 20) -> BookLevels | None:
        if self.public is None or not self.public.connected:
            return None
        sync = self.public.books.get(P.native(symbol))
        if sync is None or not sync.synced:
            return None
        bids, asks = sync.book.top(depth)
        return BookLevels(self.now_ns(), symbol, bids, asks, True)

    def quote(self, symbol: str) -> QuoteTick | None:
        if self.public is None or not self.public.connected:
            return None
        top = self.book(symbol, 1)
        if top is not None and top.bids and top.asks:
            return QuoteTick(top.ts, symbol, *top.bids[0], *top.asks[0])
        return self._quotes.get(symbol)


def create(
    *,
    url: str = C.REST_URL,
    ws_url: str | None = None,
    credentials: Mapping[str, str] | None = None,
    **options: Any,
) -> BitfinexGateway:
    """The registry's factory: credentials ``api_key``, ``secret``; other options go to
    :class:`BitfinexGateway`."""
    c = credentials or {}
    return BitfinexGateway(url, c.get("api_key", ""), c.get("secret", ""), ws_url=ws_url,
                           **options)  # fmt: skip
