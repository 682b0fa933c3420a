"""Shared WS client against a real loopback aiohttp WebSocket server."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable

from aiohttp import WSMsgType, web

from tradeloop.venues.retry import RetryConfig
from tradeloop.venues.wsclient import WsClient, WsConfig

from .conftest import Starter

FAST = WsConfig(
    heartbeat_interval=0.15,
    heartbeat_timeout=0.15,
    reconnect=RetryConfig(max_attempts=0, base=0.01, cap=0.05),
)


class Server:
    """Records what each connection received; can answer pings and kill connections."""

    def __init__(self, answer_ping: bool = True) -> None:
        self.answer_ping = answer_ping
        self.conns: list[list[str]] = []
        self.sockets: list[web.WebSocketResponse] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/ws", self.handle)
        return app

    async def handle(self, req: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(req)
        log: list[str] = []
        self.conns.append(log)
        self.sockets.append(ws)
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            log.append(msg.data)
            if msg.data == "ping":
                if self.answer_ping:
                    await ws.send_str("pong")
            elif msg.data.startswith("{"):
                m = json.loads(msg.data)
                if m.get("op") == "login":
                    await ws.send_str('{"event":"login","code":"0"}')
                else:
                    await ws.send_str(json.dumps({"event": m["op"], "arg": m["arg"]}))
        return ws

    async def kill_all(self) -> None:
        for ws in self.sockets:
            await ws.close()


async def until(cond: Callable[[], bool], timeout: float = 15.0) -> None:
    async with asyncio.timeout(timeout):
        while not cond():
            await asyncio.sleep(0.01)


def sub(name: str) -> str:
    return json.dumps({"op": "subscribe", "arg": name})


async def test_reconnect_resubscribes_everything_after_login(serve: Starter) -> None:
    server = Server()
    url = (await serve(server.app())).replace("http", "ws") + "/ws"
    received: list[str] = []
    states: list[str] = []

    async def login(c: WsClient) -> None:
        await c.request('{"op":"login"}', lambda m: '"login"' in m, timeout=2)

    client = WsClient(
        url, received.append, config=FAST, on_connect=login, on_state=lambda s, d: states.append(s)
    )
    await client.start(wait=5)
    try:
        await client.subscribe("a", sub("a"))
        await client.subscribe("b", sub("b"))
        await client.subscribe("c", sub("c"))
        await client.unsubscribe("c", json.dumps({"op": "unsubscribe", "arg": "c"}))
        await until(lambda: len(server.conns[0]) >= 5)
        await server.kill_all()
        await until(lambda: len(server.conns) == 2 and len(server.conns[1]) >= 3)
        assert server.conns[1][:3] == ['{"op":"login"}', sub("a"), sub("b")]
        assert client.connections == 2
        assert states[:3] == ["connected", "disconnected", "reconnected"]
        assert set(client.subscriptions) == {"a", "b"}
        await until(lambda: received.count('{"event": "subscribe", "arg": "a"}') == 2)
    finally:
        await client.stop()


async def test_text_ping_pong_keeps_connection_and_pong_is_swallowed(serve: Starter) -> None:
    server = Server(answer_ping=True)
    url = (await serve(server.app())).replace("http", "ws") + "/ws"
    received: list[str] = []
    client = WsClient(url, received.append, config=FAST)
    await client.start(wait=5)
    try:
        await until(lambda: server.conns[0].count("ping") >= 2)
        assert client.connections == 1 and len(server.conns) == 1
        assert "pong" not in received
    finally:
        await client.stop()


async def test_missing_pong_forces_reconnect(serve: Starter) -> None:
    server = Server(answer_ping=False)
    url = (await serve(server.app())).replace("http", "ws") + "/ws"
    client = WsClient(url, lambda m: None, config=FAST)
    await client.start(wait=5)
    try:
        await client.subscribe("x", sub("x"))
        await until(lambda: len(server.conns) >= 2 and sub("x") in server.conns[-1])
        assert client.connections >= 2
    finally:
        await client.stop()


async def test_connects_when_server_appears_later(serve: Starter) -> None:
    # Nothing listens on the port at first (it stays bound to us, so no other process can
    # take it meanwhile): the client keeps retrying with backoff.
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    client = WsClient(f"ws://127.0.0.1:{port}/ws", lambda m: None, config=FAST)
    await client.start()
    try:
        await until(lambda: client.last_error is not None)  # a refused attempt
        assert not client.connected
        server = Server()
        runner = web.AppRunner(server.app())
        await runner.setup()
        await web.SockSite(runner, s).start()  # now it listens on that very socket
        try:
            await client.wait_connected(15)
            assert client.connected
        finally:
            await client.stop()
            await runner.cleanup()
    finally:
        await client.stop()
        s.close()


async def test_handler_errors_do_not_kill_the_socket(serve: Starter) -> None:
    server = Server()
    url = (await serve(server.app())).replace("http", "ws") + "/ws"
    seen: list[str] = []

    async def handler(m: str) -> None:
        seen.append(m)
        raise RuntimeError("boom")

    client = WsClient(url, handler, config=FAST)
    await client.start(wait=5)
    try:
        await client.subscribe("a", sub("a"))
        await client.subscribe("b", sub("b"))
        await until(lambda: len(seen) == 2)
        assert client.connections == 1
    finally:
        await client.stop()
