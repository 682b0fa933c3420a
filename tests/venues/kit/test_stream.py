"""The kit's stream side over real loopback sockets: ``WsClient.handshake`` (login + private
acks, a refusal raised from ``start``), ``BookStream`` (top-N book applied, a checksum
mismatch reported and cured by a re-subscription) and ``ChannelGateway.on_private``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import msgspec
import pytest
from aiohttp import WSMsgType, web

from tradeloop.book.topn import TopNBookSync
from tradeloop.core.errors import AuthError
from tradeloop.emulator.bookview import float_text_crc
from tradeloop.model import BookLevels, Event
from tradeloop.venues.gateway_base import ChannelGateway
from tradeloop.venues.parsing import float_text
from tradeloop.venues.retry import RetryConfig
from tradeloop.venues.stream import BookStream
from tradeloop.venues.wsclient import WsClient, WsConfig

from ..conftest import Starter

FAST = WsConfig(heartbeat_interval=5.0, reconnect=RetryConfig(max_attempts=0, base=0.01, cap=0.05))
BIDS, ASKS = [[100.0, 1.0], [99.0, 2.0]], [[101.0, 1.5]]
crc = float_text_crc(10)


class Venue:
    """A venue that wants ``{"op": "login", "key": "good"}`` before private subscriptions and
    serves a checksummed top-10 book whose second update carries a wrong checksum."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/ws", self.handle)
        return app

    async def handle(self, req: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(req)
        logged_in, updates = False, 0
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT or msg.data == "ping":
                continue
            m = json.loads(msg.data)
            self.received.append(m)
            if m["op"] == "login":
                logged_in = m["key"] == "good"  # silence on success, like FTX
                if not logged_in:
                    await ws.send_json({"type": "error", "msg": "bad key"})
            elif m["op"] == "subscribe" and m["channel"] == "orders":
                ok = {"type": "subscribed", "channel": "orders"}
                await ws.send_json(ok if logged_in else {"type": "error", "msg": "Not logged in"})
            elif m["op"] == "subscribe" and m["channel"] == "book":
                data = {
                    "action": "partial",
                    "bids": BIDS,
                    "asks": ASKS,
                    "checksum": crc(BIDS, ASKS),
                }
                await ws.send_json(data)
                for _ in range(2):
                    updates += 1
                    bids = [[100.0, 1.0 + updates]]
                    now = [[100.0, 1.0 + updates], BIDS[1]]
                    good = crc(now, ASKS)
                    sent = good if updates == 1 else good + 1  # the second one is corrupt
                    await ws.send_json({"bids": bids, "asks": [], "checksum": sent})
        return ws


class _Msg(msgspec.Struct):
    bids: list[tuple[float, float]]
    asks: list[tuple[float, float]]
    action: str = "update"
    checksum: int | None = None


class Stream(BookStream[TopNBookSync]):
    async def subscribe(self, key: str) -> None:
        book = TopNBookSync(key, 10, signed=False, snapshot="partial", text=float_text)
        self.books.setdefault(key, book)
        await self.client.subscribe(key, json.dumps({"op": "subscribe", "channel": key}))

    async def resubscribe(self, key: str) -> None:
        await self.client.unsubscribe(key, json.dumps({"op": "unsubscribe", "channel": key}))
        await self.subscribe(key)

    def on_text(self, text: str) -> None:
        if '"bids"' in text:
            self.on_book("book", "BOOK.XYZ", msgspec.json.decode(text, type=_Msg), 1)


def answer(text: str) -> bool:
    return '"error"' in text or '"subscribed"' in text


def refused(text: str) -> AuthError | None:
    return AuthError(json.loads(text)["msg"], "bad") if '"error"' in text else None


def login(key: str) -> Callable[[WsClient], Any]:
    async def hook(client: WsClient) -> None:
        sub = json.dumps({"op": "subscribe", "channel": "orders"})
        await client.handshake([json.dumps({"op": "login", "key": key}), (sub, answer)], refused)

    return hook


async def test_handshake_logs_in_and_a_refusal_is_raised_from_start(serve: Starter) -> None:
    venue = Venue()
    url = (await serve(venue.app())).replace("http", "ws") + "/ws"
    good = WsClient(url, lambda t: None, config=FAST, on_connect=login("good"))
    await good.start(5.0)
    assert good.connected
    assert [m["op"] for m in venue.received] == ["login", "subscribe"]
    await good.stop()
    bad = WsClient(url, lambda t: None, config=FAST, on_connect=login("nope"))
    with pytest.raises(AuthError, match="bad key"):  # the login error answers the subscribe
        await bad.start(5.0)
    await bad.stop()


async def test_book_stream_applies_resyncs_and_recovers(serve: Starter) -> None:
    venue = Venue()
    url = (await serve(venue.app())).replace("http", "ws") + "/ws"
    events: list[Event] = []
    statuses: list[tuple[str, str]] = []
    stream = Stream(url, events.append, lambda s, d: statuses.append((s, d)), config=FAST)
    await stream.start(5.0)
    await stream.subscribe("book")
    for _ in range(500):  # partial, update, corrupt -> resync -> partial, update, corrupt ...
        if (
            stream.resyncs >= 1
            and sum(isinstance(e, BookLevels) and e.snapshot for e in events) >= 2
        ):
            break
        await asyncio.sleep(0.02)
    await stream.stop()
    books = [e for e in events if isinstance(e, BookLevels)]
    assert books[0].snapshot and books[0].bids == [(100.0, 1.0), (99.0, 2.0)]
    assert not books[1].snapshot and books[1].bids == [(100.0, 2.0)]
    assert sum(b.snapshot for b in books) >= 2  # a fresh partial after the mismatch
    assert ("connected", url) in statuses
    assert any(s == "resync" and "checksum mismatch" in d for s, d in statuses)
    ops = [(m["op"], m["channel"]) for m in venue.received]
    assert ops[:3] == [("subscribe", "book"), ("unsubscribe", "book"), ("subscribe", "book")]


class Gateway(ChannelGateway):
    venue = "XYZ"
    private_routes = {"fills": "_on_fill"}

    def __init__(self) -> None:
        super().__init__(lambda: 0)
        self.seen: list[Any] = []

    def _on_fill(self, d: dict[str, Any]) -> None:
        self.seen.append(d["id"])

    async def start(self) -> None: ...
    async def fetch_balances(self) -> Any: ...
    async def fetch_fills(self, since_ns: int = 0) -> Any: ...
    async def fetch_open_orders(self) -> Any: ...
    async def fetch_positions(self) -> Any: ...


def test_private_pushes_go_by_channel_and_bad_ones_are_dropped(caplog: Any) -> None:
    gw = Gateway()
    assert gw.public is None and gw.private is None
    gw.on_private("fills", {"id": 1})
    gw.on_private("fills", {"no_id": 2})  # malformed: logged, not raised into the reader
    gw.on_private("other", {"id": 3})  # not a channel this venue routes
    assert gw.seen == [1]
    assert "XYZ: bad fills push" in caplog.text
