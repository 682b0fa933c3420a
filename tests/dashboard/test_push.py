"""The dashboard's push and controls without a browser: snapshot then deltas over the
WebSocket, bounded per-client queues, a stalled client that does not slow the engine, controls
through risk and the journal, and the access rules."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pytest
from tests.conformance.harness import until
from tests.dashboard.conftest import paper_run

from tradeloop.core.errors import ConfigError
from tradeloop.dashboard import parse_bind
from tradeloop.dashboard.push import ClientQueue
from tradeloop.dashboard.server import is_loopback
from tradeloop.live.journal import Journal


def test_client_queue_coalesces_and_overflows_to_a_resync() -> None:
    q = ClientQueue(max_keys=3)
    for i in range(100):
        q.put("candle", i)  # one key: only the newest survives
    q.put("a", 1)
    assert q.take() == (False, [99, 1])
    for i in range(10):
        q.put(i, i)  # more distinct keys than allowed: dropped, a snapshot is owed
    resync, items = q.take()
    assert resync and len(items) <= 3


def test_bind_parsing_and_loopback() -> None:
    assert parse_bind("127.0.0.1:0") == ("127.0.0.1", 0)
    assert parse_bind("8080") == ("127.0.0.1", 8080)
    assert parse_bind("[::1]:9000") == ("::1", 9000)
    assert parse_bind("0.0.0.0") == ("0.0.0.0", 0)
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("")


async def _form_key(session: aiohttp.ClientSession, url: str) -> str:
    html = await (await session.get(url)).text()
    return html.split('name="tl-form" content="', 1)[1].split('"', 1)[0]


async def test_snapshot_then_deltas_and_controls(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with paper_run(tmp_path, monkeypatch) as run, aiohttp.ClientSession() as s:
        assert run.url.startswith("http://127.0.0.1:")
        ws = await s.ws_connect(run.url + "ws")
        first = msgspec.json.decode(await ws.receive_bytes(timeout=30))
        assert first["type"] == "snapshot"
        assert first["data"]["instruments"] == ["BTC-USDT.OKX"]
        kinds: set[str] = set()
        deadline = time.monotonic() + 60  # a hang guard: a few 1 s bars are enough
        while time.monotonic() < deadline and not {"candle", "fill", "order", "line"} <= kinds:
            msg = msgspec.json.decode(await ws.receive_bytes(timeout=30))
            assert msg["type"] == "batch"
            kinds |= {it["k"] for it in msg["items"]}
        assert {"candle", "fill", "order", "line"} <= kinds, kinds
        # controls: refused without the page's form key, applied through risk with it
        body = {"action": "halt", "scope": "account", "target": "okx-a", "confirm": True,
                "who": "tester"}  # fmt: skip
        r = await s.post(run.url + "api/control", json=body)
        assert r.status == 403
        key = await _form_key(s, run.url)
        hdr = {"X-Tradeloop-Form": key}
        r = await s.post(run.url + "api/control", json=dict(body, confirm=False), headers=hdr)
        assert r.status == 400
        r = await s.post(run.url + "api/control", json=body, headers=hdr)
        assert r.status == 200, await r.text()
        g = run.rt.groups[0]
        assert g.kernel.risk.state.value == "halted"
        assert "tester" in g.risk_reason
        r = await s.post(run.url + "api/control", headers=hdr,
                         json=dict(body, action="resume"))  # fmt: skip
        assert g.kernel.risk.state.value == "active"
        r = await s.post(run.url + "api/control", headers=hdr,
                         json=dict(body, scope="strategy", target="busy"))  # fmt: skip
        assert r.status == 200 and g.strategies[0].gate == "halted"
        await ws.close()
        journal = run.rt.settings.journal
    j = Journal(journal)
    controls = [e for e in j.events("control")]
    assert len(controls) == 3 and all("tester" in e[3] for e in controls)
    j.db.close()


async def test_a_stalled_client_leaves_the_engine_rate_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client that connects and never reads: its queue stays bounded, the engine's event
    rate is the same as with no client, and it is dropped. The rate is counted per step of
    the emulator's market (market events the engine dispatched / steps the emulator took in
    the same window, both on this one event loop), so a machine that is slower, or busier in
    one window than in the other, changes both counts alike; a client that held the engine
    up would lower it."""
    async with paper_run(tmp_path, monkeypatch, window_s=0.0) as run:
        feed = run.rt.feed
        steps = 0

        def count(_market: object, _change: object) -> None:
            nonlocal steps
            steps += 1

        run.emu.driver.listeners.append(count)

        async def rate(seconds: float) -> float:
            n0, s0 = feed.events, steps
            await asyncio.sleep(seconds)
            assert steps - s0 >= 10, "the emulator's market hardly moved"
            return (feed.events - n0) / (steps - s0)

        base = await rate(2.0)
        host, port = run.url.removeprefix("http://").rstrip("/").split(":")
        sock = socket.create_connection((host, int(port)))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        head = (f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n")  # fmt: skip
        sock.sendall(head.encode())
        hub: Any = run.dash.hub
        await until(lambda: bool(hub.clients), "the stalled client to be accepted", 30)
        # flood the stalled client: many distinct keys (marks) on top of the market data
        strat = run.rt.groups[0].strategies[0]
        for i in range(5_000):
            strat.mark(f"m{i}")
        stalled = await rate(3.0)
        sizes = [len(c.queue.pending) for c in hub.clients]
        sock.close()
    assert base > 0.5, base  # the emulator's tape reaches the engine
    assert stalled >= 0.8 * base, (base, stalled)
    assert all(n <= hub.max_keys for n in sizes)


def test_bad_bind_addresses_are_one_line() -> None:
    for text in ("127.0.0.1:99999", "nonsense", "127.0.0.1:-1"):
        with pytest.raises(ConfigError, match="expected HOST:PORT"):
            parse_bind(text)


async def test_a_port_in_use_is_one_line_and_nothing_is_left_open() -> None:
    from tradeloop.dashboard.server import DashboardServer

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        server = DashboardServer(None, None, None, "127.0.0.1", port, None)  # type: ignore[arg-type]
        with pytest.raises(ConfigError, match=f"dashboard 127.0.0.1:{port}: cannot listen"):
            await server.start()
        assert server.runner is None
