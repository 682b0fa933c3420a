"""Building FMZ ``records`` of any whole number of minutes from a venue's native bars.

Venues offer a fixed menu of bar sizes; FMZ strategies may ask for any period (spec B.4). We
fetch the largest native bar that divides the period and merge consecutive bars into buckets
aligned on multiples of the period since the Unix epoch (UTC), so a 90-minute bar always opens
at the same wall-clock times whatever the request.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

#: decimals kept in summed volumes
VOLUME_DP = 10
#: one candle: (open_time_ms, open, high, low, close, volume)
Candle = tuple[int, float, float, float, float, float]


def best_source(period_min: int, native_min: Iterable[int]) -> int:
    """Largest native size (minutes) that divides ``period_min``; 1 must be in ``native_min``."""
    return max(n for n in native_min if period_min % n == 0)


def aggregate(
    candles: Sequence[Candle], period_min: int, *, complete_only: bool = False
) -> list[list[float]]:
    """Merge ascending ``candles`` into FMZ rows ``[time_s, open, high, low, close, volume]``.

    A bucket missing some source bars (no trades, or the venue's history ends) is still emitted
    from what exists, like venues do for quiet minutes. With ``complete_only`` the oldest bucket
    is dropped when it may be partial, because the fetch window started inside it.
    """
    span = period_min * 60_000
    rows: list[list[float]] = []
    bucket = -1
    for ts, o, h, lo, c, v in candles:
        start = ts - ts % span
        if start != bucket:
            rows.append([start // 1000, o, h, lo, c, v])
            bucket = start
        else:
            row = rows[-1]
            row[2] = max(row[2], h)
            row[3] = min(row[3], lo)
            row[4] = c
            row[5] += v
    if complete_only and rows and candles and candles[0][0] % span != 0:
        rows.pop(0)
    for row in rows:  # summing floats leaves artefacts (7.972585820000001); venues send <= 8 dp
        row[5] = round(row[5], VOLUME_DP)
    return rows


def source_count(period_min: int, source_min: int, limit: int) -> int:
    """How many source bars cover ``limit`` output bars (plus one for a partial first bucket)."""
    return (limit + 1) * (period_min // source_min)
