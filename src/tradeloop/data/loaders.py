"""Read bar and trade files (CSV, Parquet, Feather/Arrow IPC, JSON[.gz]) into series.

Files in the wild disagree on everything: column names ("date", "timestamp", "open_time"),
time encodings (tz-aware datetimes, ISO strings, epoch s/ms/us/ns), JSON layouts (list of
lists, list of records, pandas "columns" dicts), headerless CSVs and how a trade's side is
spelled. This module absorbs those differences and hands the rest of the system one shape —
or a one-line ``DataError`` naming the file and the row/field at fault, never a traceback.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.feather as feather
import pyarrow.parquet as pq

from tradeloop.core.errors import ConfigError, DataError
from tradeloop.data.intervals import parse_interval
from tradeloop.data.series import (
    F64,
    I8,
    I64,
    BarSeries,
    TradeSeries,
    check_times,
    row_error,
    validate_bars,
    validate_trades,
)

log = logging.getLogger(__name__)

TIME_COLUMNS = ("date", "datetime", "timestamp", "time", "ts", "open_time")
BAR_COLUMNS: dict[str, tuple[str, ...]] = {
    "open": ("open", "o"),
    "high": ("high", "h"),
    "low": ("low", "l"),
    "close": ("close", "c"),
    "volume": ("volume", "v", "vol"),
}
TRADE_PRICE = ("price", "p", "px")
TRADE_QTY = ("qty", "amount", "quantity", "size", "q", "volume", "vol")
TRADE_SIDE = ("side", "taker_side", "takerside")
TRADE_BUYER_MAKER = ("is_buyer_maker", "buyer_maker", "isbuyermaker", "m")

# Positional layouts for headerless CSV and JSON list-of-lists, chosen by row width.
BAR_LAYOUT = ("timestamp", "open", "high", "low", "close", "volume")
JSON_TRADE_LAYOUTS: dict[int, tuple[str, ...]] = {
    3: ("timestamp", "price", "qty"),
    4: ("timestamp", "price", "qty", "side"),
    # ccxt/freqtrade trade rows: [timestamp, id, type, side, price, amount, cost]
    7: ("timestamp", "id", "type", "side", "price", "amount", "cost"),
}
CSV_TRADE_LAYOUTS: dict[int, tuple[str, ...]] = {
    3: ("timestamp", "price", "qty"),  # Kraken trade dumps
    4: ("timestamp", "price", "qty", "side"),
    # Binance public data (data.binance.vision) trades and aggTrades
    7: ("id", "price", "qty", "quote_qty", "time", "is_buyer_maker", "is_best_match"),
    8: (
        "agg_trade_id",
        "price",
        "qty",
        "first_trade_id",
        "last_trade_id",
        "time",
        "is_buyer_maker",
        "is_best_match",
    ),
}


class _Layout:
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


BAR_ROWS = _Layout({}, BAR_LAYOUT)  # klines from most exchanges start with these six


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

_BUY_WORDS = frozenset({"buy", "b", "bid", "long", "1", "+1"})
_SELL_WORDS = frozenset({"sell", "s", "ask", "short", "-1"})
_UNKNOWN_WORDS = frozenset({"", "none", "null", "nan", "unknown", "0"})
_TRUE_WORDS = frozenset({"true", "t", "1", "yes", "y"})
_FALSE_WORDS = frozenset({"false", "f", "0", "no", "n"})


class _Raw:
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


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _from_table(path: Path, table: pa.Table) -> _Raw:
    def get(name: str) -> pa.Array:
        return table.column(name).combine_chunks()

    return _Raw(path, table.column_names, get, table.num_rows)


def _from_python_columns(path: Path, columns: dict[str, list[Any]], n: int) -> _Raw:
    def get(name: str) -> pa.Array:
        values = columns[name]
        try:
            return pa.array(values)
        except (pa.ArrowException, TypeError, ValueError, OverflowError):
            # Mixed types in one column: keep the text and let the typed conversion report rows.
            return pa.array([None if v is None else str(v) for v in values], type=pa.string())

    return _Raw(path, list(columns), get, n)


def _read_json(path: Path, gz: bool, layouts: _Layout) -> _Raw:
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


def _read_csv(path: Path, gz: bool, layouts: _Layout) -> _Raw:
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
    raise DataError(f"{path}: cannot read as csv: {_one_line(exc)}") from None


def _read(path: Path, csv_layout: _Layout, json_layout: _Layout) -> _Raw:
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
            f"{path}: cannot read as {fmt}{' (gzip)' if gz else ''}: {_one_line(exc)}"
        ) from None


# --- column conversion ----------------------------------------------------------------------


def _first_index(mask: Any) -> int:
    hits = np.flatnonzero(np.asarray(mask))
    return int(hits[0]) if hits.size else -1


def _first_unparsable(arr: pa.Array, parse: Callable[[str], Any]) -> tuple[int, Any]:
    for i, value in enumerate(arr.to_pylist()):
        if value is None:
            continue
        try:
            parse(str(value).strip())
        except (ValueError, pa.ArrowException):
            return i, value
    return -1, None


def _epoch_to_ns(values: Any, src: str, field: str) -> I64:
    """Integer/float epoch values in s, ms, us or ns (decided by magnitude) -> int64 ns."""
    vals = np.asarray(values)
    if vals.size == 0:
        return np.zeros(0, dtype=np.int64)
    if vals.dtype.kind == "f":
        bad = _first_index(~np.isfinite(vals))
        if bad >= 0:
            raise row_error(src, bad, f"field {field!r} is {vals[bad]} (not a timestamp)")
    magnitude = float(np.median(np.abs(vals)))
    if magnitude < 1e11:
        scale = 1_000_000_000  # seconds (1e11 s is the year 5138)
    elif magnitude < 1e14:
        scale = 1_000_000  # milliseconds
    elif magnitude < 1e17:
        scale = 1_000  # microseconds
    else:
        scale = 1
    scaled = vals.astype(np.float64) * scale
    bad = _first_index(~(np.abs(scaled) < 9.2e18))  # int64 ns covers 1677-2262
    if bad >= 0:
        raise row_error(src, bad, f"field {field!r} value {vals[bad]} is out of the time range")
    if vals.dtype.kind == "f":
        return np.rint(scaled).astype(np.int64)
    return vals.astype(np.int64) * scale


def _time_to_ns(arr: pa.Array, src: str, field: str) -> I64:
    """Any supported time encoding -> int64 ns since the epoch, UTC."""
    bad = _first_index(pc.is_null(arr).to_numpy(zero_copy_only=False))
    if bad >= 0:
        raise row_error(src, bad, f"field {field!r} is empty (no timestamp)")
    typ = arr.type
    if pa.types.is_dictionary(typ):
        arr = arr.dictionary_decode()
        typ = arr.type
    if pa.types.is_timestamp(typ):
        # Arrow stores tz-aware timestamps as UTC instants already; naive ones are taken as UTC.
        ns = arr.cast(pa.timestamp("ns", tz=typ.tz))
        return np.asarray(ns.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)
    if pa.types.is_date(typ):
        ns = arr.cast(pa.timestamp("ns"))
        return np.asarray(ns.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)
    if pa.types.is_integer(typ) or pa.types.is_floating(typ):
        return _epoch_to_ns(arr.to_numpy(zero_copy_only=False), src, field)
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        text = pc.utf8_trim_whitespace(arr)
        numeric = pc.match_substring_regex(text, r"^[+-]?\d+(\.\d*)?$")
        if pc.all(numeric).as_py():
            return _epoch_to_ns(text.cast(pa.float64()).to_numpy(zero_copy_only=False), src, field)
        try:
            ts = text.cast(pa.timestamp("ns", tz="UTC"))
        except pa.ArrowInvalid:
            try:
                ts = text.cast(pa.timestamp("ns"))  # no zone offset: taken as UTC
            except pa.ArrowInvalid:
                i, value = _first_unparsable(text, _parse_iso)
                where = max(i, 0)
                raise row_error(
                    src,
                    where,
                    f"field {field!r} value {value!r} is not a date/time or epoch number",
                ) from None
        return np.asarray(ts.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)
    raise DataError(f"{src}: time column {field!r} has unsupported type {typ}")


def _parse_iso(text: str) -> Any:
    try:
        return pa.scalar(text).cast(pa.timestamp("ns", tz="UTC"))
    except pa.ArrowInvalid:
        return pa.scalar(text).cast(pa.timestamp("ns"))


def _to_float(arr: pa.Array, src: str, field: str) -> F64:
    """Numeric or numeric-text column -> float64; nulls become NaN (validation reports them)."""
    typ = arr.type
    if pa.types.is_dictionary(typ):
        arr = arr.dictionary_decode()
        typ = arr.type
    if pa.types.is_null(typ):
        return np.full(len(arr), np.nan)
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        arr = pc.utf8_trim_whitespace(arr)
        arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)
    if not (pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_decimal(typ)):
        try:
            arr = arr.cast(pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            i, value = _first_unparsable(arr, float)
            raise row_error(
                src, max(i, 0), f"field {field!r} value {value!r} is not a number"
            ) from None
    out = arr.cast(pa.float64()).to_numpy(zero_copy_only=False)
    return np.asarray(out, dtype=np.float64)


def _side_codes(arr: pa.Array, src: str, field: str) -> I8:
    """Taker side as +1/-1/0 from words (buy/sell, b/s ...), signed numbers or booleans."""
    typ = arr.type
    if pa.types.is_dictionary(typ):
        arr = arr.dictionary_decode()
        typ = arr.type
    if pa.types.is_null(typ):
        return np.zeros(len(arr), dtype=np.int8)
    if pa.types.is_integer(typ) or pa.types.is_floating(typ):
        vals = np.nan_to_num(arr.to_numpy(zero_copy_only=False).astype(np.float64))
        return np.sign(vals).astype(np.int8)
    words = pc.utf8_lower(pc.utf8_trim_whitespace(_as_text(arr)))
    buy = _in(words, _BUY_WORDS)
    sell = _in(words, _SELL_WORDS)
    known = buy | sell | _in(words, _UNKNOWN_WORDS) | _nulls(words)
    bad = _first_index(~known)
    if bad >= 0:
        raise row_error(src, bad, f"field {field!r} value {words[bad].as_py()!r} is not buy/sell")
    return (buy.astype(np.int8) - sell.astype(np.int8)).astype(np.int8)


def _as_text(arr: pa.Array) -> pa.Array:
    """Any column as strings; nested values (JSON objects/lists) via their Python text."""
    try:
        return arr.cast(pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.array([None if v is None else str(v) for v in arr.to_pylist()], pa.string())


def _in(words: pa.Array, values: frozenset[str]) -> Any:
    mask = pc.is_in(words, value_set=pa.array(sorted(values), type=pa.string()))
    return np.asarray(mask.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)


def _nulls(arr: pa.Array) -> Any:
    return np.asarray(pc.is_null(arr).to_numpy(zero_copy_only=False), dtype=bool)


def _buyer_maker_codes(arr: pa.Array, src: str, field: str) -> I8:
    """``is_buyer_maker`` true means the resting order was the buy, so the taker sold."""
    if pa.types.is_boolean(arr.type):
        true = np.asarray(arr.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
        false = np.asarray(pc.invert(arr).fill_null(False).to_numpy(zero_copy_only=False), bool)
    else:
        words = pc.utf8_lower(pc.utf8_trim_whitespace(_as_text(arr)))
        true = _in(words, _TRUE_WORDS)
        false = _in(words, _FALSE_WORDS)
        unknown = _in(words, _UNKNOWN_WORDS - {"0"}) | _nulls(words)
        bad = _first_index(~(true | false | unknown))
        if bad >= 0:
            value = words[bad].as_py()
            raise row_error(src, bad, f"field {field!r} value {value!r} is not true/false")
    return (false.astype(np.int8) - true.astype(np.int8)).astype(np.int8)


# --- column detection -----------------------------------------------------------------------


def _pick_time_column(raw: _Raw) -> str:
    present = [raw.lower[a] for a in TIME_COLUMNS if a in raw.lower]
    if not present:
        raise DataError(
            f"{raw.path}: no time column: expected one of {', '.join(TIME_COLUMNS)} "
            f"(case-insensitive); found columns {_found(raw)}"
        )
    # Prefer a typed column (datetime / epoch number) over text when a file carries both.
    for name in present:
        typ = raw.column(name).type
        if not (pa.types.is_string(typ) or pa.types.is_large_string(typ) or pa.types.is_null(typ)):
            return name
    return present[0]


def _found(raw: _Raw) -> str:
    return "[" + ", ".join(repr(str(n)) for n in raw.names) + "]"


def default_symbol(path: Path) -> str:
    """A symbol guessed from a file name: ``XRP_ETH-1m.feather`` -> ``XRP_ETH``."""
    name = path.name
    for suffix in reversed(path.suffixes):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    parts = name.split("-")
    for i, part in enumerate(parts[1:], start=1):
        if part.lower() in {"trades", "bars", "candles"} or re.fullmatch(r"\d+[smhdw]", part):
            return "-".join(parts[:i])
    return re.sub(r"[-_]\d+[smhdw]$", "", name) or name


def _symbol_from_column(raw: _Raw) -> str | None:
    name = raw.find(("symbol", "pair", "instrument", "inst_id", "instid"))
    if name is None:
        return None
    try:
        uniq = pc.unique(raw.column(name).cast(pa.string())).drop_null().to_pylist()
    except (pa.ArrowException, TypeError):
        return None
    return str(uniq[0]) if len(uniq) == 1 else None


def _infer_interval(start: I64, src: str) -> int:
    if start.shape[0] < 2:
        raise DataError(f"{src}: cannot infer the bar interval from a single row; pass interval=")
    diffs = np.diff(start)
    positive = diffs[diffs > 0]
    if positive.size == 0:
        raise DataError(f"{src}: cannot infer the bar interval (all timestamps equal)")
    values, counts = np.unique(positive, return_counts=True)
    return int(values[int(np.argmax(counts))])


@contextlib.contextmanager
def _arrow_guard(src: str) -> Iterator[None]:
    """Last line of defence: an Arrow failure on odd data becomes a one-line ``DataError``."""
    try:
        yield
    except pa.ArrowException as exc:
        raise DataError(f"{src}: cannot interpret the data: {_one_line(exc)}") from None


def load_bars(
    path: str | Path, symbol: str | None = None, interval: str | int | None = None
) -> BarSeries:
    """Load OHLCV bars from CSV, Parquet, Feather/Arrow IPC or JSON(.gz).

    Timestamps in files are bar OPEN times; ``end = start + interval``. ``interval`` ("1m" or
    ns) defaults to the most common gap between rows. ``symbol`` defaults to a single-valued
    symbol column, else the file name. A volume column that is entirely empty (mark/index price
    series publish none) loads as zeros with a warning; partially empty volume is an error.
    """
    p = Path(path)
    with _arrow_guard(str(p)):
        return _load_bars(p, symbol, interval)


def _load_bars(p: Path, symbol: str | None, interval: str | int | None) -> BarSeries:
    src = str(p)
    raw = _read(p, BAR_ROWS, BAR_ROWS)
    if raw.n == 0:
        raise DataError(f"{src}: empty file (no data rows)")
    time_name = _pick_time_column(raw)
    names = {role: raw.find(aliases) for role, aliases in BAR_COLUMNS.items()}
    missing = [role for role, name in names.items() if name is None]
    if missing:
        raise DataError(
            f"{src}: missing column(s) {', '.join(missing)}; found columns {_found(raw)}"
        )
    start = _time_to_ns(raw.column(time_name), src, str(time_name))
    cols: dict[str, F64] = {}
    for role, name in names.items():
        assert name is not None
        arr = raw.column(name)
        if role == "volume" and arr.null_count == len(arr):
            log.warning("%s: volume column is empty; using volume 0 for every bar", src)
            cols[role] = np.zeros(len(arr))
            continue
        cols[role] = _to_float(arr, src, str(name))
    # Order problems first: they also make the interval impossible to infer.
    check_times(src, start, "bar open time", allow_equal=False)
    if interval is None:
        interval_ns = _infer_interval(start, src)
    else:
        try:
            interval_ns = parse_interval(interval)
        except ConfigError as exc:
            raise ConfigError(f"{src}: {exc}") from None
    bars = BarSeries(
        start=start,
        end=start + interval_ns,
        open=cols["open"],
        high=cols["high"],
        low=cols["low"],
        close=cols["close"],
        volume=cols["volume"],
        symbol=symbol or _symbol_from_column(raw) or default_symbol(p),
        interval_ns=interval_ns,
        source=src,
    )
    validate_bars(bars)
    log.debug("loaded %d bars of %s from %s", len(bars), bars.symbol, src)
    return bars


def load_trades(path: str | Path, symbol: str | None = None) -> TradeSeries:
    """Load public trades from CSV (with or without header), Parquet, Feather or JSON(.gz).

    Needs a time column, a price and a quantity (qty/amount/quantity/size). The taker side
    comes from ``side`` (buy/sell, b/s, +1/-1) or ``is_buyer_maker``/``buyer_maker`` (true =
    taker sold); without either it is 0 (unknown). Equal timestamps are allowed, decreasing
    ones are not.
    """
    p = Path(path)
    with _arrow_guard(str(p)):
        return _load_trades(p, symbol)


def _load_trades(p: Path, symbol: str | None) -> TradeSeries:
    src = str(p)
    raw = _read(p, _Layout(CSV_TRADE_LAYOUTS), _Layout(JSON_TRADE_LAYOUTS))
    if raw.n == 0:
        raise DataError(f"{src}: empty file (no data rows)")
    time_name = _pick_time_column(raw)
    price_name = raw.find(TRADE_PRICE)
    qty_name = raw.find(TRADE_QTY)
    missing = [
        f"{role} ({'/'.join(aliases)})"
        for role, aliases, name in (
            ("price", TRADE_PRICE, price_name),
            ("qty", TRADE_QTY, qty_name),
        )
        if name is None
    ]
    if missing or price_name is None or qty_name is None:
        raise DataError(
            f"{src}: missing column(s) {', '.join(missing)}; found columns {_found(raw)}"
        )
    ts = _time_to_ns(raw.column(time_name), src, str(time_name))
    price = _to_float(raw.column(price_name), src, str(price_name))
    qty = _to_float(raw.column(qty_name), src, str(qty_name))
    side_name = raw.find(TRADE_SIDE)
    maker_name = raw.find(TRADE_BUYER_MAKER)
    if side_name is not None:
        side = _side_codes(raw.column(side_name), src, str(side_name))
    elif maker_name is not None:
        side = _buyer_maker_codes(raw.column(maker_name), src, str(maker_name))
    else:
        side = np.zeros(len(ts), dtype=np.int8)
    trades = TradeSeries(
        ts=ts,
        price=price,
        qty=qty,
        side=side,
        symbol=symbol or _symbol_from_column(raw) or default_symbol(p),
        source=src,
    )
    validate_trades(trades)
    log.debug("loaded %d trades of %s from %s", len(trades), trades.symbol, src)
    return trades


__all__ = ["default_symbol", "load_bars", "load_trades"]
