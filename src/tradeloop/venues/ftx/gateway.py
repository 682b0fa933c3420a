"""FtxGateway: FTX as the engine sees it (a :class:`~tradeloop.venues.base.Gateway`).

Only FTX knowledge lives here: sockets, markets, channels, REST queries, routing pushes to
orders. The order lifecycle is the kit's :class:`~tradeloop.venues.execution.OrderLifecycle`,
driven through :class:`~tradeloop.venues.ftx.orders.FtxOrderHooks`.

FTX pushes an order's ``fills`` before its ``orders`` update, and a fill names only the
venue's order id. A fill for an order id not known yet (its placement answer still on the way,
or an order placed elsewhere) waits for the ``orders`` push naming its clientId, so fills still
precede the report that counts them. Events carry instrument ids (``BTC-PERP.FTX``); the wire
keeps FTX's market names.
"""

from __future__ import annotations

import time
from collections import OrderedDict
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
    Side,
    VenueStatus,
)
from tradeloop.venues.base import CONNECTED, RECONNECTED, ExecutionSink, Gateway, MarketDataSink
from tradeloop.venues.execution import (
    DEFAULT_RECOVERY,
    DEFAULT_RETENTION,
    OrderLifecycle,
    RecoveryPolicy,
    Retention,
)
from tradeloop.venues.ftx import constants as C
from tradeloop.venues.ftx import parse as P
from tradeloop.venues.ftx.orders import FtxOrderHooks
from tradeloop.venues.ftx.rest import FtxRestClient
from tradeloop.venues.ftx.ws import FTX_WS_CONFIG, FtxStream
from tradeloop.venues.wsclient import WsConfig

log = get_logger(__name__)

CHANNELS = {"trades": "trades", "quotes": "ticker", "tickers": "ticker", "book": "orderbook"}
MAX_WAITING = 1000  # orders whose early fills are held, at most


def default_ws_url(rest_url: str) -> str:
    if rest_url.rstrip("/") == C.REST_URL:
        return C.WS_URL
    scheme, _, rest = rest_url.rstrip("/").partition("://")
    return ("wss" if scheme == "https" else "ws") + "://" + rest + "/ws/"


class FtxGateway(Gateway):
    """FTX over REST + WebSocket. ``await start()`` before use, ``await stop()`` after."""

    venue = C.VENUE

    def __init__(self, base_url: str = C.REST_URL, api_key: str = "", secret: str = "",
                 subaccount: str = "", *, ws_url: str | None = None,
                 rest: FtxRestClient | None = None, ws_config: WsConfig = FTX_WS_CONFIG,
                 recovery: RecoveryPolicy = DEFAULT_RECOVERY,
                 retention: Retention = DEFAULT_RETENTION,
                 now_ns: Callable[[], int] = time.time_ns) -> None:  # fmt: skip
        self.rest = rest or FtxRestClient(base_url, api_key, secret, subaccount)
        self.ws_url = ws_url or default_ws_url(self.rest.base_url)
        self.ws_config, self.now_ns = ws_config, now_ns
        self._instruments: dict[str, Instrument] = {}
        self._data_sink: MarketDataSink | None = None
        self._quotes: dict[str, QuoteTick] = {}
        self._waiting: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
        self.public: FtxStream | None = None
        self.private: FtxStream | None = None
        self.on_account_event: Callable[[Event], None] | None = None
        self.hooks = FtxOrderHooks(self.rest, self._instruments, self._private_up, now_ns)
        self.orders = OrderLifecycle(self.hooks, recovery=recovery, retention=retention,
                                     now_ns=now_ns, on_status=self._account_event)  # fmt: skip

    def _private_up(self) -> bool:
        return self.private is not None and self.private.connected

    def bind(self, sink: ExecutionSink) -> None:
        self.orders.bind(sink)

    def bind_data(self, sink: MarketDataSink) -> None:
        self._data_sink = sink

    def instruments(self) -> dict[str, Instrument]:
        return dict(self._instruments)

    async def start(self) -> None:
        """Load markets; open the private stream (login, fills, orders) when keyed."""
        self._instruments.update(P.parse_markets(await self.rest.markets()))
        if self.rest.credentials is not None:
            self.private = self._stream(private=True)
            await self.private.start()

    async def stop(self) -> None:
        await self.orders.close()
        for s in (self.public, self.private):
            if s is not None:
                await s.stop()
        self.public = self.private = None
        self._quotes.clear()
        await self.rest.close()

    async def drain(self, timeout: float = 30.0) -> None:
        await self.orders.drain(timeout)

    def _stream(self, private: bool = False) -> FtxStream:
        creds, name = (self.rest.credentials, "ftx/private") if private else (None, "ftx/public")
        return FtxStream(self.ws_url, self, credentials=creds, config=self.ws_config,
                         now_ns=self.now_ns, name=name)  # fmt: skip

    # -- FtxStreamHandler -----------------------------------------------------------------
    def on_market_data(self, event: Event) -> None:
        if type(event) is QuoteTick:
            self._quotes[event.symbol] = event
        if self._data_sink is not None:
            self._data_sink.on_market_data(event)

    def on_status(self, stream: FtxStream, status: str, detail: str) -> None:
        self._account_event(VenueStatus(self.now_ns(), self.venue, status, detail))
        if status in (CONNECTED, RECONNECTED) and stream is self.public:
            self._quotes.clear()  # what came before a drop may be stale
        if status == RECONNECTED and stream is self.private:
            self.orders.reconcile_later()  # FTX replays nothing: catch up over REST

    def _account_event(self, ev: Event) -> None:
        self.emit_account_event(ev, self._data_sink)

    def on_private(self, channel: str, data: dict[str, Any]) -> None:
        try:
            if channel == "fills":
                self._on_fill(data)
            elif channel == "orders":
                self._on_order(data)
        except (KeyError, ValueError, TypeError) as exc:
            log.warning("FTX: bad %s push %r: %s", channel, data, exc)

    def _on_fill(self, d: dict[str, Any]) -> None:
        oid = str(d["orderId"])
        vcid = self.hooks.order_ids.get(oid)
        if vcid is None:  # held for the orders push that names its clientId
            self._waiting.setdefault(oid, []).append(d)
            if len(self._waiting) > MAX_WAITING:
                gone, _ = self._waiting.popitem(last=False)
                log.warning("FTX: dropped early fills of order %s (the catch-up has them)", gone)
            return
        track = self.orders.push_track(vcid, str(d["market"]), Side(d["side"]))
        self.orders.fill(track, P.parse_fill(d, self.now_ns(), track.client_order_id))

    def _on_order(self, d: dict[str, Any]) -> None:
        oid = str(d["id"])
        vcid = str(d.get("clientId") or oid)  # one placed elsewhere without a clientId: its id
        self.hooks.remember(oid, vcid)
        for held in self._waiting.pop(oid, []):
            self._on_fill(held)
        track = self.orders.push_track(vcid, str(d["market"]), Side(d["side"]))
        self.orders.report(track, P.parse_order(d, self.now_ns(), track.client_order_id))

    # -- orders and queries -----------------------------------------------------------------
    def submit_order(self, order: Order) -> None:
        self.orders.submit(order)

    def cancel_order(self, order: Order) -> None:
        self.orders.cancel(order)

    def amend_order(
        self, order: Order, qty: float | None = None, price: float | None = None
    ) -> None:
        """FTX cannot amend in place: the outcome is the kit's ``amend failed`` report."""
        self.orders.amend(order, qty, price)

    def _client_id(self, venue_order_id: str, venue_client_id: str | None = None) -> str:
        vcid = venue_client_id or self.hooks.order_ids.get(venue_order_id, "")
        return self.orders.client_id_of(vcid) or vcid

    async def fetch_open_orders(self) -> list[OrderReport]:
        now, rows = self.now_ns(), await self.rest.open_orders()
        return [P.parse_order(d, now, self._client_id(str(d["id"]), d.get("clientId")))
                for d in rows]  # fmt: skip

    async def fetch_fills(self, since_ns: int = 0) -> list[Fill]:
        rows = await self.rest.fills(start_s=since_ns / 1e9 if since_ns else None)
        now = self.now_ns()
        return [P.parse_fill(r, now, self._client_id(str(r["orderId"]))) for r in reversed(rows)]

    async def fetch_balances(self) -> list[BalanceUpdate]:
        return P.parse_balances(await self.rest.balances(), self.now_ns())

    async def fetch_positions(self) -> list[PositionUpdate]:
        return P.parse_positions(await self.rest.positions(), self.now_ns())

    # -- market data ------------------------------------------------------------------------
    def _wanted(self, symbol: str, channels: tuple[str, ...]) -> tuple[str, list[str]]:
        inst = self._instruments.get(symbol)
        if inst is None and self._instruments:
            raise ValueError(f"unknown FTX instrument {symbol!r} (ids look like BTC-PERP.FTX)")
        unknown = [ch for ch in channels if ch not in CHANNELS]
        if unknown:  # bars come from trades (the live runner aggregates them)
            raise ValueError(f"unknown channel(s) {unknown}: FTX streams {sorted(CHANNELS)}")
        wanted = list(dict.fromkeys(CHANNELS[ch] for ch in channels))
        return (inst.native if inst else P.native(symbol)), wanted

    async def subscribe(self, symbol: str, channels: tuple[str, ...]) -> None:
        """Channels: ``trades``, ``quotes`` (FTX's ``ticker``), ``book`` (``orderbook``)."""
        market, wanted = self._wanted(symbol, channels)
        if self.public is None:
            self.public = self._stream()
            await self.public.start()
        for ch in wanted:
            await self.public.subscribe(ch, market)

    async def unsubscribe(self, symbol: str, channels: tuple[str, ...]) -> None:
        market, wanted = self._wanted(symbol, channels)
        for ch in wanted if self.public is not None else []:
            await self.public.unsubscribe(ch, market)  # type: ignore[union-attr]
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


def create(*, url: str = C.REST_URL, ws_url: str | None = None,
           credentials: Mapping[str, str] | None = None, **options: Any) -> FtxGateway:  # fmt: skip
    """The registry's factory: credentials ``api_key``, ``secret``, ``subaccount``; other
    options go to :class:`FtxGateway`."""
    c = credentials or {}
    return FtxGateway(url, c.get("api_key", ""), c.get("secret", ""), c.get("subaccount", ""),
                      ws_url=ws_url, **options)  # fmt: skip
