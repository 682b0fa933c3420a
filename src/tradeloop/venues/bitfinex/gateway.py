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

Funding on perpetuals (rule 9) is read from the ledger when a ``wu`` says a payment settled
(:mod:`~tradeloop.venues.bitfinex.funding`): Bitfinex pushes no id for it.

An OCO is two Bitfinex orders under one cid; :class:`~tradeloop.venues.bitfinex.triggers.OcoView`
picks which of their pushes are the engine order's news.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import Any

from tradeloop.core.log import get_logger
from tradeloop.model import BalanceUpdate, Fill, FundingPaid, OrderReport, PositionUpdate
from tradeloop.venues.bitfinex import constants as C
from tradeloop.venues.bitfinex import parse as P
from tradeloop.venues.bitfinex import triggers as T
from tradeloop.venues.bitfinex.funding import LedgerFunding
from tradeloop.venues.bitfinex.orders import BitfinexOrderHooks
from tradeloop.venues.bitfinex.rest import BitfinexRestClient
from tradeloop.venues.bitfinex.ws import BFX_WS_CONFIG, BitfinexStream
from tradeloop.venues.execution import (
    DEFAULT_RECOVERY,
    DEFAULT_RETENTION,
    RecoveryPolicy,
    Retention,
)
from tradeloop.venues.gateway_base import ChannelGateway, ws_url_for
from tradeloop.venues.wsclient import WsConfig

log = get_logger(__name__)

#: the engine's channels -> Bitfinex's (``quotes`` and ``tickers`` are both its ``ticker``)
CHANNELS = {"trades": "trades", "quotes": "ticker", "tickers": "ticker", "book": "book"}
TU_WAIT_S = 3.0  # how long a report may wait for its fills' ``tu`` before a REST refresh


def default_ws_url(rest_url: str) -> str:
    return ws_url_for(rest_url, C.REST_URL, C.WS_URL, "/ws/2")


class BitfinexGateway(ChannelGateway):
    """Bitfinex over REST + WebSocket. ``await start()`` before use, ``await stop()`` after.
    Market data channels: ``trades``, ``quotes`` (Bitfinex's ``ticker``), ``book`` (P0, 25
    levels, checksum-verified)."""

    venue = C.VENUE
    id_example = "tBTCUSD.BITFINEX"
    channels = CHANNELS  # bars come from trades (the live runner aggregates them)
    rest: BitfinexRestClient
    public: BitfinexStream | None
    private: BitfinexStream | None

    def __init__(self, base_url: str = C.REST_URL, api_key: str = "", secret: str = "", *,
                 ws_url: str | None = None, rest: BitfinexRestClient | None = None,
                 ws_config: WsConfig = BFX_WS_CONFIG, dms: int | None = C.DMS,
                 op_timeout: float = 10.0,
                 recovery: RecoveryPolicy = DEFAULT_RECOVERY,
                 retention: Retention = DEFAULT_RETENTION,
                 now_ns: Callable[[], int] = time.time_ns) -> None:  # fmt: skip
        super().__init__(now_ns)
        self.rest = rest or BitfinexRestClient(base_url, api_key, secret)
        self.ws_url = ws_url or default_ws_url(self.rest.base_url)
        self.ws_config, self.dms = ws_config, dms
        self.op_timeout = op_timeout  # a WS order request unanswered this long: unknown outcome
        self.hooks = BitfinexOrderHooks(self.rest, self._instruments, lambda: self.private, now_ns)
        self.orders = self.lifecycle(self.hooks, recovery, retention)
        self._delivered: dict[str, float] = {}  # venue client id -> fill qty delivered
        self._held: dict[str, OrderReport] = {}
        self.oco = T.OcoView()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.funding = LedgerFunding(self.rest)
        #: the ledger reads a funding ``wu`` starts (one at a time; again while none new)
        self.funding_reads = self.pushed_funding()

    async def start(self) -> None:
        """Load pairs (ticks from today's prices); open the authenticated socket when keyed."""
        spot, perps = await self.rest.conf("pub:info:pair", "pub:info:pair:futures")
        prices = {str(r[0]): P.f(r[7]) for r in await self.rest.tickers() if len(r) > 7}
        self._instruments.update(P.parse_pairs(spot, perps, prices))
        if self.rest.credentials is not None:
            self.private = self.new_stream("private")
            await self.private.start()

    def new_stream(self, name: str) -> BitfinexStream:
        """The public socket, or the private one (keyed, channel-0 orders, dead-man switch)."""
        keyed: dict[str, Any] = {}
        if name == "private":
            keyed = {"credentials": self.rest.credentials, "dms": self.dms,
                     "op_timeout": self.op_timeout}  # fmt: skip
        return BitfinexStream(self.ws_url, self, config=self.ws_config, now_ns=self.now_ns,
                              name=f"bitfinex/{name}", **keyed)  # fmt: skip

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await super().stop()

    # -- StreamHandler ----------------------------------------------------------------------
    def on_status(self, stream: BitfinexStream, status: str, detail: str) -> None:
        self.stream_status(status, detail, public=stream is self.public,
                           private=stream is self.private)  # fmt: skip

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
                if kind == "wu" and len(data) > 5 and P.is_funding_text(data[5]):
                    self.funding_reads.poke()  # the payment's id is in the ledger
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
        vcid = self.hooks.fill_client_id(d)
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

    # -- queries --------------------------------------------------------------------------
    def _client_id(self, d: list[Any]) -> str:
        return self.client_id_for(self.hooks.remember_row(d))

    async def fetch_open_orders(self) -> list[OrderReport]:
        """Open orders; an OCO's unfired stop is not listed beside its limit (one order)."""
        now, rows = self.now_ns(), await self.rest.open_orders()
        ids = {d[0] for d in rows}
        rows = [d for d in rows if not (T.is_oco(d) and T.is_stop_leg(d) and d[25] in ids
                                        and not T.stop_fired(d))]  # fmt: skip
        return [P.parse_order(d, now, self._client_id(d)) for d in rows]

    async def fetch_fills(self, since_ns: int = 0) -> list[Fill]:
        rows = await self.rest.trades(start_ms=since_ns // 1_000_000 if since_ns else None)
        now, cid = self.now_ns(), self.hooks.fill_client_id
        out = [P.parse_fill(r, now, self.client_id_for(cid(r))) for r in rows]
        return sorted(out, key=lambda fl: (fl.trade_id.isdigit() and int(fl.trade_id)) or 0)

    async def fetch_funding(self, since_ns: int = 0) -> list[FundingPaid]:
        """Funding payments on our perpetuals at or after ``since_ns``, oldest first, from the
        ledgers of the perpetuals' settle currencies (``USTF0``)."""
        ccys = {i.settle for i in self._instruments.values() if i.is_derivative}
        return await self.funding.fetch(ccys, since_ns)

    async def fetch_balances(self) -> list[BalanceUpdate]:
        return P.parse_wallets(await self.rest.wallets(), self.now_ns())

    async def fetch_positions(self) -> list[PositionUpdate]:
        now = self.now_ns()
        return [P.parse_position(r, now) for r in await self.rest.positions()]


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
