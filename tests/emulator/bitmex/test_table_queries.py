"""BitMEX's table-query parameters and the routes the main REST suite leaves out, over a real
socket: ``DELETE /order/all`` (by symbol, by side filter, all, none left), ``columns`` and
``start`` on a table query, ``trade/bucketed`` windows with and without ``partial``, and the
``orderBookL2`` partial's ``keys`` / ``types`` / ``filter``."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest

from tradeloop.emulator.bitmex import contracts as ct
from tradeloop.emulator.bitmex.server import BitmexEmulator

from .conftest import Client

MINUTE = 60_000
#: the types of BitMEX's recorded orderBookL2 partials (captures/BITMEX.ws.1.0)
L2_TYPES = {
    "symbol": "symbol",
    "id": "long",
    "side": "symbol",
    "size": "long",
    "price": "float",
    "timestamp": "timestamp",
}


async def rest(client: Client, emu: BitmexEmulator, symbol: str, side: str) -> dict[str, Any]:
    """A limit order far from the touch (it rests)."""
    m = emu.driver.markets[symbol]
    tick = emu.instruments[symbol].tick_size
    if side == "Buy":
        price = float(m.px(m.best_bid())) - 1000 * tick
    else:
        price = float(m.px(m.best_ask())) + 1000 * tick
    lot = emu.instruments[symbol].lot_size
    status, o, _ = await client.call("POST", "/api/v1/order", {
        "symbol": symbol, "side": side, "orderQty": lot, "price": price})  # fmt: skip
    assert status == 200 and o["ordStatus"] == "New", o
    return o


async def test_delete_order_all(client: Client, emu: BitmexEmulator) -> None:
    buy = await rest(client, emu, "XBTUSD", "Buy")
    sell = await rest(client, emu, "XBTUSD", "Sell")
    other = await rest(client, emu, "XBTUSDT", "Buy")
    side = quote(json.dumps({"side": "Buy"}))
    status, rows, _ = await client.call("DELETE", f"/api/v1/order/all?symbol=XBTUSD&filter={side}")
    assert status == 200 and [r["orderID"] for r in rows] == [buy["orderID"]]
    assert rows[0]["ordStatus"] == "Canceled" and rows[0]["text"] == "Canceled: Cancel all via API."
    status, rows, _ = await client.call("DELETE", "/api/v1/order/all", {"symbol": "XBTUSD"})
    assert status == 200 and [r["orderID"] for r in rows] == [sell["orderID"]]
    status, rows, _ = await client.call("DELETE", "/api/v1/order/all", {"text": "flatten"})
    assert status == 200 and [r["orderID"] for r in rows] == [other["orderID"]]
    assert rows[0]["text"] == "flatten"
    status, rows, _ = await client.call("DELETE", "/api/v1/order/all")
    assert (status, rows) == (200, [])
    opened = quote(json.dumps({"open": True}))
    _, rows, _ = await client.call("GET", f"/api/v1/order?filter={opened}")
    assert rows == []
    status, body, _ = await client.call("DELETE", "/api/v1/order/all", {"symbol": "NOPE"})
    assert status == 404 and set(body["error"]) == {"message", "name"}
    status, body, _ = await client.call("DELETE", "/api/v1/order/all", signed=False)
    assert status == 401


async def test_columns_and_start(client: Client) -> None:
    _, full, _ = await client.call("GET", "/api/v1/trade?symbol=XBTUSD&count=10")
    assert len(full) == 10
    _, page, _ = await client.call("GET", "/api/v1/trade?symbol=XBTUSD&count=3&start=2")
    assert page == full[2:5]
    cols = quote(json.dumps(["price", "size"]))
    _, rows, _ = await client.call(
        "GET", f"/api/v1/trade?symbol=XBTUSD&count=3&start=2&columns={cols}"
    )
    # the named columns, plus the ones BitMEX always keeps (symbol, timestamp)
    assert rows == [{k: r[k] for k in ("timestamp", "symbol", "size", "price")} for r in full[2:5]]
    cols = quote(json.dumps(["lastPrice", "nope"]))
    _, rows, _ = await client.call("GET", f"/api/v1/instrument?symbol=XBTUSD&columns={cols}")
    assert len(rows) == 1 and set(rows[0]) == {"symbol", "timestamp", "lastPrice"}
    for bad in ("start=-1", "start=x", f"columns={quote(json.dumps({'a': 1}))}", "count=0"):
        status, body, _ = await client.call("GET", f"/api/v1/trade?symbol=XBTUSD&{bad}")
        assert status == 400 and body["error"]["name"] == "ValidationError", bad
    _, beyond, _ = await client.call("GET", "/api/v1/trade?symbol=XBTUSD&start=100000")
    assert beyond == []


async def test_bucketed_window(client: Client, emu: BitmexEmulator) -> None:
    """A window of 5m bins: exactly the closed bins whose close time is in it, oldest first
    (or newest first with ``reverse``); ``partial`` adds only the bin still open. Which bin
    is open depends on the wall clock, so an attempt that straddles a 5 min boundary is
    discarded and made again (at most once more)."""
    for _ in range(2):
        now = int(time.time() * 1000)
        if await _bucketed_window(client, emu, now) and time.time() * 1000 // BIN == now // BIN:
            return
    raise AssertionError("two attempts straddled a 5 min boundary")


BIN = 5 * MINUTE


async def _bucketed_window(client: Client, emu: BitmexEmulator, now: int) -> bool:
    emu.step(now)
    open_close = (now // BIN + 1) * BIN  # close time of the bin still open
    start, end = open_close - 6 * BIN, open_close
    q = (f"/api/v1/trade/bucketed?symbol=XBTUSD&binSize=5m&startTime={ct.iso(start)}"
         f"&endTime={ct.iso(end)}")  # fmt: skip
    status, bins, _ = await client.call("GET", q + "&partial=false")
    _, with_open, _ = await client.call("GET", q + "&partial=true")
    _, rev, _ = await client.call("GET", q + "&partial=true&reverse=true")
    if time.time() * 1000 // BIN != now // BIN:
        return False
    want = [ct.iso(start + k * BIN) for k in range(6)]
    assert status == 200 and [b["timestamp"] for b in bins] == want
    assert all(b["low"] <= min(b["open"], b["close"]) <= b["high"] for b in bins)
    assert with_open[:-1] == bins and with_open[-1]["timestamp"] == ct.iso(open_close)
    assert rev == with_open[::-1]
    _, empty, _ = await client.call(
        "GET", f"/api/v1/trade/bucketed?symbol=XBTUSD&binSize=1h&startTime={ct.iso(end + 1)}"
    )
    assert empty == []
    status, _, _ = await client.call("GET", q + "&partial=maybe")
    assert status == 400
    return True


@pytest.mark.parametrize(("arg", "flt"), [("orderBookL2:XBTUSD", {"symbol": "XBTUSD"}),
                                          ("orderBookL2", {})])  # fmt: skip
async def test_l2_partial_keys_types_filter(
    emu: BitmexEmulator, arg: str, flt: dict[str, str]
) -> None:
    async with aiohttp.ClientSession() as s, s.ws_connect(emu.base_url + "/realtime") as ws:
        await ws.receive_json(timeout=2)
        await ws.send_json({"op": "subscribe", "args": [arg]})
        assert (await ws.receive_json(timeout=2))["subscribe"] == arg
        part = await ws.receive_json(timeout=2)
    assert (part["table"], part["action"]) == ("orderBookL2", "partial")
    assert part["keys"] == ["symbol", "id", "side"]
    assert part["types"] == L2_TYPES
    assert part["filter"] == flt
    syms = {r["symbol"] for r in part["data"]}
    assert syms == ({"XBTUSD"} if flt else set(emu.driver.markets))
    for r in part["data"]:
        assert set(r) == set(part["types"])
        assert isinstance(r["id"], int) and isinstance(r["size"], int) and r["size"] > 0
