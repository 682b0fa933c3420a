"""OKX JSON -> FMZ shapes, without I/O (fixtures are OKX v5 doc-shaped rows)."""

from __future__ import annotations

import pytest

from tradeloop.fmz.protocol import FmzError
from tradeloop.fmz.symbols import parse_symbol
from tradeloop.fmz.venues import okx_format as F
from tradeloop.fmz.venues.okx import split_secret


def test_symbol_mapping_round_trip() -> None:
    assert F.inst_id(parse_symbol("btc_usdt")) == "BTC-USDT"
    assert F.inst_id(parse_symbol("BTC_USDT.swap")) == "BTC-USDT-SWAP"
    assert F.inst_id(parse_symbol("BTC_USD.250328")) == "BTC-USD-250328"
    with pytest.raises(FmzError, match="unsupported contract"):
        F.inst_id(parse_symbol("BTC_USDT.quarter"))
    assert F.fmz_symbol("BTC-USDT-SWAP") == "BTC_USDT.swap"
    assert F.fmz_symbol("ETH-USDT") == "ETH_USDT"
    assert F.inst_type("BTC-USDT") == "SPOT" and F.inst_type("BTC-USDT-SWAP") == "SWAP"


def test_order_ids() -> None:
    assert F.order_id("BTC-USDT", "123456") == "BTC-USDT,123456"
    assert F.split_order_id("BTC-USDT,123456", None) == ("BTC-USDT", "123456")
    assert F.split_order_id("btc-usdt-swap,9", None) == ("BTC-USDT-SWAP", "9")
    assert F.split_order_id("123456", parse_symbol("ETH_USDT")) == ("ETH-USDT", "123456")
    with pytest.raises(FmzError, match="no instrument"):
        F.split_order_id("123456", None)
    with pytest.raises(FmzError, match="invalid order id"):
        F.split_order_id(",5", None)


def test_secret_packing() -> None:
    assert split_secret("s,p") == ("s", "p", False)
    assert split_secret("s, p ,simulate") == ("s", "p", True)
    assert split_secret("s,pass,word") == ("s", "pass,word", False)  # commas in passphrases
    assert split_secret("s,pass,word,SIMULATE") == ("s", "pass,word", True)
    with pytest.raises(FmzError, match="secret,passphrase"):
        split_secret("only-secret")


def test_ticker_keeps_exact_strings() -> None:
    t = {"instId": "ETH-USDT", "bidPx": "2922.18", "askPx": "2922.19", "high24h": "2955",
         "low24h": "2775.15", "open24h": "2787.72", "last": "2922.18",
         "vol24h": "249400.888156", "ts": "1731028903911"}  # fmt: skip
    assert F.ticker(t) == {"symbol": "ETH_USDT", "buy": "2922.18", "sell": "2922.19",
                           "high": "2955", "low": "2775.15", "open": "2787.72",
                           "last": "2922.18", "vol": "249400.888156",
                           "time": "1731028903911"}  # fmt: skip


def test_trades_oldest_first_and_candles_ascending() -> None:
    rows = [{"tradeId": "2", "ts": "20", "px": "1.5", "sz": "2", "side": "sell"},
            {"tradeId": "1", "ts": "10", "px": "1", "sz": "1", "side": "buy"}]  # fmt: skip
    out = F.trades(rows)
    assert [t["id"] for t in out] == ["1", "2"] and out[0]["type"] == "buy"
    c = F.candles([["120000", "1", "2", "0.5", "1.5", "10", "x", "y", "0"],
                   ["60000", "1", "1", "1", "1", "1", "x", "y", "1"]])  # fmt: skip
    assert [r[0] for r in c] == [60000, 120000]


@pytest.mark.parametrize(
    ("state", "filled", "expected"),
    [
        ("live", "0", "pending"),
        ("partially_filled", "0.5", "partial-filled"),
        ("filled", "1", "filled"),
        ("canceled", "0", "canceled"),
        ("canceled", "0.2", "partial-canceled"),
        ("mmp_canceled", "0", "canceled"),
    ],
)
def test_order_status(state: str, filled: str, expected: str) -> None:
    o = {"instId": "BTC-USDT", "ordId": "7", "state": state, "accFillSz": filled, "sz": "1",
         "px": "100", "avgPx": "", "side": "buy", "ordType": "limit", "cTime": "5"}  # fmt: skip
    d = F.order(o)
    assert d["status"] == expected and d["id"] == "BTC-USDT,7" and d["avg_price"] == 0.0


def test_swap_order_and_position() -> None:
    o = {"instId": "BTC-USDT-SWAP", "ordId": "8", "state": "filled", "accFillSz": "3", "sz": "3",
         "px": "", "avgPx": "100.5", "side": "sell", "ordType": "market", "reduceOnly": "true",
         "cTime": "5"}  # fmt: skip
    d = F.order(o)
    assert d["price"] == -1 and d["offset"] == "close" and d["contract_type"] == "swap"
    p = F.position({"instId": "BTC-USDT-SWAP", "pos": "-2", "posSide": "net", "avgPx": "100",
                    "upl": "-1.5", "lever": "5", "availPos": "2", "margin": "40"})  # fmt: skip
    assert p == {"symbol": "BTC_USDT.swap", "margin_level": 5.0, "amount": 2.0,
                 "frozen_amount": 0.0, "price": 100.0, "profit": -1.5, "type": 1,
                 "contract_type": "swap", "margin": 40.0}  # fmt: skip
    assert F.position({"instId": "BTC-USDT-SWAP", "pos": "0"}) is None


def test_balances() -> None:
    data = [
        {
            "details": [
                {"ccy": "USDT", "availBal": "3000", "frozenBal": "5"},
                {"ccy": "BTC", "availBal": "0.2482982056277609", "frozenBal": "0"},
            ]
        }
    ]
    assert F.balances(data) == [
        {"currency": "USDT", "free": "3000", "frozen": "5"},
        {"currency": "BTC", "free": "0.2482982056277609", "frozen": "0"},
    ]  # fmt: skip


def test_simulate_flag_reaches_the_signed_headers() -> None:
    from tradeloop.fmz.protocol import Credentials
    from tradeloop.fmz.venue import VenueSpec
    from tradeloop.fmz.venues.okx import OkxFmzVenue

    venue = OkxFmzVenue("OKX", VenueSpec("OKX", "https://www.okx.com"))
    demo = venue.client(Credentials("key-0001", "sec-0001,pass-0001,simulate"))
    assert demo.credentials is not None
    headers = demo.credentials.rest_headers("GET", "/api/v5/account/balance")
    assert headers["x-simulated-trading"] == "1"
    assert headers["OK-ACCESS-PASSPHRASE"] == "pass-0001"
    live = venue.client(Credentials("key-0001", "sec-0001,pass-0001"))
    assert live is not demo and live.credentials is not None
    assert "x-simulated-trading" not in live.credentials.rest_headers("GET", "/x")
    assert venue.private_ws_url(True).startswith("wss://wspap.okx.com")
    assert venue.client(Credentials("key-0001", "sec-0001,pass-0001")) is live  # reused
