"""WebSocket: OKX control protocol, public channels, book rebuild with every checksum and
seqId verified, private pushes, WS order entry, and the WS faults."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from tradeloop.book.checksum import okx_checksum
from tradeloop.book.okx_sync import OkxBookSync, SyncResult
from tradeloop.emulator.feed import now_ms
from tradeloop.emulator.market import BookChange
from tradeloop.emulator.okx.server import OkxEmulator

from .helpers import Client, WsClient, is_event, is_push


class LocalBook:
    """A client-side rebuild from the pushes, keyed by the exact price strings."""

    def __init__(self) -> None:
        self.bids: dict[str, str] = {}
        self.asks: dict[str, str] = {}

    def apply(self, data: dict[str, Any], snapshot: bool) -> None:
        if snapshot:
            self.bids.clear()
            self.asks.clear()
        for side, levels in ((self.bids, data["bids"]), (self.asks, data["asks"])):
            for px, sz, *_ in levels:
                if sz == "0":
                    side.pop(px, None)
                else:
                    side[px] = sz

    def checksum(self) -> int:
        bids = sorted(self.bids.items(), key=lambda kv: float(kv[0]), reverse=True)[:25]
        asks = sorted(self.asks.items(), key=lambda kv: float(kv[0]))[:25]
        return okx_checksum(bids, asks)


async def _connect(emu: OkxEmulator, kind: str, session: aiohttp.ClientSession) -> WsClient:
    ws = await session.ws_connect(f"{emu.base_url.replace('http', 'ws')}/ws/v5/{kind}")
    return WsClient(ws)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def test_control_protocol(emu: OkxEmulator, session: aiohttp.ClientSession) -> None:
    ws = await _connect(emu, "public", session)
    await ws.send("ping")
    assert await ws.wait(lambda m: m == "pong") == "pong"
    await ws.send(
        {"id": "42", "op": "subscribe", "args": [{"channel": "tickers", "instId": "BTC-USDT"}]}
    )
    ack = await ws.wait(is_event("subscribe"))
    assert ack["id"] == "42" and ack["arg"] == {"channel": "tickers", "instId": "BTC-USDT"}
    assert ack["connId"]
    await ws.send(
        {"id": "43", "op": "unsubscribe", "args": [{"channel": "tickers", "instId": "BTC-USDT"}]}
    )
    assert (await ws.wait(is_event("unsubscribe")))["id"] == "43"
    await ws.send("{nope")
    err = await ws.wait(is_event("error"))
    assert err["code"] == "60012" and "Invalid request" in err["msg"]
    await ws.send({"op": "subscribe", "args": [{"instId": "BTC-USDT"}]})
    assert (await ws.wait(is_event("error")))["code"] == "60012"
    for arg in (
        {"channel": "nope", "instId": "BTC-USDT"},
        {"channel": "books", "instId": "NOPE-USDT"},
        {"channel": "candle1m", "instId": "BTC-USDT"},  # candles live on /business
        {"channel": "orders", "instType": "ANY"},
    ):  # private channel on /public
        await ws.send({"id": "7", "op": "subscribe", "args": [arg]})
        err = await ws.wait(is_event("error"))
        assert (err["code"], err["id"]) == ("60018", "7"), arg
    await ws.send({"op": "frobnicate"})
    assert (await ws.wait(is_event("error")))["code"] == "60012"
    await ws.ws.close()


async def test_protocol_ping_frame_is_answered(
    emu: OkxEmulator, session: aiohttp.ClientSession
) -> None:
    url = f"{emu.base_url.replace('http', 'ws')}/ws/v5/public"
    async with session.ws_connect(url, autoping=False) as ws:
        await ws.ping(b"hi")
        msg = await ws.receive(timeout=5)
        assert msg.type == aiohttp.WSMsgType.PONG and msg.data == b"hi"


async def test_login_errors_and_private_gate(
    emu: OkxEmulator, session: aiohttp.ClientSession
) -> None:
    ws = await _connect(emu, "private", session)
    await ws.send({"op": "subscribe", "args": [{"channel": "orders", "instType": "ANY"}]})
    assert (await ws.wait(is_event("error")))["code"] == "60011"
    assert (await ws.login(secret="wrong"))["code"] == "60007"
    assert (await ws.login(passphrase="wrong"))["code"] == "60024"
    assert (await ws.login(apiKey="wrong"))["code"] == "60005"
    assert (await ws.login(timestamp="1538054050"))["code"] == "60006"
    ok = await ws.login()
    assert ok["event"] == "login" and ok["code"] == "0"
    await ws.ws.close()


async def test_books_rebuild_verifies_every_checksum(
    emu: OkxEmulator, session: aiohttp.ClientSession
) -> None:
    ws = await _connect(emu, "public", session)
    await ws.send(
        {
            "op": "subscribe",
            "args": [
                {"channel": "books", "instId": "BTC-USDT"},
                {"channel": "books", "instId": "BTC-USDT-SWAP"},
            ],
        }
    )
    books: dict[str, LocalBook] = {}
    last_seq: dict[str, int] = {}
    updates = 0
    while updates < 40:
        m = await ws.wait(is_push("books"))
        inst = m["arg"]["instId"]
        (data,) = m["data"]
        if m["action"] == "snapshot":
            assert data["prevSeqId"] == -1
            assert len(data["bids"]) >= 50 and len(data["asks"]) >= 50
            books[inst] = LocalBook()
            books[inst].apply(data, snapshot=True)
        else:
            assert m["action"] == "update"
            assert data["prevSeqId"] == last_seq[inst], "seqId chain broken"
            books[inst].apply(data, snapshot=False)
            updates += 1
        assert data["seqId"] > data["prevSeqId"]
        assert isinstance(data["checksum"], int)
        assert books[inst].checksum() == data["checksum"]
        last_seq[inst] = data["seqId"]
        bb = max(float(p) for p in books[inst].bids)
        ba = min(float(p) for p in books[inst].asks)
        assert bb < ba
    await ws.ws.close()


async def test_public_channels(
    emu: OkxEmulator, client: Client, session: aiohttp.ClientSession
) -> None:
    ws = await _connect(emu, "public", session)
    await ws.send(
        {
            "op": "subscribe",
            "args": [
                {"channel": c, "instId": "ETH-USDT"}
                for c in ("tickers", "trades", "books5", "bbo-tbt")
            ],
        }
    )
    t = await ws.wait(is_push("tickers"))
    assert t["data"][0]["instId"] == "ETH-USDT" and float(t["data"][0]["askPx"]) > 0
    b5 = await ws.wait(is_push("books5"))
    assert len(b5["data"][0]["bids"]) == 5 and len(b5["data"][0]["asks"]) == 5
    bbo = await ws.wait(is_push("bbo-tbt"))
    assert len(bbo["data"][0]["bids"]) == 1
    tr = await ws.wait(is_push("trades"), timeout=10)
    assert {"instId", "tradeId", "px", "sz", "side", "ts", "count"} <= set(tr["data"][0])
    await ws.ws.close()
    # The first candle push is the bar in progress: REST's newest hourly bar, unconfirmed.
    # (Market time only moves forward, so it is the newest bar before or after subscribing.)
    hourly = "/api/v5/market/candles?instId=BTC-USDT&bar=1H&limit=1"
    _, before = await client.get(hourly)
    biz = await _connect(emu, "business", session)
    await biz.send(
        {
            "op": "subscribe",
            "args": [
                {"channel": "candle1m", "instId": "BTC-USDT"},
                {"channel": "candle1H", "instId": "BTC-USDT"},
            ],
        }
    )
    c = await biz.wait(is_push("candle1H"))
    _, after = await client.get(hourly)
    row = c["data"][0]
    assert len(row) == 9 and all(isinstance(x, str) for x in row)
    assert int(row[0]) % 3_600_000 == 0 and row[8] == "0"
    assert row[0] in (before["data"][0][0], after["data"][0][0])
    assert float(row[3]) <= min(float(row[1]), float(row[4])) <= float(row[2])
    await biz.ws.close()


# -- faults ---------------------------------------------------------------------------------
async def test_fault_skip_seq_and_corrupt_checksum(
    emu: OkxEmulator, session: aiohttp.ClientSession
) -> None:
    ws = await _connect(emu, "public", session)
    await ws.send({"op": "subscribe", "args": [{"channel": "books", "instId": "BTC-USDT"}]})
    snap = await ws.wait(is_push("books"))
    book = LocalBook()
    book.apply(snap["data"][0], snapshot=True)
    last = snap["data"][0]["seqId"]
    emu.faults.corrupt_checksum_once()
    bad = 0
    for _ in range(5):
        d = (await ws.wait(is_push("books")))["data"][0]
        book.apply(d, snapshot=False)
        bad += book.checksum() != d["checksum"]
        last = d["seqId"]
    assert bad == 1
    emu.faults.skip_seq_once()
    gaps = 0
    for _ in range(5):
        d = (await ws.wait(is_push("books")))["data"][0]
        gaps += d["prevSeqId"] != last
        last = d["seqId"]
    assert gaps == 1
    await ws.ws.close()


async def test_fault_drop_ws(emu: OkxEmulator, session: aiohttp.ClientSession) -> None:
    ws = await _connect(emu, "public", session)
    await ws.send({"op": "subscribe", "args": [{"channel": "tickers", "instId": "BTC-USDT"}]})
    await ws.wait(is_event("subscribe"))
    assert emu.faults.drop_ws() >= 1
    with pytest.raises((ConnectionError, asyncio.TimeoutError, aiohttp.ClientError)):
        for _ in range(1000):
            await ws.recv(timeout=5)
    again = await _connect(emu, "public", session)  # reconnecting works
    await again.send("ping")
    assert await again.wait(lambda m: m == "pong") == "pong"
    await again.ws.close()


async def test_latency_fault_delays_ws_answers(
    emu: OkxEmulator, session: aiohttp.ClientSession
) -> None:
    """Every WS request waits the injected latency before it is handled. Only lower bounds:
    a loaded machine can make answers later, never earlier."""
    latency_s = 0.25
    ws = await _connect(emu, "public", session)
    emu.faults.add_latency(latency_s * 1000)
    started = time.perf_counter()
    await ws.send("ping")
    assert await ws.wait(lambda m: m == "pong") == "pong"
    assert time.perf_counter() - started >= latency_s
    started = time.perf_counter()
    await ws.send(
        {"id": "9", "op": "subscribe", "args": [{"channel": "tickers", "instId": "BTC-USDT"}]}
    )
    assert (await ws.wait(is_event("subscribe")))["id"] == "9"
    assert time.perf_counter() - started >= latency_s
    emu.faults.add_latency(0)
    await ws.ws.close()


async def test_idle_book_gets_heartbeat(
    frozen_emu: OkxEmulator, session: aiohttp.ClientSession
) -> None:
    """After a minute without book changes OKX sends an empty update that keeps the chain
    (``prevSeqId == seqId``) and the checksum; a syncing client accepts it as is."""
    emu = frozen_emu
    m = emu.driver.markets["BTC-USDT"]
    ws = await _connect(emu, "public", session)
    await ws.send({"op": "subscribe", "args": [{"channel": "books", "instId": "BTC-USDT"}]})
    snap = (await ws.wait(is_push("books")))["data"][0]
    sync = OkxBookSync("BTC-USDT")
    assert sync.apply_message("snapshot", snap) is SyncResult.APPLIED
    t = now_ms() + 1_000
    emu.step(t)  # a real change: the idle clock starts here
    updates = await _books_until_pong(ws)
    assert len(updates) == 1 and updates[0]["bids"] + updates[0]["asks"]
    seq = updates[0]["seqId"]
    assert sync.apply_message("update", updates[0]) is SyncResult.APPLIED
    quiet = BookChange(ts=t + 59_999)  # a step that changed nothing, not idle long enough
    emu.hub.on_step(m, quiet)
    assert await _books_until_pong(ws) == []
    emu.hub.on_step(m, BookChange(ts=t + 60_000))
    (beat,) = await _books_until_pong(ws)
    assert (beat["bids"], beat["asks"]) == ([], [])
    assert beat["prevSeqId"] == beat["seqId"] == seq and beat["ts"] == str(t + 60_000)
    assert sync.apply_message("update", beat) is SyncResult.APPLIED  # checksum verified
    emu.hub.on_step(m, BookChange(ts=t + 90_000))  # the next one is a minute later again
    assert await _books_until_pong(ws) == []
    emu.step(t + 91_000)
    (nxt,) = await _books_until_pong(ws)
    assert nxt["prevSeqId"] == seq and nxt["seqId"] == seq + 1
    assert sync.apply_message("update", nxt) is SyncResult.APPLIED
    assert sync.resyncs == 0
    await ws.ws.close()


async def _books_until_pong(ws: WsClient) -> list[dict[str, Any]]:
    """The ``books`` updates queued so far: a text ``ping`` is answered after them."""
    msgs = list(ws.backlog)
    ws.backlog.clear()
    await ws.send("ping")
    while (msg := await ws.recv()) != "pong":
        msgs.append(msg)
    out = []
    for msg in msgs:
        if is_push("books")(msg):
            assert msg["action"] == "update"
            out.append(msg["data"][0])
    return out


# -- private --------------------------------------------------------------------------------
async def _private(emu: OkxEmulator, session: aiohttp.ClientSession) -> WsClient:
    ws = await _connect(emu, "private", session)
    assert (await ws.login())["code"] == "0"
    await ws.send(
        {
            "op": "subscribe",
            "args": [
                {"channel": "orders", "instType": "ANY"},
                {"channel": "account"},
                {"channel": "positions", "instType": "ANY"},
            ],
        }
    )
    for _ in range(3):
        await ws.wait(is_event("subscribe"))
    return ws


async def test_private_pushes_on_place_fill_cancel(
    frozen_emu: OkxEmulator, frozen_client: Client, session: aiohttp.ClientSession
) -> None:
    emu, client = frozen_emu, frozen_client
    ws = await _private(emu, session)
    pos0 = await ws.wait(is_push("positions"))
    assert pos0["data"] == []
    acct = await ws.wait(is_push("account"))
    assert {d["ccy"] for d in acct["data"][0]["details"]} == {"USDT", "BTC"}
    # resting order: live push, then canceled push
    _, body = await client.post(
        "/api/v5/trade/order",
        {
            "instId": "BTC-USDT",
            "tdMode": "cash",
            "side": "buy",
            "ordType": "limit",
            "sz": "0.01",
            "px": "1000",
            "clOrdId": "ws1",
        },
    )
    oid = body["data"][0]["ordId"]
    live = await ws.wait(is_push("orders"))
    row = live["data"][0]
    assert (row["ordId"], row["state"], row["clOrdId"], live["arg"]["instType"]) == (
        oid,
        "live",
        "ws1",
        "ANY",
    )
    await ws.wait(is_push("account"))
    await client.post("/api/v5/trade/cancel-order", {"instId": "BTC-USDT", "ordId": oid})
    canceled = await ws.wait(is_push("orders"))
    assert canceled["data"][0]["state"] == "canceled"
    # partial fill: buy more than the best ask level holds, at the best ask price
    _, b = await client.get("/api/v5/market/books?instId=BTC-USDT&sz=1")
    ask_px, ask_sz = b["data"][0]["asks"][0][:2]
    qty = f"{float(ask_sz) + 0.01:.8f}".rstrip("0")
    _, body = await client.post(
        "/api/v5/trade/order",
        {
            "instId": "BTC-USDT",
            "tdMode": "cash",
            "side": "buy",
            "ordType": "limit",
            "sz": qty,
            "px": ask_px,
        },
    )
    oid = body["data"][0]["ordId"]
    states = []
    while "partially_filled" not in states:
        d = (await ws.wait(is_push("orders")))["data"][0]
        assert d["ordId"] == oid
        states.append(d["state"])
        if d["state"] == "partially_filled":
            assert d["fillSz"] == ask_sz and d["fillPx"] == ask_px and d["execType"] == "T"
            assert d["accFillSz"] == ask_sz and float(d["fillFee"]) < 0
    assert states == ["live", "partially_filled"]
    # the rest fills as maker once the market trades through it
    for _ in range(400):
        emu.step()
        _, got = await client.get(f"/api/v5/trade/order?instId=BTC-USDT&ordId={oid}", signed=True)
        if got["data"][0]["state"] == "filled":
            break
    else:
        pytest.fail("resting remainder never filled")
    done = await ws.wait(lambda m: is_push("orders")(m) and m["data"][0]["state"] == "filled")
    assert done["data"][0]["execType"] == "M" and done["data"][0]["accFillSz"] == qty
    # swap fill: positions push
    await client.post(
        "/api/v5/trade/order",
        {
            "instId": "BTC-USDT-SWAP",
            "tdMode": "cross",
            "side": "buy",
            "ordType": "market",
            "sz": "3",
        },
    )
    pos = await ws.wait(lambda m: is_push("positions")(m) and m["data"])
    assert pos["data"][0]["pos"] == "3" and pos["data"][0]["instId"] == "BTC-USDT-SWAP"
    await ws.ws.close()


async def test_ws_order_entry(frozen_emu: OkxEmulator, session: aiohttp.ClientSession) -> None:
    emu = frozen_emu
    anon = await _connect(emu, "private", session)
    await anon.send({"id": "1", "op": "order", "args": [{"instId": "BTC-USDT"}]})
    r = await anon.wait(lambda m: m.get("op") == "order")
    assert r["code"] == "60011" and r["id"] == "1"
    await anon.ws.close()

    ws = await _private(emu, session)
    order = {
        "instId": "BTC-USDT",
        "tdMode": "cash",
        "side": "buy",
        "ordType": "limit",
        "sz": "0.01",
        "px": "1000",
    }
    await ws.send({"id": "a1", "op": "order", "args": [order]})
    r = await ws.wait(lambda m: m.get("op") == "order")
    assert r["id"] == "a1" and r["code"] == "0" and r["data"][0]["sCode"] == "0"
    assert {"inTime", "outTime", "msg"} <= set(r)
    oid = r["data"][0]["ordId"]
    await ws.send(
        {
            "id": "a2",
            "op": "amend-order",
            "args": [{"instId": "BTC-USDT", "ordId": oid, "newPx": "1001"}],
        }
    )
    r = await ws.wait(lambda m: m.get("op") == "amend-order")
    assert r["code"] == "0"
    amended = await ws.wait(lambda m: is_push("orders")(m) and m["data"][0]["amendResult"] == "0")
    assert amended["data"][0]["px"] == "1001"
    await ws.send(
        {"id": "a3", "op": "batch-orders", "args": [order, {**order, "instId": "NOPE-USDT"}]}
    )
    r = await ws.wait(lambda m: m.get("op") == "batch-orders")
    assert r["code"] == "2" and [d["sCode"] for d in r["data"]] == ["0", "51001"]
    await ws.send(
        {"id": "a4", "op": "cancel-order", "args": [{"instId": "BTC-USDT", "ordId": oid}]}
    )
    r = await ws.wait(lambda m: m.get("op") == "cancel-order")
    assert r["code"] == "0" and r["data"][0]["ordId"] == oid
    await ws.send(
        {"id": "a5", "op": "cancel-order", "args": [{"instId": "BTC-USDT", "ordId": oid}]}
    )
    r = await ws.wait(lambda m: m.get("op") == "cancel-order")
    assert r["code"] == "1" and r["data"][0]["sCode"] == "51400"
    await ws.send({"op": "order", "args": [order]})  # no id: format error
    r = await ws.wait(lambda m: m.get("op") == "order")
    assert r["code"] == "60013"
    await ws.ws.close()


async def test_mark_price_and_funding_channels(
    emu: OkxEmulator, session: aiohttp.ClientSession
) -> None:
    ws = await _connect(emu, "public", session)
    await ws.send(
        {
            "op": "subscribe",
            "args": [
                {"channel": "mark-price", "instId": "BTC-USDT-SWAP"},
                {"channel": "funding-rate", "instId": "BTC-USDT-SWAP"},
                {"channel": "funding-rate", "instId": "BTC-USDT"},
            ],
        }
    )
    mp = await ws.wait(is_push("mark-price"))
    assert float(mp["data"][0]["markPx"]) > 0
    fr = await ws.wait(is_push("funding-rate"))
    assert fr["data"][0]["fundingRate"] == "0.0001"
    assert (await ws.wait(is_event("error")))["code"] == "60018"
    await ws.ws.close()


async def test_user_taker_fill_prints_on_public_tape(
    frozen_emu: OkxEmulator, frozen_client: Client, session: aiohttp.ClientSession
) -> None:
    ws = await _connect(frozen_emu, "public", session)
    await ws.send({"op": "subscribe", "args": [{"channel": "trades", "instId": "ETH-USDT"}]})
    await ws.wait(is_event("subscribe"))
    _, body = await frozen_client.post(
        "/api/v5/trade/order",
        {
            "instId": "ETH-USDT",
            "tdMode": "cash",
            "side": "buy",
            "ordType": "market",
            "sz": "0.123",
            "tgtCcy": "base_ccy",
        },
    )
    assert body["code"] == "0"
    pushed: list[dict[str, str]] = []
    while sum(float(t["sz"]) for t in pushed) < 0.123 - 1e-9:
        pushed += (await ws.wait(is_push("trades")))["data"]
    assert all(t["side"] == "buy" for t in pushed)
    _, tape = await frozen_client.get("/api/v5/market/trades?instId=ETH-USDT&limit=1")
    assert tape["data"][0]["tradeId"] == pushed[-1]["tradeId"]
    await ws.ws.close()


async def test_idle_connections_closed_like_okx(session: aiohttp.ClientSession) -> None:
    from .helpers import make_config

    # 1 s idle limit: the pinger's 50 ms rhythm keeps 20x inside it even on a loaded machine
    emu = OkxEmulator(make_config(ws_idle_timeout_s=1.0, tick_interval_ms=0))
    await emu.start("127.0.0.1", 0)
    try:
        url = f"{emu.base_url.replace('http', 'ws')}/ws/v5/private"
        async with session.ws_connect(url) as silent, session.ws_connect(url) as pinger:
            closed = asyncio.create_task(silent.receive(timeout=30))
            for _ in range(400):  # the pinger stays alive while the silent one is closed
                await pinger.send_str("ping")
                assert (await pinger.receive(timeout=5)).data == "pong"
                if closed.done():
                    break
                await asyncio.sleep(0.05)
            msg = await closed
            assert msg.type is aiohttp.WSMsgType.CLOSE and msg.data == 4004
            assert not pinger.closed
    finally:
        await emu.stop()
