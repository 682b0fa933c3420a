"""The results table on disk, written as rows arrive, and read back for ``--resume``.

``results.csv`` is the journal: every finished row is appended and flushed at once, so a crash
or Ctrl-C loses at most the runs that were still going. ``results.parquet`` (typed, for
pandas/polars/duckdb) is rewritten atomically from all rows every few seconds and at the end;
at the end both files are rewritten sorted by run number, so the final table does not depend on
the order in which workers happened to finish.

Floats are written with ``repr`` (shortest exact text), so a table read back from the CSV is
identical to the one in memory: a resumed sweep's table equals an uninterrupted one's. A
missing number is an empty cell; text columns are never missing (empty string instead).

``sweep.json`` records the inputs that determine every run (strategy source, data, backtest
options). ``--resume`` refuses a folder made from other inputs rather than mixing tables.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tradeloop.core.errors import ConfigError

log = logging.getLogger(__name__)

PARQUET_EVERY_S = 2.0
MANIFEST = "sweep.json"
#: files a sweep or walk-forward writes (``--overwrite`` removes exactly these)
OUTPUT_FILES = (
    MANIFEST,
    "results.csv",
    "results.parquet",
    "windows.csv",
    "windows.parquet",
    "oos_equity.csv",
    "report.html",
)


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def _parse(text: str, typ: type) -> Any:
    if typ is str:
        return text
    if text == "":
        return None
    if typ is bool:
        return text.lower() == "true"
    if typ is int:
        return int(text)
    return float(text)


def normalise(row: Mapping[str, Any], columns: Mapping[str, type]) -> dict[str, Any]:
    """The row with exactly ``columns``, in order; text columns hold ``""`` rather than None
    (so a CSV round trip cannot change a row), ints stay ints, floats are floats."""
    out: dict[str, Any] = {}
    for name, typ in columns.items():
        v = row.get(name)
        if typ is str:
            v = "" if v is None else str(v)
        elif typ is float and isinstance(v, int) and not isinstance(v, bool):
            v = float(v)
        out[name] = v
    return out


def _arrow_type(typ: type) -> Any:
    import pyarrow as pa

    return {int: pa.int64(), float: pa.float64(), bool: pa.bool_()}.get(typ, pa.string())


def write_parquet(
    path: Path, rows: Sequence[Mapping[str, Any]], columns: Mapping[str, type]
) -> None:
    """Atomically (temp file + rename) write ``rows`` as a typed Parquet table."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([(n, _arrow_type(t)) for n, t in columns.items()])
    table = pa.Table.from_pylist([dict(r) for r in rows], schema=schema)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        pq.write_table(table, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_csv(path: Path, rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> None:
    """Atomically write a whole CSV table."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(columns)
            for r in rows:
                w.writerow([_cell(r.get(c)) for c in columns])
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_csv(path: Path, columns: Mapping[str, type]) -> list[dict[str, Any]]:
    """Rows of a table written by this module; columns it lacks read as missing."""
    with path.open(newline="", encoding="utf-8") as fh:
        records = list(csv.DictReader(fh))
    out = []
    for i, rec in enumerate(records):
        try:
            if None in rec.values() or None in rec:  # too few / too many fields
                raise ValueError("wrong number of fields")
            out.append({n: _parse(rec.get(n) or "", t) for n, t in columns.items()})
        except ValueError as exc:
            if i == len(records) - 1:  # a row cut short when the process was killed
                log.warning("%s: ignoring an incomplete last row", path)
                continue
            raise ConfigError(
                f"{path}: line {i + 2}: unreadable ({exc}); use --overwrite to start afresh"
            ) from None
    return out


def inputs_digest(inputs: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()


def prepare_folder(out: Path, inputs: Mapping[str, Any], resume: bool, overwrite: bool) -> bool:
    """Check ``out`` may be used and write the manifest; True if earlier results are kept.

    Without ``--resume`` or ``--overwrite`` a folder holding results is refused: re-running a
    command must never silently destroy hours of finished runs.
    """
    manifest = out / MANIFEST
    has_results = manifest.exists() or (out / "results.csv").exists()
    if has_results and not (resume or overwrite):
        raise ConfigError(
            f"{out} already holds results: pass --resume to continue them, "
            "--overwrite to start afresh, or choose another --out"
        )
    if has_results and resume and not overwrite:
        try:
            old = json.loads(manifest.read_text())
        except (OSError, ValueError):
            raise ConfigError(f"{manifest}: missing or unreadable; cannot resume") from None
        if old.get("digest") != inputs_digest(inputs):
            before = old.get("inputs", {})
            diff = sorted(k for k in set(before) | set(inputs) if before.get(k) != inputs.get(k))
            raise ConfigError(
                f"{out} holds results of different inputs ({', '.join(diff) or 'unknown'}); "
                "use another --out or --overwrite"
            )
    elif has_results and overwrite:
        for name in OUTPUT_FILES:
            (out / name).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    body = {"inputs": dict(inputs), "digest": inputs_digest(inputs)}
    manifest.write_text(json.dumps(body, indent=2, sort_keys=True, default=str) + "\n")
    return bool(has_results and resume and not overwrite)


class ResultStore:
    """All rows in memory (by identity key) plus the journal on disk.

    ``ident`` names the columns that identify a run (the parameters, and for walk-forward the
    bar range): a loaded row with the same identity as a planned run *is* that run.
    """

    def __init__(
        self, folder: Path, columns: Mapping[str, type], ident: Sequence[str], name: str = "results"
    ) -> None:
        self.columns = dict(columns)
        self.ident = list(ident)
        self.csv_path = folder / f"{name}.csv"
        self.parquet_path = folder / f"{name}.parquet"
        self.rows: dict[str, dict[str, Any]] = {}
        self._fh: Any = None
        self._writer: Any = None
        self._parquet_at = 0.0
        self._dirty = False

    def key(self, row: Mapping[str, Any]) -> str:
        return json.dumps([row.get(c) for c in self.ident], separators=(",", ":"))

    def load(self) -> dict[str, dict[str, Any]]:
        """Rows of an earlier run of this sweep (last row per identity wins)."""
        if not self.csv_path.exists():
            return {}
        return {self.key(r): r for r in read_csv(self.csv_path, self.columns)}

    def open(self, keep: Iterable[Mapping[str, Any]] = ()) -> None:
        """Start the journal with ``keep`` (rows carried over by ``--resume``)."""
        for r in keep:
            row = normalise(r, self.columns)
            self.rows[self.key(row)] = row
        write_csv(self.csv_path, self.sorted_rows(), list(self.columns))
        self._fh = self.csv_path.open("a", newline="", encoding="utf-8")
        self._writer = csv.writer(self._fh)
        self._dirty = True
        self._flush_parquet(force=True)

    def add(self, row: Mapping[str, Any]) -> dict[str, Any]:
        r = normalise(row, self.columns)
        self.rows[self.key(r)] = r
        if self._writer is not None:
            self._writer.writerow([_cell(r[c]) for c in self.columns])
            self._fh.flush()
        self._dirty = True
        self._flush_parquet()
        return r

    def update(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Replace rows in memory (e.g. re-scored objectives); written at :meth:`close`."""
        for row in rows:
            r = normalise(row, self.columns)
            self.rows[self.key(r)] = r
        self._dirty = True

    def sorted_rows(self) -> list[dict[str, Any]]:
        return sorted(self.rows.values(), key=lambda r: r.get("run") or 0)

    def _flush_parquet(self, force: bool = False) -> None:
        now = time.monotonic()
        if self._dirty and (force or now - self._parquet_at >= PARQUET_EVERY_S):
            write_parquet(self.parquet_path, self.sorted_rows(), self.columns)
            self._parquet_at = now
            self._dirty = False

    def close(self) -> None:
        """Final tables, sorted by run; safe to call twice."""
        if self._fh is not None:
            self._fh.close()
            self._fh = self._writer = None
        rows = self.sorted_rows()
        write_csv(self.csv_path, rows, list(self.columns))
        write_parquet(self.parquet_path, rows, self.columns)
        self._dirty = False
        log.info("%d rows written to %s and %s", len(rows), self.csv_path, self.parquet_path.name)
