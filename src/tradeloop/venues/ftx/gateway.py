"""FtxGateway: FTX as the engine sees it (a :class:`~tradeloop.venues.base.Gateway`).

Only FTX knowledge lives here: sockets, markets, channels, REST queries, routing pushes to
orders. The order lifecycle is the kit's :class:`~tradeloop.venues.execution.OrderLifecycle`,
driven through :class:`~tradeloop.venues.ftx.orders.FtxOrderHooks`.

FTX pushes an order's ``fills`` before its ``orders`` update, and a fill names only the
venue's order id. A fill for an order id not known yet (its placement answer still on the way,
or an order placed elsewhere) waits for the ``orders`` push naming its clientId, so fills still
precede the report that counts them. Events carry instrument ids (``BTC-PERP.FTX``); the wire
keeps FTX's market names.

FTX pushes nothing when it settles funding (hourly, on the hour): the gateway asks
``GET /funding_payments`` a minute after each hour and after a private reconnect (the kit's
catch-up), and hands each payment to the engine once (rule 9).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping
from typing import Any

from tradeloop.core.log import get_logger
from tradeloop.model import BalanceUpdate, Fill, FundingPaid, OrderReport, PositionUpdate, Side
from tradeloop.venues.execution import (
    DEFAULT_RECOVERY,
    DEFAULT_RETENTION,
    EarlyFills,
    RecoveryPolicy,
    Retention,
)
from tradeloop.venues.ftx import constants as C
from tradeloop.venues.ftx import parse as P
from tradeloop.venues.ftx.auth import FtxCredentials
from tradeloop.venues.ftx.orders import FtxOrderHooks
from tradeloop.venues.ftx.rest import FtxRestClient
from tradeloop.venues.ftx.ws import FTX_WS_CONFIG, FtxStream
from tradeloop.venues.gateway_base import ChannelGateway, ws_url_for
from tradeloop.venues.parsing import parsed_rows
from tradeloop.venues.wsclient import WsConfig

log = get_logger(__name__)
HOUR_NS = 3_600_000_000_000

#: the engine's channels -> FTX's (``quotes`` and ``tickers`` are both its ``ticker``)
CHANNELS = {"trades": "trades", "quotes": "ticker", "tickers": "ticker", "book": "orderbook"}


def default_ws_url(rest_url: str) -> str:
    return ws_url_for(rest_url, C.REST_URL, C.WS_URL, "/ws/")


def funding_poll_wait_s(now_ns: int, delay_s: float) -> float:
    """Seconds from ``now_ns`` to the next funding poll: ``delay_s`` after an hour (FTX
    settles on the hour), the next such moment strictly after now."""
    delay_ns = int(delay_s * 1e9)
    due = (now_ns - delay_ns) // HOUR_NS * HOUR_NS + HOUR_NS + delay_ns
    return (due - now_ns) / 1e9


class FtxGateway(ChannelGateway):
    """FTX over REST + WebSocket. ``await start()`` before use, ``await stop()`` after."""

    venue = C.VENUE
    id_example = "BTC-PERP.FTX"
    channels = CHANNELS  # bars come from trades (the live runner aggregates them)
    private_routes = {"fills": "_on_fill", "orders": "_on_order"}
    rest: FtxRestClient

    def __init__(
        self,
        base_url: str = C.REST_URL,
        api_key: str = "",
        secret: str = "",
        subaccount: str = "",
        *,
        ws_url: str | None = None,
        rest: FtxRestClient | None = None,
        ws_config: WsConfig = FTX_WS_CONFIG,
        recovery: RecoveryPolicy = DEFAULT_RECOVERY,
        retention: Retention = DEFAULT_RETENTION,
        now_ns: Callable[[], int] = time.time_ns,
        funding_poll_s: float | None = C.FUNDING_POLL_DELAY_S,
    ) -> None:
        """``funding_poll_s``: how long after each hour to ask for funding payments (FTX
        pushes none); None: never (``fetch_funding`` / the reconnect catch-up only)."""
        super().__init__(now_ns)
        self.rest = rest or FtxRestClient(base_url, api_key, secret, subaccount)
        self.ws_url = ws_url or default_ws_url(self.rest.base_url)
        self.ws_config = ws_config
        self._waiting: EarlyFills[dict[str, Any]] = EarlyFills("FTX")
        self.hooks = FtxOrderHooks(self.rest, self._instruments, self._private_up, now_ns)
        self.orders = self.lifecycle(self.hooks, recovery, retention)
        self.funding_poll_s = funding_poll_s
        self._funding_poll: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Load markets; open the private stream (login, fills, orders) when keyed, and poll
        for funding payments after each hour."""
        self._instruments.update(P.parse_markets(await self.rest.markets()))
        if self.rest.credentials is not None:
            self.private = self.new_stream("private", self.rest.credentials)
            await self.private.start()
            if self.funding_poll_s is not None:
                self._funding_poll = asyncio.get_running_loop().create_task(self._poll_funding())

    async def stop(self) -> None:
        if self._funding_poll is not None:
            self._funding_poll.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._funding_poll
            self._funding_poll = None
        await super().stop()

    async def _poll_funding(self) -> None:
        """FTX pushes no funding: once an hour, a minute after it settles, ask what was paid
        since the last payment delivered (one request; the dedupe keeps each once)."""
        assert self.funding_poll_s is not None
        while True:
            await asyncio.sleep(funding_poll_wait_s(self.now_ns(), self.funding_poll_s))
            try:
                await self.catch_up_funding()
            except Exception:  # one bad round (a journal error, a bad row) must not end polls
                log.exception("FTX: funding poll failed; polling goes on")

    def new_stream(self, name: str, creds: FtxCredentials | None = None) -> FtxStream:
        return FtxStream(
            self.ws_url,
            self.on_market_data,
            self.status_of(name),
            self.on_private,
            credentials=creds,
            config=self.ws_config,
            now_ns=self.now_ns,
            name=f"ftx/{name}",
        )

    # -- private pushes (FTX replays nothing after a reconnect: the base catches up) --------
    def _on_fill(self, d: dict[str, Any]) -> None:
        oid = str(d["orderId"])
        vcid = self.hooks.order_ids.get(oid)
        if vcid is None:  # held for the orders push that names its clientId
            return self._waiting.hold(oid, d)
        track = self.orders.push_track(vcid, str(d["market"]), Side(d["side"]))
        self.orders.fill(track, P.parse_fill(d, self.now_ns(), track.client_order_id))

    def _on_order(self, d: dict[str, Any]) -> None:
        oid = str(d["id"])
        vcid = str(d.get("clientId") or oid)  # one placed elsewhere without a clientId: its id
        self.hooks.order_ids.remember(oid, vcid)
        for held in self._waiting.release(oid):
            self._on_fill(held)
        track = self.orders.push_track(vcid, str(d["market"]), Side(d["side"]))
        self.orders.report(track, P.parse_order(d, self.now_ns(), track.client_order_id))

    # -- queries --------------------------------------------------------------------------
    def _client_id(self, venue_order_id: str, venue_client_id: str | None = None) -> str:
        return self.client_id_for(venue_client_id or self.hooks.order_ids.get(venue_order_id, ""))

    async def fetch_open_orders(self) -> list[OrderReport]:
        now, rows = self.now_ns(), await self.rest.open_orders()
        return [
            P.parse_order(d, now, self._client_id(str(d["id"]), d.get("clientId"))) for d in rows
        ]

    async def fetch_fills(self, since_ns: int = 0) -> list[Fill]:
        rows = await self.rest.fills(start_s=since_ns / 1e9 if since_ns else None)
        now = self.now_ns()
        return [P.parse_fill(r, now, self._client_id(str(r["orderId"]))) for r in reversed(rows)]

    async def fetch_funding(self, since_ns: int = 0) -> list[FundingPaid]:
        """Funding payments on our perpetuals at or after ``since_ns``, oldest first."""
        rows = await self.rest.funding_payments(start_s=since_ns / 1e9 if since_ns else None)

        def parse(d: dict[str, Any]) -> FundingPaid:
            inst = self._instruments.get(P.symbol_id(str(d.get("future"))))
            return P.parse_funding(d, inst.settle if inst is not None else "USD")

        # FTX lists newest first
        return parsed_rows(reversed(rows), parse, "FTX: skipping malformed funding payment", log)

    async def fetch_balances(self) -> list[BalanceUpdate]:
        return P.parse_balances(await self.rest.balances(), self.now_ns())

    async def fetch_positions(self) -> list[PositionUpdate]:
        return P.parse_positions(await self.rest.positions(), self.now_ns())


def create(
    *,
    url: str = C.REST_URL,
    ws_url: str | None = None,
    credentials: Mapping[str, str] | None = None,
    **options: Any,
) -> FtxGateway:
    """The registry's factory: credentials ``api_key``, ``secret``, ``subaccount``; other
    options go to :class:`FtxGateway`."""
    c = credentials or {}
    key, secret, sub = c.get("api_key", ""), c.get("secret", ""), c.get("subaccount", "")
    return FtxGateway(url, key, secret, sub, ws_url=ws_url, **options)
