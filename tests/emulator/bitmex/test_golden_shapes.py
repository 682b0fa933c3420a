"""Golden shapes: the emulator's WebSocket table rows against what BitMEX really sends.

* ``bitmex/ws_fixtures_testnet_2020.json`` (BitMEX's own recorded testnet frames) has the
  ``trade``, ``order`` and ``orderBookL2_25`` partials: our ``keys`` are theirs, our ``types``
  give every field theirs do the same type, and our rows carry every field theirs do; anything
  we add must be a field BitMEX documents (below).
* ``bitmex/swagger.json`` (BitMEX's REST spec) documents every table's model: each field of our
  order / execution / position / margin / wallet / orderBookL2 / quote / trade / instrument /
  tradeBin1m rows must be one of its properties (or a field a recorded message of that table
  shows, ``fixtures/bitmex/ws_*.json``, for what the spec lags behind) with a JSON value of
  the property's type (or null).
* Where a partial declares ``types``, every row field is declared with the type of its value.

Skipped with the reason when ../shared/data is absent."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tradeloop.emulator.bitmex import contracts as ct
from tradeloop.emulator.bitmex.server import BitmexEmulator

from .conftest import KEY, SECRET, Client, sign

DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data"
FIXTURES = DATA / "bitmex" / "ws_fixtures_testnet_2020.json"
SWAGGER = DATA / "bitmex" / "swagger.json"
RECORDED = DATA / "fixtures" / "bitmex"

pytestmark = pytest.mark.skipif(
    not (FIXTURES.exists() and SWAGGER.exists()),
    reason=f"{DATA} absent (shared data not mounted): no BitMEX fixtures to compare with",
)

MODEL = {
    "order": "Order",
    "execution": "Execution",
    "position": "Position",
    "margin": "Margin",
    "wallet": "Wallet",
    "orderBookL2": "OrderBookL2",
    "orderBookL2_25": "OrderBookL2",
    "quote": "Quote",
    "trade": "Trade",
    "instrument": "Instrument",
    "tradeBin1m": "TradeBin",
}
#: the recorded (nautilus test data) message of a table, for fields the spec lags behind
RECORDED_FILE = {
    "order": "ws_order.json",
    "execution": "ws_execution.json",
    "position": "ws_position.json",
    "margin": "ws_margin.json",
    "wallet": "ws_wallet.json",
    "orderBookL2": "ws_orderbook_l2.json",
    "orderBookL2_25": "ws_orderbook_l2.json",
    "quote": "ws_quote.json",
    "trade": "ws_trade.json",
    "instrument": "ws_instrument.json",
    "tradeBin1m": "ws_trade_bin_1m.json",
}
#: which 2020 testnet sequence holds a table's partial (and its rows)
FIXTURE_OF = {
    "trade": "symboledTradeInsert",
    "order": "orderSymboledEmptyPartial",
    "orderBookL2_25": "orderbookSymboledEmptyPartial",
}
SUBSCRIBE = [
    "orderBookL2:XBTUSD",
    "orderBookL2_25:XBTUSD",
    "quote:XBTUSD",
    "trade:XBTUSD",
    "instrument:XBTUSD",
    "tradeBin1m:XBTUSD",
    "order",
    "execution",
    "position",
    "margin",
    "wallet",
]


def swagger_ok(prop: dict[str, Any], v: Any) -> bool:
    kind = prop.get("type")
    if v is None or kind is None:
        return True
    if prop.get("format") == "date-time":
        return isinstance(v, str) and ct.parse_iso(v) is not None
    return {
        "integer": isinstance(v, int) and not isinstance(v, bool),
        "number": isinstance(v, int | float) and not isinstance(v, bool),
        "string": isinstance(v, str),
        "boolean": isinstance(v, bool),
        "array": isinstance(v, list),
        "object": isinstance(v, dict),
    }.get(str(kind), True)


def bitmex_type_ok(kind: str, v: Any) -> bool:
    if v is None:
        return True
    if kind == "long":
        return isinstance(v, int) and not isinstance(v, bool)
    if kind == "float":
        return isinstance(v, int | float) and not isinstance(v, bool)
    if kind == "boolean":
        return isinstance(v, bool)
    if kind == "timestamp":
        return isinstance(v, str) and ct.parse_iso(v) is not None
    if kind == "symbols":
        return isinstance(v, list)
    return isinstance(v, str)  # symbol, string, guid


Fields = dict[str, set[str]]  # action -> the union of its rows' fields


def fields_by_action(msgs: list[dict[str, Any]]) -> Fields:
    out: Fields = {}
    for m in msgs:
        for r in m.get("data", []):
            out.setdefault(m["action"], set()).update(r)
    return out


def fixture_partials() -> dict[str, tuple[dict[str, Any], Fields]]:
    """table -> (its partial, the fields its rows show per action)."""
    doc = json.loads(FIXTURES.read_text())
    out: dict[str, tuple[dict[str, Any], Fields]] = {}
    for table, seq in FIXTURE_OF.items():
        msgs = [m for m in doc[seq] if m.get("table") == table]
        part = next(m for m in msgs if m["action"] == "partial")
        out[table] = (part, fields_by_action(msgs))
    return out


async def collect(emu: BitmexEmulator, client: Client) -> dict[str, list[dict[str, Any]]]:
    """Every table's partial and pushes (by table, in order) after some trading."""
    m = emu.driver.markets["XBTUSD"]
    low = float(m.px(m.best_bid())) - 500
    await client.call("POST", "/api/v1/order", {"symbol": "XBTUSD", "orderQty": 100, "price": low})
    await client.call("POST", "/api/v1/order", {"symbol": "XBTUSD", "orderQty": 200,
                                                "ordType": "Market"})  # fmt: skip
    out: dict[str, list[dict[str, Any]]] = {}
    async with aiohttp.ClientSession() as s, s.ws_connect(emu.base_url + "/realtime") as ws:
        await ws.receive_json(timeout=2)
        exp = int(time.time()) + 10
        await ws.send_json(
            {"op": "authKeyExpires", "args": [KEY, exp, sign(SECRET, "GET", "/realtime", exp)]}
        )
        assert (await ws.receive_json(timeout=2))["success"]
        await ws.send_json({"op": "subscribe", "args": SUBSCRIBE})
        # more private rows: a fill (execution insert, position/margin updates), a cancel
        await client.call("POST", "/api/v1/order", {"symbol": "XBTUSD", "orderQty": -100,
                                                    "ordType": "Market"})  # fmt: skip
        await client.call("DELETE", "/api/v1/order/all", {})
        now = int(time.time() * 1000)
        for k in range(30):
            emu.step(now + k * 150)
        await ws.send_str("ping")  # answered after everything queued before it
        while (msg := await ws.receive(timeout=5)).data != "pong":
            d = json.loads(msg.data)
            if "table" in d:
                out.setdefault(d["table"], []).append(d)
    return out


async def test_rows_have_bitmexs_shape(emu: BitmexEmulator, client: Client) -> None:
    got = await collect(emu, client)
    spec = json.loads(SWAGGER.read_text())["definitions"]
    assert set(got) == {s.split(":")[0] for s in SUBSCRIBE}
    problems: list[str] = []
    for table, msgs in got.items():
        assert msgs[0]["action"] == "partial", table
        rows = [r for m in msgs for r in m["data"]]
        assert rows, f"no {table} rows to compare"
        props = spec[MODEL[table]]["properties"]
        extra: set[str] = set()
        if (RECORDED / RECORDED_FILE[table]).exists():
            rec = json.loads((RECORDED / RECORDED_FILE[table]).read_text())
            extra = set(rec[0] if isinstance(rec, list) else rec)
        types = msgs[0]["types"]
        for r in rows:
            for f, v in r.items():
                if f not in props and f not in extra:
                    problems.append(f"{table}.{f}: not a BitMEX field")
                elif f in props and not swagger_ok(props[f], v):
                    problems.append(f"{table}.{f}={v!r}: spec says {props[f]}")
                if types and f not in types:
                    problems.append(f"{table}.{f}: not in the partial's types")
                elif types and not bitmex_type_ok(types[f], v):
                    problems.append(f"{table}.{f}={v!r}: partial says {types[f]}")
    assert not sorted(set(problems)), sorted(set(problems))


async def test_partials_match_bitmexs_recorded_ones(emu: BitmexEmulator, client: Client) -> None:
    got = await collect(emu, client)
    spec = json.loads(SWAGGER.read_text())["definitions"]
    for table, (theirs, their_fields) in fixture_partials().items():
        ours = got[table][0]
        props = spec[MODEL[table]]["properties"]
        assert ours["keys"] == theirs["keys"], table
        assert set(ours["filter"]) <= set(theirs["filter"]) | {"symbol"}, table
        for f, kind in theirs["types"].items():
            assert ours["types"].get(f) == kind, (table, f)
        assert set(ours["types"]) - set(theirs["types"]) <= set(props), table
        our_fields = fields_by_action(got[table])
        compared = set(our_fields) & set(their_fields)
        assert "partial" in compared or "insert" in compared, (table, our_fields, their_fields)
        for action in compared:
            ours_f, theirs_f = our_fields[action], their_fields[action]
            assert theirs_f <= ours_f, (table, action, theirs_f - ours_f)
            assert ours_f - theirs_f <= set(props), (table, action, ours_f - theirs_f)
