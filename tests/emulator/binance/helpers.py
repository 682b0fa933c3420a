"""Shared pieces of the Binance emulator tests: keys, signing as a client does, a REST caller."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

import aiohttp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tradeloop.emulator.binance.server import BinanceConfig

KEY, SECRET = "test-key", "test-secret"
ED_PRIVATE = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
ED_PUBLIC_PEM = (
    ED_PRIVATE.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)


def config(**over: Any) -> BinanceConfig:
    cfg: dict[str, Any] = dict(
        api_key=KEY,
        api_secret=SECRET,
        balances={"USDT": 100_000.0, "BTC": 2.0},
        symbols=["BTCUSDT", "ETHUSDT"],
        seed=3,
        tick_interval_ms=0,
        ed25519_public_key=ED_PUBLIC_PEM,
    )
    cfg.update(over)
    return BinanceConfig(**cfg)


def hmac_hex(payload: str, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def ed_sign(payload: str) -> str:
    return base64.b64encode(ED_PRIVATE.sign(payload.encode())).decode()


def ms() -> int:
    return int(time.time() * 1000)


class Rest:
    """Signs like a Binance client: HMAC hex over the query (GET/DELETE) or form body (POST)."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.s, self.base = session, base

    async def call(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        signed: bool = False,
        key: str = KEY,
        ed25519: bool = False,
        ts: int | None = None,
        sign: str | None = None,
        key_only: bool = False,
    ) -> tuple[int, Any, Any]:
        """``key_only``: the API key header without a signature (USER_STREAM routes)."""
        p = dict(params or {})
        headers = {"X-MBX-APIKEY": key} if signed or key_only else {}
        if signed:
            p["timestamp"] = ts if ts is not None else ms()
        text = urlencode(p)
        if signed:
            sig = sign if sign is not None else (ed_sign(text) if ed25519 else hmac_hex(text))
            text += "&" + urlencode({"signature": sig})
        url = self.base + path
        if method == "POST":
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            async with self.s.post(url, data=text, headers=headers) as r:
                return r.status, await r.json(content_type=None), r.headers
        async with self.s.request(method, url + ("?" + text if text else ""), headers=headers) as r:
            return r.status, await r.json(content_type=None), r.headers


class Ws:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    async def send(self, obj: Any) -> None:
        await self.ws.send_str(json.dumps(obj))

    async def recv(self, timeout: float = 15.0) -> Any:
        msg = await self.ws.receive(timeout=timeout)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        return json.loads(msg.data)

    async def until(self, pred: Any, timeout: float = 15.0) -> Any:
        while True:
            m = await self.recv(timeout)
            if pred(m):
                return m

    async def call(self, method: str, params: dict[str, Any] | None = None, rid: Any = 1) -> Any:
        await self.send({"id": rid, "method": method, "params": params or {}})
        return await self.until(lambda m: m.get("id") == rid and "status" in m)


def ws_signed(params: dict[str, Any], ed25519: bool = False) -> dict[str, Any]:
    p = dict(params, apiKey=KEY, timestamp=ms())
    payload = "&".join(f"{k}={p[k]}" for k in sorted(p))
    p["signature"] = ed_sign(payload) if ed25519 else hmac_hex(payload)
    return p
