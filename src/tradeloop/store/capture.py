"""Reading cryptofeed captures and collecting their rows into store tables: shared by the
plain importers (``importers``) and the book importers that need venue sync rules
(``import_books``), which must not import each other."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import pyarrow as pa

from tradeloop.store import schema as S
from tradeloop.store.writer import StoreWriter

_dec = msgspec.json.Decoder()


def capture_lines(path: Path) -> Iterator[tuple[int, Any]]:
    """Received messages of a cryptofeed capture as (receive ns, decoded JSON); sent lines
    (``URL <- ts: msg``) and connect lines (``URL <-> ts``) are skipped."""
    with path.open("rb") as f:
        for raw in f:
            head, sep, body = raw.partition(b": ")
            if not sep or b" " in head:
                continue
            try:
                ts = round(float(head) * 1e9)
                msg = _dec.decode(body)
            except (ValueError, msgspec.DecodeError):
                continue
            yield ts, msg


class Rows:
    """Column lists per (channel, instrument), turned into tables at the end."""

    def __init__(self) -> None:
        self.data: dict[tuple[str, str], list[list[Any]]] = {}
        self.n = 0

    def add(self, channel: str, inst: str, ts_recv: int, ts_event: int, *values: Any,
            gap: bool = False, msg: int | None = None) -> None:  # fmt: skip
        cols = self.data.get((channel, inst))
        if cols is None:
            cols = self.data[(channel, inst)] = [[] for _ in S.SCHEMAS[channel].names]
        if msg is None:
            self.n += 1
        for col, v in zip(cols, (ts_recv, ts_event, msg or self.n, gap, *values), strict=True):
            col.append(v)

    def write(self, writer: StoreWriter, venue: str) -> int:
        rows = 0
        for (channel, inst), cols in self.data.items():
            schema = S.SCHEMAS[channel]
            t = pa.Table.from_arrays(
                [pa.array(c, type=f.type) for c, f in zip(cols, schema, strict=True)],
                schema=schema,
            )
            for date, part in by_date(t):
                writer.append_table((venue, channel, inst, date), part)
            rows += t.num_rows
        return rows


def by_date(t: pa.Table) -> Iterator[tuple[str, pa.Table]]:
    days = np.asarray(t.column("ts_recv")) // (86_400 * 10**9)
    for d in np.unique(days):
        mask = pa.array(days == d)
        date = np.datetime_as_string(np.datetime64(int(d), "D"))
        yield str(date), t.filter(mask)
