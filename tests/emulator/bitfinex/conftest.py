"""A running Bitfinex emulator on an ephemeral localhost port (frozen market: it moves only
when a test calls ``step()``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from tradeloop.emulator.bitfinex.server import BitfinexConfig, BitfinexEmulator

from .helpers import KEY, SECRET, Ws


def make_config(**kw: object) -> BitfinexConfig:
    balances = {"USD": 100_000.0, "BTC": 2.0, "USTF0": 50_000.0}
    base: dict[str, object] = {"api_key": KEY, "api_secret": SECRET, "tick_interval_ms": 0}
    base["balances"] = balances
    base.update(kw)
    return BitfinexConfig(**base)  # type: ignore[arg-type]


@pytest.fixture
async def bfx() -> AsyncIterator[BitfinexEmulator]:
    emu = BitfinexEmulator(make_config())
    await emu.start("127.0.0.1", 0)
    try:
        yield emu
    finally:
        await emu.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


@pytest.fixture
async def wsc(bfx: BitfinexEmulator, session: aiohttp.ClientSession) -> AsyncIterator[Ws]:
    ws = await session.ws_connect(bfx.base_url + "/ws/2")
    try:
        yield Ws(ws)
    finally:
        await ws.close()
