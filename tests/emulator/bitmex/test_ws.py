"""BitMEX WebSocket over a real socket: welcome, subscribe acks and errors, both ways to
authenticate (and their failures), ping/pong, private pushes in BitMEX's order, and the L2
tables: a client applying partial/insert/update/delete by id holds exactly the emulator's
book after every message."""

from __future__ import annotations

import json
import time
from typing import Any

import aiohttp
import pytest

from tradeloop.emulator.bitmex.server import BitmexEmulator

from .conftest import KEY, SECRET, Client, sign


async def recv(ws: aiohttp.ClientWebSocketResponse, timeout: float = 2.0) -> Any:
    msg = await ws.receive(timeout=timeout)
    return msg.data if msg.data in ("pong",) else json.loads(msg.data)


async def until(ws: aiohttp.ClientWebSocketResponse, pred: Any, n: int = 50) -> Any:
    for _ in range(n):
        d = await recv(ws)
        if pred(d):
            return d
    raise AssertionError("message not seen")


def auth_args(secret: str = SECRET, ahead: int = 10, ms: bool = False) -> list[Any]:
    exp = int(time.time()) + ahead
    exp = exp * 1000 if ms else exp
    return [KEY, exp, sign(secret, "GET", "/realtime", exp)]


async def test_welcome_subscribe_errors_ping(emu: BitmexEmulator) -> None:
    async with aiohttp.ClientSession() as s, s.ws_connect(emu.base_url + "/realtime") as ws:
        hello = await recv(ws)
        assert hello["info"] == "Welcome to the BitMEX Realtime API." and "limit" in hello
        await ws.send_str("ping")
        assert await recv(ws) == "pong"
        await ws.send_json(
            {"op": "subscribe", "args": ["quote:XBTUSD", "nope:XBTUSD", "trade:NOPE", "order"]}
        )
        ack = await recv(ws)
        assert ack["success"] and ack["subscribe"] == "quote:XBTUSD"
        part = await recv(ws)
        assert (part["table"], part["action"]) == ("quote", "partial")
        errs = [await recv(ws) for _ in range(3)]
        assert [e["status"] for e in errs] == [400, 400, 401]
        assert "Unknown table" in errs[0]["error"] and "account-locked" in errs[2]["error"]
        await ws.send_json({"op": "subscribe", "args": ["quote:XBTUSD"]})
        assert "already subscribed" in (await recv(ws))["error"]
        await ws.send_str("{not json")
        assert (await recv(ws))["status"] == 400
        await ws.send_json({"op": "unsubscribe", "args": ["quote:XBTUSD"]})
        assert (await recv(ws))["unsubscribe"] == "quote:XBTUSD"


async def test_auth_key_expires(emu: BitmexEmulator) -> None:
    url = emu.base_url + "/realtime"
    async with aiohttp.ClientSession() as s:
        async with s.ws_connect(url) as ws:
            await recv(ws)
            for args, why in (
                (auth_args("bad"), "Signature not valid."),
                (auth_args(ahead=-5), "Signature expired."),
                (["other", *auth_args()[1:]], "Invalid API Key."),
            ):
                await ws.send_json({"op": "authKeyExpires", "args": args})
                err = await recv(ws)
                assert (err["status"], err["error"]) == (401, why)
            await ws.send_json({"op": "authKeyExpires", "args": auth_args(ms=True)})  # ccxt: ms
            ok = await recv(ws)
            assert ok["success"] and ok["request"]["op"] == "authKeyExpires"
            await ws.send_json({"op": "authKeyExpires", "args": auth_args()})
            assert (await recv(ws))["error"] == "Already authenticated"
            await ws.send_json({"op": "cancelAllAfter", "args": 60000})
            assert "cancelTime" in await recv(ws)
        # the seed's way: api-* headers on the upgrade request
        exp = int(time.time()) + 10
        headers = {
            "api-key": KEY,
            "api-expires": str(exp),
            "api-signature": sign(SECRET, "GET", "/realtime", exp),
        }
        async with s.ws_connect(url, headers=headers) as ws:
            await recv(ws)
            await ws.send_json({"op": "subscribe", "args": ["position"]})
            assert (await recv(ws))["success"]
        headers["api-signature"] = "0" * 64
        with pytest.raises(aiohttp.WSServerHandshakeError) as err:
            await s.ws_connect(url, headers=headers)
        assert err.value.status == 401
        # five failed logins close the socket
        async with s.ws_connect(url) as ws:
            await recv(ws)
            for _ in range(5):
                await ws.send_json({"op": "authKeyExpires", "args": auth_args("bad")})
            msgs = [await ws.receive(timeout=2) for _ in range(6)]
            assert msgs[-1].type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)


class Mirror:
    """A client's L2 book built only from what it received (by id, as BitMEX clients must)."""

    def __init__(self) -> None:
        self.rows: dict[int, dict[str, Any]] = {}

    def apply(self, msg: dict[str, Any]) -> None:
        action = msg["action"]
        if action == "partial":
            self.rows = {r["id"]: dict(r) for r in msg["data"]}
        for r in msg["data"] if action != "partial" else []:
            if action == "insert":
                assert r["id"] not in self.rows
                self.rows[r["id"]] = dict(r)
            elif action == "update":
                assert "price" not in r
                self.rows[r["id"]]["size"] = r["size"]
            else:
                del self.rows[r["id"]]

    def sides(self) -> tuple[list[tuple[float, float]], list[tuple[float, float]]]:
        bids = sorted(
            ((r["price"], r["size"]) for r in self.rows.values() if r["side"] == "Buy"),
            reverse=True,
        )
        asks = sorted((r["price"], r["size"]) for r in self.rows.values() if r["side"] == "Sell")
        return bids, asks


@pytest.mark.parametrize(("table", "depth"), [("orderBookL2", 10**6), ("orderBookL2_25", 25)])
async def test_l2_deltas_keep_the_client_book_exact(
    emu: BitmexEmulator, table: str, depth: int
) -> None:
    m = emu.driver.markets["XBTUSD"]
    async with aiohttp.ClientSession() as s, s.ws_connect(emu.base_url + "/realtime") as ws:
        await recv(ws)
        await ws.send_json({"op": "subscribe", "args": [f"{table}:XBTUSD"]})
        await recv(ws)
        mirror = Mirror()
        mirror.apply(await recv(ws))
        actions: set[str] = set()
        t = int(time.time() * 1000)
        for k in range(60):
            emu.step(t + k * 150)
            # the step's messages are queued before the pong (one ordered queue per socket)
            await ws.send_str("ping")
            while (msg := await recv(ws)) != "pong":
                actions.add(msg["action"])
                mirror.apply(msg)
            bids, asks = mirror.sides()
            want_b = [(float(m.px(p)), float(q)) for p, q in m.sorted_bids()[:depth]]
            want_a = [(float(m.px(p)), float(q)) for p, q in m.sorted_asks()[:depth]]
            assert (bids, asks) == (want_b, want_a), k
        assert {"insert", "update", "delete"} <= actions


async def test_private_pushes(emu: BitmexEmulator, client: Client) -> None:
    async with aiohttp.ClientSession() as s, s.ws_connect(emu.base_url + "/realtime") as ws:
        await recv(ws)
        await ws.send_json({"op": "authKeyExpires", "args": auth_args()})
        await recv(ws)
        await ws.send_json(
            {"op": "subscribe", "args": ["order", "execution", "position", "margin"]}
        )
        for _ in range(8):
            await recv(ws)
        await client.call(
            "POST",
            "/api/v1/order",
            {"symbol": "XBTUSD", "orderQty": 200, "ordType": "Market", "clOrdID": "m1"},
        )
        seen: list[tuple[str, str]] = []
        exec_types: list[str] = []
        while "margin" not in [t for t, _ in seen]:
            d = await recv(ws)
            seen.append((d["table"], d["action"]))
            if d["table"] == "execution":
                exec_types += [r["execType"] for r in d["data"]]
            if d["table"] == "margin":
                assert d["data"][0]["currency"] == "XBt"
        assert exec_types[0] == "New" and "Trade" in exec_types
        tables = [t for t, _ in seen]
        # the Trade executions come before the order update that accounts for them
        last_exec = len(tables) - 1 - tables[::-1].index("execution")
        assert "order" in tables[last_exec:] and "position" in tables
