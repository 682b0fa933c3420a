"""OKX JSON -> FMZ shapes, without I/O (fixtures are OKX v5 doc-shaped rows): the OKX
conventions, the interim OKX queries' readers and the shared shapes they feed."""

from __future__ import annotations

import pytest

from tradeloop.fmz import shapes
from tradeloop.fmz.adapter import GatewayVenue
from tradeloop.fmz.conventions import conventions_for
from tradeloop.fmz.protocol import Credentials, FmzError
from tradeloop.fmz.symbols import parse_symbol
from tradeloop.fmz.venue import VenueSpec
from tradeloop.fmz.venues import okx_queries as Q
from tradeloop.fmz.venues.okx import OkxConventions, split_secret
from tradeloop.model import BalanceUpdate
from tradeloop.venues import registry
from tradeloop.venues.okx.gateway import OkxGateway

OKX = OkxConventions()


def test_symbol_mapping_round_trip() -> None:
    assert OKX.instrument_id(parse_symbol("btc_usdt")) == "BTC-USDT.OKX"
    assert OKX.instrument_id(parse_symbol("BTC_USDT.swap")) == "BTC-USDT-SWAP.OKX"
    assert OKX.instrument_id(parse_symbol("BTC_USD.250328")) == "BTC-USD-250328.OKX"
    with pytest.raises(FmzError, match="unsupported contract"):
        OKX.instrument_id(parse_symbol("BTC_USDT.quarter"))
    assert OKX.fmz_symbol("BTC-USDT-SWAP.OKX") == "BTC_USDT.swap"
    assert OKX.fmz_symbol("ETH-USDT.OKX") == "ETH_USDT"
    assert OKX.fmz_symbol("BTC-USD-250328.OKX") == "BTC_USD.250328"
    assert Q._inst_type("BTC-USDT") == "SPOT" and Q._inst_type("BTC-USDT-SWAP") == "SWAP"
    assert conventions_for("okx") is not None and conventions_for("NOPE") is None


def test_order_ids() -> None:
    assert OKX.order_id("BTC-USDT.OKX", "123456") == "BTC-USDT,123456"
    assert OKX.split_order_id("BTC-USDT,123456", None) == ("BTC-USDT.OKX", "123456")
    assert OKX.split_order_id("btc-usdt-swap,9", None) == ("BTC-USDT-SWAP.OKX", "9")
    assert OKX.split_order_id("123456", "ETH-USDT.OKX") == ("ETH-USDT.OKX", "123456")
    with pytest.raises(FmzError, match="no instrument"):
        OKX.split_order_id("123456", None)
    with pytest.raises(FmzError, match="invalid order id"):
        OKX.split_order_id(",5", None)
    with pytest.raises(FmzError, match="invalid order id"):
        OKX.split_order_id("BTC USDT,5", None)


def test_secret_packing() -> None:
    assert split_secret("s,p") == ("s", "p", False)
    assert split_secret("s, p ,simulate") == ("s", "p", True)
    assert split_secret("s,pass,word") == ("s", "pass,word", False)  # commas in passphrases
    assert split_secret("s,pass,word,SIMULATE") == ("s", "pass,word", True)
    with pytest.raises(FmzError, match="secret,passphrase"):
        split_secret("only-secret")
    keys, extra = OKX.credentials(Credentials("k", "s,p,simulate"))
    assert keys == {"api_key": "k", "secret": "s", "passphrase": "p"}
    assert extra == {"simulated": True}


def test_ticker_keeps_exact_strings() -> None:
    t = {"instId": "ETH-USDT", "bidPx": "2922.18", "askPx": "2922.19", "high24h": "2955",
         "low24h": "2775.15", "open24h": "2787.72", "last": "2922.18",
         "vol24h": "249400.888156", "ts": "1731028903911"}  # fmt: skip
    assert shapes.ticker(Q.ticker_of(t), "ETH_USDT") == {
        "symbol": "ETH_USDT", "buy": "2922.18", "sell": "2922.19", "high": "2955",
        "low": "2775.15", "open": "2787.72", "last": "2922.18", "vol": "249400.888156",
        "time": "1731028903911",
    }  # fmt: skip
    tiny = {**t, "vol24h": "0.00001", "last": "123456789.12345678"}  # no exponent, all digits
    assert shapes.ticker(Q.ticker_of(tiny), "ETH_USDT")["vol"] == "0.00001"
    assert shapes.ticker(Q.ticker_of(tiny), "ETH_USDT")["last"] == "123456789.12345678"


def test_trades_oldest_first_and_candles_ascending() -> None:
    rows = [{"instId": "BTC-USDT", "tradeId": "2", "ts": "20", "px": "1.5", "sz": "2",
             "side": "sell"},
            {"instId": "BTC-USDT", "tradeId": "1", "ts": "10", "px": "1", "sz": "1",
             "side": "buy"}]  # fmt: skip
    out = shapes.trades(Q.trades_of(rows))
    assert [t["id"] for t in out] == ["1", "2"] and out[0]["type"] == "buy"
    assert out[0] == {"id": "1", "time": 10, "price": 1.0, "amount": 1.0, "type": "buy"}
    c = Q.candles_of([["120000", "1", "2", "0.5", "1.5", "10", "x", "y", "0"],
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
    info = Q.order_of(o)
    d = shapes.order(info, OKX.order_id(info.symbol, info.venue_order_id), "BTC_USDT")
    assert d["status"] == expected and d["id"] == "BTC-USDT,7" and d["avg_price"] == 0.0
    assert d["type"] == "buy" and d["price"] == 100.0 and d["time"] == 5
    assert "offset" not in d  # spot


def test_swap_order_and_position() -> None:
    o = {"instId": "BTC-USDT-SWAP", "ordId": "8", "state": "filled", "accFillSz": "3", "sz": "3",
         "px": "", "avgPx": "100.5", "side": "sell", "ordType": "market", "reduceOnly": "true",
         "cTime": "5"}  # fmt: skip
    d = shapes.order(Q.order_of(o), "BTC-USDT-SWAP,8", "BTC_USDT.swap")
    assert d["price"] == -1 and d["offset"] == "close" and d["contract_type"] == "swap"
    p = Q.position_of({"instId": "BTC-USDT-SWAP", "pos": "-2", "posSide": "net", "avgPx": "100",
                       "upl": "-1.5", "lever": "5", "availPos": "2", "margin": "40"})  # fmt: skip
    assert shapes.position(p, "BTC_USDT.swap") == {
        "symbol": "BTC_USDT.swap", "margin_level": 5.0, "amount": 2.0, "frozen_amount": 0.0,
        "price": 100.0, "profit": -1.5, "type": 1, "contract_type": "swap", "margin": 40.0,
    }  # fmt: skip
    assert Q.position_of({"instId": "BTC-USDT-SWAP", "pos": "0"}).qty == 0
    hedged = Q.position_of({"instId": "BTC-USDT-SWAP", "pos": "3", "posSide": "short",
                            "availPos": "1"})  # fmt: skip
    assert hedged.qty == -3 and hedged.frozen == 2 and hedged.leverage == 1.0


def test_balances() -> None:
    data = [
        {
            "details": [
                {"ccy": "USDT", "availBal": "3000", "frozenBal": "5"},
                {"ccy": "BTC", "availBal": "0.2482982056277609", "frozenBal": "0"},
            ]
        }
    ]
    assert [shapes.balance(b) for b in Q.balances_of(data)] == [
        {"currency": "USDT", "free": "3000", "frozen": "5"},
        {"currency": "BTC", "free": "0.2482982056277609", "frozen": "0"},
    ]  # fmt: skip
    # a contract balance (total, free): frozen is their exact decimal difference
    u = BalanceUpdate(0, "BTC", total=0.3, free=0.1, venue="OKX")
    assert shapes.balance(shapes.balance_of(u)) == {"currency": "BTC", "free": "0.1",
                                                    "frozen": "0.2"}  # fmt: skip
    assert shapes.balance_of(BalanceUpdate(0, "X", 1.0, 2.0)).frozen == 0.0


async def test_simulate_flag_reaches_the_signed_headers() -> None:
    venue = GatewayVenue(
        "OKX", VenueSpec("OKX", "https://www.okx.com"), registry.get("OKX"), OkxConventions()
    )
    await venue.start()
    try:
        demo = venue._build_keyed(Credentials("key-0001", "sec-0001,pass-0001,simulate"))
        assert isinstance(demo, OkxGateway) and demo.rest.credentials is not None
        headers = demo.rest.credentials.rest_headers("GET", "/api/v5/account/balance")
        assert headers["x-simulated-trading"] == "1"
        assert headers["OK-ACCESS-PASSPHRASE"] == "pass-0001"
        assert demo.ws_url.startswith("wss://wspap.okx.com")  # OKX's demo-trading socket
        live = venue._build_keyed(Credentials("key-0001", "sec-0001,pass-0001"))
        assert isinstance(live, OkxGateway) and live.rest.credentials is not None
        assert "x-simulated-trading" not in live.rest.credentials.rest_headers("GET", "/x")
        assert live.ws_url.startswith("wss://ws.okx.com")
        await demo.stop()
        await live.stop()
    finally:
        await venue.close()
