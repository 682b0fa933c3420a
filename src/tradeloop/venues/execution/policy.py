"""How hard the order lifecycle keeps at a request, and how long it remembers finished orders.

Two knobs, kept apart because they answer different questions: :class:`RecoveryPolicy` is about
money safety (a cancel or a placement in doubt is never given up silently), :class:`Retention`
about memory (a live run of weeks must not keep every order it ever placed).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from tradeloop.venues.retry import RetryConfig

#: Cancel (and amend) rounds: 0.1 s floor, ceilings 0.5 s doubling to 5 s (full jitter).
CANCEL_BACKOFF: Final = RetryConfig(max_attempts=0, base=0.5, cap=5.0, min_delay=0.1)
#: Lookups of an order in doubt: 6 tries over roughly 10 s at most.
LOOKUP_BACKOFF: Final = RetryConfig(max_attempts=6, base=0.5, cap=4.0, min_delay=0.25)
#: Rounds of the post-reconnect catch-up for orders whose lookups failed (deadline-bounded).
RECONCILE_BACKOFF: Final = RetryConfig(max_attempts=0, base=0.5, cap=10.0, min_delay=0.25)


@dataclass(frozen=True, slots=True)
class RecoveryPolicy:
    """How hard the lifecycle keeps at an order operation whose answers went missing.

    The REST transport already retries each request a few times (``DEFAULT_RETRY``, about 2 s
    in all); a 429 storm or an outage can outlast that. These rounds sit on top, for the
    operations that must never be given up silently:

    * a **cancel** is idempotent at every venue we speak (a repeat is answered "already
      finished" or "not found"), so it is re-sent with ``cancel_backoff`` until the venue
      confirms it, the order is known to be finished, or ``cancel_deadline_s`` has passed;
      only then is the engine told it failed. ``cancel_backoff.max_attempts`` is ignored: the
      deadline bounds the rounds. An **amend** names absolute size/price, so re-sending it is
      harmless too; it follows the same rounds and deadline;
    * a **lookup** of an order whose placement outcome is unknown (timeout, lost answer) is
      repeated with ``lookup_backoff`` until the venue says whether the order exists; it counts
      as absent (rejected) only after ``absent_checks`` lookups found nothing, because a request
      that timed out may still be queued at the venue and land after the first look. Past the
      lookup rounds it goes on at the reconcile pace until ``reconcile_deadline_s``;
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


DEFAULT_RECOVERY: Final = RecoveryPolicy()


@dataclass(frozen=True, slots=True)
class Retention:
    """How long finished orders stay tracked.

    A finished order is kept for a while only so that late news about it is recognised: a push
    replayed after a reconnect, a REST answer that lost the race with the socket, a fill that
    arrives after the final report. Such news comes within seconds; an hour is ample. Past
    ``finished_horizon_s``, or when more than ``max_finished`` finished orders are held (oldest
    first), a finished order is forgotten — news of it after that would be treated as news of an
    order placed elsewhere. Working orders are never pruned.
    """

    finished_horizon_s: float = 3600.0
    max_finished: int = 10_000

    def __post_init__(self) -> None:
        if self.finished_horizon_s < 0 or self.max_finished < 0:
            raise ValueError("finished_horizon_s and max_finished must be >= 0")


DEFAULT_RETENTION: Final = Retention()
