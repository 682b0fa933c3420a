"""Retry backoff as pure functions.

Exponential backoff with *full jitter* (delay drawn uniformly from ``[0, ceiling]``) spreads
reconnects of many clients after an outage instead of having them stampede together. Everything
is pure and takes the random source as a parameter so tests are deterministic.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

Rng = Callable[[], float]  # returns a float in [0, 1)


@dataclass(frozen=True, slots=True)
class RetryConfig:
    """``max_attempts`` counts the first try (1 = never retry; 0 = retry forever, for sockets).

    Attempt ``n`` (0-based retry index) waits ``uniform(0, min(cap, base * factor**n))``, never
    less than ``min_delay`` (a floor keeps a reconnect loop from spinning on a dead host).
    """

    max_attempts: int = 4
    base: float = 0.25
    factor: float = 2.0
    cap: float = 10.0
    min_delay: float = 0.0

    def __post_init__(self) -> None:
        if self.max_attempts < 0 or self.base < 0 or self.factor < 1 or self.cap < 0:
            raise ValueError(f"invalid RetryConfig {self!r}")
        if self.min_delay > self.cap:
            raise ValueError("min_delay must not exceed cap")


def backoff_ceiling(retry: int, cfg: RetryConfig) -> float:
    """Upper bound of the wait before retry number ``retry`` (0-based)."""
    if retry < 0:
        raise ValueError("retry index must be >= 0")
    # Clamp the exponent so huge retry counts cannot overflow a float.
    exp = min(retry, 64)
    return min(cfg.cap, cfg.base * cfg.factor**exp)


def backoff_delay(retry: int, cfg: RetryConfig, rng: Rng = random.random) -> float:
    """Full-jitter delay before retry number ``retry``; a server hint is applied separately
    (see :func:`delay_with_hint`)."""
    return max(cfg.min_delay, backoff_ceiling(retry, cfg) * rng())


def delay_with_hint(retry: int, cfg: RetryConfig, hint: float, rng: Rng = random.random) -> float:
    """Never retry sooner than the server asked (``Retry-After``), but still jitter above it."""
    return max(backoff_delay(retry, cfg, rng), hint)


def should_retry(attempt: int, cfg: RetryConfig) -> bool:
    """``attempt`` = number of tries made so far (>= 1)."""
    return cfg.max_attempts == 0 or attempt < cfg.max_attempts


def delays(cfg: RetryConfig, rng: Rng = random.random) -> Iterator[float]:
    """The sequence of waits between tries (infinite when ``max_attempts`` == 0)."""
    n = 0
    while cfg.max_attempts == 0 or n < cfg.max_attempts - 1:
        yield backoff_delay(n, cfg, rng)
        n += 1


#: Default for REST requests: 4 tries, 0.25 s → 2 s ceilings.
DEFAULT_RETRY = RetryConfig()
#: Default for sockets: retry forever, 0.5 s floor-free start, 30 s cap.
RECONNECT_RETRY = RetryConfig(max_attempts=0, base=0.5, cap=30.0)
