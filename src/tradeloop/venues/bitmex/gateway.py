"""BitmexGateway: BitMEX as the engine sees it (a :class:`~tradeloop.venues.base.Gateway`).

Only BitMEX knowledge lives here: the one socket (public tables plus, when keyed, the
authenticated ``order`` / ``execution`` / ``position`` / ``margin`` tables), instruments
(inverse XBTUSD, quanto ETHUSD, linear XBTUSDT), topic names, the REST queries and routing
pushes to orders. The order lifecycle -- clOrdID idempotency, fill de-duplication,
never-backwards reports, placements in doubt, cancel retries, the catch-up after a reconnect,
pruning -- is the kit's :class:`~tradeloop.venues.execution.OrderLifecycle`, fed through
:class:`~tradeloop.venues.bitmex.orders.BitmexOrderHooks`.

BitMEX pushes an order's ``execution`` rows (one ``Trade`` row per fill) before the ``order``
update that accounts for them, so fills reach the engine before their report. ``order``
updates carry only the fields that changed: rows are merged by ``orderID`` until terminal.

Identity: everything the engine sees carries instrument ids (``XBTUSD.BITMEX``); the wire keeps
BitMEX's symbols. Money is converted from ``XBt`` / ``USDt`` minor units to BTC / USDT.
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
    VenueStatus,
)
from tradeloop.venues.base import CONNECTED, RECONNECTED, ExecutionSink, Gateway, MarketDataSink
from tradeloop.venues.bitmex import constants as C
from tradeloop.venues.bitmex import parse as P
from tradeloop.venues.bitmex.orders import BitmexOrderHooks
from tradeloop.venues.bitmex.rest import BitmexRestClient
from tradeloop.venues.bitmex.ws import BITMEX_WS_CONFIG, PRIVATE_TABLES, BitmexStream
from tradeloop.venues.execution import (
    DEFAULT_RECOVERY,
    DEFAULT_RETENTION,
    OrderLifecycle,
    RecoveryPolicy,
    Retention,
)
from tradeloop.venues.wsclient import WsConfig

log = get_logger(__name__)

#: tradeloop channel -> BitMEX table
CHANNELS = {"trades": "trade", "quotes": "quote", "tickers": "quote", "book": "orderBookL2",
            "book25": "orderBookL2_25", "book10": "orderBook10"}  # fmt: skip
#: partially-known order rows kept for merging updates (a bound, not a working figure)
MAX_ORDER_ROWS = 5000


def default_ws_url(rest_url: str) -> str:
    if rest_url.rstrip("/") == C.REST_URL:
        return C.WS_URL
    scheme, _, rest = rest_url.rstrip("/").partition("://")
    return ("wss" if scheme == "https" else "ws") + "://" + rest + "/realtime"


class BitmexGateway(Gateway):
    """BitMEX over REST + one WebSocket. ``await start()`` before use, ``await stop()`` after.
    ``dead_man_ms`` > 0 keeps BitMEX's cancel-all-after switch armed while connected."""

    venue = C.VENUE

    def __init__(
        self,
        base_url: str = C.REST_URL,
        api_key: str = "",
        secret: str = "",
        *,
        ws_url: str | None = None,
        rest: BitmexRestClient | None = None,
        ws_config: WsConfig = BITMEX_WS_CONFIG,
        dead_man_ms: int = 0,
        recovery: RecoveryPolicy = DEFAULT_RECOVERY,
        retention: Retention = DEFAULT_RETENTION,
        now_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.rest = rest or BitmexRestClient(base_url, api_key, secret)
        self.ws_url = ws_url or default_ws_url(self.rest.base_url)
        self.ws_config = ws_config
        self.dead_man_ms = dead_man_ms
        self.now_ns = now_ns
        self._instruments: dict[str, Instrument] = {}
        self._data_sink: MarketDataSink | None = None
        self._quotes: dict[str, QuoteTick] = {}
        self._rows: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self.stream: BitmexStream | None = None
        self.on_account_event: Callable[[Event], None] | None = None
        self.hooks = BitmexOrderHooks(self.rest, self._instruments, self._private_up, now_ns)
        self.orders = OrderLifecycle(self.hooks, recovery=recovery, retention=retention,
                                     now_ns=now_ns, on_status=self._account_event)  # fmt: skip

    def _private_up(self) -> bool:
        return self.stream is not None and self.stream.connected and self.stream.authenticated

    # -- plumbing -------------------------------------------------------------------------
    def bind(self, sink: ExecutionSink) -> None:
        self.orders.bind(sink)

    def bind_data(self, sink: MarketDataSink) -> None:
        self._data_sink = sink

    def instruments(self) -> dict[str, Instrument]:
        return dict(self._instruments)

    async def load_instruments(self) -> dict[str, Instrument]:
        self._instruments.update(P.parse_instruments(await self.rest.instruments()))
        return self.instruments()

    async def start(self) -> None:
        """Load instruments; open the socket and authenticate it when keyed."""
        await self.load_instruments()
        if self.rest.credentials is not None:
            stream = self._ensure_stream()
            for table in PRIVATE_TABLES:
                await stream.subscribe(table)
            await stream.start()

    def _ensure_stream(self) -> BitmexStream:
        if self.stream is None:
            self.stream = BitmexStream(self.ws_url, self, credentials=self.rest.credentials,
                                       config=self.ws_config, now_ns=self.now_ns,
                                       dead_man_ms=self.dead_man_ms)  # fmt: skip
        return self.stream

    async def stop(self) -> None:
        await self.orders.close()
        if self.stream is not None:
            await self.stream.stop()
        self.stream = None
        self._quotes.clear()
        await self.rest.close()

    async def drain(self, timeout: float = 30.0) -> None:
        await self.orders.drain(timeout)

    # -- BitmexStreamHandler --------------------------------------------------------------
    def on_market_data(self, event: Event) -> None:
        if type(event) is QuoteTick:
            self._quotes[event.symbol] = event
        if self._data_sink is not None:
            self._data_sink.on_market_data(event)

    def on_status(self, status: str, detail: str) -> None:
        self._account_event(VenueStatus(self.now_ns(), self.venue, status, detail))
        if status in (CONNECTED, RECONNECTED):
            self._quotes.clear()  # whatever came before a drop may be stale
        if status == RECONNECTED and self.rest.credentials is not None:
            # The order partial holds open orders only: fills missed meanwhile come from REST.
            self.orders.reconcile_later()

    def _account_event(self, ev: Event) -> None:
        self.emit_account_event(ev, self._data_sink)

    def on_private(self, table: str, action: str, rows: list[dict[str, Any]]) -> None:
        now = self.now_ns()
        try:
            if table == "execution" and action == "insert":
                for d in rows:
                    self._on_execution(d, now)
            elif table == "order" and action in ("insert", "update"):
                for d in rows:
                    self._on_order(d, now)
            elif table == "position":
                for pos in P.parse_positions(rows, now):
                    self._account_event(pos)
            elif table == "margin":
                for bal in P.parse_margins(rows, now):
                    self._account_event(bal)
        except (KeyError, ValueError, TypeError) as exc:
            log.warning("BitMEX: bad %s push: %s", table, exc)

    def _vcid(self, d: dict[str, Any]) -> str:
        return str(d.get("clOrdID") or d.get("orderID"))

    def _on_execution(self, d: dict[str, Any], now: int) -> None:
        if d.get("execType") != "Trade" or "symbol" not in d:
            return
        track = self.orders.push_track(self._vcid(d), str(d["symbol"]), P.side_of(d.get("side")))
        fill = P.parse_execution(d, now, track.client_order_id)
        if fill is not None:
            self.orders.fill(track, fill)

    def _on_order(self, d: dict[str, Any], now: int) -> None:
        oid = str(d.get("orderID", ""))
        row = self._rows.get(oid)
        if row is None:
            row = self._rows[oid] = {}
            while len(self._rows) > MAX_ORDER_ROWS:
                self._rows.popitem(last=False)
        row.update(d)
        if "symbol" not in row or "ordStatus" not in row:
            return  # an update of an order we never saw whole: REST catch-up has it
        track = self.orders.push_track(self._vcid(row), str(row["symbol"]),
                                       P.side_of(row.get("side")))  # fmt: skip
        self.orders.report(track, P.parse_order(row, now, track.client_order_id))
        if P.STATUS.get(str(row["ordStatus"])) in P.TERMINAL:
            self._rows.pop(oid, None)

    # -- orders -----------------------------------------------------------------------------
    def submit_order(self, order: Order) -> None:
        self.orders.submit(order)

    def cancel_order(self, order: Order) -> None:
        self.orders.cancel(order)

    def amend_order(
        self, order: Order, qty: float | None = None, price: float | None = None
    ) -> None:
        self.orders.amend(order, qty, price)

    async def reconcile(self) -> None:
        await self.orders.reconcile()

    # -- queries ----------------------------------------------------------------------------
    def _client_id(self, d: dict[str, Any]) -> str:
        vcid = self._vcid(d)
        return self.orders.client_id_of(vcid) or vcid

    async def fetch_open_orders(self) -> list[OrderReport]:
        now = self.now_ns()
        rows = await self.rest.orders({"open": True}, count=C.PAGE)
        return [P.parse_order(d, now, self._client_id(d)) for d in rows]

    async def fetch_fills(self, since_ns: int = 0) -> list[Fill]:
        """Our fills at or after ``since_ns``, oldest first."""
        start = P.iso(since_ns // 1_000_000) if since_ns else None
        rows = await self.rest.all_executions(None, start)
        now = self.now_ns()
        out = []
        for d in rows:
            fill = P.parse_execution(d, now, self._client_id(d))
            if fill is not None:
                out.append(fill)
        return out

    async def fetch_balances(self) -> list[BalanceUpdate]:
        return P.parse_margins(await self.rest.margins(), self.now_ns())

    async def fetch_positions(self) -> list[PositionUpdate]:
        rows = [d for d in await self.rest.positions() if d.get("currentQty")]
        return P.parse_positions(rows, self.now_ns())

    # -- market data ------------------------------------------------------------------------
    def _native(self, symbol: str) -> str:
        inst = self._instruments.get(symbol)
        if inst is not None:
            return inst.native
        if self._instruments:
            raise ValueError(f"unknown BitMEX instrument {symbol!r} (expected an id such as "
                             f"XBTUSD.BITMEX)")  # fmt: skip
        return P.native(symbol)

    def _topics(self, symbol: str, channels: tuple[str, ...]) -> list[str]:
        native = self._native(symbol)
        out = []
        for ch in channels:
            if ch.startswith("bars:"):
                if ch != "bars:1m":
                    raise ValueError(f"unknown channel {ch!r} (BitMEX streams bars:1m)")
                out.append(f"tradeBin1m:{native}")
            elif ch in CHANNELS:
                out.append(f"{CHANNELS[ch]}:{native}")
            else:
                raise ValueError(f"unknown channel {ch!r}")
        return list(dict.fromkeys(out))

    async def subscribe(self, symbol: str, channels: tuple[str, ...]) -> None:
        """Channels: ``trades``, ``quotes`` (``quote``), ``book`` (full ``orderBookL2``),
        ``book25`` (``orderBookL2_25``), ``book10`` (``orderBook10``)."""
        topics = self._topics(symbol, channels)
        stream = self._ensure_stream()
        for t in topics:
            await stream.subscribe(t)
        await stream.start()

    async def unsubscribe(self, symbol: str, channels: tuple[str, ...]) -> None:
        topics = self._topics(symbol, channels)
        if self.stream is not None:
            for t in topics:
                await self.stream.unsubscribe(t)
        if "quotes" in channels or "tickers" in channels:
            self._quotes.pop(symbol, None)

    def book(self, symbol: str, depth: int = 20) -> BookLevels | None:
        stream, inst = self.stream, self._instruments.get(symbol)
        if stream is None or not stream.connected or inst is None:
            return None
        l2 = stream.books.get(inst.native)
        if l2 is None or not l2.synced:
            return None
        bids, asks = l2.book.top(depth)
        return BookLevels(self.now_ns(), symbol, bids, asks, True)

    def quote(self, symbol: str) -> QuoteTick | None:
        if self.stream is None or not self.stream.connected:
            return None
        top = self.book(symbol, 1)
        if top is not None and top.bids and top.asks:
            (bid, bid_qty), (ask, ask_qty) = top.bids[0], top.asks[0]
            return QuoteTick(top.ts, symbol, bid, bid_qty, ask, ask_qty)
        return self._quotes.get(symbol)


def create(
    *,
    url: str = C.REST_URL,
    ws_url: str | None = None,
    credentials: Mapping[str, str] | None = None,
    **options: Any,
) -> BitmexGateway:
    """The registry's factory (``venues.registry``): credentials ``api_key``, ``secret``;
    other options go to :class:`BitmexGateway`."""
    c = credentials or {}
    return BitmexGateway(url, c.get("api_key", ""), c.get("secret", ""), ws_url=ws_url,
                         **options)  # fmt: skip
