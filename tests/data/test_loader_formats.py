"""Loader column/time detection on small hand-written files of every supported shape."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

from tradeloop.data import load_bars, load_trades

T0 = 1_704_067_200  # 2024-01-01 00:00:00 UTC, seconds
NS = 1_000_000_000
ROWS = [(10.0, 11.0, 9.0, 10.5, 1.0), (10.5, 12.0, 10.0, 11.0, 2.0), (11.0, 11.5, 10.5, 11.0, 3.0)]


def csv_bars(tmp_path: Path, times: list[str], header: str = "timestamp") -> Path:
    path = tmp_path / "x.csv"
    lines = [f"{header},open,high,low,close,volume"]
    lines += [f"{t},{','.join(map(str, r))}" for t, r in zip(times, ROWS, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    "times",
    [
        [str(T0 + 60 * i) for i in range(3)],  # epoch seconds
        [str((T0 + 60 * i) * 1_000) for i in range(3)],  # ms
        [str((T0 + 60 * i) * 1_000_000) for i in range(3)],  # us
        [str((T0 + 60 * i) * NS) for i in range(3)],  # ns
        [f"{T0 + 60 * i}.0" for i in range(3)],  # float seconds
        ["2024-01-01 00:00:00", "2024-01-01 00:01:00", "2024-01-01 00:02:00"],
        ["2024-01-01T00:00:00Z", "2024-01-01T00:01:00Z", "2024-01-01T00:02:00Z"],
        ["2024-01-01 02:00:00+02:00", "2024-01-01 02:01:00+02:00", "2024-01-01 02:02:00+02:00"],
        ["2024-01-01 00:00:00.000000", "2024-01-01 00:01:00.000000", "2024-01-01 00:02:00.000000"],
    ],
)
def test_time_encodings(tmp_path: Path, times: list[str]) -> None:
    bars = load_bars(csv_bars(tmp_path, times))
    assert bars.start.tolist() == [(T0 + 60 * i) * NS for i in range(3)]
    assert bars.end.tolist() == [(T0 + 60 * (i + 1)) * NS for i in range(3)]


@pytest.mark.parametrize("header", ["date", "Datetime", "TIME", "ts", "open_time", "Timestamp"])
def test_time_column_names(tmp_path: Path, header: str) -> None:
    bars = load_bars(csv_bars(tmp_path, [str(T0 + 60 * i) for i in range(3)], header))
    assert bars.start[0] == T0 * NS


def test_ohlcv_aliases_and_symbol_column(tmp_path: Path) -> None:
    path = tmp_path / "k.parquet"
    one = np.ones(3)
    pq.write_table(
        pa.table(
            {
                "ts": pa.array(np.array([0, 60, 120], dtype="datetime64[s]")),
                "O": one,
                "H": one * 2,
                "L": one / 2,
                "C": one,
                "V": one,
                "symbol": ["ETH-USDT"] * 3,
            }
        ),
        path,
    )
    bars = load_bars(path)
    assert bars.symbol == "ETH-USDT"
    assert bars.high.tolist() == [2.0, 2.0, 2.0]
    assert load_bars(path, symbol="OTHER").symbol == "OTHER"


def test_tz_aware_feather(tmp_path: Path) -> None:
    path = tmp_path / "z.arrow"
    ts = pa.array([T0 * NS, (T0 + 3600) * NS], type=pa.timestamp("ns", tz="Asia/Tokyo"))
    one = np.ones(2)
    feather.write_feather(
        pa.table({"date": ts, "open": one, "high": one, "low": one, "close": one, "volume": one}),
        path,
    )
    bars = load_bars(path)
    assert bars.start.tolist() == [T0 * NS, (T0 + 3600) * NS]
    assert bars.interval_ns == 3600 * NS


def test_headerless_binance_kline_csv(tmp_path: Path) -> None:
    path = tmp_path / "BTCUSDT-1m-2024-01-01.csv"
    rows = [
        f"{(T0 + 60 * i) * 1000},{o},{h},{lo},{c},{v},{(T0 + 60 * i + 59) * 1000 + 999},1,2,3,4,0"
        for i, (o, h, lo, c, v) in enumerate(ROWS)
    ]
    path.write_text("\n".join(rows) + "\n")
    bars = load_bars(path)
    assert bars.symbol == "BTCUSDT"
    assert bars.start[0] == T0 * NS and bars.close.tolist() == [10.5, 11.0, 11.0]


def test_okx_style_string_klines_json(tmp_path: Path) -> None:
    path = tmp_path / "okx.json"
    data = [[str((T0 + 60 * i) * 1000), *map(str, r), "0", "0", "1"] for i, r in enumerate(ROWS)]
    path.write_text(json.dumps({"code": "0", "msg": "", "data": data}))
    bars = load_bars(path, symbol="BTC-USDT")
    assert bars.start[1] == (T0 + 60) * NS and bars.open.tolist() == [10.0, 10.5, 11.0]


def test_json_records_and_columns(tmp_path: Path) -> None:
    records = [
        {"time": (T0 + 60 * i) * 1000, "open": o, "high": h, "low": lo, "close": c, "volume": v}
        for i, (o, h, lo, c, v) in enumerate(ROWS)
    ]
    a = tmp_path / "rec.json.gz"
    with gzip.open(a, "wt") as fh:
        json.dump(records, fh)
    b = tmp_path / "cols.json"
    b.write_text(json.dumps({k: [r[k] for r in records] for k in records[0]}))
    for path in (a, b):
        bars = load_bars(path)
        assert bars.start[2] == (T0 + 120) * NS and bars.volume.tolist() == [1.0, 2.0, 3.0]


def test_headerless_binance_trades_csv(tmp_path: Path) -> None:
    path = tmp_path / "BTCUSDT-trades-2024-01-01.csv"
    path.write_text(
        f"1,42000.1,0.5,21000.05,{T0 * 1000},True,True\n"
        f"2,42000.2,0.1,4200.02,{T0 * 1000 + 5},False,True\n"
    )
    trades = load_trades(path)
    assert trades.ts.tolist() == [T0 * NS, T0 * NS + 5_000_000]
    assert trades.side.tolist() == [-1, 1]  # buyer is maker -> taker sold
    assert trades.symbol == "BTCUSDT"


def test_trade_side_spellings(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    sides = ["buy", "SELL", "b", "s", "", "unknown", "Bid", "ask"]
    lines = ["ts,price,size,side"] + [f"{T0 + i},1.5,2,{s}" for i, s in enumerate(sides)]
    path.write_text("\n".join(lines) + "\n")
    trades = load_trades(path)
    assert trades.side.tolist() == [1, -1, 1, -1, 0, 0, 1, -1]
    ticks = list(trades.iter_trades())
    assert [t.side.value for t in ticks[:4]] == ["buy", "sell", "buy", "sell"]


def test_numeric_side_and_bool_maker(tmp_path: Path) -> None:
    a = tmp_path / "n.parquet"
    pq.write_table(
        pa.table({"time": [1, 2, 3], "price": [1.0, 2, 3], "qty": [1.0, 1, 1], "side": [1, -1, 0]}),
        a,
    )
    assert load_trades(a).side.tolist() == [1, -1, 0]
    b = tmp_path / "m.feather"
    feather.write_feather(
        pa.table(
            {
                "time": [1, 2, 3],
                "price": [1.0, 2, 3],
                "quantity": [1.0, 1, 1],
                "is_buyer_maker": [True, False, None],
            }
        ),
        b,
    )
    assert load_trades(b).side.tolist() == [-1, 1, 0]
