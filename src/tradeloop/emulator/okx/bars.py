"""OKX candle bar names -> (bar length ms, bucket offset ms).

OKX opens 6H and longer bars at UTC+8 midnight unless the name ends in ``utc``; weeks start on
Monday. The Unix epoch was a Thursday, hence the 4-day week offset. ``1s`` exists too (OKX offers
it on the WS ``candle1s`` channel); besides being real, it is what lets tests watch a bar close
within a second.
"""

from __future__ import annotations

MIN = 60_000
HOUR = 60 * MIN
DAY = 24 * HOUR
_UTC8 = -8 * HOUR
_MONDAY = 4 * DAY

BARS: dict[str, tuple[int, int]] = {
    "1s": (1000, 0),
    "1m": (MIN, 0),
    "3m": (3 * MIN, 0),
    "5m": (5 * MIN, 0),
    "15m": (15 * MIN, 0),
    "30m": (30 * MIN, 0),
    "1H": (HOUR, 0),
    "2H": (2 * HOUR, 0),
    "4H": (4 * HOUR, 0),
    "6H": (6 * HOUR, _UTC8),
    "12H": (12 * HOUR, _UTC8),
    "1D": (DAY, _UTC8),
    "2D": (2 * DAY, _UTC8),
    "3D": (3 * DAY, _UTC8),
    "1W": (7 * DAY, _MONDAY + _UTC8),
    "6Hutc": (6 * HOUR, 0),
    "12Hutc": (12 * HOUR, 0),
    "1Dutc": (DAY, 0),
    "2Dutc": (2 * DAY, 0),
    "3Dutc": (3 * DAY, 0),
    "1Wutc": (7 * DAY, _MONDAY),
}
# "1s" bars come from the market's one-second series, which starts at start-up (no back-history).
# OKX also accepts lower-case hour/day names on the candle endpoints.
for _name in ("1H", "2H", "4H", "6H", "12H", "1D", "2D", "3D", "1W"):
    BARS.setdefault(_name.lower(), BARS[_name])


def lookup(bar: str) -> tuple[int, int] | None:
    return BARS.get(bar)
