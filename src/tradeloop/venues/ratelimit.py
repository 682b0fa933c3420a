"""Client-side rate limiting: token buckets keyed per endpoint group, plus server hints.

Throttling ourselves is cheaper than being throttled: an exchange that answers 429 (OKX 50011)
may also start banning. Each group (e.g. an OKX REST path, optionally per instrument) has its
own bucket refilled continuously at ``limit / period``. A request pays one or more
:class:`Charge` s — several tokens when the venue counts items rather than requests (OKX batch
orders), several buckets when more than one rule applies to it. Time and sleep are injectable
so the behaviour is testable without real waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

TimeSource = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Limit:
    """``count`` requests per ``period`` seconds (the exchange's published rule)."""

    count: int
    period: float

    def __post_init__(self) -> None:
        if self.count <= 0 or self.period <= 0:
            raise ValueError(f"invalid limit {self!r}")

    @property
    def rate(self) -> float:
        return self.count / self.period


#: A deficit below this many tokens counts as none. Refills are float arithmetic: after
#: sleeping exactly the computed wait, the bucket can still be 1e-14 short, and the wait for
#: that (1e-16 s) may not even move the clock — the caller would sleep forever.
_TOKEN_TOLERANCE = 1e-9


@dataclass(frozen=True, slots=True)
class Charge:
    """What one request takes from one bucket: ``cost`` tokens of ``(group, key)``."""

    group: str
    key: str = ""
    cost: float = 1.0

    def __post_init__(self) -> None:
        if self.cost <= 0:
            raise ValueError(f"invalid charge {self!r}")


class TokenBucket:
    """Holds up to ``capacity`` tokens, refilled at ``rate`` per second; starts full."""

    __slots__ = ("_blocked_until", "_stamp", "_tokens", "capacity", "rate")

    def __init__(self, capacity: float, rate: float, now: float) -> None:
        self.capacity = capacity
        self.rate = rate
        self._tokens = capacity
        self._stamp = now
        self._blocked_until = 0.0

    def _refill(self, now: float) -> None:
        if now > self._stamp:
            self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now

    def wait_time(self, now: float, cost: float = 1.0) -> float:
        """Seconds until ``cost`` tokens are available (0 = now). A cost above the capacity
        is treated as the full capacity (it could never be met otherwise)."""
        self._refill(now)
        cost = min(cost, self.capacity)
        blocked = max(0.0, self._blocked_until - now)
        missing = cost - self._tokens
        return max(blocked, missing / self.rate if missing > _TOKEN_TOLERANCE else 0.0)

    def try_take(self, now: float, cost: float = 1.0) -> bool:
        if self.wait_time(now, cost) > 0:
            return False
        self._tokens -= min(cost, self.capacity)
        return True

    def block(self, now: float, seconds: float) -> None:
        """The server told us to back off: take nothing until ``now + seconds``, and drain the
        bucket so we do not burst the moment the block lifts."""
        self._refill(now)
        self._blocked_until = max(self._blocked_until, now + seconds)
        self._tokens = 0.0


class RateLimiter:
    """Token buckets per ``(group, key)``; the group picks the :class:`Limit`, the key splits
    it further (OKX's order limits are per instrument)."""

    def __init__(
        self,
        limits: Mapping[str, Limit],
        default: Limit | None = None,
        *,
        clock: TimeSource = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._limits = dict(limits)
        self._default = default
        self._clock = clock
        self._sleep = sleep
        self._buckets: dict[tuple[str, str], TokenBucket] = {}

    def _bucket(self, group: str, key: str) -> TokenBucket | None:
        b = self._buckets.get((group, key))
        if b is None:
            limit = self._limits.get(group, self._default)
            if limit is None:
                return None
            b = TokenBucket(limit.count, limit.rate, self._clock())
            self._buckets[(group, key)] = b
        return b

    def wait_time(self, group: str, key: str = "", cost: float = 1.0) -> float:
        b = self._bucket(group, key)
        return 0.0 if b is None else b.wait_time(self._clock(), cost)

    def try_acquire(self, group: str, key: str = "", cost: float = 1.0) -> bool:
        b = self._bucket(group, key)
        return True if b is None else b.try_take(self._clock(), cost)

    async def acquire(self, group: str, key: str = "", cost: float = 1.0) -> float:
        """Wait until the request may go; returns the total seconds waited."""
        b = self._bucket(group, key)
        if b is None:
            return 0.0
        waited = 0.0
        while True:
            now = self._clock()
            wait = b.wait_time(now, cost)
            if wait <= 0:
                b.try_take(now, cost)
                return waited
            await self._sleep(wait)
            waited += wait

    async def acquire_all(self, charges: Iterable[Charge]) -> float:
        """Pay every charge (in order, waiting as needed); returns the total seconds waited.
        Tokens taken early are not returned while a later bucket is waited for: the request
        is committed to go, and holding them keeps the earlier limit honest."""
        waited = 0.0
        for c in charges:
            waited += await self.acquire(c.group, c.key, c.cost)
        return waited

    def penalize(self, group: str, seconds: float, key: str = "") -> None:
        """Apply a server "retry after" hint to a group."""
        b = self._bucket(group, key)
        if b is not None and seconds > 0:
            b.block(self._clock(), seconds)


def parse_retry_after(headers: Mapping[str, str], now_epoch: float | None = None) -> float:
    """Seconds the server asked us to wait, 0 when it gave no usable hint.

    Understands ``Retry-After`` as delta-seconds or an HTTP-date, and the common
    ``X-RateLimit-Reset-After`` / ``RateLimit-Reset`` delta-seconds variants. Header lookup is
    case-insensitive (aiohttp's CIMultiDict already is; plain dicts are handled too).
    """
    lowered = {k.lower(): v for k, v in headers.items()}
    for name in ("retry-after", "x-ratelimit-reset-after", "ratelimit-reset"):
        raw = lowered.get(name)
        if raw is None:
            continue
        raw = raw.strip()
        try:
            return max(0.0, float(raw))
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(raw).timestamp()
        except (TypeError, ValueError, IndexError):
            continue
        now = time.time() if now_epoch is None else now_epoch
        return max(0.0, when - now)
    return 0.0
