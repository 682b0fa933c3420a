"""``page_all``: the one loop every venue's paged history goes through (no network: the pages
are what a venue would answer)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tradeloop.venues.paging import page_all

Row = dict[str, Any]


class Venue:
    """A listing of ``n`` rows, newest first, served ``limit`` at a time like the venues do."""

    def __init__(self, rows: list[Row], limit: int) -> None:
        self.rows, self.limit = rows, limit
        self.asked: list[Any] = []

    async def by_time(self, end: float | None) -> list[Row]:
        """FTX: ``end_time`` inclusive, so the boundary second's rows come again."""
        self.asked.append(end)
        older = [r for r in self.rows if end is None or r["t"] <= end]
        return older[: self.limit]

    async def by_id(self, after: int | None) -> list[Row]:
        """OKX: ``after`` = the last id seen, exclusive."""
        self.asked.append(after)
        older = [r for r in self.rows if after is None or r["id"] < after]
        return older[: self.limit]


def rows(n: int, per_second: int = 1) -> list[Row]:
    return [{"id": i, "t": float(i // per_second)} for i in range(n, 0, -1)]


async def test_time_paging_deduplicates_the_boundary_and_ends() -> None:
    venue = Venue(rows(250, per_second=3), limit=100)
    got = await page_all(
        venue.by_time, lambda p: min(r["t"] for r in p), limit=100, key=lambda r: r["id"]
    )
    assert sorted(r["id"] for r in got) == list(range(1, 251))  # each once, none lost


async def test_id_cursor_follows_full_pages_until_a_short_one() -> None:
    venue = Venue(rows(230), limit=100)
    got = await page_all(venue.by_id, lambda p: p[-1]["id"], limit=100)
    assert [r["id"] for r in got] == list(range(230, 0, -1))
    assert venue.asked == [None, 131, 31]


async def test_keep_stops_at_the_first_unwanted_row() -> None:
    venue = Venue(rows(500), limit=100)
    got = await page_all(
        venue.by_id, lambda p: p[-1]["id"], limit=100, keep=lambda r: r["id"] > 420
    )
    assert [r["id"] for r in got] == list(range(500, 420, -1))
    assert len(venue.asked) == 1  # the older pages were never asked for


async def test_a_cursor_that_does_not_move_ends_the_loop() -> None:
    calls: list[Any] = []

    async def stuck(at: Any) -> Sequence[Row]:
        calls.append(at)
        return [{"id": i} for i in range(10)]  # always the same full page and cursor

    assert len(await page_all(stuck, lambda p: "same", limit=10)) == 20
    assert calls == [None, "same"]
    calls.clear()
    assert len(await page_all(stuck, lambda p: "same", limit=10, key=lambda r: r["id"])) == 10
    assert calls == [None, "same"]  # the second page brought nothing new


async def test_no_cursor_means_no_more() -> None:
    venue = Venue(rows(100), limit=100)
    assert len(await page_all(venue.by_id, lambda p: None, limit=100)) == 100
    assert venue.asked == [None]
