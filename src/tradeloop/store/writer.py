"""Crash-safe Parquet writing: rows buffered per partition, flushed as immutable files.

Why files and not one open ``ParquetWriter``: a Parquet file is readable only once its footer
is written, so a writer killed mid-file leaves garbage. Here every flush writes a complete file
to ``*.tmp``, fsyncs it and renames it into place (atomic on POSIX): a kill -9 loses at most the
rows buffered since the last flush and never leaves a file a reader would choke on (``.tmp``
names are not ``.parquet`` and are swept at the next start). Rolling compacts a partition's
small flush files into one (:func:`compact`), again written aside and renamed.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from tradeloop.store.schema import SCHEMAS, covered_parts, partition_dir

log = logging.getLogger(__name__)

Key = tuple[str, str, str, str]  # venue, channel, instrument, date


def write_atomic(table: pa.Table, path: Path, *, sync: bool = True) -> None:
    """Write ``table`` to ``path`` so that ``path`` is either absent or complete."""
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp, compression="zstd")
    if sync:
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    os.replace(tmp, path)


class PartitionBuffer:
    """Columns of one partition not yet flushed."""

    __slots__ = ("cols", "names", "rows")

    def __init__(self, channel: str) -> None:
        self.names = SCHEMAS[channel].names
        self.cols: list[list[Any]] = [[] for _ in self.names]
        self.rows = 0

    def take(self, channel: str) -> pa.Table:
        t = pa.Table.from_arrays(
            [pa.array(c, type=f.type) for c, f in zip(self.cols, SCHEMAS[channel], strict=True)],
            schema=SCHEMAS[channel],
        )
        self.cols = [[] for _ in self.names]
        self.rows = 0
        return t


class StoreWriter:
    """Appends rows to partitions of the store under ``root``; :meth:`flush` makes them durable.

    One writer run has a random id; its flush files are numbered, so concurrent recorders (and
    a restarted one) never collide on a name. An importer gives the id itself (``run``, hex),
    derived from what it imports: the same import again then writes the same file names and
    replaces its own files instead of adding the rows twice.
    """

    def __init__(self, root: Path, *, sync: bool = True, run: str | None = None) -> None:
        self.root = root
        self.sync = sync
        self.run = run or secrets.token_hex(4)
        self._n = 0
        self.buffers: dict[Key, PartitionBuffer] = {}
        #: partition -> numbers of this run's parts not yet compacted
        self.parts: dict[Key, list[int]] = {}
        self.rows_written = 0
        self.files_written = 0

    def buffer(self, key: Key) -> PartitionBuffer:
        buf = self.buffers.get(key)
        if buf is None:
            buf = self.buffers[key] = PartitionBuffer(key[1])
        return buf

    def append_table(self, key: Key, table: pa.Table) -> None:
        """Write a whole table as one part now (importers, downloads)."""
        self._write_part(key, table.cast(SCHEMAS[key[1]]))

    def flush(self) -> int:
        """Write every non-empty buffer as a part file; returns rows written."""
        rows = 0
        for key, buf in self.buffers.items():
            if buf.rows:
                rows += buf.rows
                self._write_part(key, buf.take(key[1]))
        return rows

    def _write_part(self, key: Key, table: pa.Table) -> None:
        folder = partition_dir(self.root, *key)
        folder.mkdir(parents=True, exist_ok=True)
        self._n += 1
        write_atomic(table, folder / f"p-{self.run}-{self._n}.parquet", sync=self.sync)
        self.parts.setdefault(key, []).append(self._n)
        self.rows_written += table.num_rows
        self.files_written += 1

    def roll(self, keys: Iterable[Key] | None = None) -> None:
        """Flush, then compact this run's parts of each partition into one file."""
        self.flush()
        for key in list(keys if keys is not None else self.parts):
            nums = self.parts.pop(key, [])
            if len(nums) > 1:
                compact(partition_dir(self.root, *key), self.run, nums, sync=self.sync)


def compact(folder: Path, run: str, nums: list[int], *, sync: bool = True) -> Path:
    """Merge parts ``nums`` of ``run`` in ``folder`` into ``c-<run>-<first>-<last>.parquet``.

    Crash-safe in every order: the compacted file appears atomically, and until the parts are
    unlinked readers skip them because the compacted name covers their numbers."""
    a, b = min(nums), max(nums)
    paths = [folder / f"p-{run}-{n}.parquet" for n in sorted(nums)]
    table = pa.concat_tables([pq.read_table(p) for p in paths])
    out = folder / f"c-{run}-{a}-{b}.parquet"
    write_atomic(table, out, sync=sync)
    for p in covered_parts(folder):
        p.unlink(missing_ok=True)
    return out


def sweep(root: Path) -> int:
    """Remove what a killed writer left behind: ``.tmp`` files and parts a compaction holds."""
    n = 0
    for dirpath, _dirs, files in os.walk(root):
        folder = Path(dirpath)
        for f in files:
            if f.endswith(".tmp"):
                (folder / f).unlink(missing_ok=True)
                n += 1
        if any(f.startswith("c-") for f in files):
            for p in covered_parts(folder):
                p.unlink(missing_ok=True)
                n += 1
    if n:
        log.info("store: swept %d leftover file(s) under %s", n, root)
    return n
