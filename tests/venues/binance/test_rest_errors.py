"""Binance REST transport errors over a real 127.0.0.1 socket: a server answering a signed
request with broken HTTP makes aiohttp quote the full URL (signature, timestamp) over several
lines; the client's error -- and every line it logs while retrying -- is one line without the
signed query."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tradeloop.venues.binance.auth import Credentials
from tradeloop.venues.binance.rest import BinanceRestClient
from tradeloop.venues.http import NetworkError
from tradeloop.venues.retry import RetryConfig


@pytest.fixture
async def broken_http() -> AsyncIterator[str]:
    async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        await r.readuntil(b"\r\n\r\n")
        w.write(b"HTTP/1.1 200 OK\r\nContent-Length: abc\r\n\r\n{}")
        await w.drain()
        w.close()

    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{srv.sockets[0].getsockname()[1]}"
    finally:
        srv.close()
        await srv.wait_closed()


async def test_a_transport_error_never_quotes_the_signature(
    broken_http: str, caplog: pytest.LogCaptureFixture
) -> None:
    c = BinanceRestClient(broken_http, Credentials("the-key", "the-secret"),
                          retry=RetryConfig(max_attempts=2, base=0.0))  # fmt: skip
    try:
        with pytest.raises(NetworkError) as info:
            await c.call("GET", "/api/v3/order", {"symbol": "BTCUSDT"}, signed=True)
    finally:
        await c.close()
    texts = [str(info.value)] + [r.getMessage() for r in caplog.records]
    assert "ClientResponseError: 400" in texts[0]
    assert len(texts) >= 2  # the retry said so too
    for t in texts:
        assert "signature" not in t and "timestamp=" not in t and "\n" not in t, t
    assert info.value.__cause__ is None and info.value.__suppress_context__
