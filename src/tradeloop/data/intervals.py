"""Bar intervals as text ("1m", "4h") <-> integer nanoseconds.

Everything inside tradeloop counts time in int nanoseconds; humans and config files speak in
"5m". This is the one place the two meet, so a typo fails early with a message that says
which forms are accepted instead of surfacing later as a silent wrong bar size.
"""

from __future__ import annotations

import re

from tradeloop.core.errors import ConfigError

NS_PER_UNIT: dict[str, int] = {
    "ns": 1,
    "us": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3_600 * 1_000_000_000,
    "d": 86_400 * 1_000_000_000,
    "w": 7 * 86_400 * 1_000_000_000,
}

_INTERVAL_RE = re.compile(r"^\s*(\d+)\s*(ns|us|ms|s|m|h|d|w)\s*$")


def parse_interval(text: str | int) -> int:
    """Return the length of ``text`` ("30s", "1m", "5m", "1h", "1d", "1w", "250ms") in ns.

    An ``int`` is taken to be nanoseconds already. Units are case-sensitive where it matters:
    ``m`` is minutes and ``ms`` milliseconds; ``M`` (month) is refused because months have no
    fixed length.
    """
    if isinstance(text, bool):
        raise ConfigError(f"interval must be text like '1m' or an int of nanoseconds, got {text!r}")
    if isinstance(text, int):
        if text <= 0:
            raise ConfigError(f"interval must be positive, got {text} ns")
        return text
    if not isinstance(text, str):
        raise ConfigError(f"interval must be text like '1m' or an int of nanoseconds, got {text!r}")
    match = _INTERVAL_RE.match(text)
    if match is None:
        raise ConfigError(
            f"bad interval {text!r}: expected <number><unit> with unit one of "
            "ns, us, ms, s, m, h, d, w (e.g. '30s', '1m', '5m', '1h', '1d')"
        )
    count = int(match.group(1))
    if count <= 0:
        raise ConfigError(f"bad interval {text!r}: must be positive")
    return count * NS_PER_UNIT[match.group(2)]


def format_interval(interval_ns: int) -> str:
    """Shortest exact text for ``interval_ns`` ("5m", "1h", "90s"), the inverse of parse."""
    for unit in ("w", "d", "h", "m", "s", "ms", "us"):
        size = NS_PER_UNIT[unit]
        if interval_ns % size == 0:
            return f"{interval_ns // size}{unit}"
    return f"{interval_ns}ns"
