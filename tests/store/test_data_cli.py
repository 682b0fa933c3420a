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
