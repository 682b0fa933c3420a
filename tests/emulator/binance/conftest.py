"""A frozen-market Binance emulator (moves only on ``emu.step()``) on an ephemeral port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest

from tradeloop.emulator.binance.server import BinanceEmulator

from .helpers import Rest, Ws, config


@pytest.fixture
async def emu() -> AsyncIterator[BinanceEmulator]:
    server = BinanceEmulator(config())
    await server.start("127.0.0.1", 0)
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
def rest(emu: BinanceEmulator, session: aiohttp.ClientSession) -> Rest:
    return Rest(session, emu.base_url)


@pytest.fixture
def connect(emu: BinanceEmulator, session: aiohttp.ClientSession) -> Callable[[str], Awaitable[Ws]]:
    async def open_ws(path: str) -> Ws:
        return Ws(await session.ws_connect(emu.base_url.replace("http", "ws") + path))

    return open_ws
