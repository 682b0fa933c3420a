"""Fixtures for the BitMEX emulator suites: a frozen-market emulator on an ephemeral port and a
client that signs requests exactly as BitMEX documents it."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from yarl import URL

from tradeloop.emulator.bitmex.server import BitmexConfig, BitmexEmulator

KEY, SECRET = "K", "S"


def sign(secret: str, verb: str, path: str, expires: int, data: str = "") -> str:
    """Written from BitMEX's docs, independently of both the emulator and the connector."""
    msg = (verb + path + str(expires) + data).encode()
    return hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()


class Client:
    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.s, self.base = session, base

    async def call(
        self,
        verb: str,
        path: str,
        body: Any = None,
        *,
        key: str = KEY,
        secret: str = SECRET,
        expires: int | None = None,
        signed: bool = True,
    ) -> tuple[int, Any, Any]:
        data = body if isinstance(body, str) else (json.dumps(body) if body is not None else "")
        exp = int(time.time()) + 10 if expires is None else expires
        headers = {"Content-Type": "application/json"}
        if signed:
            headers.update(
                {
                    "api-key": key,
                    "api-expires": str(exp),
                    "api-signature": sign(secret, verb, path, exp, data),
                }
            )
        url = URL(self.base + path, encoded=True)  # sent exactly as signed
        async with self.s.request(verb, url, data=data or None, headers=headers) as r:
            return r.status, await r.json(content_type=None), r.headers


def config(**kw: Any) -> BitmexConfig:
    base: dict[str, Any] = {
        "api_key": KEY,
        "api_secret": SECRET,
        "tick_interval_ms": 0,
        "admin_token": "t" * 32,
        "balances": {"XBt": 100_000_000.0, "USDt": 10_000_000_000.0},
        "seed": 3,
    }
    base.update(kw)
    return BitmexConfig(**base)


@pytest.fixture
async def emu() -> AsyncIterator[BitmexEmulator]:
    server = BitmexEmulator(config())
    await server.start("127.0.0.1", 0)
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def client(emu: BitmexEmulator) -> AsyncIterator[Client]:
    async with aiohttp.ClientSession() as session:
        yield Client(session, emu.base_url)
