"""Typed numpy columns from raw Arrow columns: timestamps in any encoding -> int ns,
numbers (also as padded text) -> float64, trade sides in their many spellings -> +1/-1/0.

Every conversion reports the first bad value by row and field, so a user can fix the file.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tradeloop.core.errors import DataError
from tradeloop.data.series import F64, I8, I64, row_error

_BUY_WORDS = frozenset({"buy", "b", "bid", "long", "1", "+1"})
_SELL_WORDS = frozenset({"sell", "s", "ask", "short", "-1"})
_UNKNOWN_WORDS = frozenset({"", "none", "null", "nan", "unknown", "0"})
_TRUE_WORDS = frozenset({"true", "t", "1", "yes", "y"})
_FALSE_WORDS = frozenset({"false", "f", "0", "no", "n"})


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


def time_to_ns(arr: pa.Array, src: str, field: str) -> I64:
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


def to_float(arr: pa.Array, src: str, field: str) -> F64:
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


def side_codes(arr: pa.Array, src: str, field: str) -> I8:
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


def buyer_maker_codes(arr: pa.Array, src: str, field: str) -> I8:
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
