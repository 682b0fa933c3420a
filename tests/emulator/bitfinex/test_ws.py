"""Bitfinex WS v2 over a real socket: info, conf, subscriptions, books with checksums,
heartbeats' sequence numbers, auth (and each way it fails), channel-0 orders, dms."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from tradeloop.emulator.bitfinex.server import BitfinexEmulator

from .helpers import TextBook, Ws, auth_msg, loads_text, nonce, sig


async def test_info_conf_ping(wsc: Ws) -> None:
    info = await wsc.recv()
    assert info["event"] == "info" and info["version"] == 2 and info["platform"]["status"] == 1
    await wsc.send({"event": "conf", "flags": 65536 + 131072})
    assert await wsc.recv() == {"event": "conf", "status": "OK", "flags": 196608}
    await wsc.send({"event": "ping", "cid": 42})
    pong = await wsc.recv()
    assert pong["event"] == "pong" and pong["cid"] == 42


async def test_subscribe_errors(wsc: Ws) -> None:
    await wsc.recv()
    await wsc.send({"event": "subscribe", "channel": "ticker", "symbol": "tNOPE"})
    assert (await wsc.recv())["code"] == 10001
    await wsc.send({"event": "subscribe", "channel": "nope", "symbol": "tBTCUSD"})
    assert (await wsc.recv())["code"] == 10302
    await wsc.send({"event": "subscribe", "channel": "ticker", "symbol": "tBTCUSD"})
    ack = await wsc.recv()
    assert ack["event"] == "subscribed" and ack["pair"] == "BTCUSD"
    tick = await wsc.recv()
    assert tick[0] == ack["chanId"] and len(tick[1]) == 10 and tick[1][0] < tick[1][2]
    await wsc.send({"event": "subscribe", "channel": "ticker", "symbol": "tBTCUSD"})
    assert (await wsc.recv())["code"] == 10301
    await wsc.send({"event": "unsubscribe", "chanId": ack["chanId"]})
    assert await wsc.recv() == {"event": "unsubscribed", "status": "OK", "chanId": ack["chanId"]}
    await wsc.send({"event": "unsubscribe", "chanId": ack["chanId"]})
    assert (await wsc.recv())["code"] == 10400


async def _book_stream(bfx: BitfinexEmulator, wsc: Ws, prec: str, steps: int) -> TextBook:
    await wsc.recv()
    await wsc.send({"event": "conf", "flags": 65536 + 131072})
    await wsc.recv()
    await wsc.send({"event": "subscribe", "channel": "book", "symbol": "tBTCUSD", "prec": prec,
                    "len": "25"})  # fmt: skip
    ack = await wsc.recv()
    assert ack["prec"] == prec and ack["len"] == "25"
    book = TextBook()
    last_seq = 0
    await wsc.recv()
    snap = loads_text(wsc.seen[-1])
    for row in snap[1]:
        book.apply(row)
    last_seq = int(snap[-1])
    for _ in range(steps):
        bfx.step()
        await asyncio.sleep(0)
    while True:
        try:
            await wsc.recv(0.3)
        except TimeoutError:
            break
        m = loads_text(wsc.seen[-1])
        assert int(m[-1]) == last_seq + 1, "SEQ_ALL numbers are consecutive"
        last_seq = int(m[-1])
        if m[1] == "cs":
            assert int(m[2]) == book.checksum()
            book.verified += 1
        else:
            book.apply(m[1])
    return book


async def test_book_checksums_verify_p0(bfx: BitfinexEmulator, wsc: Ws) -> None:
    book = await _book_stream(bfx, wsc, "P0", 30)
    assert book.verified >= 25 and len(book.bids) == 25 and len(book.asks) == 25


async def test_book_checksums_verify_p2(bfx: BitfinexEmulator, wsc: Ws) -> None:
    book = await _book_stream(bfx, wsc, "P2", 30)
    assert book.verified >= 1 and book.bids and book.asks


async def test_heartbeat_carries_seq(bfx: BitfinexEmulator, wsc: Ws) -> None:
    await wsc.recv()
    await wsc.send({"event": "conf", "flags": 65536})
    await wsc.recv()
    await wsc.send({"event": "subscribe", "channel": "trades", "symbol": "tETHUSD"})
    await wsc.recv()
    snap = await wsc.recv()
    bfx.hub.heartbeat(0.0)
    hb = await wsc.recv()
    assert hb[1] == "hb" and hb[2] == snap[-1] + 1


async def test_auth_failures(bfx: BitfinexEmulator, wsc: Ws) -> None:
    await wsc.recv()
    await wsc.send(auth_msg(key="nope"))
    assert (await wsc.recv())["msg"] == "apikey: invalid"
    bad = auth_msg()
    bad["authSig"] = sig(bad["authPayload"], "wrong")
    await wsc.send(bad)
    r = await wsc.recv()
    assert r["status"] == "FAILED" and r["msg"] == "apikey: digest invalid"
    used = nonce()
    await wsc.send(auth_msg(n=used))
    ok = await wsc.recv()
    assert ok["status"] == "OK" and ok["chanId"] == 0
    # a repeated (or older) nonce fails, on a new connection as on REST
    async with aiohttp.ClientSession() as s, s.ws_connect(bfx.base_url + "/ws/2") as ws2:
        other = Ws(ws2)
        await other.recv()
        await other.send(auth_msg(n=used))
        r = await other.recv()
        assert r["status"] == "FAILED" and r["code"] == 10114


async def _authed(wsc: Ws, dms: int | None = 4) -> dict[str, list[Any]]:
    await wsc.recv()
    await wsc.send(auth_msg(dms))
    assert (await wsc.recv())["status"] == "OK"
    snaps = {}
    for _ in range(3):
        m = await wsc.recv()
        snaps[m[1]] = m[2]
    return snaps


async def test_market_order_on_channel0(bfx: BitfinexEmulator, wsc: Ws) -> None:
    snaps = await _authed(wsc)
    assert set(snaps) == {"ps", "ws", "os"}
    assert ["exchange", "USD", 100000, 0, 100000, None, None] in snaps["ws"]
    await wsc.send([0, "on", None, {"cid": 1234, "type": "EXCHANGE MARKET", "symbol": "tBTCUSD",
                                    "amount": "0.01"}])  # fmt: skip
    n = await wsc.until(lambda m: m[1] == "n")
    assert n[2][1] == "on-req" and n[2][6] == "SUCCESS" and n[2][4][2] == 1234
    seen = []
    oc = None
    while oc is None:
        m = await wsc.recv()
        seen.append(m[1])
        if m[1] == "oc":
            oc = m[2]
    assert seen[:2] == ["on", "te"] and oc[13].startswith("EXECUTED @") and oc[6] == 0
    tu = await wsc.until(lambda m: m[1] == "tu")
    assert tu[2][4] == 0.01 and tu[2][9] < 0 and tu[2][10] == "BTC"  # fee charged in BTC
    wu = await wsc.until(lambda m: m[1] == "wu")
    assert wu[2][0] == "exchange"
    bu = await wsc.until(lambda m: m[1] == "bu")  # the account's worth in USD after the fill
    assert bu[2][0] == bu[2][1] and 100_000 < bu[2][0] < 100_000 + 2 * 10**6


async def test_order_errors_and_cancel(bfx: BitfinexEmulator, wsc: Ws) -> None:
    await _authed(wsc)
    await wsc.send([0, "on", None, {"cid": 1, "type": "EXCHANGE LIMIT", "symbol": "tBTCUSD",
                                    "amount": "-500", "price": "90000"}])  # fmt: skip
    n = await wsc.until(lambda m: m[1] == "n")
    assert n[2][6] == "ERROR" and "not enough exchange balance" in n[2][7]
    await wsc.send([0, "on", None, {"cid": 2, "type": "EXCHANGE LIMIT", "symbol": "tBTCUSD",
                                    "amount": "0.5", "price": "1000", "flags": 4096}])  # fmt: skip
    n = await wsc.until(lambda m: m[1] == "n")
    assert n[2][6] == "SUCCESS"
    oid = n[2][4][0]
    day = __import__("datetime").datetime.utcnow().strftime("%Y-%m-%d")
    await wsc.send([0, "oc", None, {"cid": 2, "cid_date": day}])
    n = await wsc.until(lambda m: m[1] == "n")
    assert n[2][1] == "oc-req" and n[2][6] == "SUCCESS" and n[2][4][0] == oid
    oc = await wsc.until(lambda m: m[1] == "oc")
    assert oc[2][13] == "CANCELED"
    await wsc.send([0, "oc", None, {"id": oid}])
    n = await wsc.until(lambda m: m[1] == "n")
    assert n[2][6] == "ERROR" and "not found" in n[2][7]


async def test_dms_cancels_on_disconnect(bfx: BitfinexEmulator) -> None:
    async with aiohttp.ClientSession() as s:
        ws = await s.ws_connect(bfx.base_url + "/ws/2")
        c = Ws(ws)
        await _authed(c, dms=4)
        await c.send([0, "on", None, {"cid": 7, "type": "EXCHANGE LIMIT", "symbol": "tBTCUSD",
                                      "amount": "0.1", "price": "1000"}])  # fmt: skip
        await c.until(lambda m: m[1] == "on")
        assert len(bfx.trading.open_orders()) == 1
        await ws.close()
        for _ in range(50):
            if not bfx.trading.open_orders():
                break
            await asyncio.sleep(0.02)
        assert bfx.trading.open_orders() == []


async def test_no_dms_keeps_orders(bfx: BitfinexEmulator) -> None:
    async with aiohttp.ClientSession() as s:
        ws = await s.ws_connect(bfx.base_url + "/ws/2")
        c = Ws(ws)
        await _authed(c, dms=None)
        await c.send([0, "on", None, {"cid": 8, "type": "EXCHANGE LIMIT", "symbol": "tBTCUSD",
                                      "amount": "0.1", "price": "1000"}])  # fmt: skip
        await c.until(lambda m: m[1] == "on")
        await ws.close()
        await asyncio.sleep(0.1)
        assert len(bfx.trading.open_orders()) == 1


async def test_unauthenticated_input_refused(wsc: Ws) -> None:
    await wsc.recv()
    await wsc.send([0, "on", None, {}])
    assert (await wsc.recv())["code"] == 10100
    await wsc.ws.send_str("{nope")
    assert (await wsc.recv())["event"] == "error"
