"""Replay several event streams as one, in time order.

A backtest over many symbols (bars of one, trades of another, a timer ...) needs a single
deterministic sequence: same inputs, same order, every run. Events are merged by ``ts``;
ties keep stream order (stream 0 before stream 1), and within a stream the original order.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from operator import attrgetter
from typing import TypeVar

from tradeloop.core.errors import DataError
from tradeloop.data.series import BarSeries, TradeSeries
from tradeloop.model.events import Bar, Event, TradeTick

E = TypeVar("E", bound=Event)

_ts = attrgetter("ts")


def _checked(stream: Iterable[E], index: int) -> Iterator[E]:
    last = None
    for n, event in enumerate(stream, start=1):
        ts = event.ts
        if last is not None and ts < last:
            raise DataError(
                f"stream {index}: event {n} has ts {ts} earlier than the previous event's {last} "
                "(each stream must be sorted by ts)"
            )
        last = ts
        yield event


def merge_streams(*streams: Iterable[E], check_sorted: bool = False) -> Iterator[E]:
    """k-way merge of ts-sorted event streams by ``ts``; ties go to the earlier stream.

    ``heapq.merge`` is lazy (memory stays O(k)) and, like ``sorted(chain(*streams))``, stable:
    equal keys come out in stream order. ``check_sorted=True`` raises ``DataError`` naming the
    stream and event position if any input goes back in time (off by default: it costs a
    compare per event and loaders already guarantee order).
    """
    if check_sorted:
        streams = tuple(_checked(s, i) for i, s in enumerate(streams))
    return heapq.merge(*streams, key=_ts)


def replay(*series: BarSeries | TradeSeries) -> Iterator[Bar | TradeTick]:
    """Merge the events of several loaded series (bars and/or trades) into one stream."""
    streams: list[Iterable[Bar | TradeTick]] = []
    for s in series:
        streams.append(s.iter_bars() if isinstance(s, BarSeries) else s.iter_trades())
    return merge_streams(*streams)
