"""Helpers for the FTX emulator suites: FTX signing written out independently of the emulator
(hashlib/hmac only), a signed REST client and a WebSocket client over real localhost sockets."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import zlib
from itertools import zip_longest
from typing import Any

import aiohttp

KEY = "ftx-test-key-0001"
SECRET = "ftx-test-secret-0001"


def ms() -> int:
    return int(time.time() * 1000)


def rest_sign(secret: str, ts: str, method: str, path: str, body: str = "") -> str:
    return hmac.new(
        secret.encode(), f"{ts}{method}{path}{body}".encode(), hashlib.sha256
    ).hexdigest()


def ws_sign(secret: str, t: int) -> str:
    return hmac.new(secret.encode(), f"{t}websocket_login".encode(), hashlib.sha256).hexdigest()


def signed(method: str, path: str, body: str = "", **over: Any) -> dict[str, str]:
    """FTX auth headers for ``method path`` (path with ?query); ``over`` replaces fields
    (``ts``, ``secret``, ``key``; a header set to None is left out)."""
    ts = str(over.pop("ts", ms()))
    secret = over.pop("secret", SECRET)
    h: dict[str, Any] = {
        "FTX-KEY": over.pop("key", KEY),
        "FTX-TS": ts,
        "FTX-SIGN": rest_sign(secret, ts, method, path, body),
        "Content-Type": "application/json",
    }
    h.update(over)
    return {k: v for k, v in h.items() if v is not None}


class Rest:
    """Minimal FTX REST client: returns (HTTP status, JSON body)."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session, self.base = session, base

    async def call(
        self, method: str, path: str, payload: Any = None, auth: bool = True, **over: Any
    ) -> tuple[int, Any]:
        body = "" if payload is None else json.dumps(payload)
        headers = signed(method, path, body, **over) if auth else {}
        async with self.session.request(
            method, self.base + path, data=body or None, headers=headers
        ) as r:
            return r.status, await r.json(content_type=None)

    async def ok(self, method: str, path: str, payload: Any = None, auth: bool = True) -> Any:
        status, doc = await self.call(method, path, payload, auth)
        assert status == 200 and doc["success"] is True, (status, doc)
        return doc["result"]


def checksum(bids: list[list[float]], asks: list[list[float]]) -> int:
    """FTX's orderbook checksum, written from FTX's description (independent of the
    emulator): best bid, best ask, second bid, second ask... of the top 100 levels, each as
    ``price:size`` in Python float notation, joined by ``:``; CRC32 as an unsigned int."""
    text = ":".join(
        f"{float(level[0])}:{float(level[1])}"
        for bid, ask in zip_longest(bids[:100], asks[:100])
        for level in (bid, ask)
        if level
    )
    return zlib.crc32(text.encode()) & 0xFFFFFFFF


class Book:
    """A client-side FTX orderbook built only from the partial and update messages."""

    def __init__(self) -> None:
        self.bids: dict[float, float] = {}
        self.asks: dict[float, float] = {}

    def apply(self, data: dict[str, Any]) -> None:
        if data["action"] == "partial":
            self.bids, self.asks = {}, {}
        for side, levels in ((self.bids, data["bids"]), (self.asks, data["asks"])):
            for price, size in levels:
                if size == 0:
                    side.pop(price, None)
                else:
                    side[price] = size

    def checksum(self) -> int:
        bids = [[p, self.bids[p]] for p in sorted(self.bids, reverse=True)]
        asks = [[p, self.asks[p]] for p in sorted(self.asks)]
        return checksum(bids, asks)


class Ws:
    """An FTX WebSocket client collecting messages."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    async def send(self, obj: Any) -> None:
        await self.ws.send_str(json.dumps(obj))

    async def login(self, key: str = KEY, secret: str = SECRET, t: int | None = None) -> None:
        t = ms() if t is None else t
        await self.send(
            {"op": "login", "args": {"key": key, "sign": ws_sign(secret, t), "time": t}}
        )

    async def recv(self, timeout: float = 15.0) -> dict[str, Any]:
        msg = await self.ws.receive(timeout=timeout)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        doc: dict[str, Any] = json.loads(msg.data)
        return doc

    async def until(self, pred: Any, timeout: float = 15.0, limit: int = 500) -> dict[str, Any]:
        for _ in range(limit):
            doc = await self.recv(timeout)
            if pred(doc):
                return doc
        raise AssertionError("no matching message")

    async def silent(self, wait: float = 0.3) -> bool:
        """True if nothing arrives within ``wait`` seconds."""
        try:
            await self.ws.receive(timeout=wait)
        except TimeoutError:
            return True
        return False
