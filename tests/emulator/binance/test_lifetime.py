"""Server pings and the forced disconnect (:mod:`tradeloop.emulator.binance.lifetime`), short
here: a client that answers pings keeps its stream, one that does not is dropped, and every
connection is closed at its age limit -- spot streams, the WS API and the futures streams."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest

from tradeloop.emulator.binance.lifetime import WsLifetime
from tradeloop.emulator.binance.server import BinanceEmulator

from .helpers import config

PINGS = WsLifetime(interval_s=0.1, timeout_s=1.0, max_age_s=0)


@pytest.fixture
async def pinging() -> AsyncIterator[BinanceEmulator]:
    server = BinanceEmulator(config(ws_lifetime=PINGS, futures_ws_lifetime=PINGS))
    await server.start("127.0.0.1", 0)
    try:
        yield server
    finally:
        await server.stop()


async def _pings_seen(ws: aiohttp.ClientWebSocketResponse, n: int) -> int:
    seen = 0
    while seen < n:
        msg = await ws.receive(timeout=5)
        if msg.type is aiohttp.WSMsgType.PING:
            seen += 1
            await ws.pong(msg.data)
        else:
            assert msg.type is aiohttp.WSMsgType.TEXT, msg
    return seen


@pytest.mark.parametrize("path", ["/ws/btcusdt@trade", "/ws-api/v3", "/fapi/ws/btcusdt@aggTrade"])
async def test_pings_answered_keep_the_connection(pinging: BinanceEmulator, path: str) -> None:
    url = pinging.base_url.replace("http", "ws") + path
    async with aiohttp.ClientSession() as s, s.ws_connect(url, autoping=False) as ws:
        assert await _pings_seen(ws, 5) == 5  # five pings, each answered: still open
        assert not ws.closed


@pytest.mark.parametrize("path", ["/ws/btcusdt@trade", "/fapi/ws/btcusdt@aggTrade"])
async def test_unanswered_pings_drop_the_connection(pinging: BinanceEmulator, path: str) -> None:
    url = pinging.base_url.replace("http", "ws") + path
    async with aiohttp.ClientSession() as s, s.ws_connect(url, autoping=False) as ws:
        kinds = []
        while True:
            msg = await ws.receive(timeout=10)
            kinds.append(msg.type)
            if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED,
                            aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.ERROR):  # fmt: skip
                break
        assert aiohttp.WSMsgType.PING in kinds


async def test_age_limit_closes_every_connection() -> None:
    short = WsLifetime(interval_s=0, timeout_s=0, max_age_s=0.3)
    emu = BinanceEmulator(config(ws_lifetime=short, futures_ws_lifetime=short))
    await emu.start("127.0.0.1", 0)
    base = emu.base_url.replace("http", "ws")
    try:
        async with aiohttp.ClientSession() as s:
            paths = ("/ws/btcusdt@trade", "/ws-api/v3", "/fapi/stream?streams=x")
            conns = [await s.ws_connect(base + p) for p in paths]
            for ws in conns:
                while (msg := await ws.receive(timeout=5)).type is aiohttp.WSMsgType.TEXT:
                    pass
                assert msg.type is aiohttp.WSMsgType.CLOSE and msg.data == 1000
            assert not emu.hub.conns and emu.futures is not None and not emu.futures.hub.conns
    finally:
        await emu.stop()
    await asyncio.sleep(0)
