"""Fixtures for the emulator suites: a running OKX emulator on an ephemeral localhost port."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from tradeloop.emulator.okx.server import OkxEmulator

from .helpers import Client, make_config


@pytest.fixture
async def emu() -> AsyncIterator[OkxEmulator]:
    server = OkxEmulator(make_config())
    await server.start("127.0.0.1", 0)
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def frozen_emu() -> AsyncIterator[OkxEmulator]:
    """Market moves only when the test calls ``step()`` (deterministic pushes)."""
    server = OkxEmulator(make_config(tick_interval_ms=0))
    await server.start("127.0.0.1", 0)
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def client(emu: OkxEmulator) -> AsyncIterator[Client]:
    async with aiohttp.ClientSession() as session:
        yield Client(session, emu.base_url)


@pytest.fixture
async def frozen_client(frozen_emu: OkxEmulator) -> AsyncIterator[Client]:
    async with aiohttp.ClientSession() as session:
        yield Client(session, frozen_emu.base_url)
