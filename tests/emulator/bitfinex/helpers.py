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

from tradeloop.emulator.bitfinex.server import BitfinexEmulator
from tradeloop.emulator.feed import now_ms
from tradeloop.model import NS_PER_MS, Side, TradeTick

KEY, SECRET = "K", "S"
SYM = "tBTCUSD"
Msg = list[Any]
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

    async def recv(self, timeout: float = 15.0) -> Any:
        msg = await asyncio.wait_for(self.ws.receive(), timeout)
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        self.seen.append(msg.data)
        return json.loads(msg.data)

    async def until(self, pred: Callable[[Any], bool], timeout: float = 15.0) -> Any:
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


# -- channel-0 trading helpers (a frozen market; trades printed on the simulator's tape) --
def px(bfx: BitfinexEmulator, factor: float, sym: str = SYM) -> str:
    inst = bfx.instruments[sym]
    return inst.format_price(bfx.driver.markets[sym].mid() * factor)


def print_trade(bfx: BitfinexEmulator, price: str, side: Side = Side.SELL, sym: str = SYM) -> None:
    """A public trade at ``price`` on the tape (the last price the triggers watch)."""
    tick = TradeTick(ts=now_ms() * NS_PER_MS, symbol=sym, price=float(price), qty=0.001,
                     side=side)  # fmt: skip
    bfx.trading.account.sim.on_trade(tick)


async def authed(wsc: Ws) -> None:
    await wsc.recv()  # info
    await wsc.send(auth_msg(None))
    assert (await wsc.recv())["status"] == "OK"
    for _ in range(3):
        await wsc.recv()  # ps, ws, os


async def collect(wsc: Ws, done: Callable[[Msg], bool], timeout: float = 15.0) -> list[Msg]:
    """Channel-0 messages (heartbeats skipped) up to and including the first ``done``."""
    out: list[Msg] = []
    while True:
        m = await wsc.recv(timeout)
        if not isinstance(m, list) or m[1] == "hb":
            continue
        out.append(m)
        if done(m):
            return out


async def place(wsc: Ws, body: dict[str, Any]) -> Msg:
    """Send ``on``; returns its ``n`` notification's body."""
    await wsc.send([0, "on", None, body])
    n = await wsc.until(lambda m: isinstance(m, list) and m[1] == "n")
    return list(n[2])
