"""Funding-rate series for perpetual swaps: when a payment happens and at what rate.

Files publish them in several shapes: a ``rate`` / ``funding_rate`` / ``fundingRate`` column,
or (as freqtrade's ``*-funding_rate`` files do) OHLCV rows whose ``open`` holds the rate and
whose other prices are 0 — which the bar loader rightly refuses as bars. This loader accepts
both and checks what matters for money: finite rates, sorted timestamps, no duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tradeloop.core.errors import DataError
from tradeloop.data.columns import time_to_ns, to_float
from tradeloop.data.loaders import BAR_ROWS, TIME_COLUMNS
from tradeloop.data.readers import read_table
from tradeloop.data.series import F64, I64, _as, check_times, row_error

RATE_COLUMNS = ("rate", "funding_rate", "fundingrate", "funding", "open")


@dataclass(frozen=True, eq=False)
class FundingSeries:
    """Funding payments of one instrument: at ``ts[i]`` a long pays ``rate[i]`` of its
    position's value at the mark (a negative rate: shorts pay)."""

    ts: I64
    rate: F64
    source: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "ts", _as(self.ts, np.int64))
        object.__setattr__(self, "rate", _as(self.rate, np.float64))
        if self.ts.shape != self.rate.shape:
            raise ValueError("FundingSeries columns differ in length")

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    @classmethod
    def constant(cls, rate: float, start_ns: int, end_ns: int, every_ns: int) -> FundingSeries:
        """``rate`` at every multiple of ``every_ns`` (epoch-aligned, e.g. 00/08/16 UTC for
        8h) in ``(start_ns, end_ns]``."""
        first = (start_ns // every_ns + 1) * every_ns
        ts = np.arange(first, end_ns + 1, every_ns, dtype=np.int64)
        return cls(ts, np.full(ts.shape[0], float(rate)), f"constant({rate:g})")


def load_funding(path: str | Path) -> FundingSeries:
    """Load a funding-rate file (CSV/Parquet/feather/JSON; see the module docstring)."""
    p = Path(path)
    src = str(p)
    raw = read_table(p, BAR_ROWS, BAR_ROWS)
    if raw.n == 0:
        raise DataError(f"{src}: empty file (no data rows)")
    time_name = raw.find(TIME_COLUMNS)
    rate_name = raw.find(RATE_COLUMNS)
    if time_name is None or rate_name is None:
        found = ", ".join(repr(str(n)) for n in raw.names)
        raise DataError(
            f"{src}: a funding file needs a time column and a rate column "
            f"({'/'.join(RATE_COLUMNS)}); found columns [{found}]"
        )
    ts = time_to_ns(raw.column(time_name), src, str(time_name))
    rate = to_float(raw.column(rate_name), src, str(rate_name))
    bad = np.flatnonzero(~np.isfinite(rate))
    if bad.size:
        raise row_error(src, int(bad[0]), f"funding rate {rate[bad[0]]} is not finite")
    big = np.flatnonzero(np.abs(rate) > 0.5)
    if big.size:
        raise row_error(src, int(big[0]), f"funding rate {rate[big[0]]} is not a fraction")
    check_times(src, ts, "funding time", allow_equal=False)
    return FundingSeries(ts, rate, src)
