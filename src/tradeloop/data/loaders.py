"""Read bar and trade files (CSV, Parquet, Feather/Arrow IPC, JSON[.gz]) into series.

Files in the wild disagree on everything: column names ("date", "timestamp", "open_time"),
time encodings (tz-aware datetimes, ISO strings, epoch s/ms/us/ns), JSON layouts (list of
lists, list of records, pandas "columns" dicts), headerless CSVs and how a trade's side is
spelled. This module absorbs those differences and hands the rest of the system one shape —
or a one-line ``DataError`` naming the file and the row/field at fault, never a traceback.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tradeloop.core.errors import ConfigError, DataError, one_line
from tradeloop.data.columns import buyer_maker_codes, side_codes, time_to_ns, to_float
from tradeloop.data.intervals import parse_interval
from tradeloop.data.readers import Layout, RawTable, read_table
from tradeloop.data.series import (
    F64,
    I64,
    BarSeries,
    TradeSeries,
    check_times,
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

BAR_ROWS = Layout({}, BAR_LAYOUT)  # klines from most exchanges start with these six


def _pick_time_column(raw: RawTable) -> str:
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


def _found(raw: RawTable) -> str:
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


def _symbol_from_column(raw: RawTable) -> str | None:
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
        raise DataError(f"{src}: cannot interpret the data: {one_line(exc)}") from None


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
    raw = read_table(p, BAR_ROWS, BAR_ROWS)
    if raw.n == 0:
        raise DataError(f"{src}: empty file (no data rows)")
    time_name = _pick_time_column(raw)
    names = {role: raw.find(aliases) for role, aliases in BAR_COLUMNS.items()}
    missing = [role for role, name in names.items() if name is None]
    if missing:
        raise DataError(
            f"{src}: missing column(s) {', '.join(missing)}; found columns {_found(raw)}"
        )
    start = time_to_ns(raw.column(time_name), src, str(time_name))
    cols: dict[str, F64] = {}
    for role, name in names.items():
        assert name is not None
        arr = raw.column(name)
        if role == "volume" and arr.null_count == len(arr):
            log.warning("%s: volume column is empty; using volume 0 for every bar", src)
            cols[role] = np.zeros(len(arr))
            continue
        cols[role] = to_float(arr, src, str(name))
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
    raw = read_table(p, Layout(CSV_TRADE_LAYOUTS), Layout(JSON_TRADE_LAYOUTS))
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
    ts = time_to_ns(raw.column(time_name), src, str(time_name))
    price = to_float(raw.column(price_name), src, str(price_name))
    qty = to_float(raw.column(qty_name), src, str(qty_name))
    side_name = raw.find(TRADE_SIDE)
    maker_name = raw.find(TRADE_BUYER_MAKER)
    if side_name is not None:
        side = side_codes(raw.column(side_name), src, str(side_name))
    elif maker_name is not None:
        side = buyer_maker_codes(raw.column(maker_name), src, str(maker_name))
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
