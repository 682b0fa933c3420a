"""Bitfinex REST v2 over a real socket: public arrays, signing, nonce rules, error arrays,
order entry and the account views."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from tradeloop.emulator.bitfinex.server import BitfinexEmulator

from .helpers import KEY, nonce, sig


async def signed(
    s: aiohttp.ClientSession,
    emu: BitfinexEmulator,
    path: str,
    body: Any = None,
    n: int | None = None,
    key: str = KEY,
    secret: str = "S",
) -> tuple[int, Any]:
    text = json.dumps(body if body is not None else {})
    n = nonce() if n is None else n
    headers = {"bfx-nonce": str(n), "bfx-apikey": key, "Content-Type": "application/json",
               "bfx-signature": sig(f"/api/{path.lstrip('/')}{n}{text}", secret)}  # fmt: skip
    async with s.post(emu.base_url + path, data=text, headers=headers) as r:
        return r.status, await r.json(content_type=None)


async def get(s: aiohttp.ClientSession, emu: BitfinexEmulator, path: str) -> tuple[int, Any]:
    async with s.get(emu.base_url + path) as r:
        return r.status, await r.json(content_type=None)


async def test_public(bfx: BitfinexEmulator, session: aiohttp.ClientSession) -> None:
    assert await get(session, bfx, "/v2/platform/status") == (200, [1])
    _, t = await get(session, bfx, "/v2/ticker/tBTCUSD")
    assert len(t) == 10 and t[0] < t[2]
    _, ts = await get(session, bfx, "/v2/tickers?symbols=tBTCUSD,tETHUSD")
    assert [r[0] for r in ts] == ["tBTCUSD", "tETHUSD"]
    _, book = await get(session, bfx, "/v2/book/tBTCUSD/P0?len=25")
    assert len(book) == 50 and book[0][2] > 0 and book[25][2] < 0
    _, raw = await get(session, bfx, "/v2/book/tBTCUSD/R0?len=25")
    assert len(raw) == 50 and raw[0][0] > 1_000_000 and raw[0][1] == book[0][0]
    _, p3 = await get(session, bfx, "/v2/book/tBTCUSD/P3?len=25")
    assert p3 and all(r[0] % 100 == 0 for r in p3)
    _, trades = await get(session, bfx, "/v2/trades/tBTCUSD/hist?limit=5")
    assert len(trades) == 5 and trades[0][1] >= trades[-1][1]
    _, bars = await get(session, bfx, "/v2/candles/trade:1m:tBTCUSD/hist?limit=10&sort=1")
    assert len(bars) == 10 and bars[0][0] < bars[-1][0] and len(bars[0]) == 6
    _, last = await get(session, bfx, "/v2/candles/trade:1m:tBTCUSD/last")
    assert last[0] >= bars[-1][0]
    _, conf = await get(session, bfx, "/v2/conf/pub:list:pair:exchange,pub:info:pair:futures")
    assert conf[0] == [["BTCUSD", "ETHUSD"]][0] and conf[1][0][0] == "BTCF0:USTF0"
    _, st = await get(session, bfx, "/v2/status/deriv?keys=tBTCF0:USTF0")
    assert st[0][0] == "tBTCF0:USTF0"
    status, err = await get(session, bfx, "/v2/ticker/tNOPE")
    assert status == 500 and err == ["error", 10020, "symbol: invalid"]


async def test_auth_failures(bfx: BitfinexEmulator, session: aiohttp.ClientSession) -> None:
    status, err = await signed(session, bfx, "/v2/auth/r/wallets", key="nope")
    assert status == 500 and err == ["error", 10100, "apikey: invalid"]
    _, err = await signed(session, bfx, "/v2/auth/r/wallets", secret="wrong")
    assert err == ["error", 10100, "apikey: digest invalid"]
    n = nonce()
    status, rows = await signed(session, bfx, "/v2/auth/r/wallets", n=n)
    assert status == 200 and ["exchange", "USD", 100000, 0, 100000, None, None] in rows
    _, err = await signed(session, bfx, "/v2/auth/r/wallets", n=n)
    assert err == ["error", 10114, "nonce: small"]
    _, err = await signed(session, bfx, "/v2/auth/r/wallets", n=n - 5)
    assert err == ["error", 10114, "nonce: small"]


async def test_orders(bfx: BitfinexEmulator, session: aiohttp.ClientSession) -> None:
    path = "/v2/auth/w/order/submit"
    body = {"symbol": "tBTCUSD", "amount": "0.5", "price": "30000", "type": "EXCHANGE LIMIT",
            "cid": 99}  # fmt: skip
    _, note = await signed(session, bfx, path, body)
    assert note[1] == "on-req" and note[6] == "SUCCESS"
    order = note[4][0]
    assert order[3] == "tBTCUSD" and order[6] == 0.5 and order[13] == "ACTIVE" and order[2] == 99
    _, opened = await signed(session, bfx, "/v2/auth/r/orders/tBTCUSD", {"id": [order[0]]})
    assert [o[0] for o in opened] == [order[0]]
    upd_body = {"id": order[0], "price": "30100"}
    _, upd = await signed(session, bfx, "/v2/auth/w/order/update", upd_body)
    assert upd[6] == "SUCCESS" and upd[4][16] == 30100
    _, note = await signed(session, bfx, "/v2/auth/w/order/cancel", {"id": order[0]})
    assert note[1] == "oc-req" and note[4][13] == "CANCELED"
    _, hist = await signed(session, bfx, "/v2/auth/r/orders/tBTCUSD/hist", {})
    assert hist[0][0] == order[0]
    status, err = await signed(session, bfx, "/v2/auth/w/order/cancel", {"id": order[0]})
    assert status == 500 and err[2] == "Order not found."
    _, note = await signed(session, bfx, path, {"symbol": "tBTCUSD", "amount": "-0.2",
                                                "type": "EXCHANGE MARKET"})  # fmt: skip
    assert note[6] == "SUCCESS"
    _, mine = await signed(session, bfx, "/v2/auth/r/trades/tBTCUSD/hist", {})
    assert round(sum(t[4] for t in mine), 8) == -0.2  # swept several levels
    assert all(t[10] == "USD" and t[9] < 0 for t in mine)  # a sell's fee is in USD
    status, err = await signed(session, bfx, path, {"symbol": "tBTCUSD", "amount": "-99",
                                                     "type": "EXCHANGE MARKET"})  # fmt: skip
    assert status == 500 and "not enough exchange balance" in err[2]
    _, err = await signed(session, bfx, path, {"symbol": "tBTCUSD", "amount": "NaN",
                                               "type": "EXCHANGE MARKET"})  # fmt: skip
    assert err[:2] == ["error", 10020]


async def test_perp_position(bfx: BitfinexEmulator, session: aiohttp.ClientSession) -> None:
    path = "/v2/auth/w/order/submit"
    _, note = await signed(session, bfx, path, {"symbol": "tBTCF0:USTF0", "amount": "0.1",
                                                "type": "MARKET", "lev": 10})  # fmt: skip
    assert note[6] == "SUCCESS", note
    _, pos = await signed(session, bfx, "/v2/auth/r/positions", {})
    assert pos[0][0] == "tBTCF0:USTF0" and pos[0][2] == 0.1 and pos[0][1] == "ACTIVE"
    _, err = await signed(session, bfx, path, {"symbol": "tBTCF0:USTF0", "amount": "0.1",
                                               "type": "EXCHANGE MARKET"})  # fmt: skip
    assert err[0] == "error"
    _, note = await signed(session, bfx, path, {"symbol": "tBTCF0:USTF0", "amount": "0.5",
                                                "type": "MARKET", "flags": 1024})  # fmt: skip
    assert note[0] == "error" and "reduce-only" in note[2]


async def test_faults(bfx: BitfinexEmulator, session: aiohttp.ClientSession) -> None:
    bfx.faults.fail_next_429(1)
    status, body = await get(session, bfx, "/v2/ticker/tBTCUSD")
    assert status == 429 and body == ["error", 11010, "ratelimit: error"]
    bfx.maintenance_start()
    assert await get(session, bfx, "/v2/platform/status") == (200, [0])
    _, err = await signed(session, bfx, "/v2/auth/w/order/submit", {"symbol": "tBTCUSD",
                          "amount": "0.1", "type": "EXCHANGE MARKET"})  # fmt: skip
    assert err == ["error", 20060, "maintenance"]
    bfx.maintenance_end()
    assert await get(session, bfx, "/v2/platform/status") == (200, [1])


async def test_cancel_multi(bfx: BitfinexEmulator, session: aiohttp.ClientSession) -> None:
    path = "/v2/auth/w/order/submit"
    ids = []
    for cid in (61, 62, 63):
        body = {"symbol": "tBTCUSD", "amount": "0.01", "price": "30000",
                "type": "EXCHANGE LIMIT", "cid": cid}  # fmt: skip
        _, note = await signed(session, bfx, path, body)
        ids.append(note[4][0][0])
    day = note[4][0][4]
    dt = __import__("datetime")
    date = dt.datetime.fromtimestamp(day / 1000, tz=dt.UTC).strftime("%Y-%m-%d")
    # one order named twice (by id and by cid) is canceled once
    _, note = await signed(session, bfx, "/v2/auth/w/order/cancel/multi",
                           {"id": [ids[0]], "cid": [[61, date]]})  # fmt: skip
    assert note[6] == "SUCCESS" and [r[0] for r in note[4]] == [ids[0]]
    _, note = await signed(session, bfx, "/v2/auth/w/order/cancel/multi", {"all": 1})
    assert sorted(r[0] for r in note[4]) == ids[1:] and bfx.trading.open_orders() == []
