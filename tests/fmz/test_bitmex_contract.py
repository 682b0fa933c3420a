"""FMZ contract tests for the BITMEX label: the bridge -> the generic adapter -> the BitMEX
connector -> the BitMEX emulator (in process, real loopback sockets). The label comes from the
venue registry (``/BITMEX``; no BitMEX code in the bridge beyond its conventions entry). The
futures methods run on the inverse ``XBTUSD`` (``BTC_USD.swap``, PnL and margin in BTC) and
the linear ``XBTUSDT`` (``BTC_USDT.swap``, in USDT)."""

from __future__ import annotations

import pytest

from tradeloop.fmz.symbols import parse_symbol
from tradeloop.fmz.venue import known_kinds
from tradeloop.fmz.venues.bitmex import BitmexConventions

from . import contract
from .contract import Env, Venue, env_fixture

server = pytest.importorskip("tradeloop.emulator.bitmex.server")

KEY, SECRET = "fmz-bitmex-key-0001", "fmz-bitmex-secret-0001"
BITMEX = Venue("BITMEX", KEY, SECRET, server.BitmexEmulator, server.BitmexConfig, {
    "balances": {"XBt": 100_000_000.0, "USDt": 10_000_000_000.0},
    "symbols": ["XBTUSD", "ETHUSD", "XBTUSDT"], "admin_token": "t" * 32,
})  # fmt: skip
env = env_fixture(BITMEX)


def test_label_and_symbols() -> None:
    assert "BITMEX" in known_kinds()
    conv = BitmexConventions()
    for text, native in (("BTC_USD.swap", "XBTUSD"), ("eth_usd.swap", "ETHUSD"),
                         ("BTC_USDT.swap", "XBTUSDT"), ("BTC_USD.h25", "XBTH25")):  # fmt: skip
        sid = conv.instrument_id(parse_symbol(text))
        assert sid == native + ".BITMEX"
    for native, text in (("XBTUSD", "BTC_USD.swap"), ("XBTUSDT", "BTC_USDT.swap"),
                         ("ETHUSD", "ETH_USD.swap")):  # fmt: skip
        assert conv.fmz_symbol(native + ".BITMEX") == text


async def test_market_data(env: Env) -> None:
    await contract.check_depth(env, "BTC_USD.swap")
    assert env.venue.market.is_live("XBTUSD.BITMEX")
    await contract.check_ticker(env, "btc_usdt.swap", "BTC_USDT.swap")
    markets = await env.data("markets")
    assert {"BTC_USD.swap", "ETH_USD.swap", "BTC_USDT.swap"} <= set(markets)
    await contract.check_tape(env, "BTC_USD.swap")
    await contract.check_records(env, "BTC_USD.swap")
    (fund,) = await env.data("fundings", {"symbol": "BTC_USD.swap"})
    assert fund["symbol"] == "BTC_USD.swap" and fund["rate"] == pytest.approx(0.0001)
    assert "only contracts" in await env.error("ticker", {"symbol": "BTC_USD"})
    assert "unsupported contract" in await env.error("ticker", {"symbol": "BTC_USD.quarter"})


async def test_inverse_and_linear_futures(env: Env) -> None:
    acc = await env.data("accounts")
    by = {a["currency"]: a for a in acc}
    assert float(by["BTC"]["free"]) == pytest.approx(1.0)
    assert float(by["USDT"]["free"]) == pytest.approx(10_000.0)
    # a resting inverse limit order, seen and canceled
    oid = await contract.resting_buy(env, "BTC_USD.swap", "100", "XBTUSD,")
    await contract.check_cancel(env, oid)
    # leverage, then a position on each kind of swap
    assert await env.data("setmarginlevel", {"symbol": "BTC_USD.swap", "marginLevel": 5})
    for sym, amount in (("BTC_USD.swap", "200"), ("BTC_USDT.swap", "1000")):
        await env.data("trade", {"symbol": sym, "type": "buy", "price": -1, "amount": amount})
    pos = await contract.wait(env, "positions", {}, lambda p: len(p) == 2)
    got = {p["symbol"]: p for p in pos}
    inv, lin = got["BTC_USD.swap"], got["BTC_USDT.swap"]
    assert (inv["amount"], inv["type"], inv["contract_type"]) == (200, 0, "swap")
    assert inv["margin_level"] == 5 and 0 < inv["margin"] < 0.01  # BTC: 200 USD / 5x
    assert lin["amount"] == 1000 and 0 < lin["margin"] < 100  # USDT: 0.001 BTC at 10x
    # the venue's own position (minor units) agrees with what FMZ shows (whole BTC)
    raw = await env.call("__api_/api/v1/position", headers={"Http-Method": "GET"})
    row = next(r for r in raw["data"] if r["symbol"] == "XBTUSD")
    assert row["currentQty"] == 200 and inv["margin"] == pytest.approx(row["posMargin"] / 1e8)
    # close both
    for sym, amount in (("BTC_USD.swap", "200"), ("BTC_USDT.swap", "1000")):
        await env.data("trade", {"symbol": sym, "type": "closebuy", "price": -1,
                                 "amount": amount})  # fmt: skip
    await contract.wait(env, "positions", {}, lambda p: p == [])
    hist = await env.data("historyorders", {"symbol": "BTC_USD.swap"})
    assert oid in [h["id"] for h in hist]


async def test_keys_passthrough_and_errors(env: Env) -> None:
    await contract.check_refusals(env, unknown="DOGE_USD.swap", missing_id="XBTUSD,424242",
                         cancel_missing=False)  # fmt: skip
    r = await env.call("__api_/api/v1/instrument", {"symbol": "XBTUSD"},
                       headers={"Http-Method": "GET"})  # fmt: skip
    assert r["data"][0]["symbol"] == "XBTUSD" and r["data"][0]["isInverse"] is True
    r = await env.call("__api_/api/v1/user/margin", headers={"Http-Method": "GET"})
    assert r["data"]["currency"] == "XBt"
    assert "plain venue API path" in await env.error("__api_/__admin/faults")
