"""Shared helpers for the Bitfinex emulator tests: signing, a raw WS client that keeps number
text exactly as received, and a client-side book that checks ``cs`` messages."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import zlib
from collections.abc import Callable
from typing import Any

import aiohttp

KEY, SECRET = "K", "S"
_nonce = [int(time.time() * 1_000_000)]


def nonce() -> int:
    _nonce[0] += 1
    return _nonce[0]


def sig(message: str, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha384).hexdigest()


def auth_msg(dms: int | None = 4, key: str = KEY, secret: str = SECRET, n: int | None = None
             ) -> dict[str, Any]:  # fmt: skip
    n = nonce() if n is None else n
    payload = f"AUTH{n}"
    msg: dict[str, Any] = {"event": "auth", "apiKey": key, "authSig": sig(payload, secret),
                           "authPayload": payload, "authNonce": n}  # fmt: skip
    if dms is not None:
        msg["dms"] = dms
    return msg


def loads_text(text: str) -> Any:
    """JSON with every number kept as its text (what checksums are computed over)."""
    return json.loads(text, parse_float=str, parse_int=str)


class Ws:
    """A raw WS client: messages are queued as (parsed-with-text-numbers, raw text)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.seen: list[str] = []

    async def send(self, obj: Any) -> None:
        await self.ws.send_str(json.dumps(obj))

    async def recv(self, timeout: float = 3.0) -> Any:
        msg = await asyncio.wait_for(self.ws.receive(), timeout)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        self.seen.append(msg.data)
        return json.loads(msg.data)

    async def until(self, pred: Callable[[Any], bool], timeout: float = 3.0) -> Any:
        end = asyncio.get_running_loop().time() + timeout
        while True:
            left = end - asyncio.get_running_loop().time()
            if left <= 0:
                raise TimeoutError("no matching message")
            m = await self.recv(left)
            if pred(m):
                return m


def crc(text: str) -> int:
    v = zlib.crc32(text.encode())
    return v - (1 << 32) if v & 0x80000000 else v


class TextBook:
    """A client-side Bitfinex P0 book over number *texts*, verifying ``cs`` like a client."""

    def __init__(self) -> None:
        self.bids: dict[str, str] = {}
        self.asks: dict[str, str] = {}
        self.verified = 0

    def apply(self, row: list[str]) -> None:
        px, count, amt = row
        side = self.bids if not amt.startswith("-") else self.asks
        if count == "0":
            (self.bids if amt == "1" else self.asks).pop(px, None)
        else:
            side[px] = amt

    def checksum(self) -> int:
        bids = sorted(self.bids.items(), key=lambda kv: -float(kv[0]))[:25]
        asks = sorted(self.asks.items(), key=lambda kv: float(kv[0]))[:25]
        parts: list[str] = []
        for i in range(max(len(bids), len(asks))):
            for side in (bids, asks):
                if i < len(side):
                    parts += side[i]
        return crc(":".join(parts))
