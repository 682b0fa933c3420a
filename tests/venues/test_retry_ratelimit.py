"""Backoff pure functions (properties) and the token-bucket limiter on a fake clock."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeloop.venues.ratelimit import Limit, RateLimiter, TokenBucket, parse_retry_after
from tradeloop.venues.retry import (
    RetryConfig,
    backoff_ceiling,
    backoff_delay,
    delay_with_hint,
    delays,
    should_retry,
)

from .conftest import FakeTime

configs = st.builds(
    RetryConfig,
    max_attempts=st.integers(1, 10),
    base=st.floats(0.001, 5.0),
    factor=st.floats(1.0, 4.0),
    cap=st.floats(5.0, 120.0),
)


@settings(max_examples=200, deadline=None)
@given(configs, st.integers(0, 200), st.floats(0.0, 0.999999))
def test_delay_is_within_zero_and_the_capped_ceiling(cfg: RetryConfig, n: int, u: float) -> None:
    d = backoff_delay(n, cfg, lambda: u)
    assert 0.0 <= d <= cfg.cap
    assert d <= backoff_ceiling(n, cfg)


@settings(max_examples=200, deadline=None)
@given(configs, st.integers(0, 100))
def test_ceiling_is_monotonic_and_capped(cfg: RetryConfig, n: int) -> None:
    assert backoff_ceiling(n, cfg) <= backoff_ceiling(n + 1, cfg) <= cfg.cap


@given(configs, st.floats(0, 100), st.floats(0.0, 0.999))
def test_hint_is_a_floor(cfg: RetryConfig, hint: float, u: float) -> None:
    assert delay_with_hint(0, cfg, hint, lambda: u) >= hint


def test_full_jitter_uses_the_rng_and_is_deterministic_with_a_seed() -> None:
    cfg = RetryConfig(max_attempts=6, base=1.0, factor=2.0, cap=8.0)
    assert backoff_delay(3, cfg, lambda: 0.5) == 4.0  # 0.5 * min(8, 1 * 2**3)
    assert backoff_delay(10, cfg, lambda: 0.999) == pytest.approx(7.992)
    a = list(delays(cfg, random.Random(3).random))
    b = list(delays(cfg, random.Random(3).random))
    assert a == b and len(a) == 5  # waits between 6 tries


def test_should_retry_and_min_delay() -> None:
    cfg = RetryConfig(max_attempts=3)
    assert [should_retry(n, cfg) for n in (1, 2, 3)] == [True, True, False]
    assert should_retry(10**6, RetryConfig(max_attempts=0))
    assert backoff_delay(0, RetryConfig(min_delay=0.1, base=0.01), lambda: 0.0) == 0.1
    with pytest.raises(ValueError):
        RetryConfig(factor=0.5)


def test_token_bucket_refills_continuously() -> None:
    b = TokenBucket(capacity=2, rate=1.0, now=0.0)
    assert b.try_take(0.0) and b.try_take(0.0)
    assert not b.try_take(0.0)
    assert b.wait_time(0.0) == pytest.approx(1.0)
    assert b.wait_time(0.5) == pytest.approx(0.5)
    assert b.try_take(1.0)
    assert b.wait_time(100.0) == 0.0 and b._tokens == 2  # never above capacity


async def test_limiter_waits_on_fake_time_per_group_and_key(fake_time: FakeTime) -> None:
    lim = RateLimiter({"/order": Limit(2, 2.0)}, clock=fake_time, sleep=fake_time.sleep)
    for _ in range(2):
        assert await lim.acquire("/order", "BTC-USDT") == 0.0
    waited = await lim.acquire("/order", "BTC-USDT")  # third in the window: wait for a token
    assert waited == pytest.approx(1.0)
    assert await lim.acquire("/order", "ETH-USDT") == 0.0  # other instrument: own bucket
    assert await lim.acquire("/unlimited") == 0.0  # no limit configured, no default
    for _ in range(5):
        await lim.acquire("/order", "BTC-USDT")
    assert fake_time.now - 1000.0 == pytest.approx(6.0)  # 1 token/s sustained


async def test_limiter_makes_progress_when_float_refills_fall_just_short(
    fake_time: FakeTime,
) -> None:
    """60 per 2 s from t=1000: refilling by the computed wait leaves the bucket ~1e-14 short,
    and a wait for that does not move a clock at 1000 s. The limiter must not spin on it."""
    lim = RateLimiter({"/o": Limit(60, 2.0)}, clock=fake_time, sleep=fake_time.sleep)
    for _ in range(70):
        await lim.acquire("/o")
    assert len(fake_time.sleeps) == 10  # one sleep per token beyond the burst
    assert fake_time.now - 1000.0 == pytest.approx(10 * 2.0 / 60)


async def test_penalize_blocks_until_server_hint(fake_time: FakeTime) -> None:
    lim = RateLimiter({}, Limit(10, 1.0), clock=fake_time, sleep=fake_time.sleep)
    assert lim.try_acquire("g")
    lim.penalize("g", 3.0)
    assert not lim.try_acquire("g")
    assert lim.wait_time("g") == pytest.approx(3.0)
    waited = await lim.acquire("g")
    assert waited >= 3.0


def test_parse_retry_after_variants() -> None:
    assert parse_retry_after({"Retry-After": "2.5"}) == 2.5
    assert parse_retry_after({"retry-after": "-1"}) == 0.0
    assert parse_retry_after({"X-RateLimit-Reset-After": "4"}) == 4.0
    assert parse_retry_after({}) == 0.0
    assert parse_retry_after({"Retry-After": "soon"}) == 0.0
    when = datetime(2030, 1, 1, 0, 0, 10, tzinfo=UTC)
    now = datetime(2030, 1, 1, 0, 0, 0, tzinfo=UTC).timestamp()
    assert parse_retry_after({"Retry-After": format_datetime(when, usegmt=True)}, now) == 10.0
