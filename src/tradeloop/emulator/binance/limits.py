"""Binance's request-weight and order-count limits, as the server enforces them.

Weights are counted per client IP in fixed one-minute windows (``X-MBX-USED-WEIGHT-1M`` is the
count so far, this request included). A request that would pass the limit is refused with HTTP
429 ``-1003`` and ``Retry-After`` (seconds to the window's end) and costs nothing; a client that
keeps knocking after being told -- ``ban_after`` refusals in one window -- is banned: HTTP 418
with ``Retry-After`` for ``ban_s`` seconds, whatever it sends. New orders are counted per
account in a 10-second and a one-day window (``X-MBX-ORDER-COUNT-10S`` / ``-1D``); past the
10-second limit a placement gets 429 ``-1015``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from tradeloop.emulator.binance import errors as E

MINUTE_MS = 60_000


@dataclass
class LimitConfig:
    weight_per_minute: int = 6000
    orders_per_10s: int = 100
    orders_per_day: int = 200_000
    ban_after: int = 5
    ban_s: int = 120


@dataclass
class _Ip:
    window: int = -1
    used: int = 0
    refusals: int = 0
    banned_until_ms: int = 0


@dataclass
class Limits:
    """Per-IP weights, per-account order counts (see the module docstring)."""

    config: LimitConfig = field(default_factory=LimitConfig)
    _ips: dict[str, _Ip] = field(default_factory=dict)
    _orders_10s: tuple[int, int] = (-1, 0)
    _orders_day: tuple[int, int] = (-1, 0)

    def charge(self, ip: str, weight: int, now_ms: int) -> int:
        """Count ``weight`` for ``ip``; the weight used this minute, or BinanceError."""
        st = self._ips.get(ip)
        if st is None:
            if len(self._ips) > 10_000:
                self._ips.clear()
            st = self._ips[ip] = _Ip()
        if st.banned_until_ms > now_ms:
            until = st.banned_until_ms
            raise E.BinanceError(
                E.TOO_MANY_REQUESTS,
                f"Way too much request weight used; IP banned until {until}. "
                "Please use WebSocket Streams for live updates to avoid bans.",
                418,
                math.ceil((until - now_ms) / 1000),
            )
        window = now_ms // MINUTE_MS
        if window != st.window:
            st.window, st.used, st.refusals = window, 0, 0
        limit = self.config.weight_per_minute
        if st.used + weight > limit:
            st.refusals += 1
            if st.refusals > self.config.ban_after:
                st.banned_until_ms = now_ms + self.config.ban_s * 1000
                return self.charge(ip, weight, now_ms)
            raise E.BinanceError(
                E.TOO_MANY_REQUESTS,
                f"Too much request weight used; current limit is {limit} request weight per "
                "1 MINUTE. Please use WebSocket Streams for live updates to avoid polling the "
                "API.",
                429,
                max(1, math.ceil(((window + 1) * MINUTE_MS - now_ms) / 1000)),
            )
        st.used += weight
        return st.used

    def used(self, ip: str, now_ms: int) -> int:
        st = self._ips.get(ip)
        return st.used if st is not None and st.window == now_ms // MINUTE_MS else 0

    def count_order(self, now_ms: int) -> tuple[int, int]:
        """Count one new order; (count in 10 s, count today), or 429 ``-1015``."""
        w10, n10 = self._orders_10s
        if w10 != now_ms // 10_000:
            w10, n10 = now_ms // 10_000, 0
        wd, nd = self._orders_day
        if wd != now_ms // 86_400_000:
            wd, nd = now_ms // 86_400_000, 0
        if n10 >= self.config.orders_per_10s:
            raise E.BinanceError(
                E.TOO_MANY_ORDERS,
                f"Too many new orders; current limit is {self.config.orders_per_10s} orders "
                "per 10 SECOND.",
                429,
                max(1, math.ceil(((w10 + 1) * 10_000 - now_ms) / 1000)),
            )
        self._orders_10s, self._orders_day = (w10, n10 + 1), (wd, nd + 1)
        return n10 + 1, nd + 1

    def order_counts(self, now_ms: int) -> tuple[int, int]:
        w10, n10 = self._orders_10s
        wd, nd = self._orders_day
        return (n10 if w10 == now_ms // 10_000 else 0, nd if wd == now_ms // 86_400_000 else 0)

    def rate_limits(self) -> list[dict[str, object]]:
        """``exchangeInfo.rateLimits``."""
        c = self.config
        return [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
             "limit": c.weight_per_minute},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10,
             "limit": c.orders_per_10s},
            {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1,
             "limit": c.orders_per_day},
        ]  # fmt: skip
