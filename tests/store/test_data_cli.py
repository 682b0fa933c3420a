"""``tradeloop data`` import / list / query / resample over the shared captures and files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tradeloop.cli import main
from tradeloop.store.catalog import query

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
pytestmark = pytest.mark.shared
pytest.importorskip("duckdb", reason="the catalog needs the store extra (duckdb)")


def need(p: Path) -> Path:
    if not p.exists():
        pytest.skip(f"{p} absent (shared data is not beside the checkout)")
    return p


def test_import_captures_and_files_then_query(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    caps = need(SHARED / "captures")
    store = str(tmp_path)
    files = [
        str(caps / n)
        for n in (
            "OKX.ws.1.0",
            "BINANCE.ws.1.0",
            "BITMEX.ws.1.0",
            "BINANCE_FUTURES.ws.1.0",
            "BITFINEX.ws.11.0",
        )
    ]
    assert main(["data", "import", *files, "--store", store]) == 0
    candles = need(SHARED / "candles")
    assert (
        main(
            [
                "data",
                "import",
                str(candles / "XRP_ETH-5m.feather"),
                "--venue",
                "binance",
                "--store",
                store,
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "data",
                "import",
                str(candles / "XRP_ETH-trades.parquet"),
                "--kind",
                "trades",
                "--venue",
                "binance",
                "--symbol",
                "XRP_ETH",
                "--store",
                store,
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "data",
                "resample",
                "--venue",
                "binance",
                "--instrument",
                "XRP_ETH",
                "--interval",
                "1h",
                "--store",
                store,
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["data", "list", "--store", store]) == 0
    out = capsys.readouterr().out
    assert "OKX        book     BTC-USDT" in out
    _cols, rows = query(tmp_path, "SELECT interval, count(*) FROM bars GROUP BY 1 ORDER BY 1")
    assert dict(rows) == {"1h": 60, "5m": 706}
    _, rows = query(
        tmp_path, "SELECT count(*) FROM trades WHERE venue = 'BINANCE' AND instrument = 'XRP_ETH'"
    )
    assert rows[0][0] == 12477
    # every OKX book message of the capture is in the store (290 books messages)
    _, rows = query(tmp_path, "SELECT count(DISTINCT rec_seq) FROM book WHERE venue = 'OKX'")
    assert rows[0][0] == 290


def test_bad_input_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "query", "SELECT * FROM nope", "--store", str(tmp_path)]) == 2
    assert main(["data", "import", str(tmp_path / "missing.csv"), "--store", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(e.startswith("tradeloop data: error:") for e in err)


def test_a_damaged_file_is_named_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A parquet file damaged outside tradeloop (its own writes are atomic) is named, in one
    line, with what to do -- not a DuckDB traceback."""
    csv = tmp_path / "bars.csv"
    rows = [f"2024-01-01 00:{m:02d}:00,{100 + m},{101 + m},{99 + m},{100 + m},1" for m in range(30)]
    csv.write_text("time,open,high,low,close,volume\n" + "\n".join(rows) + "\n")
    store = tmp_path / "store"
    args = ["data", "import", str(csv), "--venue", "okx", "--symbol", "BTC-USDT"]
    assert main([*args, "--store", str(store)]) == 0
    (damaged,) = store.rglob("*.parquet")
    damaged.write_bytes(b"not parquet at all")
    capsys.readouterr()
    assert main(["data", "list", "--store", str(store)]) == 2
    (err,) = capsys.readouterr().err.strip().splitlines()
    assert damaged.name in err and "moved aside" in err


def test_importing_the_same_file_again_stores_its_rows_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv = tmp_path / "bars.csv"
    rows = [f"2024-01-01 00:{m:02d}:00,{100 + m},{101 + m},{99 + m},{100 + m},1" for m in range(30)]
    csv.write_text("time,open,high,low,close,volume\n" + "\n".join(rows) + "\n")
    store = str(tmp_path / "store")
    args = ["data", "import", str(csv), "--venue", "okx", "--symbol", "BTC-USDT", "--store", store]
    for _ in range(2):
        assert main(args) == 0
    assert query(Path(store), "SELECT count(*) FROM bars")[1] == [(30,)]
    other = tmp_path / "more.csv"  # a different file adds its rows
    other.write_text("time,open,high,low,close,volume\n2024-01-01 01:00:00,1,1,1,1,1\n"
                     "2024-01-01 01:01:00,1,1,1,1,1\n")  # fmt: skip
    assert main(["data", "import", str(other), *args[3:]]) == 0
    assert query(Path(store), "SELECT count(*) FROM bars")[1] == [(32,)]
