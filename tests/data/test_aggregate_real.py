"""Bar aggregation from real trades matches a pandas resample and the published candles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradeloop.data import (
    BarSeries,
    EmptyBarPolicy,
    aggregate_stream,
    load_bars,
    load_trades,
    resample_trades,
)
from tradeloop.data.series import TradeSeries

pytestmark = pytest.mark.shared

COLUMNS = ("open", "high", "low", "close", "volume")
TRADE_FILES = ("candles/XRP_ETH-trades.parquet", "bars/binance/btcusdt-trades.parquet")
RULES = (("1min", 60 * 10**9), ("5min", 300 * 10**9), ("10s", 10 * 10**9))


def pandas_bars(trades: TradeSeries, rule: str, empty: EmptyBarPolicy) -> pd.DataFrame:
    """The reference: ohlc of price + sum of qty; SKIP = dropna, CARRY = ffill close."""
    df = pd.DataFrame(
        {"price": trades.price, "qty": trades.qty}, index=pd.to_datetime(trades.ts, utc=True)
    )
    resampled = df.resample(rule, label="left", closed="left")
    out = resampled["price"].ohlc()
    out["volume"] = resampled["qty"].sum()
    if empty is EmptyBarPolicy.SKIP:
        return out.dropna()
    out["close"] = out["close"].ffill()
    for col in ("open", "high", "low"):
        out[col] = out[col].fillna(out["close"])
    return out


@pytest.mark.parametrize("rel", TRADE_FILES)
@pytest.mark.parametrize(("rule", "interval"), RULES)
@pytest.mark.parametrize("empty", list(EmptyBarPolicy))
def test_matches_pandas_resample(
    shared_data: Path, rel: str, rule: str, interval: int, empty: EmptyBarPolicy
) -> None:
    trades = load_trades(shared_data / rel)
    expected = pandas_bars(trades, rule, empty)
    bars = resample_trades(trades, interval, empty)
    assert np.array_equal(bars.start, expected.index.asi8)
    assert np.array_equal(bars.end, bars.start + interval)
    for col in COLUMNS:
        np.testing.assert_allclose(getattr(bars, col), expected[col].to_numpy(), rtol=1e-12)
    streamed = BarSeries.from_bars(aggregate_stream(trades, interval, empty), interval)
    for col in ("start", "end", *COLUMNS):
        assert np.array_equal(getattr(streamed, col), getattr(bars, col)), col  # bit for bit
    if empty is EmptyBarPolicy.CARRY:
        assert np.all(np.diff(bars.start) == interval)


@pytest.mark.parametrize("iv", ["1m", "5m"])
def test_trades_reproduce_published_candles(shared_data: Path, iv: str) -> None:
    """freqtrade's XRP/ETH candles were built from the very same trades."""
    trades = load_trades(shared_data / "candles/XRP_ETH-trades.parquet")
    candles = load_bars(shared_data / f"candles/XRP_ETH-{iv}.feather")
    bars = resample_trades(trades, iv, EmptyBarPolicy.SKIP)
    assert np.array_equal(bars.start, candles.start)
    for col in COLUMNS:
        np.testing.assert_allclose(getattr(bars, col), getattr(candles, col), rtol=1e-9)
