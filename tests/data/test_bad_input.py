"""Bad files give ONE clear DataError line naming the file and the row and/or field."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

from tradeloop.core.errors import ConfigError, DataError
from tradeloop.data import load_bars, load_trades

HEADER = "timestamp,open,high,low,close,volume\n"
GOOD = [
    "2024-01-01 00:00:00,10,11,9,10.5,1",
    "2024-01-01 00:01:00,10.5,12,10,11,2",
    "2024-01-01 00:02:00,11,11.5,10.5,11,3",
    "2024-01-01 00:03:00,11,11.2,10.8,11.1,4",
]


def write_csv(tmp_path: Path, rows: list[str], header: str = HEADER, name: str = "b.csv") -> Path:
    path = tmp_path / name
    path.write_text(header + "\n".join(rows) + "\n")
    return path


def bars_error(path: Path, **kwargs: object) -> str:
    with pytest.raises(DataError) as err:
        load_bars(path, **kwargs)  # type: ignore[arg-type]
    msg = str(err.value)
    assert str(path) in msg, msg
    assert "\n" not in msg, msg
    return msg


def trades_error(path: Path) -> str:
    with pytest.raises(DataError) as err:
        load_trades(path)
    msg = str(err.value)
    assert str(path) in msg, msg
    assert "\n" not in msg, msg
    return msg


def with_row(i: int, row: str) -> list[str]:
    rows = list(GOOD)
    rows[i - 1] = row
    return rows


def test_good_csv_loads(tmp_path: Path) -> None:
    bars = load_bars(write_csv(tmp_path, GOOD))
    assert len(bars) == 4 and bars.interval_ns == 60 * 10**9
    assert bars.symbol == "b"


def test_missing_columns_lists_missing_and_found(tmp_path: Path) -> None:
    path = write_csv(tmp_path, ["2024-01-01,1,2,0.5"], header="date,open,high,low\n")
    msg = bars_error(path)
    assert "missing column(s) close, volume" in msg
    assert "found columns ['date', 'open', 'high', 'low']" in msg


def test_missing_time_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path, ["x,1,2,0.5,1,3"], header="when,open,high,low,close,volume\n")
    msg = bars_error(path)
    assert "no time column" in msg and "'when'" in msg


def test_ragged_csv_row(tmp_path: Path) -> None:
    msg = bars_error(write_csv(tmp_path, with_row(3, "2024-01-01 00:02:00,11,11.5,10.5,11")))
    assert "row 3" in msg and "expected 6 comma-separated fields, got 5" in msg


def test_missing_trade_columns(tmp_path: Path) -> None:
    path = write_csv(tmp_path, ["1700000000000,5"], header="timestamp,price\n")
    msg = trades_error(path)
    assert "missing column(s) qty" in msg and "found columns ['timestamp', 'price']" in msg


@pytest.mark.parametrize(
    ("row", "field"),
    [
        ("2024-01-01 00:02:00,nan,11.5,10.5,11,3", "'open'"),
        ("2024-01-01 00:02:00,11,inf,10.5,11,3", "'high'"),
        ("2024-01-01 00:02:00,11,11.5,10.5,11,", "'volume'"),
        ("2024-01-01 00:02:00,11,11.5,-inf,11,3", "'low'"),
    ],
)
def test_nan_inf_names_row_and_field(tmp_path: Path, row: str, field: str) -> None:
    msg = bars_error(write_csv(tmp_path, with_row(3, row)))
    assert "row 3" in msg and field in msg and "1-based" in msg


def test_non_positive_price(tmp_path: Path) -> None:
    msg = bars_error(write_csv(tmp_path, with_row(2, "2024-01-01 00:01:00,0,12,0,11,2")))
    assert "row 2" in msg and "positive" in msg


def test_negative_volume(tmp_path: Path) -> None:
    msg = bars_error(write_csv(tmp_path, with_row(4, "2024-01-01 00:03:00,11,11.2,10.8,11.1,-4")))
    assert "row 4" in msg and "'volume'" in msg


def test_high_below_low(tmp_path: Path) -> None:
    msg = bars_error(write_csv(tmp_path, with_row(2, "2024-01-01 00:01:00,10.5,9,12,11,2")))
    assert "row 2" in msg and "high 9.0 < low 12.0" in msg


@pytest.mark.parametrize(
    ("row", "what"),
    [
        ("2024-01-01 00:01:00,13,12,10,11,2", "open 13.0 is outside"),
        ("2024-01-01 00:01:00,10.5,12,10,9.5,2", "close 9.5 is outside"),
    ],
)
def test_open_close_outside_range(tmp_path: Path, row: str, what: str) -> None:
    msg = bars_error(write_csv(tmp_path, with_row(2, row)))
    assert "row 2" in msg and what in msg


def test_unsorted_timestamps(tmp_path: Path) -> None:
    rows = with_row(3, "2023-12-31 23:00:00,11,11.5,10.5,11,3")
    msg = bars_error(write_csv(tmp_path, rows), interval="1m")
    assert "row 3" in msg and "sorted" in msg


def test_duplicate_timestamps(tmp_path: Path) -> None:
    rows = with_row(3, "2024-01-01 00:01:00,11,11.5,10.5,11,3")
    msg = bars_error(write_csv(tmp_path, rows))
    assert "row 3" in msg and "duplicate" in msg


def test_unsorted_trades(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        ["1700000000000,5,1,buy", "1700000000000,5,1,sell", "1699999999999,5,1,buy"],
        header="timestamp,price,amount,side\n",
        name="t.csv",
    )
    msg = trades_error(path)
    assert "row 3" in msg and "sorted" in msg


def test_bad_trade_side(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        ["1700000000000,5,1,buy", "1700000000001,5,1,hold"],
        header="timestamp,price,amount,side\n",
        name="t.csv",
    )
    msg = trades_error(path)
    assert "row 2" in msg and "'side'" in msg and "hold" in msg


def test_bad_trade_price(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path,
        ["1700000000000,5,1", "1700000000001,-5,1"],
        header="timestamp,price,qty\n",
        name="t.csv",
    )
    msg = trades_error(path)
    assert "row 2" in msg and "'price'" in msg


def test_unparsable_number(tmp_path: Path) -> None:
    msg = bars_error(write_csv(tmp_path, with_row(2, "2024-01-01 00:01:00,10.5,12,10,eleven,2")))
    assert "row 2" in msg and "'close'" in msg and "eleven" in msg


def test_unparsable_time(tmp_path: Path) -> None:
    msg = bars_error(write_csv(tmp_path, with_row(2, "yesterday,10.5,12,10,11,2")))
    assert "row 2" in msg and "'timestamp'" in msg and "yesterday" in msg


def test_empty_files(tmp_path: Path) -> None:
    for name in ("e.csv", "e.json", "e.parquet", "e.feather"):
        path = tmp_path / name
        path.write_bytes(b"")
        assert "empty" in bars_error(path)
    header_only = tmp_path / "h.csv"
    header_only.write_text(HEADER)
    assert "empty" in bars_error(header_only) or "no" in bars_error(header_only)
    empty_list = tmp_path / "l.json"
    empty_list.write_text("[]")
    assert "empty" in bars_error(empty_list)
    empty_trades = tmp_path / "t.csv"
    empty_trades.write_text("timestamp,price,qty\n")
    assert "no data rows" in trades_error(empty_trades) or "empty" in trades_error(empty_trades)


def test_unsupported_and_unreadable(tmp_path: Path) -> None:
    xlsx = tmp_path / "b.xlsx"
    xlsx.write_bytes(b"PK\x03\x04junk")
    assert "unsupported file type" in bars_error(xlsx)
    broken = tmp_path / "b.parquet"
    broken.write_bytes(b"this is not parquet at all")
    assert "cannot read as parquet" in bars_error(broken)
    broken_f = tmp_path / "b.feather"
    broken_f.write_bytes(b"neither is this")
    assert "cannot read as feather" in bars_error(broken_f)
    bad_json = tmp_path / "b.json"
    bad_json.write_text("[[1, 2, 3")
    assert "not valid JSON" in bars_error(bad_json)
    bad_gz = tmp_path / "b.json.gz"
    bad_gz.write_bytes(b"not gzip")
    assert "cannot read" in bars_error(bad_gz)
    assert "file not found" in bars_error(tmp_path / "missing.csv")


def test_json_ragged_rows(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text(json.dumps([[0, 1, 1, 1, 1, 1], [60000, 1, 1, 1, 1]]))
    msg = bars_error(path)
    assert "row 2" in msg


def test_json_wrong_width(tmp_path: Path) -> None:
    path = tmp_path / "w.json"
    path.write_text(json.dumps([[0, 1, 1, 1], [60000, 1, 1, 1]]))
    assert "4 values" in bars_error(path)


def test_parquet_nan_row(tmp_path: Path) -> None:
    path = tmp_path / "n.parquet"
    start = np.arange(5, dtype=np.int64) * 60_000
    close = np.array([1.0, 1.0, 1.0, np.nan, 1.0])
    table = pa.table(
        {
            "open_time": start,
            "o": np.ones(5),
            "h": np.ones(5),
            "l": np.ones(5),
            "c": close,
            "v": np.ones(5),
        }
    )
    pq.write_table(table, path)
    msg = bars_error(path)
    assert "row 4" in msg and "'close'" in msg


def test_feather_duplicate_row(tmp_path: Path) -> None:
    path = tmp_path / "d.feather"
    start = pa.array(np.array([0, 60, 60, 120], dtype="datetime64[s]"))
    one = np.ones(4)
    feather.write_feather(
        pa.table(
            {"Date": start, "Open": one, "High": one, "Low": one, "Close": one, "Volume": one}
        ),
        path,
    )
    msg = bars_error(path)
    assert "row 3" in msg and "duplicate" in msg


def test_gz_json_high_low(tmp_path: Path) -> None:
    path = tmp_path / "g.json.gz"
    rows = [[0, 1, 2, 0.5, 1, 1], [60_000, 1, 0.5, 2, 1, 1]]
    with gzip.open(path, "wt") as fh:
        json.dump(rows, fh)
    msg = bars_error(path)
    assert "row 2" in msg and "high 0.5 < low 2.0" in msg


def test_single_row_needs_interval(tmp_path: Path) -> None:
    path = write_csv(tmp_path, GOOD[:1])
    assert "pass interval=" in bars_error(path)
    assert len(load_bars(path, interval="1m")) == 1


def test_bad_interval_is_config_error(tmp_path: Path) -> None:
    path = write_csv(tmp_path, GOOD)
    with pytest.raises(ConfigError, match=r"b\.csv.*bad interval"):
        load_bars(path, interval="1 minute")
