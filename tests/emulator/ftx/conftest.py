"""Fixtures for the FTX emulator suites: a frozen-market FTX emulator (it moves only on
``ftx.step()``, so pushes are deterministic) on an ephemeral localhost port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest

from tradeloop.emulator.ftx.server import FtxConfig, FtxEmulator

from .helpers import KEY, SECRET, Rest, Ws


def config(**over: object) -> FtxConfig:
    cfg: dict[str, object] = dict(
        api_key=KEY,
        api_secret=SECRET,
        balances={"USD": 100_000.0, "BTC": 2.0},
        seed=5,
        tick_interval_ms=0,
        subaccounts=["sub1"],
    )
    cfg.update(over)
    return FtxConfig(**cfg)  # type: ignore[arg-type]


@pytest.fixture
async def ftx() -> AsyncIterator[FtxEmulator]:
    server = FtxEmulator(config())
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
def rest(ftx: FtxEmulator, session: aiohttp.ClientSession) -> Rest:
    return Rest(session, ftx.base_url)


@pytest.fixture
async def connect(
    ftx: FtxEmulator, session: aiohttp.ClientSession
) -> AsyncIterator[Callable[[], Awaitable[Ws]]]:
    opened: list[aiohttp.ClientWebSocketResponse] = []

    async def open_ws() -> Ws:
        ws = await session.ws_connect(ftx.base_url.replace("http", "ws") + "/ws/")
        opened.append(ws)
        return Ws(ws)

    yield open_ws
    for ws in opened:
        await ws.close()
