"""The rest of Bitfinex's WebSocket surface over a real socket: trades (``te``/``tu``), raw
book (R0), candles and derivatives status channels; the TIMESTAMP and BULK ``conf`` flags;
channel-0 ``oc_multi`` / ``ox_multi``, FOK / IOC / hidden orders and the position lifecycle
``pn`` -> ``pu`` -> ``pc``; and the ``info`` events 20051 / 20060 / 20061."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from tradeloop.emulator.bitfinex.server import BitfinexEmulator

from .helpers import Ws, authed, collect, loads_text, place, px

PERP = "tBTCF0:USTF0"


async def _sub(wsc: Ws, req: dict[str, Any]) -> tuple[int, Any]:
    await wsc.send({"event": "subscribe", **req})
    ack = await wsc.until(lambda m: isinstance(m, dict) and m.get("event") == "subscribed")
    snap = await wsc.until(lambda m: isinstance(m, list) and m[0] == ack["chanId"])
    return ack["chanId"], snap[1]


async def _updates(bfx: BitfinexEmulator, wsc: Ws, steps: int = 40) -> list[Any]:
    for _ in range(steps):
        bfx.step()
        await asyncio.sleep(0)
    out = []
    while True:
        try:
            out.append(await wsc.recv(0.3))
        except TimeoutError:
            return out


async def test_trades_raw_book_candles_status(bfx: BitfinexEmulator, wsc: Ws) -> None:
    await wsc.recv()
    trades, snap = await _sub(wsc, {"channel": "trades", "symbol": "tBTCUSD"})
    assert snap and all(len(t) == 4 for t in snap)  # [ID, MTS, AMOUNT, PRICE]
    raw, rows = await _sub(wsc, {"channel": "book", "symbol": "tBTCUSD", "prec": "R0",
                                 "len": "25"})  # fmt: skip
    assert all(isinstance(r[0], int) and r[1] > 0 for r in rows)  # [ORDER_ID, PRICE, AMOUNT]
    key = "trade:1m:tBTCUSD"
    await wsc.send({"event": "subscribe", "channel": "candles", "key": key})
    ack = await wsc.until(lambda m: isinstance(m, dict) and m.get("event") == "subscribed")
    assert ack["key"] == key
    bars = await wsc.until(lambda m: isinstance(m, list) and m[0] == ack["chanId"])
    assert len(bars[1][0]) == 6 and bars[1][0][0] > bars[1][-1][0]  # newest first
    status, row = await _sub(wsc, {"channel": "status", "key": f"deriv:{PERP}"})
    assert len(row) > 20 and row[14] > 0  # ..., MARK_PRICE
    await wsc.send({"event": "subscribe", "channel": "status", "key": "deriv:tBTCUSD"})
    assert (await wsc.until(lambda m: isinstance(m, dict)))["code"] == 10001
    await wsc.send({"event": "subscribe", "channel": "book", "symbol": "tBTCUSD", "prec": "P9"})
    assert (await wsc.until(lambda m: isinstance(m, dict)))["code"] == 10300
    got = await _updates(bfx, wsc)
    by_chan: dict[int, list[Any]] = {}
    for m in got:
        if isinstance(m, list) and m[1] != "hb":
            by_chan.setdefault(m[0], []).append(m)
    assert {m[1] for m in by_chan[trades]} == {"te", "tu"}
    assert all(len(m[1]) == 3 for m in by_chan[raw])
    assert by_chan[ack["chanId"]] and by_chan[status]


async def test_conf_timestamp_and_bulk(bfx: BitfinexEmulator, wsc: Ws) -> None:
    await wsc.recv()
    await wsc.send({"event": "conf", "flags": 32768 + 536870912})
    assert (await wsc.recv())["flags"] == 32768 + 536870912
    chan, _ = await _sub(wsc, {"channel": "book", "symbol": "tBTCUSD", "prec": "P0"})
    await _updates(bfx, wsc)
    got = [loads_text(t) for t in wsc.seen if t.startswith(f"[{chan},")]
    updates = [m for m in got[1:] if m[1] != "hb"]
    assert updates and all(isinstance(m[1][0], list) for m in updates)  # one list per change
    assert all(int(m[-1]) > 1_600_000_000_000 for m in got)  # TIMESTAMP: ms appended


async def test_oc_multi_and_ox_multi(bfx: BitfinexEmulator, wsc: Ws) -> None:
    await authed(wsc)
    low = px(bfx, 0.8)
    ops = [["on", {"cid": 40 + i, "gid": 4, "type": "EXCHANGE LIMIT", "symbol": "tBTCUSD",
                   "amount": "0.01", "price": low}] for i in range(3)]  # fmt: skip
    await wsc.send([0, "ox_multi", None, ops])
    notes = [await wsc.until(lambda m: m[1] == "n") for _ in range(3)]
    assert [n[2][1] for n in notes] == ["on-req"] * 3 and len(bfx.trading.open_orders()) == 3
    first = notes[0][2][4][0]
    await wsc.send([0, "oc_multi", None, {"id": [first]}])
    n = await wsc.until(lambda m: m[1] == "n")
    assert n[2][1] == "oc_multi-req" and [r[0] for r in n[2][4]] == [first]
    await wsc.send([0, "oc_multi", None, {"gid": [4]}])
    n = await wsc.until(lambda m: m[1] == "n")
    assert len(n[2][4]) == 2 and bfx.trading.open_orders() == []
    await wsc.send([0, "ox_multi", None, []])
    n = await wsc.until(lambda m: m[1] == "n")
    assert n[2][6] == "ERROR" and n[2][7] == "ops: invalid"


async def test_fok_ioc_hidden(bfx: BitfinexEmulator, wsc: Ws) -> None:
    await authed(wsc)
    base = {"symbol": "tBTCUSD", "amount": "0.01", "price": px(bfx, 0.8)}
    for cid, typ, head in ((51, "EXCHANGE FOK", "FILLORKILL CANCELED"),
                           (52, "EXCHANGE IOC", "IOC CANCELED")):  # fmt: skip
        n = await place(wsc, {**base, "cid": cid, "type": typ})
        assert n[6] == "SUCCESS"
        oid = n[4][0]
        msgs = await collect(wsc, lambda m: m[1] == "oc" and m[2][0] == oid)  # noqa: B023
        assert msgs[-1][2][13] == head  # not marketable: nothing traded
    n = await place(wsc, {**base, "cid": 53, "type": "EXCHANGE LIMIT", "flags": 64})
    (row,) = bfx.trading.open_orders()
    assert row[0] == n[4][0] and row[12] == 64 and row[24] == 1  # HIDDEN


async def test_position_new_update_close(bfx: BitfinexEmulator, wsc: Ws) -> None:
    await authed(wsc)

    async def trade(amount: str, kind: str) -> list[Any]:
        n = await place(wsc, {"type": "MARKET", "symbol": PERP, "amount": amount})
        assert n[6] == "SUCCESS", n
        msgs = await collect(wsc, lambda m: m[1] == kind)
        return list(msgs[-1][2])

    opened = await trade("0.01", "pn")
    assert (opened[0], opened[1], opened[2]) == (PERP, "ACTIVE", 0.01)
    more = await trade("0.01", "pu")
    assert more[11] == opened[11] and more[2] == 0.02  # same position id
    closed = await trade("-0.02", "pc")
    assert closed[1] == "CLOSED" and closed[11] == opened[11]
    again = await trade("-0.01", "pn")  # a short: a new position
    assert again[2] == -0.01 and again[11] != opened[11]


async def test_info_events(bfx: BitfinexEmulator, wsc: Ws) -> None:
    await wsc.recv()
    bfx.maintenance_start()
    assert (await wsc.recv())["code"] == 20060
    async with aiohttp.ClientSession() as s, s.ws_connect(bfx.base_url + "/ws/2") as ws2:
        info = await ws2.receive_json()
        assert info["platform"]["status"] == 0  # new connections hear it too
    bfx.maintenance_end()
    assert (await wsc.recv())["code"] == 20061
    bfx.restart_notice()
    m = await wsc.recv()
    assert m["event"] == "info" and m["code"] == 20051 and "reconnect" in m["msg"]
    closing = await wsc.ws.receive()
    assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
