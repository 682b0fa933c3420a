"""The ``/__admin/faults`` guard (issue 8): a bearer token, no cross-origin or non-JSON
requests, bounded bodies, and every counter validated and bounded -- over real sockets.

On the old code every request below was served: no token, any Origin, ``text/plain`` from a
web page, and ``{"skip_seq": 1e10}`` froze the event loop for minutes."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
import pytest

from tradeloop.emulator.admin import ADMIN_TOKEN_ENV, MAX_ADMIN_BODY, resolve_token
from tradeloop.emulator.faults import MAX_COUNT, MAX_LATENCY_MS, Faults
from tradeloop.emulator.okx.server import OkxEmulator

from .helpers import make_config

URL = "/__admin/faults"


async def _post(
    emu: OkxEmulator, body: Any, headers: dict[str, str] | None = None, raw: bool = False
) -> tuple[int, Any]:
    hdrs = {"Content-Type": "application/json", **emu.admin_headers(), **(headers or {})}
    data = body if raw else json.dumps(body)
    async with (
        aiohttp.ClientSession() as s,
        s.post(emu.base_url + URL, data=data, headers=hdrs) as r,
    ):
        return r.status, await r.json(content_type=None)


async def test_token_is_required_and_compared(frozen_emu: OkxEmulator) -> None:
    emu = frozen_emu
    assert len(emu.admin_token) >= 40 and emu.admin_token_generated
    spec = json.dumps({"fail_next": 3})
    async with aiohttp.ClientSession() as s:
        for auth in (None, "Bearer wrong-token-123", f"Basic {emu.admin_token}", emu.admin_token):
            headers = {"Content-Type": "application/json"}
            if auth is not None:
                headers["Authorization"] = auth
            async with s.post(emu.base_url + URL, data=spec, headers=headers) as r:
                assert r.status == 401, auth
                assert r.headers["WWW-Authenticate"].startswith("Bearer")
            async with s.get(emu.base_url + URL, headers=headers) as r:
                assert r.status == 401, auth  # reading the switches needs the token too
        assert emu.faults.fail_remaining == 0
        async with s.get(emu.base_url + URL, headers=emu.admin_headers()) as r:
            assert r.status == 200 and (await r.json())["fail_remaining"] == 0
    status, state = await _post(emu, {"fail_next": 3})
    assert status == 200 and state["fail_remaining"] == 3


async def test_cross_origin_requests_are_refused(frozen_emu: OkxEmulator) -> None:
    """A page in a local browser sends its own Origin; only the emulator's own is accepted."""
    emu = frozen_emu
    for origin in ("http://evil.example", "null", f"http://localhost.evil.example:{emu.port}"):
        status, body = await _post(emu, {"latency_ms": 500}, {"Origin": origin})
        assert status == 403 and "cross-origin" in body["error"], origin
    assert emu.faults.latency_ms == 0
    for origin in (emu.base_url, f"http://localhost:{emu.port}"):
        assert (await _post(emu, {"latency_ms": 1}, {"Origin": origin}))[0] == 200


async def test_only_json_requests_are_served(frozen_emu: OkxEmulator) -> None:
    """``text/plain`` and form posts are what a web page may send cross-site without a CORS
    preflight: they must never reach the fault switches, token or not."""
    emu = frozen_emu
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data"):
        status, body = await _post(
            emu, json.dumps({"drop_ws": True, "fail_next": 5}), {"Content-Type": ctype}, raw=True
        )
        assert status == 415 and "application/json" in body["error"], ctype
    assert emu.faults.fail_remaining == 0 and emu.faults.drops == 0
    assert (
        await _post(emu, {"fail_next": 1}, {"Content-Type": "application/json; charset=utf-8"})
    )[0] == 200


async def test_oversized_admin_body_is_413(frozen_emu: OkxEmulator) -> None:
    status, _ = await _post(frozen_emu, b"{" + b" " * MAX_ADMIN_BODY + b"}", raw=True)
    assert status == 413


async def test_skip_seq_is_bounded_and_constant_time(frozen_emu: OkxEmulator) -> None:
    """Old code: ``for _ in range(N)`` on the event loop (1e10 ~ 400 s frozen)."""
    emu = frozen_emu
    t0 = time.perf_counter()
    status, body = await asyncio.wait_for(_post(emu, {"skip_seq": 10**10}), 5)
    assert status == 400 and "skip_seq" in body["error"]
    assert emu.faults.skip_seq_pending == 0
    status, state = await asyncio.wait_for(_post(emu, {"skip_seq": MAX_COUNT}), 5)
    assert status == 200 and state["skip_seq_pending"] == MAX_COUNT
    status, state = await _post(emu, {"skip_seq": MAX_COUNT, "corrupt_checksum": MAX_COUNT})
    assert state["skip_seq_pending"] == MAX_COUNT  # the pending total stays bounded too
    assert state["corrupt_checksum_pending"] == MAX_COUNT
    assert time.perf_counter() - t0 < 1.0


@pytest.mark.parametrize(
    "spec",
    [
        {"skip_seq": -1},
        {"skip_seq": 1.5},
        {"skip_seq": "3"},
        {"skip_seq": True},
        {"corrupt_checksum": 10**12},
        {"latency_ms": 1e9},
        {"latency_ms": -5},
        {"latency_ms": float("nan")},
        {"latency_ms": float("inf")},
        {"latency_ms": "50"},
        {"fail_next": MAX_COUNT + 1},
        {"fail_next": {"count": -2}},
        {"fail_next": {"count": 1, "kind": "418"}},
        {"fail_next": {"count": 1, "extra": 1}},
        {"lose_reply": 10**18},
        {"lose_reply": {"count": 1, "target": "x" * 5000}},
        {"drop_ws": "yes"},
        {"reset": 1},
        {"latency_ms": 5, "skip_seq": -1},  # one bad field: nothing at all is applied
    ],
)
async def test_every_field_is_validated(frozen_emu: OkxEmulator, spec: dict[str, Any]) -> None:
    status, body = await _post(frozen_emu, spec)
    assert status == 400 and isinstance(body["error"], str) and len(body["error"]) < 400
    assert frozen_emu.faults.state() == Faults().state()


async def test_errors_quote_a_bounded_prefix(frozen_emu: OkxEmulator) -> None:
    status, body = await _post(frozen_emu, {"k" * 30_000: 1, "skip_seq": "9" * 30_000})
    assert status == 400 and len(json.dumps(body)) < 500


def test_token_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ADMIN_TOKEN_ENV, raising=False)
    a, b = OkxEmulator(make_config()), OkxEmulator(make_config())
    assert a.admin_token != b.admin_token and a.admin_token_generated
    monkeypatch.setenv(ADMIN_TOKEN_ENV, "from-the-environment")
    env = OkxEmulator(make_config())
    assert env.admin_token == "from-the-environment" and not env.admin_token_generated
    explicit = OkxEmulator(make_config(admin_token="given-explicitly"))
    assert explicit.admin_token == "given-explicitly"
    with pytest.raises(ValueError):
        resolve_token("short")
    assert MAX_LATENCY_MS == 60_000
