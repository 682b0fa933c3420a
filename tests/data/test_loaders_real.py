"""Every loader on every real bar/trade file format in the shared data folder."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

from tradeloop.core.errors import DataError
from tradeloop.data.loaders import load_bars, load_trades
from tradeloop.model.events import Bar, TradeTick

pytestmark = pytest.mark.shared

MIN = 60_000_000_000

BAR_FILES = [
    ("candles/ADA_BTC-5m.feather", 5 * MIN, 5720),
    ("candles/DASH_BTC-5m.feather", 5 * MIN, 5758),
    ("candles/ETC_BTC-5m.feather", 5 * MIN, 5759),
    ("candles/ETH_BTC-5m.feather", 5 * MIN, 5760),
    ("candles/LTC_BTC-5m.feather", 5 * MIN, 5760),
    ("candles/NXT_BTC-5m.feather", 5 * MIN, 5760),
    ("candles/TRX_BTC-5m.feather", 5 * MIN, 5754),
    ("candles/XLM_BTC-5m.feather", 5 * MIN, 5760),
    ("candles/XMR_BTC-5m.feather", 5 * MIN, 5758),
    ("candles/ZEC_BTC-5m.feather", 5 * MIN, 5757),
    ("candles/UNITTEST_BTC-5m.feather", 5 * MIN, 5760),
    ("candles/UNITTEST_BTC-1m.feather", MIN, 13681),
    ("candles/UNITTEST_BTC-1m.json", MIN, 13681),
    ("candles/UNITTEST_BTC-8m.json.gz", MIN, 13681),  # 1m data despite its name
    ("candles/UNITTEST_BTC-30m.feather", 30 * MIN, 1920),
    ("candles/XRP_ETH-1m.feather", MIN, 2469),
    ("candles/XRP_ETH-5m.feather", 5 * MIN, 706),
    ("candles/futures/XRP_USDT_USDT-1h-futures.feather", 60 * MIN, 100),
    ("candles/futures/XRP_USDT_USDT-1h-futures.json.gz", 60 * MIN, 100),
    ("candles/futures/XRP_USDT_USDT-5m-futures.feather", 5 * MIN, 1999),
    ("candles/futures/XRP_USDT_USDT-1h-mark.feather", 60 * MIN, 100),
    ("candles/futures/UNITTEST_USDT_USDT-1h-mark.feather", 60 * MIN, 100),
    ("candles/futures/XRP_USDT_USDT-8h-mark.feather", 480 * MIN, 91),
    ("candles/orderflow/candles.json", 5 * MIN, 10999),
    ("candles/orderflow/populate_dataframe_with_trades_DF.feather", 5 * MIN, 999),
    ("bars/btc-perp-20211231-20220201_1m.csv", MIN, 45031),
]

TRADE_FILES = [
    ("candles/XRP_ETH-trades.feather", 12477),
    ("candles/XRP_ETH-trades.parquet", 12477),
    ("candles/XRP_ETH-trades.json.gz", 12477),
    ("candles/XRP_OLD-trades.json.gz", 12477),
    ("bars/binance/btcusdt-trades.parquet", 2001),
    ("candles/kraken/trades_csv/BCHEUR.csv", 148),
    ("candles/kraken/trades_csv/incremental_q2/BCHEUR.csv", 486),
    ("candles/orderflow/public_trades_list.csv", 1000),
    ("candles/orderflow/public_trades_list_simple_example.csv", 7),
]


@pytest.mark.parametrize(("rel", "interval", "rows"), BAR_FILES)
def test_load_bars_real(shared_data: Path, rel: str, interval: int, rows: int) -> None:
    bars = load_bars(shared_data / rel)
    assert len(bars) == rows
    assert bars.interval_ns == interval
    assert bars.source.endswith(rel)
    assert np.all(np.diff(bars.start) > 0)
    assert np.array_equal(bars.end, bars.start + interval)
    assert np.all(bars.start % interval == 0)  # real candles are aligned to their interval
    first = next(bars.iter_bars())
    assert isinstance(first, Bar)
    assert first.ts == first.start + interval
    assert first.low <= min(first.open, first.close) <= max(first.open, first.close) <= first.high


def test_feather_values_match_arrow(shared_data: Path) -> None:
    path = shared_data / "candles/XRP_ETH-1m.feather"
    table = feather.read_table(path)
    bars = load_bars(path)
    assert bars.symbol == "XRP_ETH"
    expected = table.column("date").cast("int64").to_numpy()
    assert np.array_equal(bars.start, expected)
    assert np.array_equal(bars.close, table.column("close").to_numpy())
    assert bars.start[0] == 1_570_752_000 * 10**9  # 2019-10-11 00:00 UTC


def test_json_list_matches_feather(shared_data: Path) -> None:
    a = load_bars(shared_data / "candles/UNITTEST_BTC-1m.json")
    b = load_bars(shared_data / "candles/UNITTEST_BTC-1m.feather")
    c = load_bars(shared_data / "candles/UNITTEST_BTC-8m.json.gz")
    for other in (b, c):
        assert np.array_equal(a.start, other.start)
        for col in ("open", "high", "low", "close", "volume"):
            np.testing.assert_allclose(getattr(a, col), getattr(other, col), rtol=1e-12)


def test_csv_iso_strings(shared_data: Path) -> None:
    bars = load_bars(shared_data / "bars/btc-perp-20211231-20220201_1m.csv", symbol="BTC-PERP")
    assert bars.symbol == "BTC-PERP"
    # first row: 2021-12-31 23:01:00.000000,46319.0,46385.0,46319.0,46377.0,2300413.7295
    assert bars.start[0] == 1_640_991_660 * 10**9
    assert (bars.open[0], bars.high[0], bars.low[0], bars.close[0]) == (46319, 46385, 46319, 46377)
    assert bars.volume[0] == pytest.approx(2300413.7295)


def test_explicit_interval(shared_data: Path) -> None:
    bars = load_bars(shared_data / "candles/XRP_ETH-5m.feather", interval="5m")
    assert bars.interval_ns == 5 * MIN
    with pytest.raises(DataError, match=r"row \d+ .*before the previous bar ends"):
        load_bars(shared_data / "candles/XRP_ETH-5m.feather", interval="1h")


def test_mark_series_without_volume_loads_zero_volume(shared_data: Path) -> None:
    bars = load_bars(shared_data / "candles/futures/XRP_USDT_USDT-1h-mark.feather")
    assert np.all(bars.volume == 0.0)


def test_funding_rate_file_is_not_ohlc(shared_data: Path) -> None:
    path = shared_data / "candles/futures/XRP_USDT_USDT-8h-funding_rate.feather"
    with pytest.raises(DataError) as err:
        load_bars(path)
    msg = str(err.value)
    assert str(path) in msg and "row 1" in msg and "'high'" in msg
    assert "\n" not in msg


def test_quotes_file_is_not_bars(shared_data: Path) -> None:
    path = shared_data / "bars/binance/btcusdt-quotes.parquet"
    with pytest.raises(DataError, match=r"missing column\(s\) open, high, low, close, volume"):
        load_bars(path)


@pytest.mark.parametrize(("rel", "rows"), TRADE_FILES)
def test_load_trades_real(shared_data: Path, rel: str, rows: int) -> None:
    trades = load_trades(shared_data / rel)
    assert len(trades) == rows
    assert np.all(np.diff(trades.ts) >= 0)
    assert np.all(trades.price > 0) and np.all(trades.qty >= 0)
    assert trades.ts[0] > 1_500_000_000 * 10**9  # epoch unit detected (after 2017)
    assert trades.ts[0] < 1_800_000_000 * 10**9
    ticks = list(trades.iter_trades())
    assert len(ticks) == rows
    assert isinstance(ticks[0], TradeTick)
    assert ticks[0].ts == int(trades.ts[0])


def test_trade_formats_agree(shared_data: Path) -> None:
    ref = load_trades(shared_data / "candles/XRP_ETH-trades.parquet")
    raw = pq.read_table(shared_data / "candles/XRP_ETH-trades.parquet")
    assert np.array_equal(ref.ts, raw.column("timestamp").to_numpy() * 1_000_000)
    sides = np.where(np.array(raw.column("side").to_pylist()) == "buy", 1, -1)
    assert np.array_equal(ref.side, sides)
    for rel in (
        "candles/XRP_ETH-trades.feather",
        "candles/XRP_ETH-trades.json.gz",
        "candles/XRP_OLD-trades.json.gz",
    ):
        other = load_trades(shared_data / rel)
        assert np.array_equal(other.ts, ref.ts)
        assert np.array_equal(other.price, ref.price)
        assert np.array_equal(other.qty, ref.qty)
        assert np.array_equal(other.side, ref.side)
    assert load_trades(shared_data / "candles/XRP_OLD-trades.json.gz").symbol == "XRP/ETH"


def test_binance_buyer_maker_means_taker_sold(shared_data: Path) -> None:
    path = shared_data / "bars/binance/btcusdt-trades.parquet"
    trades = load_trades(path)
    maker = np.array(pq.read_table(path).column("buyer_maker").to_pylist()) == "True"
    assert np.array_equal(trades.side, np.where(maker, -1, 1))
    assert trades.qty[0] == pytest.approx(0.000263)


def test_kraken_headerless_csv(shared_data: Path) -> None:
    trades = load_trades(shared_data / "candles/kraken/trades_csv/BCHEUR.csv")
    # 1672531436,90.540000,1.10448420  (epoch seconds)
    assert trades.ts[0] == 1_672_531_436 * 10**9
    assert trades.price[0] == pytest.approx(90.54)
    assert trades.qty[0] == pytest.approx(1.1044842)
    assert np.all(trades.side == 0)  # no side in the file
    assert trades.symbol == "BCHEUR"


def test_orderflow_csv_with_padding(shared_data: Path) -> None:
    trades = load_trades(shared_data / "candles/orderflow/public_trades_list_simple_example.csv")
    assert trades.ts[0] == 1_675_311_000_092 * 1_000_000
    assert trades.price[0] == pytest.approx(23438.0)
    assert list(trades.side[:3]) == [1, -1, -1]  # "sell " with a trailing space


def test_json_records_pandas_columns_orient(shared_data: Path) -> None:
    path = shared_data / "candles/orderflow/candles.json"
    doc = json.loads(path.read_text())
    bars = load_bars(path)
    assert bars.start[0] == doc["date"]["0"] * 1_000_000
    assert bars.close[-1] == doc["close"][str(len(bars) - 1)]


def test_gz_json_trades_rows(shared_data: Path) -> None:
    path = shared_data / "candles/XRP_ETH-trades.json.gz"
    with gzip.open(path, "rt") as fh:
        rows = json.load(fh)
    trades = load_trades(path)
    assert trades.price[5] == rows[5][4] and trades.qty[5] == rows[5][5]
