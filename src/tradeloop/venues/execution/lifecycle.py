"""OrderLifecycle: the venue-neutral half of a gateway's order handling.

The engine is synchronous; a venue is asyncio. :meth:`OrderLifecycle.submit`, ``cancel`` and
``amend`` only schedule tasks and return; outcomes reach the ``ExecutionSink`` through the
:class:`~.tracker.OrderTracker` rules. What the lifecycle guarantees, for every venue:

* an order whose placement outcome is unknown (timeout, lost answer, a retry answered
  "duplicate client id") is never reported rejected on a guess: it is looked up by client id
  until the venue says whether it exists (absent only after ``absent_checks`` empty looks),
  then at the reconcile pace until the deadline, then ``VenueStatus("reconcile_failed")``;
* a cancel is never dropped: re-sent until confirmed, the order is known finished, or the
  deadline passes — then an explicit CANCEL_FAILED report; a cancel asked while the placement
  is in flight is held and sent once it lands (else it would find nothing and be lost);
* a cancel or amend of an order this process never placed (a previous process's) adopts it by
  its client id instead of dropping the request;
* after a private-stream reconnect, :meth:`reconcile` refreshes every working order over REST
  (missed fills first, then state) in rounds until done or the deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from tradeloop.core.errors import VenueError
from tradeloop.core.log import get_logger
from tradeloop.model import (
    Fill,
    Order,
    OrderReport,
    OrderStatus,
    RejectReason,
    Side,
    VenueStatus,
)
from tradeloop.venues.base import ExecutionSink
from tradeloop.venues.execution.checks import amend_problem, preflight
from tradeloop.venues.execution.hooks import ErrorKind, OrderTrack, VenueHooks, Verdict
from tradeloop.venues.execution.policy import (
    DEFAULT_RECOVERY,
    DEFAULT_RETENTION,
    RecoveryPolicy,
    Retention,
)
from tradeloop.venues.execution.tracker import OrderTracker, live_status
from tradeloop.venues.outcomes import UnknownOutcome
from tradeloop.venues.retry import delay_with_hint, delays

log = get_logger(__name__)

_GONE = frozenset({ErrorKind.NOT_FOUND, ErrorKind.FINISHED})


@dataclass(frozen=True, slots=True)
class _Try:
    """Outcome of one cancel/amend round: finished, worth another round, or hopeless."""

    done: bool
    retry: bool = False
    reason: str = ""
    hint: float = 0.0  # the venue's retry-after, seconds
    code: RejectReason = RejectReason.OTHER


_DONE = _Try(done=True)


class OrderLifecycle:
    """One venue's orders (see the module docstring). The gateway owns one, hands it its
    :class:`VenueHooks`, feeds it pushes through :meth:`push_track` / :meth:`fill` /
    :meth:`report`, and calls :meth:`reconcile` after its private stream reconnects."""

    def __init__(
        self,
        hooks: VenueHooks,
        *,
        recovery: RecoveryPolicy = DEFAULT_RECOVERY,
        retention: Retention = DEFAULT_RETENTION,
        now_ns: Callable[[], int] = time.time_ns,
        monotonic: Callable[[], float] = time.monotonic,
        on_status: Callable[[VenueStatus], None] | None = None,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.hooks = hooks
        self.venue = hooks.venue
        self.recovery = recovery
        self.now_ns = now_ns
        self.on_status = on_status
        self.rng = rng
        self.tracker = OrderTracker(retention, monotonic)
        self.tasks: set[asyncio.Task[Any]] = set()

    # -- plumbing -------------------------------------------------------------------------
    def bind(self, sink: ExecutionSink) -> None:
        self.tracker.sink = sink

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s task %s failed", self.venue, task.get_name(), exc_info=task.exception())

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait for scheduled order tasks (and the ones they start) to finish."""
        while self.tasks:
            await asyncio.wait_for(
                asyncio.gather(*list(self.tasks), return_exceptions=True), timeout
            )

    async def close(self) -> None:
        """Stop every running order task (shutdown: the venue connection goes next)."""
        for t in list(self.tasks):
            t.cancel()
        for t in list(self.tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t

    def _status(self, status: str, detail: str) -> None:
        if self.on_status is not None:
            self.on_status(VenueStatus(self.now_ns(), self.venue, status, detail))

    def _describe(self, exc: VenueError) -> str:
        return f"{self.venue} {exc.code or 'error'}: {exc}"

    # -- tracks ---------------------------------------------------------------------------
    def track(self, client_order_id: str) -> OrderTrack | None:
        return self.tracker.get(self.hooks.venue_client_id(client_order_id))

    def client_id_of(self, venue_client_id: str) -> str | None:
        """The tradeloop id behind a venue client id, when this lifecycle tracks the order."""
        t = self.tracker.get(venue_client_id)
        return t.client_order_id if t is not None else None

    def push_track(self, venue_client_id: str, native: str, side: Side) -> OrderTrack:
        """The track a pushed order update belongs to; one placed elsewhere (another session,
        the venue's web UI) is adopted under its venue client id, so it is still reported."""
        track = self.tracker.get(venue_client_id)
        if track is None:
            sym = self.hooks.symbol_id(native)
            track = OrderTrack(venue_client_id, venue_client_id, sym, side, adopted=True)
            self.tracker.add(track)
        return track

    def adopt(self, order: Order) -> OrderTrack:
        """Track an order this process did not place (e.g. a previous process placed it), so a
        cancel or amend still reaches the venue by client id and its outcome is reported."""
        vcid = self.hooks.venue_client_id(order.client_order_id)
        log.info("%s: taking over %s, which this gateway did not place", self.venue, vcid)
        status = order.status if order.status.is_open else OrderStatus.ACCEPTED
        if status in (OrderStatus.PENDING_CANCEL, OrderStatus.PENDING_AMEND):
            status = OrderStatus.PARTIALLY_FILLED if order.filled_qty else OrderStatus.ACCEPTED
        track = OrderTrack(
            order.client_order_id,
            vcid,
            order.symbol,
            order.side,
            status=status,
            filled=order.filled_qty,
            venue_order_id=order.venue_order_id,
            adopted=True,
        )
        return self.tracker.add(track)

    def fill(self, track: OrderTrack, fill: Fill) -> bool:
        """A pushed fill, through the emission rules (delivered once per trade id)."""
        return self.tracker.fill(track, fill)

    def report(self, track: OrderTrack, report: OrderReport) -> bool:
        """A pushed report, through the emission rules (never backwards)."""
        return self.tracker.report(track, report)

    def _reject(self, track: OrderTrack, reason: str, code: RejectReason) -> None:
        self.tracker.report(
            track,
            OrderReport(
                self.now_ns(), track.client_order_id, track.venue_order_id, track.symbol,
                OrderStatus.REJECTED, reason=reason, code=code,
            ),
        )  # fmt: skip

    # -- engine requests ------------------------------------------------------------------
    def submit(self, order: Order) -> None:
        vcid = self.hooks.venue_client_id(order.client_order_id)
        if self.tracker.get(vcid) is not None:
            log.warning("%s: %s already submitted; ignoring the duplicate", self.venue, vcid)
            return
        track = OrderTrack(order.client_order_id, vcid, order.symbol, order.side, placing=True)
        self.tracker.add(track)
        self._spawn(self._place(order, track), f"{self.venue}-place-{vcid}")

    def _track_for_request(self, order: Order) -> OrderTrack | None:
        track = self.track(order.client_order_id)
        if track is None:
            if order.is_terminal:
                return None
            track = self.adopt(order)
        return None if track.status.is_terminal else track

    def cancel(self, order: Order) -> None:
        track = self._track_for_request(order)
        if track is None:
            return
        if track.placing:
            # A cancel racing its own placement would find nothing at the venue and be lost.
            track.cancel_requested = True
            return
        self._spawn(self._cancel(track), f"{self.venue}-cancel-{track.venue_client_id}")

    def amend(self, order: Order, qty: float | None = None, price: float | None = None) -> None:
        track = self._track_for_request(order)
        if track is None:
            return
        if track.placing or track.amending:
            track.amend_requested = (qty, price)  # the latest wish wins
            return
        self._spawn(self._amend(track, qty, price), f"{self.venue}-amend-{track.venue_client_id}")

    # -- placing ----------------------------------------------------------------------------
    async def _place(self, order: Order, track: OrderTrack) -> None:
        try:
            await self._place_once(order, track)
        except Exception:
            # A bug, not a venue answer: the request may or may not have gone out, so find
            # out by client id (absent -> REJECTED) instead of leaving the order SUBMITTED.
            vcid = track.venue_client_id
            log.exception("%s: placing %s failed unexpectedly; resolving", self.venue, vcid)
            await self._resolve_unknown(track)
        finally:
            track.placing = False
        if track.status.is_terminal:
            return
        if track.cancel_requested:
            await self._cancel(track)
        elif track.amend_requested is not None:
            qty, price = track.amend_requested
            track.amend_requested = None
            await self._amend(track, qty, price)

    async def _place_once(self, order: Order, track: OrderTrack) -> None:
        problem = preflight(order, self.hooks)
        if problem is not None:
            self._reject(track, problem[1], problem[0])
            return
        try:
            ack = await self.hooks.place(order, track)
        except VenueError as exc:
            verdict = self.hooks.classify(exc)
            if isinstance(exc, UnknownOutcome) and verdict.kind is not ErrorKind.DUPLICATE_ID:
                # an earlier attempt may have run, whatever the last answer's code says (a
                # venue's table may read that code -- a rate limit, "overloaded" -- as "not run")
                verdict = Verdict(ErrorKind.UNKNOWN_OUTCOME)
            if verdict.kind in (ErrorKind.DUPLICATE_ID, ErrorKind.UNKNOWN_OUTCOME):
                # Not a refusal: the order may exist (or, for a duplicate, surely does).
                vcid = track.venue_client_id
                log.warning("%s: outcome of %s unknown (%s); resolving", self.venue, vcid, exc)
                await self._resolve_unknown(track, exists=verdict.kind is ErrorKind.DUPLICATE_ID)
                return
            self._reject(track, self._describe(exc), verdict.reason)
            return
        if ack.venue_order_id:
            track.venue_order_id = ack.venue_order_id
        if ack.existing:
            # An earlier attempt landed: it may already have filled, so bring it up to date
            # the safe way (fills first, then the state).
            try:
                await self._refresh(track)
                return
            except VenueError as exc:
                log.warning("%s: refresh of %s failed: %s", self.venue, track.venue_client_id, exc)
        self.tracker.report(
            track,
            OrderReport(self.now_ns(), track.client_order_id, track.venue_order_id, track.symbol,
                        OrderStatus.ACCEPTED),
        )  # fmt: skip

    async def _resolve_unknown(self, track: OrderTrack, exists: bool = False) -> None:
        """Look the order up by client id until the venue says whether it exists. It is
        declared rejected only after ``absent_checks`` lookups found nothing (a request stuck in
        the venue's queue may land after the first look), and never when the venue already said
        it exists (``exists``: a duplicate-id answer). Past the lookup rounds the lookups go on
        at the reconcile pace until the reconcile deadline; only then is the engine told
        (``reconcile_failed``): an order in doubt is never silently left SUBMITTED."""
        policy = self.recovery
        loop = asyncio.get_running_loop()
        deadline = loop.time() + policy.reconcile_deadline_s
        waits = itertools.chain(
            delays(policy.lookup_backoff, self.rng), delays(policy.reconcile_backoff, self.rng)
        )
        absent = 0
        while True:
            try:
                await self._refresh(track)
                return
            except VenueError as exc:
                if self.hooks.classify(exc).kind is ErrorKind.NOT_FOUND and not exists:
                    absent += 1
                    if absent >= policy.absent_checks:
                        why = f"not found at {self.venue} after a failed placement"
                        self._reject(track, why, RejectReason.TIMEOUT)
                        return
                else:
                    log.warning(
                        "%s: lookup of %s failed (%s)", self.venue, track.venue_client_id, exc
                    )
            wait = next(waits, None)
            if wait is None or loop.time() + wait > deadline:
                break
            await asyncio.sleep(wait)
        log.error(
            "%s: state of order %s still unknown; reconcile later",
            self.venue,
            track.venue_client_id,
        )
        self._status("reconcile_failed", f"{track.venue_client_id}: placement outcome unknown")

    # -- cancel -----------------------------------------------------------------------------
    async def _cancel(self, track: OrderTrack) -> None:
        if track.cancelling:
            return  # the running loop already works on it
        track.cancelling = True
        try:
            attempt = await self._until_settled(track, self._cancel_once, "cancel")
            if attempt is not None:
                self._cancel_failed(track, attempt.reason)
        finally:
            track.cancelling = False

    async def _until_settled(
        self, track: OrderTrack, once: Callable[[OrderTrack], Coroutine[Any, Any, _Try]], what: str
    ) -> _Try | None:
        """Re-send a cancel/amend until it is through or the order is finished (None), or it is
        hopeless or the deadline passed (the failed attempt, reason saying so)."""
        policy = self.recovery
        loop = asyncio.get_running_loop()
        deadline = loop.time() + policy.cancel_deadline_s
        rounds = 0
        while not track.status.is_terminal:
            attempt = await once(track)
            if attempt.done or track.status.is_terminal:
                return None
            if not attempt.retry:
                return attempt
            wait = delay_with_hint(rounds, policy.cancel_backoff, attempt.hint, self.rng)
            if loop.time() + wait > deadline:
                why = f"{attempt.reason} (gave up after {policy.cancel_deadline_s:g}s)"
                return _Try(done=False, reason=why, code=attempt.code)
            rounds += 1
            log.warning("%s: %s %s not through (%s); round %d in %.2fs", self.venue, what,
                        track.venue_client_id, attempt.reason, rounds + 1, wait)  # fmt: skip
            await asyncio.sleep(wait)
        return None

    async def _cancel_once(self, track: OrderTrack) -> _Try:
        try:
            await self.hooks.cancel(track)
        except VenueError as exc:
            return await self._after_error(track, exc, retry_live=True)
        if not self.hooks.streaming():
            await self._refresh_quietly(track)  # no push will tell us: ask
        return _DONE

    async def _after_error(self, track: OrderTrack, exc: VenueError, retry_live: bool) -> _Try:
        """Shared by cancel and amend: what a refused request means for the next round.
        ``retry_live``: whether a "finished/not found" answer about an order that turns out to
        be working is worth another round (a cancel: yes; an amend: the venue refused it)."""
        reason = self._describe(exc)
        verdict = self.hooks.classify(exc)
        if verdict.kind in _GONE:
            # Nothing to act on: filled, canceled already (maybe by an earlier attempt whose
            # answer was lost) or not there. Only the order's state says which.
            try:
                await self._refresh(track)
            except VenueError as lookup:
                if self.hooks.classify(lookup).kind is ErrorKind.NOT_FOUND:
                    # the venue has no such order: nothing to retry
                    why = f"{reason}; {lookup}"
                    return _Try(False, False, why, code=RejectReason.ORDER_NOT_FOUND)
                vcid = track.venue_client_id
                log.warning("%s: refresh of %s failed: %s", self.venue, vcid, lookup)
            else:
                if not retry_live and not track.status.is_terminal:
                    return _Try(False, False, reason, code=RejectReason.OTHER)
            if track.status.is_terminal:
                return _DONE
            return _Try(False, True, reason, code=verdict.reason)
        if verdict.retryable:
            return _Try(False, True, reason, verdict.retry_after, verdict.reason)
        return _Try(False, False, reason, code=verdict.reason)

    def _cancel_failed(self, track: OrderTrack, reason: str) -> None:
        """The cancel did not go through: say so, so the engine does not wait forever in
        PENDING_CANCEL. The report repeats the order's working status with the reason and the
        CANCEL_FAILED code; the engine may then cancel again."""
        log.error("%s: cancel of %s failed: %s", self.venue, track.venue_client_id, reason)
        self.tracker.tell(
            OrderReport(
                self.now_ns(), track.client_order_id, track.venue_order_id, track.symbol,
                live_status(track), track.filled, reason=f"cancel failed: {reason}",
                code=RejectReason.CANCEL_FAILED,
            )
        )  # fmt: skip

    # -- amend ------------------------------------------------------------------------------
    async def _amend(self, track: OrderTrack, qty: float | None, price: float | None) -> None:
        """Send one amend (re-sent while the venue is busy), then any asked meanwhile. The
        engine hears the outcome as a report repeating the working state: reason ``amended``,
        or ``amend failed: ...`` with the refusal's code. A terminal state instead, if the
        order finished first."""
        track.amending = True
        try:
            wish: tuple[float | None, float | None] | None = (qty, price)
            while wish is not None and not track.status.is_terminal and not track.cancel_requested:
                await self._amend_one(track, *wish)
                wish, track.amend_requested = track.amend_requested, None
        finally:
            track.amending = False

    async def _amend_one(self, track: OrderTrack, qty: float | None, price: float | None) -> None:
        problem = amend_problem(qty, price, self.hooks.instrument(track.symbol))
        if problem is not None:
            self._amend_result(track, f"amend failed: {problem[1]}", problem[0])
            return

        async def once(t: OrderTrack) -> _Try:
            try:
                await self.hooks.amend(t, qty, price)
            except VenueError as exc:
                return await self._after_error(t, exc, retry_live=False)
            return _DONE

        attempt = await self._until_settled(track, once, "amend")
        if track.status.is_terminal:
            return  # the terminal report already ended the engine's PENDING_AMEND
        if attempt is None:
            self._amend_result(track, f"amended qty={qty} price={price}", RejectReason.NONE)
        else:
            log.warning(
                "%s: amend of %s failed: %s", self.venue, track.venue_client_id, attempt.reason
            )
            self._amend_result(track, f"amend failed: {attempt.reason}", attempt.code)

    def _amend_result(self, track: OrderTrack, reason: str, code: RejectReason) -> None:
        self.tracker.tell(
            OrderReport(
                self.now_ns(), track.client_order_id, track.venue_order_id, track.symbol,
                live_status(track), track.filled, reason=reason, code=code,
            )
        )  # fmt: skip

    # -- lookups ----------------------------------------------------------------------------
    async def _refresh_quietly(self, track: OrderTrack) -> None:
        try:
            await self._refresh(track)
        except VenueError as exc:
            log.warning("%s: refresh of %s failed: %s", self.venue, track.venue_client_id, exc)

    async def _refresh(self, track: OrderTrack) -> None:
        """Bring one order up to date over REST: missing fills first, then its state."""
        report = await self.hooks.fetch_order(track)
        if report.venue_order_id:
            track.venue_order_id = report.venue_order_id
        if report.filled_qty > track.filled + 1e-12 and track.venue_order_id:
            for fill in await self.hooks.fetch_fills(track):
                self.tracker.fill(track, fill)
        self.tracker.report(track, report)

    async def refresh(self, track: OrderTrack) -> None:
        """:meth:`_refresh` for gateways (raises the venue's error)."""
        await self._refresh(track)

    def run_later(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        """Run ``coro`` as one of the lifecycle's tasks (``drain`` waits for it, ``close``
        ends it): a venue's own catch-up work started from a stream callback."""
        self._spawn(coro, name)

    def reconcile_later(self) -> None:
        """Schedule :meth:`reconcile` (from a stream callback, which cannot await)."""
        self._spawn(self.reconcile(), f"{self.venue}-reconcile")

    async def reconcile(self) -> None:
        """Refresh every working order over REST (after a private reconnect: the fills and
        states missed while the socket was down).

        Lookups that fail are retried in rounds (``RecoveryPolicy.reconcile_backoff``) until
        every order is refreshed or finished; a fill missed while the socket was down must not
        stay missed because the venue was also busy. Past the deadline the engine is told
        (``VenueStatus("reconcile_failed")``)."""
        policy = self.recovery
        loop = asyncio.get_running_loop()
        deadline = loop.time() + policy.reconcile_deadline_s
        pending = self.tracker.working()
        rounds = 0
        while pending:
            failed: list[OrderTrack] = []
            hint, reason = 0.0, ""
            for track in pending:
                if track.status.is_terminal:
                    continue  # finished meanwhile (a push, a cancel round)
                try:
                    await self._refresh(track)
                except VenueError as exc:
                    failed.append(track)
                    reason = str(exc)
                    hint = max(hint, self.hooks.classify(exc).retry_after)
            if not failed:
                return
            wait = delay_with_hint(rounds, policy.reconcile_backoff, hint, self.rng)
            ids = ", ".join(t.venue_client_id for t in failed)
            if loop.time() + wait > deadline:
                log.error("%s: reconcile of %s gave up: %s", self.venue, ids, reason)
                self._status("reconcile_failed", f"{ids}: {reason}")
                return
            log.warning("%s: reconcile of %s failed (%s); round %d in %.2fs", self.venue, ids,
                        reason, rounds + 1, wait)  # fmt: skip
            rounds += 1
            await asyncio.sleep(wait)
            pending = failed
