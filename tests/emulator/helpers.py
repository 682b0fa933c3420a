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


class WsClient:
    """A test WebSocket client: JSON in/out, ``wait`` for the first message matching."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.seen: list[Any] = []
        self.backlog: list[Any] = []

    async def send(self, obj: Any) -> None:
        await self.ws.send_str(obj if isinstance(obj, str) else json.dumps(obj))

    #: how long ``recv``/``wait`` wait by default: a hang guard, generous for a loaded machine
    TIMEOUT_S = 15.0

    async def recv(self, timeout: float = TIMEOUT_S) -> Any:
        msg = await self.ws.receive(timeout=timeout)
        if msg.type != aiohttp.WSMsgType.TEXT:
            raise ConnectionError(f"websocket: {msg.type!r}")
        data = msg.data if msg.data == "pong" else json.loads(msg.data)
        self.seen.append(data)
        return data

    async def wait(self, pred: Any, timeout: float = TIMEOUT_S, limit: int = 2000) -> Any:
        """First unconsumed message for which ``pred(msg)`` is true; messages skipped on the
        way stay queued for later ``wait`` calls."""
        import asyncio

        for i, m in enumerate(self.backlog):
            if pred(m):
                return self.backlog.pop(i)

        async def go() -> Any:
            for _ in range(limit):
                m = await self.recv(timeout)
                if pred(m):
                    return m
                self.backlog.append(m)
                del self.backlog[:-500]
            raise AssertionError("no matching message")

        return await asyncio.wait_for(go(), timeout)

    async def login(self, **over: str) -> Any:
        import time

        from tradeloop.emulator.okx.auth import sign

        ts = over.pop("timestamp", str(int(time.time())))
        arg = {
            "apiKey": KEY,
            "passphrase": PASSPHRASE,
            "timestamp": ts,
            "sign": sign(over.pop("secret", SECRET), ts + "GET" + "/users/self/verify"),
        }
        arg.update(over)
        await self.send({"op": "login", "args": [arg]})
        return await self.wait(
            lambda m: isinstance(m, dict) and m.get("event") in ("login", "error")
        )


def is_event(event: str) -> Any:
    return lambda m: isinstance(m, dict) and m.get("event") == event


def is_push(channel: str, inst_id: str | None = None) -> Any:
    def pred(m: Any) -> bool:
        if not isinstance(m, dict) or "data" not in m or "arg" not in m:
            return False
        arg = m["arg"]
        return arg.get("channel") == channel and (inst_id is None or arg.get("instId") == inst_id)

    return pred
