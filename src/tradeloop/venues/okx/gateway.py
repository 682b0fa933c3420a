"""OkxGateway: the OKX venue as the engine sees it (a :class:`~tradeloop.venues.base.Gateway`).

The engine is synchronous; this gateway is the asyncio edge. It holds only OKX knowledge: the
three sockets (``/public`` and ``/business`` for market data, ``/private`` for orders, account
and positions), instrument loading, channel names, the REST queries. The order lifecycle —
client-id idempotency, fill de-duplication, never-backwards reports, placements in doubt,
cancel retries, the catch-up after a private reconnect, pruning — is the venue-neutral
:class:`~tradeloop.venues.execution.OrderLifecycle`, to which this gateway supplies
:class:`~tradeloop.venues.okx.orders.OkxOrderHooks` and the private ``orders`` pushes.

Trigger orders and brackets are OKX algo orders (:mod:`tradeloop.venues.okx.algo`): their
``orders-algo`` pushes come on a logged-in socket at ``algo_path`` (``/business`` at OKX),
subscribed the first time an algo order is placed, canceled or looked up; a fired algo's
child order is reported under the algo's client id.

Funding (rule 9): a ``balance_and_position`` push with ``eventType`` ``funding_fee`` makes the
gateway read the new funding bills and hand each on once as a ``FundingPaid``
(:mod:`tradeloop.venues.okx.funding`, read again a few times while the bill is not listed
yet: :mod:`tradeloop.venues.funding_reads`); ``fetch_funding`` pages the same bills.

Identity: everything the engine sees carries instrument ids (``BTC-USDT.OKX``); the wire and
OKX's JSON keep instIds (``BTC-USDT``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from tradeloop.core.errors import VenueError
from tradeloop.core.log import get_logger
from tradeloop.model import (
    BalanceUpdate,
    Fill,
    FundingPaid,
    Instrument,
    Order,
    OrderReport,
    OrderStatus,
    PositionUpdate,
    Side,
)
from tradeloop.venues.base import ExecutionSink
from tradeloop.venues.execution import (
    DEFAULT_RECOVERY,
    DEFAULT_RETENTION,
    OrderTrack,
    RecoveryPolicy,
    Retention,
)
from tradeloop.venues.gateway_base import StreamGateway, ws_url_for
from tradeloop.venues.okx import constants as C
from tradeloop.venues.okx import parse as P
from tradeloop.venues.okx.algo import (
    ALGO_CHANNEL,
    AlgoBook,
    AlgoState,
    BracketWatch,
    lookup_types,
    parse_algo_report,
)
from tradeloop.venues.okx.funding import funding_bills
from tradeloop.venues.okx.orders import OkxOrderHooks, bill_cursor, okx_client_id, reject_reason
from tradeloop.venues.okx.rest import OkxRestClient
from tradeloop.venues.okx.ws import OKX_WS_CONFIG, OkxStream
from tradeloop.venues.paging import page_all
from tradeloop.venues.parsing import parsed_rows
from tradeloop.venues.wsclient import WsConfig

log = get_logger(__name__)

__all__ = [
    "OkxGateway",
    "RecoveryPolicy",
    "Retention",
    "create",
    "default_ws_url",
    "okx_bar",
    "okx_client_id",
    "reject_reason",
]

_PAGE = 100
#: "wrong URL or channel" (a subscription the socket does not serve)
_WRONG_CHANNEL = "60018"


def _item(d: Any) -> dict[str, Any]:
    """A push item as the dict OKX sends (anything else is a one-line ``TypeError``)."""
    if not isinstance(d, dict):
        raise TypeError(f"expected an object, got {type(d).__name__}")
    return d


def okx_bar(interval: str) -> str:
    """tradeloop interval (``1m``, ``1h``, ``1d``) → OKX bar; days/weeks use the UTC-aligned
    variants so bars line up with tradeloop's UTC bars. OKX-native names pass through."""
    if interval.endswith(("H", "utc", "D", "W", "M")):
        return interval
    unit = interval[-1]
    return {
        "m": interval,
        "s": interval,
        "h": interval[:-1] + "H",
        "d": interval[:-1] + "Dutc",
        "w": interval[:-1] + "Wutc",
    }.get(unit, interval)


def default_ws_url(rest_url: str, simulated: bool) -> str:
    return ws_url_for(rest_url, C.REST_URL, C.WS_URL_DEMO if simulated else C.WS_URL, "/ws/v5")


class OkxGateway(StreamGateway):
    """OKX over REST + WebSocket. ``await start()`` before use, ``await stop()`` after."""

    venue = C.VENUE
    id_example = "BTC-USDT.OKX"
    stream_names = ("public", "business", "private", "algo")
    rest: OkxRestClient

    def __init__(
        self,
        base_url: str = C.REST_URL,
        api_key: str = "",
        secret: str = "",
        passphrase: str = "",
        simulated: bool = False,
        *,
        ws_url: str | None = None,
        rest: OkxRestClient | None = None,
        inst_types: tuple[str, ...] = ("SPOT", "SWAP"),
        spot_td_mode: str = "cash",
        derivative_td_mode: str = "cross",
        quote_channel: str = "bbo-tbt",
        ws_config: WsConfig = OKX_WS_CONFIG,
        recovery: RecoveryPolicy = DEFAULT_RECOVERY,
        retention: Retention = DEFAULT_RETENTION,
        now_ns: Callable[[], int] = time.time_ns,
        algo_path: str = C.WS_BUSINESS,
    ) -> None:
        super().__init__(now_ns)
        self.rest = rest or OkxRestClient(base_url, api_key, secret, passphrase, simulated)
        self.ws_url = (ws_url or default_ws_url(self.rest.base_url, simulated)).rstrip("/")
        self.inst_types = inst_types
        self.quote_channel = quote_channel
        self.ws_config = ws_config
        self.public: OkxStream | None = None
        self.business: OkxStream | None = None
        self.private: OkxStream | None = None
        #: the logged-in socket of ``orders-algo`` pushes (None until first used, or when
        #: ``algo_path`` is the private socket's)
        self.algo: OkxStream | None = None
        self.algo_path = algo_path
        self.algo_book = AlgoBook()
        self._algo_lock = asyncio.Lock()
        self._algo_subscribed = False
        self.hooks = OkxOrderHooks(
            self.rest,
            self._instruments,
            self._private_up,
            spot_td_mode=spot_td_mode,
            derivative_td_mode=derivative_td_mode,
            now_ns=now_ns,
            algos=self.algo_book,
            algo_ready=self._algo_ready,
        )
        self.orders = self.lifecycle(self.hooks, recovery, retention)
        #: the bills reads ``funding_fee`` pushes start (one at a time; again while none new)
        self.funding_reads = self.pushed_funding()

    @property
    def recovery(self) -> RecoveryPolicy:
        return self.orders.recovery

    @recovery.setter
    def recovery(self, policy: RecoveryPolicy) -> None:
        self.orders.recovery = policy

    @property
    def _tasks(self) -> set[Any]:
        """Running order tasks (diagnostics)."""
        return self.orders.tasks

    @property
    def _orders(self) -> dict[str, OrderTrack]:
        """Tracked orders by clOrdId (diagnostics)."""
        return {t.venue_client_id: t for t in self.orders.tracker}

    # -- plumbing -------------------------------------------------------------------------
    async def load_instruments(
        self, inst_types: Iterable[str] | None = None
    ) -> dict[str, Instrument]:
        for t in inst_types or self.inst_types:
            self._instruments.update(P.parse_instruments(await self.rest.instruments(t)))
        return self.instruments()

    async def start(self) -> None:
        """Sync the clock, load instruments, open the private stream when keyed."""
        try:
            await self.rest.sync_time()
        except VenueError as exc:
            log.warning("OKX time sync failed (%s); signing with the local clock", exc)
        await self.load_instruments()
        self._algo_subscribed = False  # subscribed again on first use (a new private socket)
        if self.rest.credentials is not None:
            self.private = self._stream(C.WS_PRIVATE, private=True)
            args: list[dict[str, str]] = [
                {"channel": "orders", "instType": "ANY"},
                {"channel": "account"},
            ]
            if any(t != "SPOT" for t in self.inst_types):
                args.append({"channel": "positions", "instType": "ANY"})
                args.append({"channel": C.BALANCE_AND_POSITION})  # says when funding settled
            await self.private.subscribe(*args)
            await self.private.start()

    async def _algo_ready(self) -> None:
        """Subscribe to ``orders-algo`` once, before the first algo request (so its pushes
        are not missed). OKX serves it on ``/business``; where that socket does not have the
        channel (60018: OKX before 2023, our emulator) the private socket is asked instead.
        A refusal there raises, failing that request with OKX's answer."""
        if self._algo_subscribed or self.rest.credentials is None:
            return
        async with self._algo_lock:
            if self._algo_subscribed:
                return
            arg = {"channel": ALGO_CHANNEL, "instType": "ANY"}
            if self.algo_path != C.WS_PRIVATE:
                if self.algo is None:
                    self.algo = self._stream(self.algo_path, private=True)
                    await self.algo.start()
                try:
                    await self.algo.subscribe_confirmed(arg)
                    self._algo_subscribed = True
                    return
                except VenueError as exc:
                    if exc.code != _WRONG_CHANNEL or self.private is None:
                        raise
                    log.warning("OKX: no %s on %s (%s); using the private socket",
                                ALGO_CHANNEL, self.algo_path, exc)  # fmt: skip
                    algo, self.algo = self.algo, None
                    await algo.stop()
            if self.private is None:
                raise VenueError("OKX algo orders need the private socket (keys)")
            await self.private.subscribe_confirmed(arg)
            self._algo_subscribed = True

    def _stream(self, path: str, private: bool = False) -> OkxStream:
        return OkxStream(
            self.ws_url + path,
            self,
            credentials=self.rest.credentials if private else None,
            config=self.ws_config,
            now_ns=self.now_ns,
            clock=self.rest.now,
            name=f"okx{path}",
            limiter=self.rest.limiter if private else None,
        )

    # -- OkxStreamHandler -----------------------------------------------------------------
    def on_status(self, status: str, detail: str) -> None:
        # A stream's url is its detail. The orders channel has no snapshot: whatever happened
        # while we were away must be fetched over REST (the base does on a private reconnect).
        public = self.public
        privates = [s.url for s in (self.private, self.algo) if s is not None]
        self.stream_status(
            status,
            detail,
            public=public is not None and detail == public.url,
            private=detail in privates,
        )

    def on_account(self, channel: str, items: list[dict[str, Any]]) -> None:
        if channel == C.BALANCE_AND_POSITION:
            # cash and sizes only (the account/positions pushes after it say the rest); what
            # it adds is why: funding_fee is a payment, whose amount only its bill has
            if any(isinstance(d, dict) and d.get("eventType") == C.FUNDING_EVENT for d in items):
                self.funding_reads.poke()
            return
        now = self.now_ns()
        if channel == "account":
            for ev in P.parse_balances(items, now):
                self._account_event(ev)
        if channel == "positions":
            for pos in P.parse_positions(items, now):
                self._account_event(pos)

    def on_orders(self, items: list[dict[str, Any]]) -> None:
        # one bad item is one warning line; the rest of the push is still applied
        for d in items:
            try:
                self._on_order_item(_item(d))
            except (KeyError, ValueError, TypeError) as exc:
                log.warning("OKX: bad orders item %r: %s", d, exc)

    def on_algo_orders(self, items: list[dict[str, Any]]) -> None:
        """``orders-algo`` pushes: the state of our trigger orders before they fire (and
        that they fired: the child's news comes on ``orders``)."""
        now = self.now_ns()
        for raw in items:
            try:
                d = _item(raw)
                vcid = self.algo_book.note(d)
                side = Side.BUY if d.get("side") == "buy" else Side.SELL
                track = self.orders.push_track(vcid, str(d["instId"]), side)
                self.orders.report(track, parse_algo_report(d, now, track.client_order_id))
            except (KeyError, ValueError, TypeError) as exc:
                log.warning("OKX: bad orders-algo item %r: %s", raw, exc)

    def _on_order_item(self, d: dict[str, Any]) -> None:
        # a fired algo's child is the algo order's own (one client id end to end)
        vcid = self.algo_book.owner_of_child(d) or str(d.get("clOrdId") or d.get("ordId"))
        side = Side.BUY if d.get("side") == "buy" else Side.SELL
        track = self.orders.push_track(vcid, str(d["instId"]), side)
        now = self.now_ns()
        fill = P.parse_order_fill(d, now, track.client_order_id, track.cum_fee)
        if fill is not None:
            self.orders.fill(track, fill)
        if d.get("fee") not in (None, ""):
            track.cum_fee = -P.f(d.get("fee"))
        self.orders.report(track, P.parse_order_report(d, now, track.client_order_id))

    # -- orders -----------------------------------------------------------------------------
    def bind(self, sink: ExecutionSink) -> None:
        self.orders.bind(BracketWatch(sink, self.algo_book, okx_client_id, self._end_quietly))

    def _end_quietly(self, vcid: str) -> None:
        track = self.orders.tracker.get(vcid)
        if track is not None and not track.status.is_terminal:
            track.status = OrderStatus.CANCELED
            self.orders.tracker.add(track)  # finished: pruned in time, never reconciled

    def submit_order(self, order: Order) -> None:
        """A bracket's protective order is tracked from the start under its own id (its
        ``orders-algo`` pushes name it by ``attachAlgoClOrdId``)."""
        fresh = self.orders.track(order.client_order_id) is None
        self.orders.submit(order)
        child = order.attached
        if child is None or not fresh:
            return
        vcid, entry = okx_client_id(child.client_order_id), okx_client_id(order.client_order_id)
        self.orders.tracker.add(OrderTrack(child.client_order_id, vcid, child.symbol, child.side))
        self.algo_book.add(AlgoState(vcid, P.native(child.symbol), lookup_types(child.trigger),
                                     entry=entry))  # fmt: skip

    def cancel_order(self, order: Order) -> None:
        """A trigger order this process did not place (a restart) is canceled as an algo."""
        if order.trigger is not None and order.is_open:
            vcid = okx_client_id(order.client_order_id)
            self.algo_book.add(AlgoState(vcid, P.native(order.symbol), lookup_types(order.trigger)))
        self.orders.cancel(order)

    def order_params(self, order: Order, inst: Instrument, okx_id: str) -> dict[str, Any]:
        """OKX place-order fields for a tradeloop order (wire strings via the Instrument)."""
        return self.hooks.order_params(order, inst, okx_id)

    async def reconcile(self) -> None:
        """Refresh every working order over REST (see ``OrderLifecycle.reconcile``)."""
        await self.orders.reconcile()

    # -- queries ----------------------------------------------------------------------------
    async def fetch_open_orders(self, inst_type: str | None = None) -> list[OrderReport]:
        """All open orders at OKX as reports (tradeloop ids where this gateway knows them),
        following pagination; untriggered algo orders (stops, take-profits, trailing, OCO)
        are open orders of ours too, and a fired one's child carries the algo's id."""
        now = self.now_ns()
        rows = await page_all(
            lambda after: self.rest.orders_pending(inst_type=inst_type, limit=_PAGE, after=after),
            lambda page: str(page[-1]["ordId"]) if page[-1].get("ordId") else None,
            limit=_PAGE,
        )
        out: list[OrderReport] = []
        for d in rows:
            vcid = self.algo_book.owner_of_child(d) or str(d.get("clOrdId") or "")
            cid = self.orders.client_id_of(vcid) or vcid
            out.append(P.parse_order_report(d, now, cid))
        if self.rest.credentials is not None:
            out += await self.hooks.algos.pending_reports(self.orders.client_id_of, inst_type)
        return out

    async def fetch_fills(self, since_ns: int = 0, inst_type: str | None = None) -> list[Fill]:
        """Our fills at or after ``since_ns`` (OKX keeps the last 3 days on this endpoint),
        oldest first, paging back from the newest."""
        now = self.now_ns()
        since_ms = since_ns // 1_000_000
        rows = await page_all(
            lambda after: self.rest.fills(inst_type=inst_type, limit=_PAGE, after=after),
            bill_cursor,
            limit=_PAGE,
            keep=lambda r: int(r.get("ts") or 0) >= since_ms,
        )
        # a fired algo's child carries no client id of ours: its algo's history row does
        owners = await self.hooks.algos.child_owners() if any(
            not r.get("clOrdId") for r in rows
        ) else {}  # fmt: skip
        out = []
        for r in reversed(rows):
            vcid = str(r.get("clOrdId") or owners.get(str(r.get("ordId")), ""))
            cid = self.orders.client_id_of(vcid) or vcid
            out.append(P.parse_fill_row(r, now, cid))
        return out

    async def fetch_funding(self, since_ns: int = 0) -> list[FundingPaid]:
        """Funding payments on our positions at or after ``since_ns``, oldest first: the
        account's funding bills (``type`` 8; the 3-month archive beyond the last 7 days)."""
        if self.rest.credentials is None:
            return []
        now = self.now_ns()
        try:
            rows = await funding_bills(
                self.rest, since_ns // 1_000_000, int(self.rest.now() * 1000)
            )
        except (KeyError, ValueError, TypeError, AttributeError) as exc:
            raise VenueError(f"OKX: unreadable bills page ({exc!r})") from exc
        return parsed_rows(rows, lambda r: P.parse_funding_bill(r, now) if P.is_funding_bill(r)
                           else None, "OKX: bad funding bill", log)  # fmt: skip

    async def fetch_balances(self) -> list[BalanceUpdate]:
        return P.parse_balances(await self.rest.balance(), self.now_ns())

    async def fetch_positions(self, inst_type: str | None = None) -> list[PositionUpdate]:
        return P.parse_positions(await self.rest.positions(inst_type=inst_type), self.now_ns())

    # -- market data ------------------------------------------------------------------------
    def _channel_args(
        self, symbol: str, channels: tuple[str, ...]
    ) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
        inst_id = self.native(symbol)
        public: list[dict[str, str]] = []
        business: list[dict[str, str]] = []
        for ch in channels:
            if ch == "trades":
                public.append({"channel": "trades", "instId": inst_id})
            elif ch == "quotes":
                public.append({"channel": self.quote_channel, "instId": inst_id})
            elif ch == "tickers":
                public.append({"channel": "tickers", "instId": inst_id})
            elif ch == "book":
                public.append({"channel": "books", "instId": inst_id})
            elif ch.startswith("bars:"):
                business.append({"channel": "candle" + okx_bar(ch[5:]), "instId": inst_id})
            else:
                raise ValueError(f"unknown channel {ch!r}")
        return public, business

    async def subscribe(self, symbol: str, channels: tuple[str, ...]) -> None:
        """Channels: ``trades``, ``quotes`` (``bbo-tbt`` by default), ``tickers``, ``book``,
        ``bars:<interval>`` (candles on the business socket), for an instrument id."""
        public, business = self._channel_args(symbol, channels)
        if public:
            if self.public is None:
                self.public = self._stream(C.WS_PUBLIC)
                await self.public.start()
            await self.public.subscribe(*public)
        if business:
            if self.business is None:
                self.business = self._stream(C.WS_BUSINESS)
                await self.business.start()
            await self.business.subscribe(*business)

    async def unsubscribe(self, symbol: str, channels: tuple[str, ...]) -> None:
        public, business = self._channel_args(symbol, channels)
        if public and self.public is not None:
            await self.public.unsubscribe(*public)
        if business and self.business is not None:
            await self.business.unsubscribe(*business)
        if "quotes" in channels or "tickers" in channels:
            self._quotes.pop(symbol, None)


def create(
    *,
    url: str = C.REST_URL,
    ws_url: str | None = None,
    credentials: Mapping[str, str] | None = None,
    simulated: bool = False,
    **options: Any,
) -> OkxGateway:
    """The registry's factory (``venues.registry``): credentials ``api_key``, ``secret``,
    ``passphrase``; ``simulated`` sends OKX's demo-trading header; other options go to
    :class:`OkxGateway`."""
    c = credentials or {}
    key, secret, phrase = c.get("api_key", ""), c.get("secret", ""), c.get("passphrase", "")
    return OkxGateway(url, key, secret, phrase, simulated, ws_url=ws_url, **options)
