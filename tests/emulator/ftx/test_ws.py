"""FTX WebSocket over real sockets: ping/pong, login (good, bad, stale, twice, subaccount,
throttled), private channels before login, unknown channels and markets, the orderbook
partial + updates checked with an independent checksum (and the skip/corrupt faults caught by
it), ticker and trades, and the fills + orders pushes of an order placed over REST."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tradeloop.emulator.ftx.server import FtxEmulator

from .helpers import SECRET, Book, Rest, Ws, ms, ws_sign

Connect = Callable[[], Awaitable[Ws]]


def error(msg: str, code: int = 400) -> dict[str, Any]:
    return {"type": "error", "code": code, "msg": msg}


async def test_ping_pong(connect: Connect) -> None:
    ws = await connect()
    await ws.send({"op": "ping"})
    assert await ws.recv() == {"type": "pong"}


async def test_login_is_silent_and_once(connect: Connect) -> None:
    ws = await connect()
    await ws.login()
    assert await ws.silent()  # FTX does not answer a good login
    await ws.send({"op": "subscribe", "channel": "fills"})
    assert await ws.recv() == {"type": "subscribed", "channel": "fills"}
    await ws.login()
    assert await ws.recv() == error("Already logged in")


@pytest.mark.parametrize(
    "args",
    [
        {"key": "wrong", "sign": ws_sign(SECRET, 1), "time": 1},
        "not-a-dict",
        {"key": "ftx-test-key-0001", "time": ms()},
        {"key": "ftx-test-key-0001", "sign": ws_sign("bad", 5), "time": 5},
        {"key": "ftx-test-key-0001", "time": True, "sign": ws_sign(SECRET, 1)},
        {"key": "ftx-test-key-0001", "time": 10**400, "sign": "x"},
    ],
)
async def test_bad_login_then_private_refused(connect: Connect, args: Any) -> None:
    ws = await connect()
    await ws.send({"op": "login", "args": args})
    assert await ws.recv() == error("Invalid login credentials")
    await ws.send({"op": "subscribe", "channel": "orders"})
    assert await ws.recv() == error("Not logged in")


async def test_stale_wrong_signature_and_subaccount(connect: Connect) -> None:
    ws = await connect()
    stale = ms() - 60_000
    await ws.login(t=stale)
    assert await ws.recv() == error("Invalid login credentials")
    await ws.login(secret="other-secret")
    assert await ws.recv() == error("Invalid login credentials")
    t = ms()
    args = {"key": "ftx-test-key-0001", "sign": ws_sign(SECRET, t), "time": t, "subaccount": "x"}
    await ws.send({"op": "login", "args": args})
    assert await ws.recv() == error("Invalid login credentials")
    await ws.send({"op": "login", "args": {**args, "subaccount": "sub1"}})
    await ws.send({"op": "subscribe", "channel": "orders"})
    assert await ws.recv() == {"type": "subscribed", "channel": "orders"}


async def test_repeated_failed_logins_close_the_connection(connect: Connect) -> None:
    ws = await connect()
    for _ in range(5):
        await ws.login(secret="nope")
    for _ in range(5):
        assert await ws.recv() == error("Invalid login credentials")
    msg = await ws.ws.receive(timeout=5)
    assert ws.ws.closed or msg.type.name in ("CLOSE", "CLOSED", "CLOSING")


async def test_private_before_login_and_bad_requests(connect: Connect) -> None:
    ws = await connect()
    for channel in ("fills", "orders"):
        await ws.send({"op": "subscribe", "channel": channel})
        assert await ws.recv() == error("Not logged in")
    await ws.send({"op": "subscribe", "channel": "candles", "market": "BTC-PERP"})
    assert await ws.recv() == error("Invalid channel: candles")
    await ws.send({"op": "subscribe", "channel": "trades", "market": "NOPE-PERP"})
    assert await ws.recv() == error("No such market: NOPE-PERP", 404)
    await ws.send({"op": "subscribe", "channel": "trades", "market": ["BTC-PERP"]})
    assert (await ws.recv())["code"] == 404
    await ws.ws.send_str("{not json")
    assert await ws.recv() == error("Invalid JSON")
    await ws.ws.send_bytes(b"\x00\x01")
    assert await ws.recv() == error("Invalid JSON")
    await ws.send({"op": "dance"})
    assert await ws.recv() == error("Invalid op: dance")
    await ws.send({"op": "unsubscribe", "channel": "trades", "market": "BTC-PERP"})
    assert await ws.recv() == error("Not subscribed")
    await ws.send({"op": "ping"})  # the connection survived all of it
    assert await ws.recv() == {"type": "pong"}


async def test_orderbook_partial_and_updates_keep_the_checksum(
    ftx: FtxEmulator, connect: Connect
) -> None:
    ws = await connect()
    await ws.send({"op": "subscribe", "channel": "orderbook", "market": "BTC-PERP"})
    ack = await ws.recv()
    assert ack == {"type": "subscribed", "channel": "orderbook", "market": "BTC-PERP"}
    partial = await ws.recv()
    assert (partial["channel"], partial["market"], partial["type"]) == (
        "orderbook",
        "BTC-PERP",
        "partial",
    )
    data = partial["data"]
    assert data["action"] == "partial" and len(data["bids"]) == len(data["asks"]) == 60
    book = Book()
    book.apply(data)
    assert book.checksum() == data["checksum"]
    updates = 0
    for _ in range(30):
        ftx.step()
        msg = await ws.until(lambda d: d.get("channel") == "orderbook")
        assert msg["type"] == "update" and msg["data"]["action"] == "update"
        book.apply(msg["data"])
        assert book.checksum() == msg["data"]["checksum"]
        updates += 1
    assert updates == 30
    # a second subscriber starts from the same view
    other = await connect()
    await other.send({"op": "subscribe", "channel": "orderbook", "market": "BTC-PERP"})
    await other.recv()
    fresh = Book()
    fresh.apply((await other.recv())["data"])
    assert (fresh.bids, fresh.asks) == (book.bids, book.asks)


async def test_top_100_view_with_a_deeper_ladder() -> None:
    """With 150 levels a side the stream must still describe exactly the top 100."""
    from .conftest import config

    emu = FtxEmulator(config(book_levels=150))
    await emu.start("127.0.0.1", 0)
    try:
        import aiohttp

        async with aiohttp.ClientSession() as s:
            ws = Ws(await s.ws_connect(emu.base_url.replace("http", "ws") + "/ws"))
            await ws.send({"op": "subscribe", "channel": "orderbook", "market": "ETH-PERP"})
            await ws.recv()
            book = Book()
            first = (await ws.recv())["data"]
            book.apply(first)
            assert len(first["bids"]) == len(first["asks"]) == 100
            assert book.checksum() == first["checksum"]
            for _ in range(40):
                emu.step()
                msg = await ws.until(lambda d: d.get("channel") == "orderbook")
                book.apply(msg["data"])
                assert len(book.bids) <= 100 and len(book.asks) <= 100
                assert book.checksum() == msg["data"]["checksum"]
    finally:
        await emu.stop()


async def test_checksum_catches_skipped_and_corrupted_updates(
    ftx: FtxEmulator, connect: Connect
) -> None:
    ws = await connect()
    await ws.send({"op": "subscribe", "channel": "orderbook", "market": "BTC-PERP"})
    await ws.recv()
    book = Book()
    book.apply((await ws.recv())["data"])
    ftx.faults.corrupt_checksum_once()
    ftx.step()
    msg = await ws.until(lambda d: d.get("channel") == "orderbook")
    book.apply(msg["data"])
    assert book.checksum() != msg["data"]["checksum"]  # corrupted: the client notices
    ftx.faults.skip_seq_once()
    ftx.step()  # this update is lost
    ftx.step()
    msg = await ws.until(lambda d: d.get("channel") == "orderbook")
    book.apply(msg["data"])
    assert book.checksum() != msg["data"]["checksum"]  # a lost update shows too
    await ws.send({"op": "unsubscribe", "channel": "orderbook", "market": "BTC-PERP"})
    await ws.until(lambda d: d.get("type") == "unsubscribed")
    await ws.send({"op": "subscribe", "channel": "orderbook", "market": "BTC-PERP"})
    await ws.recv()
    resync = Book()
    partial = (await ws.recv())["data"]
    resync.apply(partial)
    assert resync.checksum() == partial["checksum"]  # resubscribing repairs it


async def test_ticker_and_trades(ftx: FtxEmulator, connect: Connect, rest: Rest) -> None:
    ws = await connect()
    await ws.send({"op": "subscribe", "channel": "ticker", "market": "BTC/USD"})
    assert await ws.recv() == {"type": "subscribed", "channel": "ticker", "market": "BTC/USD"}
    tick = await ws.recv()
    assert (tick["channel"], tick["market"], tick["type"]) == ("ticker", "BTC/USD", "update")
    assert set(tick["data"]) == {"bid", "ask", "bidSize", "askSize", "last", "time"}
    assert tick["data"]["bid"] < tick["data"]["ask"]
    await ws.send({"op": "subscribe", "channel": "trades", "market": "BTC/USD"})
    await ws.until(lambda d: d.get("type") == "subscribed")
    await rest.ok(
        "POST",
        "/api/orders",
        {"market": "BTC/USD", "side": "sell", "type": "market", "price": None, "size": 0.1},
    )
    trades = await ws.until(lambda d: d.get("channel") == "trades")
    assert trades["market"] == "BTC/USD" and trades["type"] == "update"
    assert trades["data"][0]["side"] == "sell"  # the user's taker fill, on the public tape
    assert set(trades["data"][0]) == {"id", "price", "size", "side", "liquidation", "time"}
    for _ in range(20):  # the synthetic flow prints trades too
        ftx.step()
    await ws.until(lambda d: d.get("channel") == "ticker")


async def test_fills_and_orders_pushes_after_a_rest_order(
    ftx: FtxEmulator, connect: Connect, rest: Rest
) -> None:
    ws = await connect()
    await ws.login()
    await ws.send({"op": "subscribe", "channel": "fills"})
    await ws.send({"op": "subscribe", "channel": "orders"})
    assert await ws.recv() == {"type": "subscribed", "channel": "fills"}
    assert await ws.recv() == {"type": "subscribed", "channel": "orders"}
    payload = {
        "market": "ETH-PERP",
        "side": "buy",
        "type": "market",
        "price": None,
        "size": 0.5,
        "clientId": "push-1",
    }
    placed = await rest.ok("POST", "/api/orders", payload)
    got: list[dict[str, Any]] = []
    while not got or got[-1]["channel"] != "orders" or got[-1]["data"]["status"] != "closed":
        got.append(await ws.recv())
    assert all(m["type"] == "update" and set(m) == {"channel", "type", "data"} for m in got)
    orders = [m["data"] for m in got if m["channel"] == "orders"]
    fills = [m["data"] for m in got if m["channel"] == "fills"]
    assert orders[0]["status"] == "new" and orders[0]["id"] == placed["id"]
    assert orders[-1]["filledSize"] == 0.5 and orders[-1]["clientId"] == "push-1"
    assert fills and sum(f["size"] for f in fills) == pytest.approx(0.5)
    assert {f["orderId"] for f in fills} == {placed["id"]}
    assert all(f["liquidity"] == "taker" and f["market"] == "ETH-PERP" for f in fills)
    assert await rest.ok("GET", "/api/fills?market=ETH-PERP") == sorted(
        fills, key=lambda f: f["id"], reverse=True
    )
    # a resting order filled by the market later is pushed as a maker fill
    bid = (await rest.ok("GET", "/api/markets/ETH-PERP", auth=False))["bid"]
    resting = await rest.ok(
        "POST",
        "/api/orders",
        {"market": "ETH-PERP", "side": "buy", "type": "limit", "price": bid, "size": 0.001},
    )
    new = await ws.until(lambda d: d["channel"] == "orders")
    assert (new["data"]["id"], new["data"]["status"]) == (resting["id"], "new")
    for _ in range(400):
        ftx.step()
        if (await rest.ok("GET", f"/api/orders/{resting['id']}"))["status"] == "closed":
            break
    maker = await ws.until(lambda d: d["channel"] == "fills")
    assert (maker["data"]["orderId"], maker["data"]["liquidity"]) == (resting["id"], "maker")
