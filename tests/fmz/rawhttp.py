"""Raw-socket helpers for the bridge's transport tests: send exact bytes (malformed HTTP,
trickled headers), read whatever comes back, and tell a closed connection from a live one."""

from __future__ import annotations

import asyncio
import json
from typing import Any


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])


def http_post(path: str, body: bytes, headers: dict[str, str] | None = None) -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
    for k, v in (headers or {}).items():
        head += f"{k}: {v}\r\n"
    return head.encode() + b"\r\n" + body


def fmz_body(method: str, params: dict[str, Any] | None = None, **top: Any) -> bytes:
    obj: dict[str, Any] = {"access_key": "", "secret_key": "", "nonce": 1, "method": method,
                           "params": params or {}}  # fmt: skip
    obj.update(top)
    return json.dumps(obj).encode()


async def exchange(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    """Send ``data`` on a fresh connection and read until the server closes it (or timeout)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        out = b""
        try:
            async with asyncio.timeout(timeout):
                while chunk := await reader.read(65536):
                    out += chunk
        except (TimeoutError, ConnectionError):
            pass
        return out
    finally:
        writer.close()


async def request(port: int, data: bytes, timeout: float = 5.0) -> dict[str, Any]:
    """One full HTTP request on a fresh connection; the parsed JSON reply (HTTP 200 required)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        async with asyncio.timeout(timeout):
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200"), head[:80]
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            reply: dict[str, Any] = json.loads(await reader.readexactly(length))
        return reply
    finally:
        writer.close()


async def closed_within(reader: asyncio.StreamReader, timeout: float) -> bool:
    """True if the server closed (EOF or reset) within ``timeout`` seconds."""
    try:
        async with asyncio.timeout(timeout):
            while await reader.read(4096):
                pass
        return True
    except ConnectionError:
        return True
    except TimeoutError:
        return False
