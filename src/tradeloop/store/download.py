"""``tradeloop data download``: history candles and trades over a venue's REST into the store.

Why backwards, page by page, with a cursor on disk: venues serve history newest-first in pages
(OKX: ``history-candles`` 100 bars and ``history-trades`` 100 trades per request, ``after`` =
older than a bar start or a trade id). Each page is written at once as its own immutable file
and the cursor (the oldest bar start / trade id reached) saved after it, so an interrupted
download resumes where it stopped. A page's file name is derived from its content's range
(``d-<what>-<first>-<last>.parquet``), so a page fetched again after a crash between the file
and the cursor replaces itself instead of duplicating rows.

Rate limits: the venue client throttles client-side the way the venue counts (OKX:
``history-candles`` 20 requests / 2 s) and retries a 429 a few times; on top, a
``RateLimited`` that still comes through here is waited out with a growing pause (never
abandoning the download), and counted.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa

from tradeloop.core.errors import ConfigError, RateLimited
from tradeloop.core.timefmt import dt_ms
from tradeloop.store import schema as S
from tradeloop.store.history import WindowSource
from tradeloop.store.recorder import _interval
from tradeloop.store.writer import write_atomic

log = logging.getLogger(__name__)

MS = 1_000_000  # ns per ms
DAY_MS = 86_400_000
#: OKX ``bar`` values (the ones the venue spells in lower case) -> milliseconds
_BARS = {"1s": 1_000, "1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000,
         "30m": 1_800_000, "1H": 3_600_000, "2H": 7_200_000, "4H": 14_400_000,
         "1Dutc": DAY_MS}  # fmt: skip


class HistorySource(Protocol):
    """One venue's paged history: newest first, strictly older than the cursor."""

    venue: str

    async def candles(self, inst: str, bar: str, after_ms: int) -> list[list[str]]: ...

    async def trades(self, inst: str, after_id: str) -> list[dict[str, str]]: ...


class OkxHistory:
    """OKX v5 ``history-candles`` / ``history-trades`` (type 1: paged by trade id)."""

    venue = "OKX"

    def __init__(self, client: Any) -> None:
        self.client = client

    async def candles(self, inst: str, bar: str, after_ms: int) -> list[list[str]]:
        rows: list[list[str]] = await self.client.history_candles(
            inst, bar, after=after_ms, limit=100
        )
        return rows

    async def trades(self, inst: str, after_id: str) -> list[dict[str, str]]:
        params = {"instId": inst, "type": "1", "limit": "100"}
        if after_id:
            params["after"] = after_id
        data = await self.client.request("GET", "/api/v5/market/history-trades", params)
        return list(data) if isinstance(data, list) else []


@dataclass
class Job:
    """One download: what, which range (ms, ``[start, end)``), and where it got to."""

    venue: str
    kind: str  # "candles" | "trades"
    inst: str
    bar: str
    start_ms: int
    end_ms: int
    cursor: str = ""  # candles: oldest bar start written; trades: oldest trade id written
    done: bool = False
    rows: int = 0
    pages: int = 0
    waits: int = 0

    def state_path(self, root: Path, end_arg: str) -> Path:
        name = f"{self.venue}-{self.kind}-{self.inst}-{self.bar}-{self.start_ms}-{end_arg}"
        return root / "_downloads" / (S.safe(name) + ".json")


def _save(job: Job, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(job.__dict__))
    os.replace(tmp, path)


def load_job(path: Path, fresh: Job) -> Job:
    """The saved job at ``path`` (a resumed download), else ``fresh``."""
    try:
        saved = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return fresh
    return Job(**saved)


def _write(root: Path, job: Job, channel: str, table: pa.Table, first: int, last: int) -> None:
    """A page as one file per UTC date it spans, named by its range (idempotent)."""
    days = np.asarray(table.column("ts_event")) // (DAY_MS * MS)
    for d in np.unique(days):
        part = table.filter(pa.array(days == d))
        date = str(np.datetime_as_string(np.datetime64(int(d), "D")))
        folder = S.partition_dir(root, job.venue, channel, job.inst, date)
        folder.mkdir(parents=True, exist_ok=True)
        what = job.bar if channel == S.BARS else "t"
        write_atomic(part, folder / f"d-{S.safe(what)}-{first}-{last}.parquet")


async def _paced(job: Job, pause: float, call: Callable[..., Awaitable[Any]], *args: Any) -> Any:
    """``call(*args)``, waiting out rate limits that get through the client's own retries."""
    wait = pause
    while True:
        try:
            return await call(*args)
        except RateLimited as exc:
            job.waits += 1
            delay = max(exc.retry_after, wait)
            log.warning("download: %s; waiting %.1f s", exc, delay)
            await asyncio.sleep(delay)
            wait = min(wait * 2, 30.0)


async def download_candles(
    src: HistorySource, job: Job, root: Path, state: Path, *, max_pages: int = 0,
    pause: float = 1.0,
) -> Job:  # fmt: skip
    """Closed bars of ``job.bar`` with ``start_ms <= start < end_ms``, newest page first."""
    bar_ns = _BARS[job.bar] * MS
    cursor = int(job.cursor or job.end_ms)
    n_pages = 0
    while not job.done and (not max_pages or n_pages < max_pages):
        c = cursor
        rows = await _paced(job, pause, src.candles, job.inst, job.bar, c)
        starts = [int(r[0]) for r in rows]
        keep = [
            r for r, st in zip(rows, starts, strict=True)
            if job.start_ms <= st < job.end_ms and st < cursor and r[8:9] != ["0"]
        ]  # fmt: skip
        oldest = min(starts, default=cursor)
        if keep:
            keep.sort(key=lambda r: int(r[0]))
            st = np.array([int(r[0]) for r in keep], np.int64) * MS
            n = len(keep)
            col = [np.array([float(r[i]) for r in keep]) for i in range(1, 6)]
            t = pa.table({
                "ts_recv": st + bar_ns, "ts_event": st + bar_ns, "rec_seq": np.arange(1, n + 1),
                "gap": np.zeros(n, bool), "start": st, "open": col[0], "high": col[1],
                "low": col[2], "close": col[3], "volume": col[4],
                "interval": [_interval(bar_ns)] * n,
            }).cast(S.SCHEMAS[S.BARS])  # fmt: skip
            _write(root, job, S.BARS, t, int(keep[0][0]), int(keep[-1][0]))
            job.rows += n
        job.pages += 1
        n_pages += 1
        if not rows or oldest >= cursor or oldest <= job.start_ms:
            job.done = True  # nothing older, no progress, or the range's start reached
        cursor = min(oldest, cursor)
        job.cursor = str(cursor)
        _save(job, state)
    return job


async def download_trades(
    src: HistorySource, job: Job, root: Path, state: Path, *, max_pages: int = 0,
    pause: float = 1.0,
) -> Job:  # fmt: skip
    """Public trades with ``start_ms <= ts < end_ms``, newest page first (by trade id)."""
    n_pages = 0
    while not job.done and (not max_pages or n_pages < max_pages):
        c = job.cursor
        rows = await _paced(job, pause, src.trades, job.inst, c)
        older = [r for r in rows if not c or _older(r["tradeId"], c)]
        keep = [r for r in older if job.start_ms <= int(r["ts"]) < job.end_ms]
        if keep:
            keep.sort(key=lambda r: (int(r["ts"]), _id_key(r["tradeId"])))
            ts = np.array([int(r["ts"]) for r in keep], np.int64) * MS
            n = len(keep)
            t = pa.table({
                "ts_recv": ts, "ts_event": ts, "rec_seq": np.arange(1, n + 1),
                "gap": np.zeros(n, bool), "price": [float(r["px"]) for r in keep],
                "qty": [float(r["sz"]) for r in keep], "side": [r["side"] for r in keep],
                "trade_id": [r["tradeId"] for r in keep],
            }).cast(S.SCHEMAS[S.TRADES])  # fmt: skip
            _write(root, job, S.TRADES, t, int(keep[0]["ts"]), int(keep[-1]["ts"]))
            job.rows += n
        job.pages += 1
        n_pages += 1
        if not older or min(int(r["ts"]) for r in older) < job.start_ms:
            job.done = True  # nothing older (or the venue ignored the cursor), or start reached
        else:
            job.cursor = min((r["tradeId"] for r in older), key=_id_key)
        _save(job, state)
    return job


def _id_key(trade_id: str) -> tuple[int, str]:
    """Trade ids order numerically when they are numbers (OKX's are), else as text."""
    return (int(trade_id), "") if trade_id.isdigit() else (0, trade_id)


def _older(trade_id: str, than: str) -> bool:
    return _id_key(trade_id) < _id_key(than)


def parse_time(text: str, what: str) -> int:
    """``--from`` / ``--to``: a date, an ISO time (UTC unless it says) or epoch ms."""
    if text.isdigit():
        return int(text)
    try:
        dt = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ConfigError(f"{what}: {text!r} is not a date, ISO time or epoch ms") from exc
    return dt_ms(dt)


def check_bar(bar: str) -> str:
    if bar not in _BARS:
        raise ConfigError(f"--bar: {bar!r} is not an OKX bar (one of {', '.join(_BARS)})")
    return bar


class StuckPage(ConfigError):
    """A full page all at one millisecond the cursor already holds: the venue's paging by
    time cannot get past it."""


def _cursor(text: str) -> tuple[int | None, set[str]]:
    """``"<ms>|id,id"``: the time paging reached and the ids already written at that ms."""
    if not text:
        return None, set()
    ms, _, ids = text.partition("|")
    return int(ms), set(filter(None, ids.split(",")))


async def download_window(
    src: WindowSource, job: Job, root: Path, state: Path, *, bar_ms: int = 0,
    max_pages: int = 0, pause: float = 1.0, now_ms: int | None = None,
) -> Job:  # fmt: skip
    """Bars (``job.kind == "candles"``, ``bar_ms`` long, closed by ``now_ms``) or trades with
    ``start_ms <= time < end_ms`` from a time-windowed source, a page at a time in the
    source's direction. The cursor is the time reached plus the ids already written at that
    very millisecond (pages overlap by one millisecond so no trade sharing it is lost)."""
    import time as _time

    candles = job.kind == "candles"
    now = now_ms if now_ms is not None else int(_time.time() * 1000)
    last = job.end_ms - 1
    n_pages = 0
    while not job.done and (not max_pages or n_pages < max_pages):
        at, seen = _cursor(job.cursor)
        lo, hi = (at if at is not None else job.start_ms, last) if src.forward else (
            job.start_ms, at if at is not None else last)  # fmt: skip
        span = 0 if candles else src.trades_span_ms
        if span:
            lo, hi = (lo, min(hi, lo + span)) if src.forward else (max(lo, hi - span), hi)
        if candles:
            rows: list[Any] = await _paced(job, pause, src.candles, job.inst, bar_ms, lo, hi)
            got = [(c.start, str(c.start), c) for c in rows]
        else:
            rows = await _paced(job, pause, src.trades, job.inst, lo, hi)
            got = [(t.ts, t.trade_id, t) for t in rows]
        got = [g for g in got if lo <= g[0] <= hi]
        new = [g for g in got if not (g[0] == at and g[1] in seen)]
        keep = [g for g in new if not candles or g[0] + bar_ms <= now]
        if keep:
            _write_window(root, job, keep, bar_ms)
            job.rows += len(keep)
        job.pages += 1
        n_pages += 1
        if len(rows) >= src.limit:  # a full page: more may follow in this window
            if not new:
                what = f"{job.venue} {job.inst}: more than {src.limit} {job.kind} at {at} ms"
                raise StuckPage(f"{what}; the venue's time paging cannot pass them")
            edge = max(g[0] for g in got) if src.forward else min(g[0] for g in got)
            ids = {g[1] for g in got if g[0] == edge} | (seen if edge == at else set())
            job.cursor = f"{edge}|{','.join(sorted(ids))}"
        elif src.forward and hi < last:
            job.cursor = str(hi + 1)  # a window narrower than the range, read to its end
        elif not src.forward and lo > job.start_ms:
            job.cursor = str(lo - 1)
        else:
            job.done = True
        _save(job, state)
    return job


def _write_window(root: Path, job: Job, keep: list[tuple[int, str, Any]], bar_ms: int) -> None:
    keep.sort(key=lambda g: (g[0], _id_key(g[1])))
    ts = np.array([g[0] for g in keep], np.int64) * MS
    n = len(keep)
    base = {"rec_seq": np.arange(1, n + 1), "gap": np.zeros(n, bool)}
    if job.kind == "candles":
        cs = [g[2] for g in keep]
        end = ts + bar_ms * MS
        t = pa.table({
            "ts_recv": end, "ts_event": end, **base, "start": ts,
            "open": [c.open for c in cs], "high": [c.high for c in cs], "low": [c.low for c in cs],
            "close": [c.close for c in cs], "volume": [c.volume for c in cs],
            "interval": [_interval(bar_ms * MS)] * n,
        }).cast(S.SCHEMAS[S.BARS])  # fmt: skip
        channel = S.BARS
    else:
        tr = [g[2] for g in keep]
        t = pa.table({
            "ts_recv": ts, "ts_event": ts, **base, "price": [x.price for x in tr],
            "qty": [x.qty for x in tr], "side": [x.side for x in tr],
            "trade_id": [x.trade_id for x in tr],
        }).cast(S.SCHEMAS[S.TRADES])  # fmt: skip
        channel = S.TRADES
    _write(root, job, channel, t, keep[0][0], keep[-1][0])
