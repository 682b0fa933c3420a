"""The bridge under hostile clients: slowloris, slow bodies, a full house, half-open peers.

Issue 8, findings 4 and 9: no header-read timeout and no connection cap (1,100 trickling
connections made every valid request time out), and ``stop()`` took 10.3 s with a half-open
client. Real sockets on 127.0.0.1 throughout; timing assertions are bounds with wide margins.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from tradeloop.fmz.server import FmzBridge

from .conftest import FakeVenue, fake_config
from .rawhttp import closed_within, fmz_body, http_post, port_of, request

TICKER = http_post("/FAKE", fmz_body("ticker", {"symbol": "BTC_USDT"}))


async def _start(**kw: Any) -> tuple[FmzBridge, int, FakeVenue]:
    bridge = FmzBridge(fake_config(**kw))
    url = await bridge.start("127.0.0.1", 0)
    venue = bridge.venue("FAKE")
    assert isinstance(venue, FakeVenue)
    return bridge, port_of(url), venue


@pytest.fixture
async def attackers() -> AsyncIterator[Callable[[int, Callable[[int], Awaitable[None]]], None]]:
    """Start ``n`` copies of an attacker coroutine; all are cancelled at teardown."""
    tasks: list[asyncio.Task[None]] = []

    def spawn(n: int, fn: Callable[[int], Awaitable[None]]) -> None:
        for _ in range(n):
            tasks.append(asyncio.ensure_future(fn(0)))

    yield spawn
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


class Trickler:
    """Slowloris peers: open a connection, send the start of a request, then one byte every
    ``interval`` — headers that never end, or a body that never ends. Reconnect when dropped,
    so the pressure on the cap never lets up."""

    def __init__(self, port: int, interval: float = 0.2) -> None:
        self.port = port
        self.interval = interval
        self.opened = 0
        self.dropped = 0

    async def headers(self, _: int) -> None:
        await self._run(b"POST /FAKE HTTP/1.1\r\nHost: x\r\n", b"X")

    async def body(self, _: int) -> None:
        await self._run(b"POST /FAKE HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{", b" ")

    async def _run(self, start: bytes, drip: bytes) -> None:
        while True:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            self.opened += 1
            try:
                writer.write(start)
                while True:
                    try:
                        async with asyncio.timeout(self.interval):
                            if not await reader.read(4096):
                                break  # closed by the server
                    except TimeoutError:
                        writer.write(drip)
                        await writer.drain()
            except ConnectionError:
                pass
            finally:
                self.dropped += 1
                writer.close()


async def test_valid_requests_answered_during_slowloris_beyond_the_cap(
    attackers: Callable[[int, Callable[[int], Awaitable[None]]], None],
) -> None:
    cap = 16
    bridge, port, _ = await _start(
        max_connections=cap, header_timeout=1.0, body_timeout=1.0, idle_timeout=2.0
    )
    peak = 0

    async def valid() -> float:
        nonlocal peak
        t0 = time.monotonic()
        reply = await request(port, TICKER, timeout=4.0)
        peak = max(peak, bridge.connections)
        assert "data" in reply, reply
        return time.monotonic() - t0

    try:
        slow = Trickler(port)
        attackers(3 * cap, slow.headers)  # slow headers, 3x the cap ...
        attackers(cap, slow.body)  # ... and slow bodies on top
        await asyncio.sleep(0.5)  # let them pile up
        sent = []
        for _ in range(20):  # a valid request every 100 ms, each on its own connection
            sent.append(asyncio.ensure_future(valid()))
            await asyncio.sleep(0.1)
        results = await asyncio.gather(*sent, return_exceptions=True)
        guard = bridge.guard
        assert guard is not None
        stats = dict(guard.stats)
    finally:
        await bridge.stop()
    times = [r for r in results if isinstance(r, float)]
    print(f"slowloris: {len(times)}/{len(results)} valid requests answered, slowest "
          f"{max(times, default=0) * 1000:.0f} ms; {slow.opened} attacker connections, "
          f"peak {peak} open (cap {cap}); {stats}")  # fmt: skip
    assert len(times) == len(results), results
    assert peak <= cap and stats["peak"] <= cap
    assert slow.opened > 2 * cap  # the attackers kept coming back ...
    assert stats["evicted"] > 0  # ... and were pushed out to make room


async def test_slow_headers_slow_bodies_and_silent_peers_are_cut_off() -> None:
    bridge, port, _ = await _start(header_timeout=0.5, body_timeout=0.5, idle_timeout=0.8)
    try:
        silent = await asyncio.open_connection("127.0.0.1", port)
        hdr = await asyncio.open_connection("127.0.0.1", port)
        hdr[1].write(b"POST /FAKE HTTP/1.1\r\nHost: x\r\n")
        body_r, body_w = await asyncio.open_connection("127.0.0.1", port)
        body_w.write(b"POST /FAKE HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{")

        async def drip() -> None:  # the header trickler keeps sending, it must not help
            for _ in range(40):
                await asyncio.sleep(0.1)
                hdr[1].write(b"X")

        dripping = asyncio.ensure_future(drip())
        t0 = time.monotonic()
        assert await closed_within(silent[0], 3.0), "silent connection kept open"
        assert await closed_within(hdr[0], 3.0), "header trickler kept open"
        answer = await body_r.read(4096)
        assert b"request body not received in time" in answer
        assert await closed_within(body_r, 3.0), "slow body kept open"
        assert time.monotonic() - t0 < 3.0
        dripping.cancel()
        # a keep-alive connection that goes quiet after a request is closed after idle_timeout
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(TICKER)
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        assert await closed_within(reader, 3.0), "idle keep-alive connection kept open"
        for w in (silent[1], hdr[1], body_w, writer):
            w.close()
        assert "data" in await request(port, TICKER)  # still serving
    finally:
        await bridge.stop()


async def test_full_house_of_busy_requests_refuses_newcomers_cheaply() -> None:
    cap = 4
    bridge, port, venue = await _start(max_connections=cap)
    venue.hold = asyncio.Event()
    try:
        busy = [asyncio.ensure_future(request(port, TICKER, timeout=10)) for _ in range(cap)]
        for _ in range(100):
            if venue.held == cap:
                break
            await asyncio.sleep(0.02)
        refused = await request(port, TICKER)  # no slot, nobody evictable: a canned answer
        assert "too many connections" in refused["error"]
        venue.hold.set()
        assert all("data" in r for r in await asyncio.gather(*busy))  # in-flight ones unharmed
        assert "data" in await request(port, TICKER)
    finally:
        await bridge.stop()


async def test_stop_is_quick_with_half_open_and_in_flight_connections() -> None:
    bridge, port, venue = await _start()
    venue.hold = asyncio.Event()  # a request that never finishes on its own
    writers = []
    for data in (
        b'POST /FAKE HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"me',  # half a body
        b"POST /FAKE HTTP/1.1\r\nHost: x\r\nContent-Le",  # half the headers
        b"",  # connected, silent
        TICKER,  # being served, held in the venue
    ):
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(data)
        await writer.drain()
        writers.append(writer)
    for _ in range(100):
        if venue.held == 1:
            break
        await asyncio.sleep(0.02)
    assert venue.held == 1
    t0 = time.perf_counter()
    await bridge.stop()
    took = time.perf_counter() - t0
    for w in writers:
        w.close()
    print(f"stop() took {took * 1000:.0f} ms with 4 open client connections")
    assert took < 2.0
