"""FMZ contract tests for the FTX label: the bridge -> the generic adapter -> the FTX connector ->
the FTX emulator (in process, real loopback sockets). The label comes from the venue registry
(``/FTX`` with no FTX code in the bridge beyond its conventions entry)."""

from __future__ import annotations

import pytest

from tradeloop.fmz.venue import known_kinds

from . import contract
from .contract import Env, Venue, env_fixture

server = pytest.importorskip("tradeloop.emulator.ftx.server")

KEY, SECRET = "fmz-ftx-key-0001", "fmz-ftx-secret-0001"
FTX = Venue("FTX", KEY, SECRET, server.FtxEmulator, server.FtxConfig, {
    "balances": {"USD": 100_000.0, "BTC": 2.0},
    "symbols": ["BTC-PERP", "BTC/USD", "ETH-PERP"], "subaccounts": ["fmz"],
})  # fmt: skip
env = env_fixture(FTX)


def test_label_comes_from_the_registry() -> None:
    assert {"OKX", "FTX"} <= set(known_kinds())


async def test_market_data_from_the_ftx_gateway(env: Env) -> None:
    d = await contract.check_depth(env, "BTC_USD")
    assert "raw" not in d  # no REST book query: the gateway's verified book, waited for
    assert env.venue.market.is_live("BTC/USD.FTX")
    await contract.check_ticker(env, "btc_usd.swap", "BTC_USD.swap")
    markets = await env.data("markets")
    assert {"BTC_USD", "BTC_USD.swap", "ETH_USD.swap"} <= set(markets)
    assert markets["BTC_USD"]["base_asset"] == "BTC" and markets["BTC_USD"]["tick_size"] > 0
    await contract.check_tape(env, "BTC_USD.swap")
    await contract.check_records(env, "BTC_USD.swap")
    for method in ("tickers", "fundings"):
        assert "is not supported" in await env.error(method)
    assert "unsupported contract" in await env.error("ticker", {"symbol": "BTC_USD.quarter"})
    assert "quoted in USD" in await env.error("depth", {"symbol": "BTC_USDT.swap"})


async def test_spot_and_swap_orders(env: Env) -> None:
    # the market buy's fill comes on the private stream
    mo = await contract.spot_round(env, "BTC_USD", "USD", "0.01", "BTC/USD,")
    assert mo["status"] == "filled" and mo["price"] == -1
    # the swap: open, see the position, close it
    await contract.open_swap(env, "BTC_USD.swap", "0.5", "USD.swap")
    await contract.close_swap(env, "BTC_USD.swap", "0.5")
    assert await env.data("positions") == []
    assert "is not supported" in await env.error("setmarginlevel", {"symbol": "BTC_USD.swap",
                                                                    "marginLevel": 3})  # fmt: skip


async def test_keys_passthrough_and_errors(env: Env) -> None:
    await contract.check_refusals(
        env, unknown="XXX_USD", missing_id="BTC/USD,424242", tiny="BTC_USD"
    )
    assert "secret" in await env.error("accounts", secret_key=",sub")
    sub = await env.data("accounts", secret_key=f"{SECRET},fmz")  # a subaccount
    assert {"currency": "BTC", "free": "2", "frozen": "0"} in sub
    r = await env.call("__api_/api/markets/BTC-PERP", headers={"Http-Method": "GET"})
    assert r["data"]["success"] is True and r["data"]["result"]["name"] == "BTC-PERP"
    r = await env.call("__api_/api/wallet/balances")
    assert any(b["coin"] == "USD" for b in r["data"]["result"])
    assert "plain venue API path" in await env.error("__api_/__admin/faults")
    assert "plain venue API path" in await env.error("__api_/api/../__admin/faults")
