"""FMZ contract tests for the BITFINEX label: every FMZ method through the bridge, the generic
adapter, the Bitfinex connector (orders over its authenticated WebSocket) and the Bitfinex
emulator (in process, real loopback sockets), on spot (``BTC_USD`` = ``tBTCUSD``) and the
perpetual (``BTC_USDT.swap`` = ``tBTCF0:USTF0``), plus the error paths. The label comes from the
venue registry (``fmz_label="BITFINEX"``)."""

from __future__ import annotations

from typing import Any

from tradeloop.emulator.bitfinex.server import BitfinexConfig, BitfinexEmulator
from tradeloop.fmz.symbols import parse_symbol
from tradeloop.fmz.venue import known_kinds
from tradeloop.fmz.venues.bitfinex import BitfinexConventions

from . import contract
from .contract import Env, Venue, env_fixture

KEY, SECRET = "fmz-bfx-key-0001", "fmz-bfx-secret-0001"
BITFINEX = Venue("BITFINEX", KEY, SECRET, BitfinexEmulator, BitfinexConfig, {
    "balances": {"USD": 100_000.0, "BTC": 2.0, "USTF0": 100_000.0},
    "symbols": ["tBTCUSD", "tETHUSD", "tBTCF0:USTF0"],
})  # fmt: skip
env = env_fixture(BITFINEX)


def test_label_and_symbols() -> None:
    assert "BITFINEX" in set(known_kinds())
    conv = BitfinexConventions()
    cases = {"BTC_USD": "tBTCUSD", "BTC_USDT": "tBTCUST", "DOGE_USD": "tDOGE:USD",
             "BTC_USDT.swap": "tBTCF0:USTF0"}  # fmt: skip
    for fmz, native in cases.items():
        sid = conv.instrument_id(parse_symbol(fmz))
        assert sid == native + ".BITFINEX"
        assert conv.fmz_symbol(sid) == fmz


async def test_market_data(env: Env) -> None:
    await contract.check_depth(env, "BTC_USD")
    await contract.check_ticker(env, "btc_usdt.swap", "BTC_USDT.swap")
    markets = await env.data("markets")
    assert {"BTC_USD", "ETH_USD", "BTC_USDT.swap"} <= set(markets)
    assert markets["BTC_USD"]["base_asset"] == "BTC" and markets["BTC_USD"]["tick_size"] > 0
    await contract.check_tape(env, "BTC_USD")
    await contract.check_records(env, "BTC_USDT.swap")
    tickers = await env.data("tickers")
    assert {x["symbol"] for x in tickers} == {"BTC_USD", "ETH_USD", "BTC_USDT.swap"}
    swaps = await env.data("tickers", {"symbol": "USDT.swap"})
    assert [x["symbol"] for x in swaps] == ["BTC_USDT.swap"]
    (f,) = await env.data("fundings", {"symbol": "BTC_USDT.swap"})
    assert f["symbol"] == "BTC_USDT.swap" and f["interval"] == 8 * 3_600_000
    assert "unsupported contract" in await env.error("ticker", {"symbol": "BTC_USD.quarter"})
    assert "USDT-margined" in await env.error("depth", {"symbol": "BTC_USD.swap"})


async def test_spot_and_perp_orders(env: Env) -> None:
    await contract.spot_round(env, "BTC_USD", "USD", "0.01", "tBTCUSD,")
    # the perpetual: leverage for later orders (Bitfinex's per-order ``lev``), open, see the
    # position at that leverage, close it
    assert await env.data("setmarginlevel", {"symbol": "BTC_USDT.swap", "marginLevel": "3"})
    pos = await contract.open_swap(env, "BTC_USDT.swap", "0.5", "USDT.swap")
    assert pos["margin_level"] == 3 and env.emu.trading.account.sim.leverage("tBTCF0:USTF0") == 3
    await contract.close_swap(env, "BTC_USDT.swap", "0.5")
    assert await env.data("io", {"code": 0, "args": [4], "symbol": "BTC_USDT.swap"}) is True
    await env.data("trade", {"symbol": "BTC_USDT.swap", "type": "buy", "price": -1,
                             "amount": "0.1"})  # fmt: skip

    async def lev4() -> Any:  # the older io scheme's level rides on the next order
        return env.emu.trading.account.sim.leverage("tBTCF0:USTF0") == 4

    assert await contract.until(lev4)
    assert "needs a contract symbol" in await env.error(
        "setmarginlevel", {"symbol": "BTC_USD", "marginLevel": 3}
    )
    assert "leverage is 1-100" in await env.error(
        "setmarginlevel", {"symbol": "BTC_USDT.swap", "marginLevel": 125}
    )


async def test_keys_passthrough_and_errors(env: Env) -> None:
    await contract.check_refusals(
        env, unknown="XXX_USD", missing_id="tBTCUSD,424242", tiny="BTC_USD"
    )
    r = await env.call("__api_/v2/ticker/tBTCUSD", headers={"Http-Method": "GET"})
    assert len(r["data"]) == 10 and r["data"][0] < r["data"][2]
    r = await env.call("__api_/v2/auth/r/wallets")
    assert ["exchange", "USD"] in [w[:2] for w in r["data"]]
    assert "plain venue API path" in await env.error("__api_/v2/../__admin/faults")
