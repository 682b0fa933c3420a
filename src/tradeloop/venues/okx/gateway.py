"""OkxGateway: the OKX venue as the engine sees it (ExecutionClient + DataClient).

The engine is synchronous; this gateway is the asyncio edge. ``submit_order`` and
``cancel_order`` only schedule tasks and return; outcomes come back to the ExecutionSink as
``OrderReport`` / ``Fill`` from the private ``orders`` channel (and from REST answers when that
is all there is). Guarantees, beyond the ``venues.base`` rules:

* every order carries a clOrdId derived from the tradeloop id, so REST retries and reconnects
  can never create a second order;
* fills are de-duplicated by (order, tradeId) and reports never move an order backwards, so a
  reconnect, a replayed push or a REST answer racing the socket never double-counts;
* an order whose placement outcome is unknown (timeout, connection lost, 5xx, a retry answered
  51016 "duplicate clOrdId") is not reported as rejected — it is looked up by clOrdId until
  OKX says whether it exists, and reported in its real state;
* a cancel is never dropped: it is re-sent (cancels are idempotent at OKX) until OKX confirms
  it, the order is known to be finished, or :attr:`RecoveryPolicy.cancel_deadline_s` passes —
  and then the engine gets an explicit "cancel failed" report (see :meth:`_cancel_failed`);
* after the private socket reconnects, tracked open orders are reconciled over REST (missed
  fills fetched from ``/trade/fills`` and de-duplicated).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from tradeloop.core.errors import RateLimited, VenueError
from tradeloop.core.log import get_logger
from tradeloop.model import (
    BalanceUpdate,
    Event,
    Fill,
    Instrument,
    InstrumentKind,
    Order,
    OrderReport,
    OrderStatus,
    OrderType,
    PositionUpdate,
    RejectReason,
    Side,
    TimeInForce,
    VenueStatus,
)
from tradeloop.model.checks import order_problem
from tradeloop.venues.base import DataClient, ExecutionClient, ExecutionSink, MarketDataSink
from tradeloop.venues.http import outcome_unknown
from tradeloop.venues.okx import constants as C
from tradeloop.venues.okx import parse as P
from tradeloop.venues.okx.rest import OkxRestClient, is_valid_client_order_id
from tradeloop.venues.okx.ws import OKX_WS_CONFIG, OkxStream
from tradeloop.venues.retry import RetryConfig, delay_with_hint, delays
from tradeloop.venues.wsclient import WsConfig

log = get_logger(__name__)

_RANK = {
    OrderStatus.CREATED: -1,
    OrderStatus.SUBMITTED: 0,
    OrderStatus.ACCEPTED: 1,
    OrderStatus.PENDING_CANCEL: 1,
    OrderStatus.PENDING_AMEND: 1,
    OrderStatus.PARTIALLY_FILLED: 2,
}
_TERMINAL_RANK = 3


def _rank(status: OrderStatus) -> int:
    return _TERMINAL_RANK if status.is_terminal else _RANK[status]


def reject_reason(exc: VenueError) -> RejectReason:
    """The typed reason behind an OKX refusal: transient (rate limit, busy, 5xx) or not."""
    if isinstance(exc, RateLimited):
        return RejectReason.RATE_LIMITED
    known = C.REJECT_REASONS.get(exc.code)
    if known is not None:
        return known
    return RejectReason.VENUE_UNAVAILABLE if exc.retryable else RejectReason.OTHER


def okx_client_id(client_order_id: str) -> str:
    """OKX wants clOrdId = 1–32 alphanumerics; other ids map to a stable hash of themselves
    (stable so a restart can find its orders again)."""
    if is_valid_client_order_id(client_order_id):
        return client_order_id
    return "tl" + hashlib.sha1(client_order_id.encode()).hexdigest()[:30]


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
    if rest_url.rstrip("/") == C.REST_URL:
        return C.WS_URL_DEMO if simulated else C.WS_URL
    scheme, _, rest = rest_url.rstrip("/").partition("://")
    return ("wss" if scheme == "https" else "ws") + "://" + rest + "/ws/v5"


#: Cancel rounds: 0.1 s floor, ceilings 0.5 s doubling to 5 s (full jitter).
CANCEL_BACKOFF: Final = RetryConfig(max_attempts=0, base=0.5, cap=5.0, min_delay=0.1)
#: Lookups of an order in doubt: 6 tries over roughly 10 s at most.
LOOKUP_BACKOFF: Final = RetryConfig(max_attempts=6, base=0.5, cap=4.0, min_delay=0.25)
#: Rounds of the post-reconnect catch-up for orders whose lookups failed (deadline-bounded).
RECONCILE_BACKOFF: Final = RetryConfig(max_attempts=0, base=0.5, cap=10.0, min_delay=0.25)


@dataclass(frozen=True, slots=True)
class RecoveryPolicy:
    """How hard the gateway keeps at an order operation whose REST answers went missing.

    The REST transport already retries each request a few times (``DEFAULT_RETRY``, about 2 s
    in all); a 429 storm or an outage can outlast that. These rounds sit on top, for the two
    operations that must never be given up silently:

    * a **cancel** is idempotent at OKX (a repeat is answered 51400 "already filled/canceled"),
      so it is re-sent with ``cancel_backoff`` until OKX confirms it, the order is known to be
      finished, or ``cancel_deadline_s`` has passed; only then is the engine told it failed.
      ``cancel_backoff.max_attempts`` is ignored: the deadline bounds the rounds;
    * a **lookup** of an order whose placement outcome is unknown (timeout, lost answer) is
      repeated with ``lookup_backoff`` until OKX says whether the order exists; it counts as
      absent (rejected) only after ``absent_checks`` lookups found nothing, because a request
      that timed out may still be queued at the venue and land after the first look;
    * the **catch-up after a private reconnect** (fills and states missed while the socket was
      down) retries the orders whose lookups failed, with ``reconcile_backoff``, until each is
      refreshed or finished, or ``reconcile_deadline_s`` has passed; then the engine gets a
      ``VenueStatus("reconcile_failed")``, because its view of those orders may be stale.
    """

    cancel_backoff: RetryConfig = CANCEL_BACKOFF
    cancel_deadline_s: float = 30.0
    lookup_backoff: RetryConfig = LOOKUP_BACKOFF
    absent_checks: int = 2
    reconcile_backoff: RetryConfig = RECONCILE_BACKOFF
    reconcile_deadline_s: float = 120.0

    def __post_init__(self) -> None:
        if self.cancel_deadline_s <= 0 or self.reconcile_deadline_s <= 0:
            raise ValueError("cancel_deadline_s and reconcile_deadline_s must be > 0")
        tries = self.lookup_backoff.max_attempts  # 0 = unbounded
        if self.absent_checks < 1 or (tries and self.absent_checks > tries):
            raise ValueError("absent_checks must be between 1 and lookup_backoff.max_attempts")


DEFAULT_RECOVERY = RecoveryPolicy()


@dataclass(frozen=True, slots=True)
class _CancelTry:
    """Outcome of one cancel round: finished, worth another round, or hopeless."""

    done: bool
    retry: bool = False
    reason: str = ""
    hint: float = 0.0  # server's retry-after, seconds


_CANCEL_DONE = _CancelTry(done=True)


@dataclass(slots=True)
class _Track:
    """What the gateway knows about one of our orders."""

    client_order_id: str
    okx_id: str
    symbol: str
    side: Side
    status: OrderStatus = OrderStatus.SUBMITTED
    filled: float = 0.0
    venue_order_id: str = ""
    cum_fee: float = 0.0
    trade_ids: set[str] = field(default_factory=set)
    placing: bool = False  # the place request is in flight
    cancel_requested: bool = False  # cancel asked while placing: send it once placed
    cancelling: bool = False  # a cancel loop is running (one per order at a time)


class OkxGateway(ExecutionClient, DataClient):
    """OKX over REST + WebSocket. ``await start()`` before use, ``await stop()`` after."""

    venue = C.VENUE

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
        now_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self.rest = rest or OkxRestClient(base_url, api_key, secret, passphrase, simulated)
        self.ws_url = (ws_url or default_ws_url(self.rest.base_url, simulated)).rstrip("/")
        self.inst_types = inst_types
        self.spot_td_mode = spot_td_mode
        self.derivative_td_mode = derivative_td_mode
        self.quote_channel = quote_channel
        self.ws_config = ws_config
        self.recovery = recovery
        self.now_ns = now_ns
        self._instruments: dict[str, Instrument] = {}
        self._sink: ExecutionSink | None = None
        self._data_sink: MarketDataSink | None = None
        self._orders: dict[str, _Track] = {}  # by OKX clOrdId
        self._tasks: set[asyncio.Task[Any]] = set()
        self.public: OkxStream | None = None
        self.business: OkxStream | None = None
        self.private: OkxStream | None = None
        #: Extra receiver for BalanceUpdate / PositionUpdate / VenueStatus events.
        self.on_account_event: Callable[[Event], None] | None = None

    # -- plumbing -------------------------------------------------------------------------
    def bind(self, sink: ExecutionSink) -> None:
        self._sink = sink

    def bind_data(self, sink: MarketDataSink) -> None:
        self._data_sink = sink

    def instruments(self) -> dict[str, Instrument]:
        return dict(self._instruments)

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
        if self.rest.credentials is not None:
            self.private = self._stream(C.WS_PRIVATE, private=True)
            args: list[dict[str, str]] = [
                {"channel": "orders", "instType": "ANY"},
                {"channel": "account"},
            ]
            if any(t != "SPOT" for t in self.inst_types):
                args.append({"channel": "positions", "instType": "ANY"})
            await self.private.subscribe(*args)
            await self.private.start()

    async def stop(self) -> None:
        for t in list(self._tasks):
            t.cancel()
        for t in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        for s in (self.public, self.business, self.private):
            if s is not None:
                await s.stop()
        self.public = self.business = self.private = None
        await self.rest.close()

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait for scheduled order tasks to finish (tests, orderly shutdown)."""
        while self._tasks:
            await asyncio.wait_for(
                asyncio.gather(*list(self._tasks), return_exceptions=True), timeout
            )

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("OKX gateway task %s failed", task.get_name(), exc_info=task.exception())

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
    def on_market_data(self, event: Event) -> None:
        if self._data_sink is not None:
            self._data_sink.on_market_data(event)

    def on_status(self, status: str, detail: str) -> None:
        ev = VenueStatus(ts=self.now_ns(), venue=self.venue, status=status, detail=detail)
        self._account_event(ev)
        private = self.private
        if status == "reconnected" and private is not None and detail == private.url:
            # The orders channel has no snapshot: whatever happened while we were away must
            # be fetched over REST.
            self._spawn(self.reconcile(), "okx-reconcile")

    def _account_event(self, ev: Event) -> None:
        if self.on_account_event is not None:
            self.on_account_event(ev)
        elif self._data_sink is not None:
            self._data_sink.on_market_data(ev)

    def on_account(self, channel: str, items: list[dict[str, Any]]) -> None:
        now = self.now_ns()
        if channel in ("account", "balance_and_position"):
            for ev in P.parse_balances(items, now):
                self._account_event(ev)
        if channel == "positions":
            for pos in P.parse_positions(items, now):
                self._account_event(pos)

    def on_orders(self, items: list[dict[str, Any]]) -> None:
        for d in items:
            try:
                self._on_order_item(d)
            except (KeyError, ValueError) as exc:
                log.warning("OKX: bad orders item %r: %s", d, exc)

    def _on_order_item(self, d: dict[str, Any]) -> None:
        okx_id = str(d.get("clOrdId") or d.get("ordId"))
        track = self._orders.get(okx_id)
        if track is None:  # placed elsewhere (another session, the web UI): still report it
            side = Side.BUY if d.get("side") == "buy" else Side.SELL
            track = _Track(okx_id, okx_id, str(d["instId"]), side)
            self._orders[okx_id] = track
        now = self.now_ns()
        fill = P.parse_order_fill(d, now, track.client_order_id, track.cum_fee)
        if fill is not None:
            self._emit_fill(track, fill)
        if d.get("fee") not in (None, ""):
            track.cum_fee = -P.f(d.get("fee"))
        self._emit_report(track, P.parse_order_report(d, now, track.client_order_id))

    # -- emission rules -------------------------------------------------------------------
    def _emit_fill(self, track: _Track, fill: Fill) -> None:
        if fill.trade_id in track.trade_ids:
            return
        track.trade_ids.add(fill.trade_id)
        if self._sink is not None:
            self._sink.on_fill(fill)

    def _emit_report(self, track: _Track, report: OrderReport) -> None:
        if report.venue_order_id:
            track.venue_order_id = report.venue_order_id
        new, old = _rank(report.status), _rank(track.status)
        if old == _TERMINAL_RANK or new < old:
            return
        if report.status is track.status and report.filled_qty <= track.filled:
            return
        track.status = report.status
        track.filled = max(track.filled, report.filled_qty)
        if self._sink is not None:
            self._sink.on_order_report(report)

    def _reject(self, track: _Track, reason: str, code: RejectReason) -> None:
        self._emit_report(
            track,
            OrderReport(
                ts=self.now_ns(),
                client_order_id=track.client_order_id,
                venue_order_id=track.venue_order_id,
                symbol=track.symbol,
                status=OrderStatus.REJECTED,
                reason=reason,
                code=code,
            ),
        )

    # -- ExecutionClient ------------------------------------------------------------------
    def submit_order(self, order: Order) -> None:
        okx_id = okx_client_id(order.client_order_id)
        if okx_id in self._orders:
            log.warning("OKX: %s already submitted; ignoring the duplicate", order.client_order_id)
            return
        track = _Track(order.client_order_id, okx_id, order.symbol, order.side, placing=True)
        self._orders[okx_id] = track
        self._spawn(self._place(order, track), f"okx-place-{okx_id}")

    def cancel_order(self, order: Order) -> None:
        okx_id = okx_client_id(order.client_order_id)
        track = self._orders.get(okx_id)
        if track is None:
            if order.is_terminal:
                return
            # Not placed through this gateway instance (e.g. by a previous process): adopt it,
            # so the cancel still reaches OKX by clOrdId and its outcome is reported like any
            # other's, instead of leaving the engine waiting in PENDING_CANCEL.
            log.info("OKX: cancelling %s, which this gateway did not place", okx_id)
            track = _Track(
                order.client_order_id,
                okx_id,
                order.symbol,
                order.side,
                status=OrderStatus.ACCEPTED,
                filled=order.filled_qty,
            )
            self._orders[okx_id] = track
        if track.status.is_terminal:
            return
        if track.placing:
            # A cancel racing its own placement would find nothing at OKX and be lost.
            track.cancel_requested = True
            return
        self._spawn(self._cancel(track), f"okx-cancel-{track.okx_id}")

    def order_params(self, order: Order, inst: Instrument, okx_id: str) -> dict[str, Any]:
        """OKX place-order fields for a tradeloop order (wire strings via the Instrument)."""
        spot = inst.kind is InstrumentKind.SPOT
        p: dict[str, Any] = {
            "inst_id": inst.symbol,
            "side": order.side.value,
            "td_mode": self.spot_td_mode if spot else self.derivative_td_mode,
            "cl_ord_id": okx_id,
        }
        if order.order_type is OrderType.MARKET:
            p["ord_type"] = "market"
        else:
            p["ord_type"] = {
                TimeInForce.GTC: "limit",
                TimeInForce.IOC: "ioc",
                TimeInForce.FOK: "fok",
                TimeInForce.POST_ONLY: "post_only",
            }[order.tif]
            p["px"] = inst.format_price(order.price)
        if spot and order.order_type is OrderType.MARKET and order.quote_qty > 0:
            p["sz"] = inst.format_quote(order.quote_qty)
            p["tgt_ccy"] = "quote_ccy"
        else:
            p["sz"] = inst.format_qty(order.qty)
            if spot and order.order_type is OrderType.MARKET:
                p["tgt_ccy"] = "base_ccy"
        if not spot and order.reduce_only:
            p["reduce_only"] = True
        return p

    async def _place(self, order: Order, track: _Track) -> None:
        try:
            await self._place_once(order, track)
        except Exception:
            # A bug, not a venue answer: the request may or may not have gone out, so find
            # out by clOrdId (absent -> REJECTED) instead of leaving the order SUBMITTED.
            log.exception("OKX: placing %s failed unexpectedly; resolving", track.okx_id)
            await self._resolve_unknown(track)
        finally:
            track.placing = False
        if track.cancel_requested and not track.status.is_terminal:
            await self._cancel(track)

    async def _place_once(self, order: Order, track: _Track) -> None:
        inst = self._instruments.get(order.symbol)
        if inst is None:
            why = f"unknown OKX instrument {order.symbol}"
            self._reject(track, why, RejectReason.INVALID_INSTRUMENT)
            return
        problem = order_problem(order)
        if problem is not None:  # NaN, inf, <= 0, None, text: never onto the wire
            self._reject(track, problem[1], problem[0])
            return
        params = self.order_params(order, inst, track.okx_id)
        if params["sz"] == "0":
            why = f"size {order.qty} rounds to 0 lots of {inst.lot_size}"
            self._reject(track, why, RejectReason.INVALID_SIZE)
            return
        if params.get("px") == "0":
            why = f"price {order.price} rounds to 0 ticks of {inst.tick_size}"
            self._reject(track, why, RejectReason.INVALID_PRICE)
            return
        try:
            res = await self.rest.place_order(**params)
        except VenueError as exc:
            if exc.code == C.DUPLICATE_CLORDID or outcome_unknown(exc):
                # Not a refusal: the order may exist (or, for 51016, surely does).
                log.warning("OKX: outcome of %s unknown (%s); resolving", track.okx_id, exc)
                await self._resolve_unknown(track, exists=exc.code == C.DUPLICATE_CLORDID)
                return
            self._reject(track, f"OKX {exc.code}: {exc}", reject_reason(exc))
            return
        track.venue_order_id = str(res.get("ordId", ""))
        if isinstance(res.get("existing"), dict):
            # An earlier attempt landed (duplicate clOrdId): it may already have filled, so
            # bring it up to date the safe way (fills first, then the state).
            try:
                await self._refresh(track)
                return
            except VenueError as exc:
                log.warning("OKX: refresh of %s failed: %s", track.okx_id, exc)
        self._emit_report(
            track,
            OrderReport(
                ts=self.now_ns(),
                client_order_id=track.client_order_id,
                venue_order_id=track.venue_order_id,
                symbol=track.symbol,
                status=OrderStatus.ACCEPTED,
            ),
        )

    async def _resolve_unknown(self, track: _Track, exists: bool = False) -> None:
        """Look the order up by clOrdId until OKX says whether it exists. It is declared
        rejected only after ``RecoveryPolicy.absent_checks`` lookups found nothing (a request
        stuck in the venue's queue may land after the first look), and never when OKX already
        said it exists (``exists``: a 51016 duplicate answer). When the venue stays unreachable
        past the lookup rounds, the lookups go on at the reconcile pace until the reconcile
        deadline; only then is the engine told (``reconcile_failed``): an order in doubt is
        never silently left SUBMITTED."""
        policy = self.recovery
        loop = asyncio.get_running_loop()
        deadline = loop.time() + policy.reconcile_deadline_s
        waits = itertools.chain(delays(policy.lookup_backoff), delays(policy.reconcile_backoff))
        absent = 0
        while True:
            try:
                await self._refresh(track)
                return
            except VenueError as exc:
                if exc.code == C.ORDER_NOT_FOUND and not exists:
                    absent += 1
                    if absent >= self.recovery.absent_checks:
                        why = "not found at OKX after a failed placement"
                        self._reject(track, why, RejectReason.TIMEOUT)
                        return
                else:
                    log.warning("OKX: lookup of %s failed (%s)", track.okx_id, exc)
            wait = next(waits, None)
            if wait is None or loop.time() + wait > deadline:
                break
            await asyncio.sleep(wait)
        log.error("OKX: state of order %s still unknown; reconcile later", track.okx_id)
        self._account_event(
            VenueStatus(
                ts=self.now_ns(),
                venue=self.venue,
                status="reconcile_failed",
                detail=f"{track.okx_id}: placement outcome unknown",
            )
        )

    async def _cancel(self, track: _Track) -> None:
        if track.cancelling:
            return  # the running loop already works on it
        track.cancelling = True
        try:
            await self._cancel_until_settled(track)
        finally:
            track.cancelling = False

    async def _cancel_until_settled(self, track: _Track) -> None:
        """Re-send the cancel until OKX confirms it or the order is known to be finished; past
        the deadline, tell the engine the cancel failed (the order is still working)."""
        policy = self.recovery
        loop = asyncio.get_running_loop()
        deadline = loop.time() + policy.cancel_deadline_s
        rounds = 0
        while not track.status.is_terminal:
            attempt = await self._cancel_once(track)
            if attempt.done or track.status.is_terminal:
                return
            if not attempt.retry:
                self._cancel_failed(track, attempt.reason)
                return
            wait = delay_with_hint(rounds, policy.cancel_backoff, attempt.hint, random.random)
            if loop.time() + wait > deadline:
                self._cancel_failed(
                    track, f"{attempt.reason} (gave up after {policy.cancel_deadline_s:g}s)"
                )
                return
            rounds += 1
            log.warning(
                "OKX: cancel %s not through (%s); round %d in %.2fs",
                track.okx_id,
                attempt.reason,
                rounds + 1,
                wait,
            )
            await asyncio.sleep(wait)

    async def _cancel_once(self, track: _Track) -> _CancelTry:
        try:
            await self.rest.cancel_order(track.symbol, cl_ord_id=track.okx_id)
        except VenueError as exc:
            return await self._after_cancel_error(track, exc)
        if self.private is None or not self.private.connected:
            await self._refresh_quietly(track)  # no push will tell us: ask
        return _CANCEL_DONE

    async def _after_cancel_error(self, track: _Track, exc: VenueError) -> _CancelTry:
        reason = f"OKX {exc.code or 'error'}: {exc}"
        if exc.code in (C.CANCEL_FAILED, C.ORDER_NOT_FOUND):
            # Nothing to cancel: filled, canceled already (maybe by an earlier attempt whose
            # answer was lost) or not there. Only the order's state says which.
            try:
                await self._refresh(track)
            except VenueError as lookup:
                if lookup.code == C.ORDER_NOT_FOUND:  # OKX has no such order: nothing to retry
                    return _CancelTry(done=False, retry=False, reason=f"{reason}; {lookup}")
                log.warning("OKX: refresh of %s failed: %s", track.okx_id, lookup)
            if track.status.is_terminal:
                return _CANCEL_DONE
            return _CancelTry(done=False, retry=True, reason=reason)
        if exc.retryable:
            hint = exc.retry_after if isinstance(exc, RateLimited) else 0.0
            return _CancelTry(done=False, retry=True, reason=reason, hint=hint)
        return _CancelTry(done=False, retry=False, reason=reason)

    def _cancel_failed(self, track: _Track, reason: str) -> None:
        """The cancel did not go through: say so, so the engine does not wait forever in
        PENDING_CANCEL. The report repeats the order's live status (ACCEPTED or
        PARTIALLY_FILLED, which the state machine allows from PENDING_CANCEL) with the reason;
        the engine may then cancel again."""
        log.error("OKX: cancel of %s failed: %s", track.okx_id, reason)
        status = track.status
        if status not in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_FILLED):
            status = OrderStatus.ACCEPTED
        if self._sink is not None:
            self._sink.on_order_report(
                OrderReport(
                    ts=self.now_ns(),
                    client_order_id=track.client_order_id,
                    venue_order_id=track.venue_order_id,
                    symbol=track.symbol,
                    status=status,
                    filled_qty=track.filled,
                    reason=f"cancel failed: {reason}",
                    code=RejectReason.CANCEL_FAILED,
                )
            )

    async def _refresh_quietly(self, track: _Track) -> None:
        try:
            await self._refresh(track)
        except VenueError as exc:
            log.warning("OKX: refresh of %s failed: %s", track.okx_id, exc)

    async def _refresh(self, track: _Track) -> None:
        """Bring one order up to date over REST: missing fills first, then its state."""
        d = await self.rest.get_order(track.symbol, cl_ord_id=track.okx_id)
        acc = P.f(d.get("accFillSz"))
        if acc > track.filled + 1e-12 and d.get("ordId"):
            now = self.now_ns()
            for row in reversed(
                await self.rest.fills(inst_id=track.symbol, ord_id=str(d["ordId"]))
            ):
                self._emit_fill(track, P.parse_fill_row(row, now, track.client_order_id))
        self._emit_report(track, P.parse_order_report(d, self.now_ns(), track.client_order_id))

    async def reconcile(self) -> None:
        """Refresh every tracked non-terminal order over REST (after a private reconnect).

        Lookups that fail are retried in rounds (:attr:`RecoveryPolicy.reconcile_backoff`)
        until every order is refreshed or finished; a fill missed while the socket was down
        must not stay missed because the venue was also busy. Past the deadline the engine is
        told (``VenueStatus("reconcile_failed")``)."""
        policy = self.recovery
        loop = asyncio.get_running_loop()
        deadline = loop.time() + policy.reconcile_deadline_s
        pending = [t for t in self._orders.values() if not t.status.is_terminal]
        rounds = 0
        while pending:
            failed: list[_Track] = []
            hint, reason = 0.0, ""
            for track in pending:
                if track.status.is_terminal:
                    continue  # finished meanwhile (a push, a cancel round)
                try:
                    await self._refresh(track)
                except VenueError as exc:
                    failed.append(track)
                    reason = str(exc)
                    if isinstance(exc, RateLimited):
                        hint = max(hint, exc.retry_after)
            if not failed:
                return
            wait = delay_with_hint(rounds, policy.reconcile_backoff, hint, random.random)
            ids = ", ".join(t.okx_id for t in failed)
            if loop.time() + wait > deadline:
                log.error("OKX: reconcile of %s gave up: %s", ids, reason)
                self._account_event(
                    VenueStatus(
                        ts=self.now_ns(),
                        venue=self.venue,
                        status="reconcile_failed",
                        detail=f"{ids}: {reason}",
                    )
                )
                return
            log.warning("OKX: reconcile of %s failed (%s); round %d in %.2fs", ids, reason,
                        rounds + 1, wait)  # fmt: skip
            rounds += 1
            await asyncio.sleep(wait)
            pending = failed

    async def fetch_open_orders(self, inst_type: str | None = None) -> list[OrderReport]:
        """All open orders at OKX as reports (tradeloop ids where this gateway knows them),
        following pagination."""
        now = self.now_ns()
        out: list[OrderReport] = []
        after: str | None = None
        while True:
            page = await self.rest.orders_pending(inst_type=inst_type, limit=100, after=after)
            for d in page:
                track = self._orders.get(str(d.get("clOrdId")))
                out.append(P.parse_order_report(d, now, track.client_order_id if track else None))
            if len(page) < 100 or not page[-1].get("ordId"):
                return out
            after = str(page[-1]["ordId"])

    async def fetch_balances(self) -> list[BalanceUpdate]:
        return P.parse_balances(await self.rest.balance(), self.now_ns())

    async def fetch_positions(self, inst_type: str | None = None) -> list[PositionUpdate]:
        return P.parse_positions(await self.rest.positions(inst_type=inst_type), self.now_ns())

    # -- DataClient -----------------------------------------------------------------------
    async def subscribe(self, symbol: str, channels: tuple[str, ...]) -> None:
        """Channels: ``trades``, ``quotes`` (``bbo-tbt`` by default), ``tickers``, ``book``,
        ``bars:<interval>`` (candles on the business socket)."""
        public: list[dict[str, str]] = []
        business: list[dict[str, str]] = []
        for ch in channels:
            if ch == "trades":
                public.append({"channel": "trades", "instId": symbol})
            elif ch == "quotes":
                public.append({"channel": self.quote_channel, "instId": symbol})
            elif ch == "tickers":
                public.append({"channel": "tickers", "instId": symbol})
            elif ch == "book":
                public.append({"channel": "books", "instId": symbol})
            elif ch.startswith("bars:"):
                business.append({"channel": "candle" + okx_bar(ch[5:]), "instId": symbol})
            else:
                raise ValueError(f"unknown channel {ch!r}")
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
