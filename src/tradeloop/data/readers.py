"""Read a bar/trade file of any supported format into named columns (``RawTable``).

Only the physical shape is handled here — file type, compression, headerless CSV, the JSON
layouts (list of lists, list of records, pandas "columns" dicts, ``{"data": [...]}``
envelopes) — and every failure becomes a one-line ``DataError`` naming the file (and the row,
when Arrow can tell). What the columns *mean* is decided by ``loaders``.
"""

from __future__ import annotations

import contextlib
import gzip
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.feather as feather
import pyarrow.parquet as pq

from tradeloop.core.errors import DataError, one_line
from tradeloop.data.series import row_error


class Layout:
    """Column names for rows that carry none (headerless CSV, JSON arrays), by row width."""

    def __init__(self, fixed: dict[int, tuple[str, ...]], prefix: tuple[str, ...] = ()) -> None:
        self.fixed = fixed
        self.prefix = prefix  # any width >= len(prefix): these first, extras after

    def names(self, width: int) -> tuple[str, ...] | None:
        if width in self.fixed:
            return self.fixed[width]
        if self.prefix and width >= len(self.prefix):
            extra = tuple(f"extra_{i}" for i in range(len(self.prefix), width))
            return self.prefix + extra
        return None

    def describe(self) -> str:
        parts = [f"{w} ({','.join(v)})" for w, v in sorted(self.fixed.items())]
        if self.prefix:
            parts.append(f"at least {len(self.prefix)} ({','.join(self.prefix)},...)")
        return "; ".join(parts)


_SUFFIX_FORMAT = {
    ".csv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".feather": "feather",
    ".arrow": "feather",
    ".ipc": "feather",
    ".json": "json",
}


class RawTable:
    """Named columns of a file, converted to Arrow only when asked for (JSON records may hold
    nested junk in columns we never use)."""

    def __init__(self, path: Path, names: Sequence[str], get: Callable[[str], pa.Array], n: int):
        self.path = path
        self.names = list(names)
        self._get = get
        self.n = n
        self.lower: dict[str, str] = {}
        for name in self.names:
            self.lower.setdefault(str(name).strip().lower(), name)

    def find(self, aliases: Sequence[str]) -> str | None:
        for alias in aliases:
            if alias in self.lower:
                return self.lower[alias]
        return None

    def column(self, name: str) -> pa.Array:
        return self._get(name)


def _fmt(path: Path) -> tuple[str, bool]:
    suffixes = [s.lower() for s in path.suffixes]
    gz = bool(suffixes) and suffixes[-1] == ".gz"
    if gz:
        suffixes = suffixes[:-1]
    fmt = _SUFFIX_FORMAT.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        raise DataError(
            f"{path}: unsupported file type {''.join(path.suffixes) or '(no extension)'!r} "
            "(expected .csv, .parquet, .feather/.arrow/.ipc or .json, optionally .gz)"
        )
    return fmt, gz


def _first_line(path: Path, gz: bool) -> str:
    opener: Any = gzip.open if gz else open
    with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.strip():
                return str(line)
    return ""


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _from_table(path: Path, table: pa.Table) -> RawTable:
    def get(name: str) -> pa.Array:
        return table.column(name).combine_chunks()

    return RawTable(path, table.column_names, get, table.num_rows)


def _from_python_columns(path: Path, columns: dict[str, list[Any]], n: int) -> RawTable:
    def get(name: str) -> pa.Array:
        values = columns[name]
        try:
            return pa.array(values)
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            # Mixed types in one column: keep the text and let the typed conversion report rows.
            return pa.array([None if v is None else str(v) for v in values], type=pa.string())

    return RawTable(path, list(columns), get, n)


def _read_json(path: Path, gz: bool, layouts: Layout) -> RawTable:
    opener: Any = gzip.open if gz else open
    with opener(path, "rt", encoding="utf-8") as fh:
        text = fh.read()
    if not text.strip():
        raise DataError(f"{path}: empty file")
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not valid JSON: {exc}") from None
    if isinstance(doc, dict) and isinstance(doc.get("data"), list):
        doc = doc["data"]  # common REST envelope {"data": [...]}
    if isinstance(doc, list):
        if not doc:
            raise DataError(f"{path}: empty file (JSON list has no rows)")
        first = doc[0]
        if isinstance(first, list):
            width = len(first)
            for i, row in enumerate(doc):
                if not isinstance(row, list) or len(row) != width:
                    raise row_error(
                        str(path), i, f"expected a list of {width} values like row 1, got {row!r}"
                    )
            layout = layouts.names(width)
            if layout is None:
                raise DataError(
                    f"{path}: JSON rows have {width} values; expected {layouts.describe()}"
                )
            columns = {
                name: list(col) for name, col in zip(layout, zip(*doc, strict=True), strict=True)
            }
            return _from_python_columns(path, columns, len(doc))
        if isinstance(first, dict):
            names: dict[str, None] = {}
            for i, row in enumerate(doc):
                if not isinstance(row, dict):
                    raise row_error(str(path), i, f"expected a JSON object like row 1, got {row!r}")
                for key in row:
                    names.setdefault(key, None)
            columns = {name: [row.get(name) for row in doc] for name in names}
            return _from_python_columns(path, columns, len(doc))
        raise DataError(f"{path}: JSON rows must be lists or objects, got {type(first).__name__}")
    if isinstance(doc, dict) and doc:
        # pandas to_json orients: "columns" ({col: {row: v}}) or "list" ({col: [v, ...]}).
        columns = {}
        for key, val in doc.items():
            if isinstance(val, dict):
                columns[key] = list(val.values())
            elif isinstance(val, list):
                columns[key] = val
            else:
                raise DataError(f"{path}: JSON object field {key!r} is not a column (list/dict)")
        lengths = {len(v) for v in columns.values()}
        if len(lengths) != 1:
            raise DataError(f"{path}: JSON columns have different lengths {sorted(lengths)}")
        n = lengths.pop()
        if n == 0:
            raise DataError(f"{path}: empty file (JSON columns have no rows)")
        return _from_python_columns(path, columns, n)
    raise DataError(f"{path}: empty file or unrecognised JSON layout")


def _read_csv(path: Path, gz: bool, layouts: Layout) -> RawTable:
    line = _first_line(path, gz)
    if not line.strip():
        raise DataError(f"{path}: empty file")
    fields = [f.strip() for f in line.rstrip("\r\n").split(",")]
    # A first line of only numbers/booleans is data, not a header (Kraken, Binance dumps).
    headerless = any(fields) and all(
        _is_number(f) or f.lower() in ("true", "false") for f in fields if f
    )
    read_opts = pacsv.ReadOptions(autogenerate_column_names=headerless)
    conv = pacsv.ConvertOptions(strings_can_be_null=True)
    try:
        table = pacsv.read_csv(path, read_options=read_opts, convert_options=conv)
    except pa.ArrowInvalid as exc:
        _raise_csv_row_error(path, headerless, exc)
        raise
    if headerless:
        layout = layouts.names(table.num_columns)
        if layout is None:
            raise DataError(
                f"{path}: CSV has no header and {table.num_columns} columns; expected "
                f"{layouts.describe()}, or add a header row naming the columns"
            )
        table = table.rename_columns(list(layout))
    return _from_table(path, table)


def _raise_csv_row_error(path: Path, headerless: bool, exc: pa.ArrowInvalid) -> None:
    """Re-read single-threaded (only then does Arrow know line numbers) to name the bad row."""
    bad: list[Any] = []

    def handler(row: Any) -> str:
        bad.append(row)
        return "error"

    with contextlib.suppress(pa.ArrowInvalid):
        pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(use_threads=False, autogenerate_column_names=headerless),
            parse_options=pacsv.ParseOptions(invalid_row_handler=handler),
        )
    if bad and bad[0].number is not None:
        row = bad[0]
        index = row.number - 1 - (0 if headerless else 1)
        raise row_error(
            str(path),
            index,
            f"expected {row.expected_columns} comma-separated fields, got {row.actual_columns}: "
            f"{row.text[:80]!r}",
        ) from None
    raise DataError(f"{path}: cannot read as csv: {one_line(exc)}") from None


def read_table(path: Path, csv_layout: Layout, json_layout: Layout) -> RawTable:
    """Open ``path`` (format from its extension); names for headerless rows come from the
    layouts by row width."""
    fmt, gz = _fmt(path)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if not path.is_file():
        raise DataError(f"{path}: not a file")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: empty file")
    try:
        if fmt == "json":
            return _read_json(path, gz, json_layout)
        if fmt == "csv":
            return _read_csv(path, gz, csv_layout)
        if gz:
            raise DataError(f"{path}: gzip is only supported for .csv.gz and .json.gz")
        if fmt == "parquet":
            return _from_table(path, pq.read_table(path))
        return _from_table(path, feather.read_table(path))
    except DataError:
        raise
    except (OSError, EOFError, UnicodeDecodeError, pa.ArrowException, ValueError) as exc:
        raise DataError(
            f"{path}: cannot read as {fmt}{' (gzip)' if gz else ''}: {one_line(exc)}"
        ) from None
