"""parse_interval and merge_streams."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tradeloop.core.errors import ConfigError, DataError
from tradeloop.data import (
    format_interval,
    merge_streams,
    parse_interval,
    replay,
    synthetic_bars,
    synthetic_trades,
)
from tradeloop.model.events import Event, TimerEvent

S = 1_000_000_000


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("1m", 60 * S),
        ("5m", 300 * S),
        ("1h", 3600 * S),
        ("1d", 86400 * S),
        ("30s", 30 * S),
        ("250ms", 250_000_000),
        ("1w", 7 * 86400 * S),
        (" 15m ", 900 * S),
        (42, 42),
    ],
)
def test_parse_interval(text: str | int, ns: int) -> None:
    assert parse_interval(text) == ns


@pytest.mark.parametrize("bad", ["", "m", "1", "1M", "1 minute", "-5m", "0m", "1.5h", "abc", 0, -3])
def test_parse_interval_garbage(bad: str | int) -> None:
    with pytest.raises(ConfigError, match="interval"):
        parse_interval(bad)


def test_format_interval_round_trips() -> None:
    for text in ("1m", "5m", "1h", "1d", "30s", "90s", "250ms", "1w"):
        assert format_interval(parse_interval(text)) == text


def timer(ts: int, name: str) -> TimerEvent:
    return TimerEvent(ts, name)


def test_merge_by_ts_with_stable_ties() -> None:
    a = [timer(1, "a1"), timer(3, "a3"), timer(3, "a3b"), timer(7, "a7")]
    b = [timer(0, "b0"), timer(3, "b3"), timer(7, "b7")]
    c = [timer(3, "c3")]
    merged = [e.name for e in merge_streams(a, b, c)]
    assert merged == ["b0", "a1", "a3", "a3b", "b3", "c3", "a7", "b7"]
    again = [e.name for e in merge_streams(iter(a), iter(b), iter(c))]
    assert again == merged


def test_merge_is_lazy_and_handles_empty() -> None:
    def endless() -> Iterator[TimerEvent]:
        n = 0
        while True:
            yield timer(n, "x")
            n += 1

    stream: Iterator[TimerEvent] = merge_streams(endless(), [])
    assert [next(stream).ts for _ in range(3)] == [0, 1, 2]
    assert list(merge_streams()) == []


def test_merge_check_sorted() -> None:
    with pytest.raises(DataError, match="stream 1: event 2"):
        list(merge_streams([timer(1, "a")], [timer(5, "b"), timer(4, "c")], check_sorted=True))


def test_replay_bars_and_trades() -> None:
    bars = synthetic_bars(50, symbol="A", seed=1)
    trades = synthetic_trades(300, symbol="B", seed=2)
    events: list[Event] = list(replay(bars, trades))
    assert len(events) == 350
    ts = [e.ts for e in events]
    assert ts == sorted(ts)
