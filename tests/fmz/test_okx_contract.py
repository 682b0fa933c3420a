"""Contract tests: every FMZ method through the bridge, the OKX connector and the OKX emulator
(in process, real loopback sockets), spot and swap, plus each error path."""

from __future__ import annotations

import asyncio
import itertools
import json

import pytest

from tradeloop.emulator.okx.server import EmulatorConfig, OkxEmulator

from . import contract
from .conftest import post_raw
from .contract import TICKER_KEYS, Env, Venue, check_depth, env_fixture
from .guide_examples import GUIDE_INCOMPLETE_SYMBOL, GUIDE_PARAMS, GUIDE_TICKER, guide_request

KEY, SECRET, PASS = "contract-key-1", "contract-secret-1", "contract-pass-1"
PACKED = f"{SECRET},{PASS}"


OKX = Venue("OKX", KEY, PACKED, OkxEmulator, EmulatorConfig, {
    "api_secret": SECRET, "passphrase": PASS, "seed": 1, "balances": {"USDT": 100000.0, "BTC": 2.0},
    "symbols": ["BTC-USDT", "ETH-USDT", "BTC-USDT-SWAP"],
}, request_timeout=3.0, check_flags=False)  # fmt: skip
env = env_fixture(OKX)


async def wait_live(env: Env, inst: str) -> None:
    """Bounded wait until the bridge serves ``inst`` (an OKX instId) from the gateway's live
    book and quote."""
    market = env.venue.market
    assert market.live
    for _ in range(200):
        if market.is_live(inst + ".OKX"):
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{inst} never became live")


# -- the guide's own requests ----------------------------------------------------------------
async def test_guide_examples(env: Env) -> None:
    body = {**GUIDE_TICKER, "params": {"symbol": "ETH_USDT"}}
    _, r = await post_raw(env.http, env.url, json.dumps(body).encode())
    assert r["data"]["symbol"] == "ETH_USDT"
    _, r = await post_raw(env.http, env.url, json.dumps(GUIDE_TICKER).encode())
    assert "error" in r  # LTC-USDT is not listed on the emulator: a clean error, not a crash
    replies = {}
    for method in GUIDE_PARAMS:
        headers = {"Http-Method": "GET"} if method.startswith("__api_") else {}
        _, replies[method] = await post_raw(
            env.http, env.url, json.dumps(guide_request(method, KEY, PACKED)).encode(), headers
        )
    for method in ("ticker", "depth", "trades", "records", "accounts", "assets", "trade",
                   "orders", "historyorders"):  # fmt: skip
        assert "data" in replies[method], (method, replies[method])
    assert len(replies["depth"]["data"]["asks"]) == 30
    assert replies["trade"]["data"]["id"].startswith("BTC-USDT,")
    # the guide's order id 123456 does not exist: order and cancel must say so
    assert "error" in replies["order"] and "error" in replies["cancel"]
    io = replies["__api_/api/v5/trade/orders-pending"]["data"]
    assert io["code"] == "0" and isinstance(io["data"], list)
    r = await env.call("ticker", {"symbol": GUIDE_INCOMPLETE_SYMBOL})
    assert "incomplete" in r["error"]


# -- public data -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("symbol", "inst"), [("BTC_USDT", "BTC-USDT"), ("btc_usdt.swap", "BTC-USDT-SWAP")]
)
async def test_ticker_and_depth_rest_then_live(env: Env, symbol: str, inst: str) -> None:
    first = await env.call("ticker", {"symbol": symbol})
    assert first["raw"]["instId"] == inst  # first request: REST, raw reply attached
    t = first["data"]
    assert set(t) == TICKER_KEYS and float(t["buy"]) < float(t["sell"])
    d0 = await env.call("depth", {"symbol": symbol, "limit": "5"})
    assert "raw" in d0  # REST
    await wait_live(env, inst)
    t2 = await env.call("ticker", {"symbol": symbol})
    assert t2["data"]["symbol"] == t["symbol"] and t2["raw"]["instId"] == inst
    d_live = await check_depth(env, symbol, 7)
    assert "raw" not in d_live  # from the live book, no REST call
    assert d_live["data"]["time"] > 1_000_000_000_000


async def test_live_book_survives_gaps_and_drops(env: Env) -> None:
    await env.data("depth", {"symbol": "BTC_USDT"})
    await wait_live(env, "BTC-USDT")
    env.emu.faults.skip_seq_once()
    env.emu.faults.corrupt_checksum_once()
    for _ in range(20):  # every answer meanwhile is valid data (live or REST fallback)
        d = await env.data("depth", {"symbol": "BTC_USDT", "limit": 3})
        assert d["bids"][0][0] < d["asks"][0][0]
        await asyncio.sleep(0.02)
    env.emu.faults.drop_ws()
    for _ in range(10):
        assert "data" in await env.call("ticker", {"symbol": "BTC_USDT"})
    await wait_live(env, "BTC-USDT")


async def test_trades_records_markets_tickers_fundings(env: Env) -> None:
    trades = await contract.check_tape(env, "btc_usdt", limit=50)
    assert {t["type"] for t in trades} <= {"buy", "sell"}
    for period, limit in ((1, 5), (60, 3), (7, 4), (90, 2), (1440, 2)):
        rows = await env.data("records", {"symbol": "BTC_USDT", "period": str(period),
                                          "limit": str(limit)})  # fmt: skip
        assert 0 < len(rows) <= limit, (period, rows)
        times = [r[0] for r in rows]
        assert times == sorted(times) and all(t % (period * 60) == 0 for t in times)
        assert all(t < 10_000_000_000 for t in times)  # seconds, as the guide's example
        for _, o, h, lo, c, v in rows:
            assert lo <= min(o, c) <= max(o, c) <= h and v >= 0
    swap_rows = await env.data("records", {"symbol": "BTC_USDT.swap", "period": 15, "limit": 2})
    assert len(swap_rows) == 2
    markets = await env.data("markets")
    assert {"BTC_USDT", "ETH_USDT", "BTC_USDT.swap"} <= set(markets)
    m = markets["BTC_USDT"]
    assert m["base_asset"] == "BTC" and m["quote_asset"] == "USDT" and m["tick_size"] > 0
    assert markets["BTC_USDT.swap"]["ct_val"] > 0
    for alias in ("getmarkets", "GetMarkets"):
        assert set(await env.data(alias)) == set(markets)
    tickers = await env.data("tickers")
    assert {t["symbol"] for t in tickers} >= {"BTC_USDT", "BTC_USDT.swap"}
    f = await env.data("fundings", {"symbol": "BTC_USDT.swap"})
    assert f[0]["symbol"] == "BTC_USDT.swap" and f[0]["interval"] > 0
    f_all = await env.data("getfundings", {"symbol": "USDT.swap"})
    assert [x["symbol"] for x in f_all] == ["BTC_USDT.swap"]


# -- spot trading ------------------------------------------------------------------------------
def _free(accounts: list[dict[str, str]], ccy: str) -> float:
    return sum(float(a["free"]) for a in accounts if a["currency"] == ccy)


async def test_spot_order_lifecycle(env: Env) -> None:
    acc = await env.data("accounts")
    assert _free(acc, "USDT") == 100000.0 and _free(acc, "BTC") == 2.0
    assert await env.data("assets") == acc
    # float-artefact inputs go upstream as exact strings rounded to tick (0.1) / lot (1e-8)
    r = await env.call("trade", {"symbol": "BTC_USDT", "type": "buy",
                                 "price": "30000.04999999", "amount": 0.1 + 0.2})  # fmt: skip
    oid = r["data"]["id"]
    assert oid.startswith("BTC-USDT,")
    o = await env.call("order", {"id": oid})
    assert o["raw"]["px"] == "30000" and o["raw"]["sz"] == "0.3"
    assert o["data"]["status"] == "pending" and o["data"]["price"] == 30000.0
    assert o["data"]["amount"] == 0.3 and o["data"]["type"] == "buy"
    pending = await env.data("orders", {"symbol": "BTC_USDT"})
    assert [p["id"] for p in pending] == [oid]
    assert [p["id"] for p in await env.data("getorders")] == [oid]  # no symbol: all
    acc = await env.data("accounts")
    assert float(next(a for a in acc if a["currency"] == "USDT")["frozen"]) > 0
    assert await env.data("cancel", {"id": oid, "symbol": "BTC_USDT"}) is True
    assert (await env.data("order", {"id": oid}))["status"] == "canceled"
    assert await env.data("orders", {"symbol": "BTC_USDT"}) == []
    # bare exchange id + symbol also works
    bare = oid.split(",")[1]
    assert (await env.data("getorder", {"id": bare, "symbol": "BTC_USDT"}))["id"] == oid
    # market buy: amount is quote currency (spend 1000 USDT)
    mid = (await env.data("trade", {"symbol": "BTC_USDT", "type": "buy", "price": "-1",
                                    "amount": "1000"}))["id"]  # fmt: skip
    mo = await env.data("order", {"id": mid})
    assert mo["status"] == "filled" and mo["price"] == -1
    assert mo["deal_amount"] * mo["avg_price"] == pytest.approx(1000, rel=0.01)
    acc = await env.data("accounts")  # read right after the write sees the fill
    assert _free(acc, "USDT") == pytest.approx(99000, rel=1e-3)
    # market sell: amount is base currency
    sid = (await env.data("trade", {"symbol": "BTC_USDT", "type": "sell", "price": -1,
                                    "amount": "0.01"}))["id"]  # fmt: skip
    assert (await env.data("order", {"id": sid}))["deal_amount"] == pytest.approx(0.01)
    hist = await env.data("historyorders", {"symbol": "BTC_USDT", "since": 0, "limit": 0})
    assert {oid, mid, sid} <= {h["id"] for h in hist}
    assert [h["time"] for h in hist] == sorted(h["time"] for h in hist)
    statuses = {h["id"]: h["status"] for h in hist}
    assert statuses[oid] == "canceled" and statuses[mid] == "filled"
    # one gateway for this key, reused by every call
    assert len(env.venue.keys) == 1


async def test_swap_positions_and_close(env: Env) -> None:
    sym = "BTC_USDT.swap"
    assert await env.data("setmarginlevel", {"symbol": sym, "marginLevel": "5"}) is True
    assert await env.data("positions") == []
    await env.data("trade", {"symbol": sym, "type": "buy", "price": -1, "amount": "2"})
    pos = await env.data("positions", {"symbol": sym})
    assert len(pos) == 1 and pos[0]["type"] == 0 and pos[0]["amount"] == 2
    assert pos[0]["margin_level"] == 5 and pos[0]["contract_type"] == "swap"
    assert await env.data("getposition") == pos or len(await env.data("getposition")) == 1
    cid = (await env.data("trade", {"symbol": sym, "type": "closebuy", "price": -1,
                                    "amount": "2"}))["id"]  # fmt: skip
    co = await env.data("order", {"id": cid})
    assert co["offset"] == "close" and co["type"] == "sell"
    assert await env.data("positions", {"symbol": "USDT.swap"}) == []
    await env.data("trade", {"symbol": sym, "type": "sell", "price": -1, "amount": 1})
    short = await env.data("position")
    assert short[0]["type"] == 1 and short[0]["amount"] == 1
    await env.data("trade", {"symbol": sym, "type": "closesell", "price": -1, "amount": 1})
    assert await env.data("positions") == []
    # the older io scheme: code 0 = set margin level, code 3 = positions
    assert await env.data("io", {"code": 0, "args": [3], "symbol": sym}) is True
    assert await env.data("io", {"code": 3}) == []
    # a limit order on the swap, rounded to its tick and lot
    lid = (await env.data("trade", {"symbol": sym, "type": "buy", "price": "1000.123",
                                    "amount": "1"}))["id"]  # fmt: skip
    assert lid.startswith("BTC-USDT-SWAP,")
    open_swap = await env.data("orders", {"symbol": sym})
    assert [o["id"] for o in open_swap] == [lid] and open_swap[0]["price"] == 1000.1
    assert open_swap[0]["offset"] == "open" and open_swap[0]["status"] == "pending"
    assert await env.data("cancel", {"id": lid}) is True
    hist = await env.data("historyorders", {"symbol": sym})
    assert lid in {h["id"] for h in hist} and cid in {h["id"] for h in hist}
    assert lid in {h["id"] for h in await env.data("historyorders")}  # no symbol: spot + swap
    trades = await env.data("trades", {"symbol": sym, "limit": 5})
    assert trades and all(t["amount"] > 0 for t in trades)


# -- errors ------------------------------------------------------------------------------------
async def test_error_cases(env: Env) -> None:
    error = env.error
    assert "incomplete" in await error("depth", {"symbol": "USDT"})
    assert "OKX" in await error("ticker", {"symbol": "XXX_YYY"})
    assert "unknown instrument" in await error("trade", {"symbol": "XXX_YYY", "type": "buy",
                                                         "price": "1", "amount": "1"})  # fmt: skip
    assert "rounds to 0" in await error("trade", {"symbol": "BTC_USDT", "type": "buy",
                                                  "price": "30000", "amount": "1e-12"})  # fmt: skip
    assert "secret,passphrase" in await error("accounts", secret_key=SECRET)
    assert "authentication failed" in await error("accounts", access_key="wrong-key-123")
    assert "authentication failed" in await error("accounts", secret_key=f"{SECRET},bad-pass")
    assert "51603" in await error("order", {"id": "BTC-USDT,999"})
    assert "no instrument" in await error("cancel", {"id": "999"})
    assert "unsupported method: GetFoo" in await error("GetFoo")
    assert "unsupported contract" in await error("ticker", {"symbol": "BTC_USDT.quarter"})
    assert "venue API path" in await error("__api_https://example.com/x")
    _, r = await post_raw(env.http, env.url.replace("/OKX", "/BINANCE"), b"{}")
    assert "unknown venue label" in r["error"]


async def test_upstream_failures(env: Env) -> None:
    env.emu.faults.fail_next_5xx(10)
    assert "HTTP 5" in (await env.call("trades", {"symbol": "BTC_USDT"}))["error"]
    env.emu.faults.reset()
    env.emu.faults.fail_next_429(10)
    assert "rate limited" in (await env.call("accounts"))["error"]
    env.emu.faults.reset()
    env.emu.faults.add_latency(5000)  # longer than the bridge's 3 s deadline
    r = await env.call("records", {"symbol": "ETH_USDT", "period": "5"})
    assert "timeout" in r["error"]
    env.emu.faults.reset()
    assert "data" in await env.call("records", {"symbol": "ETH_USDT", "period": "5"})


async def test_many_keys_at_once(env: Env) -> None:
    """Concurrent dockers with good and bad keys each get their own answer."""
    good = [env.call("accounts") for _ in range(20)]
    bad = [env.call("accounts", access_key=f"nobody-{i:04d}") for i in range(10)]
    pub = [env.call("ticker", {"symbol": "ETH_USDT"}) for _ in range(20)]
    replies = await asyncio.gather(*good, *bad, *pub)
    assert all("data" in r for r in replies[:20])
    assert all("authentication failed" in r["error"] for r in replies[20:30])
    assert all(r["data"]["symbol"] == "ETH_USDT" for r in replies[30:])
    # the good key's 20 concurrent first calls shared one gateway; refused keys are not kept
    assert len(env.venue.keys) == 1 and len(env.venue.keys.started()) == 1


async def test_balance_cache_follows_account_pushes(env: Env) -> None:
    from tradeloop.venues.okx.rest import OkxRestClient

    first = await env.data("accounts")
    (live,) = env.venue.keys.started()
    for _ in range(200):  # bounded: the first call after the socket's first push is cached
        if live.cached() is not None:
            break
        await asyncio.sleep(0.02)
        await env.data("accounts")
    assert live.cached() is not None
    env.emu.faults.fail_next_5xx(1)  # any upstream call would now fail...
    assert await env.data("accounts") == first  # ...but nothing changed: served from cache
    env.emu.faults.reset()
    # an order placed behind the bridge's back: OKX pushes the account change
    async with OkxRestClient(env.emu.base_url, KEY, SECRET, PASS) as direct:
        await direct.place_order("BTC-USDT", "buy", "limit", "0.5", "20000")
    for _ in range(200):
        acc = await env.data("accounts")
        usdt = next(a for a in acc if a["currency"] == "USDT")
        if float(usdt["frozen"]) > 0:
            break
        await asyncio.sleep(0.02)
    assert float(usdt["frozen"]) >= 10000.0  # price * size (+ fee reserve)


async def test_records_many_pages(env: Env) -> None:
    """Long answers are paged (300 rows per ``candles`` call) and stay contiguous/ascending;
    the emulator keeps about a day of 1m history, so stay within it."""
    rows = await env.data("records", {"symbol": "BTC_USDT", "period": "1", "limit": "1000"})
    assert len(rows) == 1000
    times = [r[0] for r in rows]
    assert times == sorted(times) and len(set(times)) == 1000
    rows = await env.data("records", {"symbol": "BTC_USDT", "period": "2", "limit": "600"})
    times = [r[0] for r in rows]
    assert len(rows) == 600 and all(b - a == 120 for a, b in itertools.pairwise(times))
