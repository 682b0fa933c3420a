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

import asyncio
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from tradeloop.core.errors import ConfigError, VenueError
from tradeloop.core.log import get_logger
from tradeloop.model import (
    BalanceUpdate,
    Fill,
    FundingPaid,
    Instrument,
    OrderReport,
    PositionUpdate,
)
from tradeloop.venues.bitmex import constants as C
from tradeloop.venues.bitmex import parse as P
from tradeloop.venues.bitmex.orders import BitmexOrderHooks
from tradeloop.venues.bitmex.rest import BitmexRestClient
from tradeloop.venues.bitmex.ws import BITMEX_WS_CONFIG, PRIVATE_TABLES, BitmexStream
from tradeloop.venues.execution import (
    DEFAULT_RECOVERY,
    DEFAULT_RETENTION,
    RecoveryPolicy,
    Retention,
)
from tradeloop.venues.gateway_base import StreamGateway, ws_url_for
from tradeloop.venues.parsing import parsed_rows
from tradeloop.venues.wsclient import WsConfig

log = get_logger(__name__)

#: tradeloop channel -> BitMEX table (1-minute bars are BitMEX's own ``tradeBin1m``)
CHANNELS = {"trades": "trade", "quotes": "quote", "tickers": "quote", "book": "orderBookL2",
            "book25": "orderBookL2_25", "book10": "orderBook10",
            "bars:1m": "tradeBin1m"}  # fmt: skip
#: partially-known order rows kept for merging updates (a bound, not a working figure)
MAX_ORDER_ROWS = 5000
#: how far before the last private push a reconnect looks for liquidations (clock skew)
LIQUIDATION_LOOKBACK_NS = 60 * 1_000_000_000
#: the keys BitMEX names for its account tables' rows (updates carry these and what changed)
ACCOUNT_KEYS = {"position": ("account", "symbol"), "margin": ("account", "currency")}


def default_ws_url(rest_url: str) -> str:
    return ws_url_for(rest_url, C.REST_URL, C.WS_URL, "/realtime")


class BitmexGateway(StreamGateway):
    """BitMEX over REST + one WebSocket. ``await start()`` before use, ``await stop()`` after.
    ``dead_man_ms`` > 0 keeps BitMEX's cancel-all-after switch armed while connected.

    The one socket (attribute ``stream``) is both the kit's ``public`` stream (books, quotes)
    and its ``private`` one (order pushes, once authenticated)."""

    venue = C.VENUE
    id_example = "XBTUSD.BITMEX"
    stream_names = ("stream",)
    channels = CHANNELS
    rest: BitmexRestClient
    stream: BitmexStream | None

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
        super().__init__(now_ns)
        self.rest = rest or BitmexRestClient(base_url, api_key, secret)
        self.ws_url = ws_url or default_ws_url(self.rest.base_url)
        self.ws_config = ws_config
        self.dead_man_ms = dead_man_ms
        self._rows: OrderedDict[str, dict[str, Any]] = OrderedDict()
        #: when the last private push arrived: where a reconnect's liquidation catch-up starts
        self._private_seen_ns = now_ns()
        #: ``position`` / ``margin`` rows by their keys, for merging updates (a handful)
        self._account_rows: dict[str, dict[tuple[str, ...], dict[str, Any]]] = {}
        self.hooks = BitmexOrderHooks(self.rest, self._instruments, self._private_up, now_ns)
        self.orders = self.lifecycle(self.hooks, recovery, retention)

    @property
    def public(self) -> BitmexStream | None:
        return self.stream

    @property
    def private(self) -> BitmexStream | None:
        return self.stream

    def _private_up(self) -> bool:
        return self.stream is not None and self.stream.connected and self.stream.authenticated

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

    async def stop(self) -> None:
        """A clean stop turns the dead-man switch off (``cancelAllAfter`` 0) so our resting
        orders outlive the process as the strategy left them; only a crash (no stop) lets
        BitMEX cancel them. A venue that cannot confirm within :data:`C.DISARM_TIMEOUT_S` is
        logged and the stop goes on."""
        stream = self.stream
        if stream is not None and stream.armed:
            await stream.stop_keep_alive()
            try:
                await asyncio.wait_for(self.rest.cancel_all_after(0), C.DISARM_TIMEOUT_S)
                stream.armed = False
                log.info("BitMEX: dead-man switch turned off")
            except (VenueError, OSError, TimeoutError) as exc:
                log.warning("BitMEX: could not turn the dead-man switch off (%r); BitMEX "
                            "cancels our open orders when it runs out", exc)  # fmt: skip
        await super().stop()

    def _ensure_stream(self) -> BitmexStream:
        if self.stream is None:
            self.stream = BitmexStream(self.ws_url, self, credentials=self.rest.credentials,
                                       config=self.ws_config, now_ns=self.now_ns,
                                       dead_man_ms=self.dead_man_ms)  # fmt: skip
        return self.stream

    # -- BitmexStreamHandler --------------------------------------------------------------
    def on_status(self, status: str, detail: str) -> None:
        # The order partial holds open orders only: fills missed meanwhile come from REST.
        keyed = self.rest.credentials is not None
        self.stream_status(status, detail, public=True, private=keyed)

    def on_private(self, table: str, action: str, rows: list[dict[str, Any]]) -> None:
        now = self._private_seen_ns = self.now_ns()
        try:
            if table == "execution" and action == "insert":
                for d in rows:
                    self._on_execution(d, now)
            elif table == "order" and action in ("insert", "update"):
                for d in rows:
                    self._on_order(d, now)
            elif table == "position":
                for pos in P.parse_positions(self._merge(table, action, rows), now):
                    self._account_event(pos)
            elif table == "margin":
                for bal in P.parse_margins(self._merge(table, action, rows), now):
                    self._account_event(bal)
        except (KeyError, ValueError, TypeError) as exc:
            log.warning("BitMEX: bad %s push: %s", table, exc)

    def _merge(self, table: str, action: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``position`` / ``margin`` rows as whole rows: BitMEX's updates carry the table's
        keys and only the fields that changed, so each is merged into the row its partial or
        insert gave (as ``order`` rows are); a delete forgets it."""
        keys = ACCOUNT_KEYS[table]
        store = self._account_rows.setdefault(table, {})
        if action == "partial":
            store.clear()
        out = []
        for d in rows:
            k = tuple(str(d.get(x, "")) for x in keys)
            if action == "delete":
                store.pop(k, None)
                continue
            row = store.setdefault(k, {}) if action == "update" else {}
            row.update(d)
            store[k] = row
            out.append(row)
        return out

    def _vcid(self, d: dict[str, Any]) -> str:
        return str(d.get("clOrdID") or d.get("orderID"))

    def _on_execution(self, d: dict[str, Any], now: int) -> None:
        if d.get("execType") == "Funding":
            self._on_funding(d, now)
            return
        if d.get("execType") != "Trade" or "symbol" not in d:
            return
        if P.is_liquidation(d):  # no track: the venue's own trade (base.py rule 2)
            liquidation = P.parse_execution(d, now, "")
            if liquidation is not None and self.orders.tracker.venue_fill(liquidation):
                log.warning("BitMEX: liquidation %s %g %s @ %g", liquidation.side.value,
                            liquidation.qty, d["symbol"], liquidation.price)  # fmt: skip
            return
        track = self.orders.push_track(self._vcid(d), str(d["symbol"]), P.side_of(d.get("side")))
        fill = P.parse_execution(d, now, track.client_order_id)
        if fill is not None:
            self.orders.fill(track, fill)

    def _on_funding(self, d: dict[str, Any], now: int) -> None:
        """A funding payment on our position: to the engine once (rule 9; the push, the
        catch-up after a reconnect and ``fetch_funding`` may all carry it)."""
        if "symbol" not in d or "execID" not in d:
            return
        if self.emit_funding(P.parse_funding(d, now)):
            log.info("BitMEX: funding %s", P.funding_text(d))

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

    # -- orders and queries ----------------------------------------------------------------
    async def reconcile(self) -> None:
        await self.orders.reconcile()

    def _client_id(self, d: dict[str, Any]) -> str:
        return "" if P.is_liquidation(d) else self.client_id_for(self._vcid(d))

    async def fetch_open_orders(self) -> list[OrderReport]:
        now = self.now_ns()
        rows = await self.rest.orders({"open": True}, count=C.PAGE)
        return [P.parse_order(d, now, self._client_id(d)) for d in rows]

    async def fetch_fills(self, since_ns: int = 0) -> list[Fill]:
        """Our fills at or after ``since_ns``, oldest first."""
        start = P.iso(since_ns // 1_000_000) if since_ns else None
        rows = await self.rest.all_executions(None, start)
        return P.parse_executions(rows, self.now_ns(), self._client_id)

    async def catch_up_venue_fills(self) -> None:
        """Liquidations executed while the socket was down (BitMEX replays no pushes, and
        the ``execution`` partial is empty): from the execution history since the last push
        seen, less a minute, each delivered once."""
        since = max(self._private_seen_ns - LIQUIDATION_LOOKBACK_NS, 0)
        try:
            rows = await self.rest.all_executions(None, P.iso(since // 1_000_000))
        except (VenueError, OSError) as exc:
            log.warning("BitMEX: liquidation catch-up failed (%s); the next start finds "
                        "them", exc)  # fmt: skip
            return
        now = self.now_ns()
        for d in rows:
            if d.get("execType") == "Trade" and "symbol" in d and P.is_liquidation(d):
                self._on_execution(d, now)

    async def fetch_funding(self, since_ns: int = 0) -> list[FundingPaid]:
        """Funding payments on our positions at or after ``since_ns``, oldest first."""
        start = P.iso(since_ns // 1_000_000) if since_ns else None
        rows = await self.rest.all_executions({"execType": "Funding"}, start)
        now = self.now_ns()
        return parsed_rows((d for d in rows if d.get("execType") == "Funding"),
                           lambda d: P.parse_funding(d, now),
                           "BitMEX: skipping malformed funding row", log)  # fmt: skip

    async def fetch_balances(self) -> list[BalanceUpdate]:
        return P.parse_margins(await self.rest.margins(), self.now_ns())

    async def fetch_positions(self) -> list[PositionUpdate]:
        rows = [d for d in await self.rest.positions() if d.get("currentQty")]
        return P.parse_positions(rows, self.now_ns())

    # -- market data ------------------------------------------------------------------------
    def _topics(self, symbol: str, channels: tuple[str, ...]) -> list[str]:
        native, tables = self.wire_channels(symbol, channels)
        return [f"{table}:{native}" for table in tables]

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


def create(
    *,
    url: str = C.REST_URL,
    ws_url: str | None = None,
    credentials: Mapping[str, str] | None = None,
    **options: Any,
) -> BitmexGateway:
    """The registry's factory (``venues.registry``): credentials ``api_key``, ``secret``;
    other options go to :class:`BitmexGateway`. Unlike the class, it arms the dead-man switch
    by default (:data:`C.DEAD_MAN_MS`): a ``dead_man_ms`` option, else
    ``$TRADELOOP_BITMEX_DEAD_MAN_MS``, sets it (``0`` turns it off)."""
    c = credentials or {}
    if "dead_man_ms" not in options:
        options["dead_man_ms"] = dead_man_from_env(os.environ)
    return BitmexGateway(url, c.get("api_key", ""), c.get("secret", ""), ws_url=ws_url,
                         **options)  # fmt: skip


def dead_man_from_env(env: Mapping[str, str]) -> int:
    """``$TRADELOOP_BITMEX_DEAD_MAN_MS`` (whole milliseconds, 0 = off), else the default."""
    raw = env.get(C.DEAD_MAN_ENV, "").strip()
    if not raw:
        return C.DEAD_MAN_MS
    try:
        ms = int(raw)
    except ValueError:
        ms = -1
    if ms < 0:
        raise ConfigError(f"{C.DEAD_MAN_ENV}={raw!r}: whole milliseconds >= 0 (0 = off)")
    return ms
