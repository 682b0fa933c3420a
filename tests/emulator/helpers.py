"""Helpers for the emulator suites: a signed-request OKX client (real sockets, real HMAC)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import aiohttp

from tradeloop.emulator.okx.auth import sign
from tradeloop.emulator.okx.server import EmulatorConfig

KEY = "test-key-0001"
SECRET = "test-secret-0001"
PASSPHRASE = "test-pass-0001"
SYMBOLS = ["BTC-USDT", "ETH-USDT", "BTC-USDT-SWAP"]


def iso_now(offset_s: float = 0.0) -> str:
    t = datetime.now(UTC).timestamp() + offset_s
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def signed_headers(method: str, path: str, body: str = "", **over: str) -> dict[str, str]:
    """OKX auth headers for ``method path`` (path with ?query); ``over`` replaces fields."""
    ts = over.pop("ts", iso_now())
    secret = over.pop("secret", SECRET)
    h = {
        "OK-ACCESS-KEY": KEY,
        "OK-ACCESS-SIGN": sign(secret, ts + method + path + body),
        "OK-ACCESS-TIMESTAMP": ts,
        "OK-ACCESS-PASSPHRASE": PASSPHRASE,
        "Content-Type": "application/json",
    }
    h.update(over)
    return {k: v for k, v in h.items() if v is not None}


class Client:
    """Minimal OKX REST client for tests: returns (HTTP status, JSON body)."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base

    async def get(self, path: str, signed: bool = False) -> tuple[int, Any]:
        headers = signed_headers("GET", path) if signed else {}
        async with self.session.get(self.base + path, headers=headers) as r:
            return r.status, await r.json(content_type=None)

    async def post(self, path: str, payload: Any) -> tuple[int, Any]:
        body = json.dumps(payload, separators=(",", ":"))
        async with self.session.post(
            self.base + path, data=body, headers=signed_headers("POST", path, body)
        ) as r:
            return r.status, await r.json(content_type=None)


def make_config(**over: Any) -> EmulatorConfig:
    cfg: dict[str, Any] = dict(
        api_key=KEY,
        api_secret=SECRET,
        passphrase=PASSPHRASE,
        balances={"USDT": 100_000.0, "BTC": 2.0},
        symbols=list(SYMBOLS),
        seed=7,
        tick_interval_ms=40.0,
    )
    cfg.update(over)
    return EmulatorConfig(**cfg)
