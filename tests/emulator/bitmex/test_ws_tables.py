"""BitMEX's ``tradeBin1m``, ``instrument`` and ``wallet`` tables on ``/realtime`` over a real
socket: each partial's ``keys`` / ``types`` / ``filter`` (types checked against BitMEX's REST
spec, values against their types), then the inserts and updates:

* ``tradeBin1m`` closes each minute exactly once, when the market's clock passes it, with the
  OHLCV of the trades the same socket's ``trade`` table printed in that minute (the clock is
  the emulator's ``step(ts)``: minutes pass in microseconds, nothing sleeps);
* ``instrument`` updates carry the key, ``timestamp`` and only fields that changed; applied to
  the partial they give the REST row;
* ``wallet`` updates after a fill carry the account's new XBt amount, equal to REST's.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tradeloop.emulator.bitmex.server import BitmexEmulator

from .conftest import Client
from .test_ws import auth_args, recv

SWAGGER = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "bitmex" / "swagger.json"
MINUTE = 60_000
SYM = "XBTUSD"


def swagger_type(prop: dict[str, Any]) -> set[str]:
    """The BitMEX WS type names a REST spec field may have."""
    t, f = prop.get("type"), prop.get("format")
    if t == "integer":
        return {"long"}
    if t == "number":
        return {"float"}
    if t == "boolean":
        return {"boolean"}
    if f == "date-time":
        return {"timestamp"}
    if f == "guid":
        return {"guid"}
    return {"symbol", "string"}


def fits(kind: str, value: Any) -> bool:
    """Whether a row value is of its declared type (null is allowed for every type)."""
    if value is None:
        return True
    if kind == "long":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "timestamp":
        return isinstance(value, str) and value.endswith("Z") and bool(datetime.fromisoformat(
            value.replace("Z", "+00:00")))  # fmt: skip
    if kind == "symbols":
        return isinstance(value, list)
    return isinstance(value, str)


def check_partial(
    msg: dict[str, Any], table: str, keys: list[str], flt: dict[str, Any], definition: str
) -> None:
    assert (msg["table"], msg["action"], msg["keys"], msg["filter"]) == (
        table, "partial", keys, flt)  # fmt: skip
    types = msg["types"]
    for row in msg["data"]:
        assert set(row) <= set(types), set(row) - set(types)
        for k, v in row.items():
            assert fits(types[k], v), (table, k, types[k], v)
    if SWAGGER.is_file():
        props = json.loads(SWAGGER.read_text())["definitions"][definition]["properties"]
        for k, kind in types.items():
            if k in props:
                assert kind in swagger_type(props[k]), (table, k, kind, props[k])


async def next_table(ws: aiohttp.ClientWebSocketResponse, table: str) -> dict[str, Any]:
    for _ in range(100):
        d = await recv(ws)
        if isinstance(d, dict) and d.get("table") == table:
            return d
    raise AssertionError(f"no {table} message")


async def drain(ws: aiohttp.ClientWebSocketResponse) -> list[dict[str, Any]]:
    out = []
    while True:
        try:
            out.append(await recv(ws, timeout=0.05))
        except TimeoutError:
            return out


async def test_partials(emu: BitmexEmulator, client: Client) -> None:
    async with aiohttp.ClientSession() as s, s.ws_connect(emu.base_url + "/realtime") as ws:
        await recv(ws)
        await ws.send_json({"op": "subscribe", "args": [f"tradeBin1m:{SYM}"]})
        part = await next_table(ws, "tradeBin1m")
        check_partial(part, "tradeBin1m", [], {"symbol": SYM}, "TradeBin")
        (last,) = part["data"]
        assert last["symbol"] == SYM and last["timestamp"].endswith(":00.000Z")
        await ws.send_json({"op": "subscribe", "args": [f"instrument:{SYM}"]})
        part = await next_table(ws, "instrument")
        check_partial(part, "instrument", ["symbol"], {"symbol": SYM}, "Instrument")
        assert [r["symbol"] for r in part["data"]] == [SYM]
        _, rest, _ = await client.call("GET", f"/api/v1/instrument?symbol={SYM}")
        assert set(part["data"][0]) == set(rest[0])
        # every symbol: one partial, unfiltered (as BitMEX answers ``trade:*``)
        async with s.ws_connect(emu.base_url + "/realtime") as every:
            await recv(every)
            await every.send_json({"op": "subscribe", "args": ["instrument"]})
            part = await next_table(every, "instrument")
        check_partial(part, "instrument", ["symbol"], {}, "Instrument")
        assert sorted(r["symbol"] for r in part["data"]) == sorted(emu.instruments)
        await ws.send_json({"op": "authKeyExpires", "args": auth_args()})
        await ws.send_json({"op": "subscribe", "args": ["wallet"]})
        part = await next_table(ws, "wallet")
        check_partial(part, "wallet", ["account", "currency"], {"account": 1234567}, "Wallet")
        _, wallets, _ = await client.call("GET", "/api/v1/user/wallet?currency=all")
        amounts = {r["currency"]: r["amount"] for r in wallets}
        assert {r["currency"]: r["amount"] for r in part["data"]} == amounts == {
            "XBt": 100_000_000, "USDt": 10_000_000_000}  # fmt: skip


def expected_bin(prints: list[dict[str, Any]], prev_close: float) -> dict[str, Any]:
    """A bin from its minute's prints as BitMEX reports it: opened at the previous close."""
    prices = [p["price"] for p in prints]
    home = sum(p["homeNotional"] for p in prints)
    foreign = sum(p["foreignNotional"] for p in prints)
    return {
        "open": prev_close,
        "high": max([prev_close, *prices]),
        "low": min([prev_close, *prices]),
        "close": prices[-1] if prices else prev_close,
        "trades": len(prints),
        "volume": sum(p["size"] for p in prints),
        "turnover": sum(p["grossValue"] for p in prints),
        "lastSize": prints[-1]["size"] if prints else None,
        "homeNotional": pytest.approx(home),
        "foreignNotional": pytest.approx(foreign),
        "vwap": pytest.approx(foreign / home) if prints else None,
    }


def ms(ts: str) -> int:
    return round(datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() * 1000)


async def test_trade_bins_close_once_a_minute(emu: BitmexEmulator) -> None:
    t0 = (int(time.time() * 1000) // MINUTE + 1) * MINUTE  # the next minute
    async with aiohttp.ClientSession() as s, s.ws_connect(emu.base_url + "/realtime") as ws:
        await recv(ws)
        await ws.send_json({"op": "subscribe", "args": [f"trade:{SYM}", f"tradeBin1m:{SYM}"]})
        msgs = await drain(ws)
        part = next(m for m in msgs if m.get("table") == "tradeBin1m")
        after = ms(part["data"][0]["timestamp"])
        bins: list[dict[str, Any]] = []
        # the socket's tape: the trade partial (the latest prints), then its inserts
        prints = next(m for m in msgs if m.get("table") == "trade")["data"]
        steps = 0
        for minute in range(5):
            for k in range(40):  # 40 steps 1.4 s apart: most minutes print trades
                emu.step(t0 + minute * MINUTE + 100 + k * 1400)
                steps += 1
            for m in await drain(ws):
                if m.get("table") == "tradeBin1m":
                    assert m["action"] == "insert"
                    bins += m["data"]
                elif m.get("table") == "trade" and m["action"] == "insert":
                    prints += m["data"]
            # every minute after the partial's closes once, when the clock has passed it:
            # the bin of the minute now running is never there
            now = t0 + minute * MINUTE
            assert [ms(b["timestamp"]) for b in bins] == list(range(after + MINUTE, now + 1,
                                                                    MINUTE))  # fmt: skip
    assert sum(1 for b in bins if ms(b["timestamp"]) > t0) == 4
    assert sum(1 for b in bins if b["trades"]) >= 3
    # the minutes this test's clock made (before t0 the emulator's start-up warm-up prints
    # trades stamped up to 4 s before the candle they are counted in: the core's, not BitMEX's)
    prev_close = next(b for b in bins if ms(b["timestamp"]) == t0)["close"]
    for b in bins:
        end = ms(b["timestamp"])
        if end <= t0:
            continue
        mine = [p for p in prints if end - MINUTE <= ms(p["timestamp"]) < end]
        got = {k: b[k] for k in expected_bin(mine, prev_close)}
        assert got == expected_bin(mine, prev_close), b
        assert b["symbol"] == SYM
        prev_close = b["close"]


async def test_instrument_updates_are_the_changes(emu: BitmexEmulator, client: Client) -> None:
    async with aiohttp.ClientSession() as s, s.ws_connect(emu.base_url + "/realtime") as ws:
        await recv(ws)
        await ws.send_json({"op": "subscribe", "args": [f"instrument:{SYM}"]})
        part = await next_table(ws, "instrument")
        mirror = dict(part["data"][0])
        types = part["types"]
        updates = []
        t = int(time.time() * 1000)
        for k in range(40):
            emu.step(t + k * 150)
        for m in await drain(ws):
            if m.get("table") == "instrument":
                assert m["action"] == "update"
                updates += m["data"]
        assert len(updates) >= 3
        for row in updates:
            assert row["symbol"] == SYM and "timestamp" in row
            assert all(fits(types[k], v) for k, v in row.items()), row
            changed = {k for k in row if k not in ("symbol", "timestamp")}
            assert changed and all(row[k] != mirror[k] for k in changed), (row, mirror)
            mirror.update(row)
        _, rest, _ = await client.call("GET", f"/api/v1/instrument?symbol={SYM}")
        for name in ("bidPrice", "askPrice", "midPrice", "markPrice", "lastPrice"):
            assert mirror[name] == rest[0][name], name


async def test_wallet_updates_follow_fills(emu: BitmexEmulator, client: Client) -> None:
    async with aiohttp.ClientSession() as s, s.ws_connect(emu.base_url + "/realtime") as ws:
        await recv(ws)
        await ws.send_json({"op": "authKeyExpires", "args": auth_args()})
        await ws.send_json({"op": "subscribe", "args": ["wallet"]})
        await next_table(ws, "wallet")
        for qty in (300, -300):
            await client.call(
                "POST", "/api/v1/order", {"symbol": SYM, "orderQty": qty, "ordType": "Market"}
            )
            up = await next_table(ws, "wallet")
            assert up["action"] == "update"
            (row,) = up["data"]
            assert (row["account"], row["currency"]) == (1234567, "XBt")
            _, rest, _ = await client.call("GET", "/api/v1/user/wallet?currency=XBt")
            assert row["amount"] == rest["amount"] < 100_000_000  # fees paid
            _, hist, _ = await client.call("GET", "/api/v1/user/walletHistory")
            assert hist[0]["walletBalance"] == row["amount"]


async def test_lost_l2_message_shows_as_an_unknown_id(emu: BitmexEmulator) -> None:
    """The ``skip_seq`` fault on BitMEX: one L2 step is lost and the next row names a level
    the client cannot know -- the only way a BitMEX client can notice."""
    async with aiohttp.ClientSession() as s, s.ws_connect(emu.base_url + "/realtime") as ws:
        await recv(ws)
        await ws.send_json({"op": "subscribe", "args": [f"orderBookL2:{SYM}"]})
        part = await next_table(ws, "orderBookL2")
        ids = {r["id"] for r in part["data"]}
        emu.faults.skip_seqs(1)
        t = int(time.time() * 1000)
        lost = []
        for k in range(3):
            emu.step(t + k * 150)
            lost += [m for m in await drain(ws) if m.get("table") == "orderBookL2"]
            if lost:
                break
        (msg,) = lost  # the step's deltas are gone: only the row no book holds
        assert msg["action"] == "update" and len(msg["data"]) == 1
        assert msg["data"][0]["id"] not in ids and emu.faults.skip_seq_pending == 0
