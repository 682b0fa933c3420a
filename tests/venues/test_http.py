"""Shared REST transport against a real loopback aiohttp server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web

from tradeloop.core.errors import RateLimited, VenueError
from tradeloop.venues.http import (
    RequestTimeout,
    RestClient,
    UnknownOutcome,
    encode_body,
    encode_query,
    outcome_unknown,
)
from tradeloop.venues.retry import RetryConfig

from .conftest import FakeTime, Starter

FAST = RetryConfig(max_attempts=3, base=0.001, cap=0.002)


def counting_app(handler: Any) -> tuple[web.Application, list[web.Request]]:
    seen: list[web.Request] = []

    async def h(request: web.Request) -> web.StreamResponse:
        seen.append(request)
        return await handler(request, len(seen))

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", h)
    return app, seen


async def test_get_retries_5xx_then_succeeds(serve: Starter, fake_time: FakeTime) -> None:
    async def handler(req: web.Request, n: int) -> web.Response:
        if n < 3:
            return web.Response(status=503, text="busy")
        return web.json_response({"ok": True, "q": req.query_string})

    app, seen = counting_app(handler)
    client = RestClient(await serve(app), retry=FAST, sleep=fake_time.sleep, rng=lambda: 0.5)
    try:
        out = await client.request("GET", "/x", params={"a": 1, "b": None, "c": True})
    finally:
        await client.close()
    assert out == {"ok": True, "q": "a=1&c=true"}
    assert len(seen) == 3
    assert len(fake_time.sleeps) == 2


async def test_post_is_never_retried(serve: Starter, fake_time: FakeTime) -> None:
    async def handler(req: web.Request, n: int) -> web.Response:
        return web.Response(status=502, text="bad gateway")

    app, seen = counting_app(handler)
    client = RestClient(await serve(app), retry=FAST, sleep=fake_time.sleep)
    try:
        with pytest.raises(VenueError) as ei:
            await client.request("POST", "/order", body={"sz": "1"})
    finally:
        await client.close()
    assert ei.value.retryable
    assert len(seen) == 1


async def test_post_with_idempotency_key_is_retried(serve: Starter, fake_time: FakeTime) -> None:
    bodies: list[str] = []

    async def handler(req: web.Request, n: int) -> web.Response:
        bodies.append(await req.text())
        if n == 1:
            return web.Response(status=500)
        return web.json_response({"done": n})

    app, _ = counting_app(handler)
    client = RestClient(await serve(app), retry=FAST, sleep=fake_time.sleep)
    try:
        out = await client.request("POST", "/order", body={"clOrdId": "a1"}, retry_safe=True)
    finally:
        await client.close()
    assert out == {"done": 2}
    assert bodies == ['{"clOrdId":"a1"}', '{"clOrdId":"a1"}']


async def test_429_raises_rate_limited_with_hint(serve: Starter, fake_time: FakeTime) -> None:
    async def handler(req: web.Request, n: int) -> web.Response:
        return web.json_response(
            {"code": "50011", "msg": "Too Many Requests"}, status=429, headers={"Retry-After": "2"}
        )

    app, seen = counting_app(handler)
    client = RestClient(await serve(app), retry=FAST, sleep=fake_time.sleep, rng=lambda: 0.0)
    try:
        with pytest.raises(RateLimited) as ei:
            await client.request("GET", "/x")
    finally:
        await client.close()
    assert ei.value.retry_after == 2.0
    assert ei.value.code == "50011"
    assert len(seen) == 3
    assert fake_time.sleeps == [2.0, 2.0]  # never sooner than the server asked


async def test_timeout_maps_to_retryable_request_timeout(
    serve: Starter, fake_time: FakeTime
) -> None:
    async def handler(req: web.Request, n: int) -> web.Response:
        await asyncio.sleep(1.0)
        return web.json_response({})

    app, seen = counting_app(handler)
    client = RestClient(
        await serve(app),
        timeout=0.2,
        retry=RetryConfig(max_attempts=2, base=0.001),
        sleep=fake_time.sleep,
    )
    try:
        with pytest.raises(RequestTimeout) as ei:
            await client.request("GET", "/slow")
    finally:
        await client.close()
    assert ei.value.retryable and ei.value.code == "timeout"
    assert len(seen) == 2


async def test_malformed_json_is_a_clear_error(serve: Starter) -> None:
    async def handler(req: web.Request, n: int) -> web.Response:
        return web.Response(status=200, text="<html>oops", content_type="application/json")

    app, seen = counting_app(handler)
    client = RestClient(await serve(app), retry=FAST)
    try:
        with pytest.raises(VenueError) as ei:
            await client.request("GET", "/x")
    finally:
        await client.close()
    assert ei.value.code == "malformed"
    assert "GET /x" in str(ei.value) and "<html>oops" in str(ei.value)
    assert not ei.value.retryable
    assert len(seen) == 1


async def test_signer_sees_exact_path_query_and_body(serve: Starter) -> None:
    got: dict[str, str] = {}
    signed: list[tuple[str, str, str]] = []

    async def handler(req: web.Request, n: int) -> web.Response:
        got["path_qs"] = req.path_qs
        got["body"] = await req.text()
        got["sig"] = req.headers.get("X-Sig", "")
        return web.json_response({})

    def signer(method: str, path: str, body: str) -> dict[str, str]:
        signed.append((method, path, body))
        return {"X-Sig": f"{method}|{path}|{body}"}

    app, _ = counting_app(handler)
    client = RestClient(await serve(app), signer=signer)
    try:
        await client.request("POST", "/p", params={"x": "a b"}, body={"k": [1, 2]}, signed=True)
    finally:
        await client.close()
    assert signed == [("POST", "/p?x=a+b", '{"k":[1,2]}')]
    assert got == {"path_qs": "/p?x=a+b", "body": '{"k":[1,2]}', "sig": 'POST|/p?x=a+b|{"k":[1,2]}'}


async def test_connection_refused_is_retryable_network_error(fake_time: FakeTime) -> None:
    client = RestClient("http://127.0.0.1:9", retry=FAST, sleep=fake_time.sleep)
    try:
        with pytest.raises(VenueError) as ei:
            await client.request("GET", "/x")
    finally:
        await client.close()
    assert ei.value.code == "network" and ei.value.retryable
    assert len(fake_time.sleeps) == 2


def test_encoders() -> None:
    assert encode_query({"a": "1", "b": None, "c": False}) == "a=1&c=false"
    assert encode_body({"a": "1", "b": [1]}) == '{"a":"1","b":[1]}'
    assert encode_body(None) == ""


async def test_write_in_doubt_then_rate_limited_is_an_unknown_outcome(
    serve: Starter, fake_time: FakeTime
) -> None:
    """A 503 may have executed the write; the 429s after it only say the *retries* did not
    run. Giving up must not read as "refused" — but a write refused on every attempt is a
    plain rate limit."""

    async def handler(req: web.Request, n: int) -> web.Response:
        if n == 1 and req.path == "/first-in-doubt":
            return web.Response(status=503, text="upstream timeout")
        return web.json_response({"code": "50011"}, status=429)

    app, seen = counting_app(handler)
    client = RestClient(await serve(app), retry=FAST, sleep=fake_time.sleep)
    try:
        with pytest.raises(UnknownOutcome) as ei:
            await client.request("POST", "/first-in-doubt", body={"id": "k1"}, retry_safe=True)
        assert len(seen) == FAST.max_attempts
        assert outcome_unknown(ei.value) and isinstance(ei.value.__cause__, RateLimited)
        seen.clear()
        with pytest.raises(RateLimited) as rl:
            await client.request("POST", "/always-429", body={"id": "k2"}, retry_safe=True)
        assert not isinstance(rl.value, UnknownOutcome) and not outcome_unknown(rl.value)
    finally:
        await client.close()


def test_outcome_unknown_classification() -> None:
    assert outcome_unknown(RequestTimeout("t"))
    assert outcome_unknown(VenueError("HTTP 503", "", retryable=True))
    assert not outcome_unknown(RateLimited("429", "50011"))
    assert not outcome_unknown(VenueError("insufficient balance", "51008"))
