"""ISO times read as epoch ms exactly, for every millisecond: venue times are compared to
the millisecond (a fill against a funding boundary)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradeloop.core.timefmt import dt_ms, iso_ms


def _iso(ms: int) -> str:
    dt = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@given(st.integers(min_value=0, max_value=4_102_444_800_000))  # up to 2100
def test_every_millisecond_reads_back_exactly(ms: int) -> None:
    assert iso_ms(_iso(ms)) == ms


def test_offsets_naive_and_garbage() -> None:
    assert iso_ms("2026-12-05T05:00:00+01:00") == iso_ms("2026-12-05T04:00:00Z")
    assert dt_ms(datetime(2026, 12, 5, 4)) == iso_ms("2026-12-05T04:00:00Z")
    with pytest.raises(ValueError):
        iso_ms("yesterday")
