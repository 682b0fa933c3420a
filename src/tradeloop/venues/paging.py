"""Reading a paged venue listing to its end (the venue kit): fills, orders, executions.

Venues page history differently -- back by time (FTX ``end_time``), back by an id cursor
(OKX ``after`` = a billId), forward by offset (BitMEX ``start``) -- but the loop is the same:
ask for a page, keep what is wanted, stop on a short page, and otherwise ask again from the
cursor the page gives. :func:`page_all` is that loop with the two ways it can go wrong closed
off: a page that brings nothing new (time paging returns the boundary second's rows again) and
a cursor that does not move both end it instead of looping forever.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, TypeVar

Row = TypeVar("Row")


async def page_all(
    fetch: Callable[[Any], Awaitable[Sequence[Row]]],
    cursor: Callable[[Sequence[Row]], Any],
    *,
    limit: int,
    key: Callable[[Row], Hashable] | None = None,
    keep: Callable[[Row], bool] | None = None,
) -> list[Row]:
    """Every row of the listing, in the order the venue sent them.

    ``fetch(None)`` asks for the first page, ``fetch(c)`` for the page after cursor ``c``;
    ``cursor(page)`` is the cursor after a page (None: no more). ``limit`` is the page size:
    a shorter page is the last. ``key`` de-duplicates rows seen on an earlier page (a page
    with nothing new is the last); ``keep`` drops unwanted rows, and a page holding one is the
    last (newest-first listings: the rest is older still).
    """
    rows: list[Row] = []
    seen: set[Hashable] = set()
    at: Any = None
    while True:
        page = await fetch(at)
        fresh = [r for r in page if key is None or key(r) not in seen]
        if key is not None:
            seen.update(map(key, fresh))
        wanted = [r for r in fresh if keep is None or keep(r)]
        rows += wanted
        if len(page) < limit or not fresh or len(wanted) < len(fresh):
            return rows
        nxt = cursor(page)
        if nxt is None or nxt == at:
            return rows
        at = nxt
