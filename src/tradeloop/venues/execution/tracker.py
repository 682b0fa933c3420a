"""Order tracks and the emission rules: what reaches the engine, once, in order.

Every venue delivers the same news several ways — a private push, a REST answer racing it, a
push replayed after a reconnect, a catch-up lookup — and in any order. The engine must see each
fill once and each order move only forwards, so every report and fill passes through
:class:`OrderTracker` before it reaches the :class:`~tradeloop.venues.base.ExecutionSink`:

* a fill whose trade id this order already delivered is dropped;
* a report that would move the order backwards (ACCEPTED after PARTIALLY_FILLED, anything after
  a terminal state), or repeats the state and fill already reported, is dropped;
* finished orders are forgotten after :class:`~.policy.Retention` allows (memory stays bounded
  on long runs); working orders never are.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterator

from tradeloop.core.log import get_logger
from tradeloop.model import Fill, FundingPaid, OrderReport, OrderStatus
from tradeloop.venues.base import ExecutionSink
from tradeloop.venues.execution.hooks import OrderTrack
from tradeloop.venues.execution.policy import DEFAULT_RETENTION, Retention

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


def rank(status: OrderStatus) -> int:
    """How far along an order is; reports may only keep or raise it."""
    return _TERMINAL_RANK if status.is_terminal else _RANK[status]


def live_status(track: OrderTrack) -> OrderStatus:
    """The working state to repeat in a failed-cancel/amend report: ACCEPTED or
    PARTIALLY_FILLED (the states the order machine allows from PENDING_CANCEL/AMEND)."""
    if track.status is OrderStatus.PARTIALLY_FILLED:
        return track.status
    return OrderStatus.ACCEPTED


class OrderTracker:
    """Tracks by venue client id, the emission rules, and pruning (see the module docstring)."""

    def __init__(
        self,
        retention: Retention = DEFAULT_RETENTION,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.retention = retention
        self.monotonic = monotonic
        self.sink: ExecutionSink | None = None
        self._tracks: dict[str, OrderTrack] = {}
        #: venue client id -> when it finished (insertion order is finishing order)
        self._finished: OrderedDict[str, float] = OrderedDict()
        #: finished tracks forgotten so far (monitoring, tests)
        self.pruned = 0
        #: funding payment ids and venue-made fills' trade ids delivered (bounded: the
        #: oldest go first)
        self._funding: OrderedDict[str, None] = OrderedDict()
        self._venue_fills: OrderedDict[str, None] = OrderedDict()

    # -- lookup ---------------------------------------------------------------------------
    def get(self, venue_client_id: str) -> OrderTrack | None:
        return self._tracks.get(venue_client_id)

    def add(self, track: OrderTrack) -> OrderTrack:
        self._tracks[track.venue_client_id] = track
        if track.status.is_terminal:
            self._finish(track)
        return track

    def __len__(self) -> int:
        return len(self._tracks)

    def __iter__(self) -> Iterator[OrderTrack]:
        return iter(list(self._tracks.values()))

    def working(self) -> list[OrderTrack]:
        return [t for t in self._tracks.values() if not t.status.is_terminal]

    @property
    def finished_count(self) -> int:
        return len(self._finished)

    # -- emission rules ---------------------------------------------------------------------
    def fill(self, track: OrderTrack, fill: Fill) -> bool:
        """Deliver ``fill`` unless this order already delivered its trade id."""
        if fill.trade_id in track.trade_ids:
            return False
        track.trade_ids.add(fill.trade_id)
        if self.sink is not None:
            self.sink.on_fill(fill)
        return True

    def report(self, track: OrderTrack, report: OrderReport) -> bool:
        """Deliver ``report`` unless it moves the order backwards or repeats what was said."""
        if report.venue_order_id:
            track.venue_order_id = report.venue_order_id
        new, old = rank(report.status), rank(track.status)
        if old == _TERMINAL_RANK or new < old:
            return False
        if report.status is track.status and report.filled_qty <= track.filled:
            return False
        track.status = report.status
        track.filled = max(track.filled, report.filled_qty)
        if self.sink is not None:
            self.sink.on_order_report(report)
        if new == _TERMINAL_RANK:
            self._finish(track)
        return True

    def venue_fill(self, fill: Fill) -> bool:
        """Deliver a fill the venue made on its own (a liquidation: no order of ours behind
        it, ``client_order_id`` empty) unless its trade id was delivered already. It has no
        track to remember it by, so its id is kept in a bounded set of its own."""
        if self.sink is None or not self._first(self._venue_fills, fill.trade_id):
            return False  # (unbound: not marked seen, so a later read still delivers it)
        self.sink.on_fill(fill)
        return True

    def funding(self, payment: FundingPaid) -> bool:
        """Deliver a funding payment unless its id was delivered already (the push and a
        REST catch-up both carry it); the journal makes it once across restarts."""
        if self.sink is None or not self._first(self._funding, payment.payment_id):
            return False  # (unbound: not marked seen, so a later read still delivers it)
        self.sink.on_funding(payment)
        return True

    def _first(self, seen: OrderedDict[str, None], key: str) -> bool:
        """Whether ``key`` is new to ``seen`` (then remembered; the oldest go past the
        retention's count)."""
        if key in seen:
            return False
        seen[key] = None
        while len(seen) > self.retention.max_finished:
            seen.popitem(last=False)
        return True

    def tell(self, report: OrderReport) -> None:
        """Deliver a report outside the rules: the outcome of our own cancel or amend, which
        repeats the order's working state on purpose (so the engine leaves PENDING_*)."""
        if self.sink is not None:
            self.sink.on_order_report(report)

    # -- pruning ----------------------------------------------------------------------------
    def _finish(self, track: OrderTrack) -> None:
        now = self.monotonic()
        self._finished[track.venue_client_id] = now
        self._finished.move_to_end(track.venue_client_id)
        self.prune(now)

    def prune(self, now: float | None = None) -> int:
        """Forget finished orders past the retention horizon or over the count; returns how
        many went. Runs on every finish (amortised O(1)); call it to prune while idle."""
        now = self.monotonic() if now is None else now
        oldest = now - self.retention.finished_horizon_s
        limit = self.retention.max_finished
        gone = 0
        finished = self._finished
        while finished:
            vcid, at = next(iter(finished.items()))
            if len(finished) <= limit and at >= oldest:
                break
            del finished[vcid]
            track = self._tracks.get(vcid)
            if track is not None and track.status.is_terminal:
                del self._tracks[vcid]
                gone += 1
        self.pruned += gone
        if gone:
            log.debug("forgot %d finished order(s); %d tracked", gone, len(self._tracks))
        return gone
