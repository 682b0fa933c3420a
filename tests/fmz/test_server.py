"""The HTTP server against a fake venue: routing, envelopes, every error path, token, capture."""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from pathlib import Path

import aiohttp
import pytest

from tradeloop.core.errors import AuthError, RateLimited, VenueError
from tradeloop.fmz.server import FmzBridge, is_loopback

from .conftest import FakeVenue, call, fake_config, post_raw
from .guide_examples import GUIDE_INCOMPLETE_SYMBOL, GUIDE_PARAMS, GUIDE_TICKER, guide_request

Bridge = tuple[FmzBridge, FakeVenue]


async def test_guide_requests_reach_the_venue(
    fake_bridge: Bridge, http: aiohttp.ClientSession
) -> None:
    bridge, venue = fake_bridge
    url = bridge.url + "/FAKE"
    for method in GUIDE_PARAMS:
        body = json.dumps(guide_request(method)).encode()
        headers = {"Http-Method": "GET"} if method.startswith("__api_") else {}
        status, reply = await post_raw(http, url, body, headers)
        assert status == 200
        assert "data" in reply, (method, reply)
    names = [c[0] for c in venue.calls]
    assert names == [
        "ticker", "depth", "trades", "records", "accounts", "assets", "trade", "orders",
        "order", "historyorders", "cancel", "api",
    ]  # fmt: skip
    args = dict(venue.calls)
    assert args["depth"][1] == 30
    assert args["records"][1:] == (60, 500)
    assert str(args["trades"][0]) == "ETH_USDT"  # lower case accepted
    assert args["trade"][1:] == ("buy", Decimal("0.1"), Decimal("1000"))
    assert args["historyorders"][1:] == (0, 100)  # limit 0 -> default
    assert args["api"] == ("GET", "/api/v5/trade/orders-pending",
                           {"instId": "ETH-USDT", "instType": "SPOT"})  # fmt: skip


async def test_guide_ticker_and_label_case(
    fake_bridge: Bridge, http: aiohttp.ClientSession
) -> None:
    bridge, _ = fake_bridge
    status, reply = await post_raw(http, bridge.url + "/fake", json.dumps(GUIDE_TICKER).encode())
    assert status == 200 and reply["data"]["method"] == "ticker"
    assert reply["raw"] == {"fake": True}


async def test_numbers_as_params_and_market_price(
    fake_bridge: Bridge, http: aiohttp.ClientSession
) -> None:
    bridge, venue = fake_bridge
    url = bridge.url + "/FAKE"
    r = await call(http, url, "trade", {"symbol": "BTC_USDT", "type": "buy", "price": -1,
                                        "amount": 25})  # fmt: skip
    assert "data" in r
    assert venue.calls[-1][1][1:] == ("buy", Decimal(25), None)
    r = await call(http, url, "records", {"symbol": "BTC_USDT", "period": 90, "limit": 10})
    assert venue.calls[-1][1][1:] == (90, 10)
    r = await call(http, url, "trade", {"symbol": "BTC_USDT.swap", "type": "closesell",
                                        "price": "100.5", "amount": "3"})  # fmt: skip
    assert venue.calls[-1][1][0].is_swap


@pytest.mark.parametrize(
    ("method", "params", "fragment"),
    [
        ("ticker", {"symbol": GUIDE_INCOMPLETE_SYMBOL}, "incomplete"),
        ("ticker", {}, "missing param 'symbol'"),
        ("ticker", {"symbol": {"a": 1}}, "must be a string or number"),
        ("depth", {"symbol": "BTC_USDT", "limit": "abc"}, "'limit' is not a number"),
        ("records", {"symbol": "BTC_USDT", "period": "0"}, "'period' must be >= 1"),
        ("records", {"symbol": "BTC_USDT", "period": "1.5"}, "whole number"),
        ("trade", {"symbol": "BTC_USDT", "type": "hold", "price": "1", "amount": "1"}, "'type'"),
        ("trade", {"symbol": "BTC_USDT", "type": "buy", "price": "0", "amount": "1"}, "price"),
        ("trade", {"symbol": "BTC_USDT", "type": "buy", "price": "1", "amount": "-1"}, "amount"),
        (
            "trade",
            {"symbol": "BTC_USDT", "type": "closebuy", "price": "1", "amount": "1"},
            "contract symbol",
        ),
        ("order", {}, "missing param 'id'"),
        ("setmarginlevel", {"symbol": "BTC_USDT.swap"}, "marginLevel"),
        ("__api_http://evil.example/x", {}, "venue API path"),
        ("frobnicate", {}, "unsupported method: frobnicate"),
        ("io", {"code": 9}, "'code' must be <= 3"),
    ],
)
async def test_bad_requests_answer_error(
    fake_bridge: Bridge, http: aiohttp.ClientSession, method: str, params: dict, fragment: str
) -> None:
    bridge, _ = fake_bridge
    r = await call(http, bridge.url + "/FAKE", method, params)
    assert set(r) == {"error"} and fragment in r["error"], r


async def test_private_calls_need_keys(fake_bridge: Bridge, http: aiohttp.ClientSession) -> None:
    bridge, _ = fake_bridge
    r = await call(http, bridge.url + "/FAKE", "accounts", access_key="", secret_key="")
    assert "access_key and secret_key are required" in r["error"]


async def test_transport_errors(fake_bridge: Bridge, http: aiohttp.ClientSession) -> None:
    bridge, _ = fake_bridge
    url = bridge.url
    st, r = await post_raw(http, url + "/FAKE", b"{oops")
    assert st == 200 and "malformed JSON" in r["error"]
    st, r = await post_raw(http, url + "/NOPE", json.dumps(GUIDE_TICKER).encode())
    assert "unknown venue label 'NOPE'" in r["error"] and "/FAKE" in r["error"]
    st, r = await post_raw(http, url + "/", json.dumps(GUIDE_TICKER).encode())
    assert "unknown venue label" in r["error"]
    async with http.get(url + "/FAKE") as resp:
        assert resp.status == 200 and "only POST" in (await resp.json())["error"]
    big = json.dumps({**GUIDE_TICKER, "params": {"symbol": "x" * 70_000}}).encode()
    st, r = await post_raw(http, url + "/FAKE", big)
    assert st == 200 and "too large" in r["error"]
    # and the server still serves afterwards
    r = await call(http, url + "/FAKE", "ticker", {"symbol": "BTC_USDT"})
    assert "data" in r


@pytest.mark.parametrize(
    ("exc", "fragment"),
    [
        (TimeoutError(), "upstream timeout"),
        (RateLimited("slow down", "50011", 1.0), "rate limited"),
        (AuthError("bad key", "50111"), "authentication failed"),
        (VenueError("Order does not exist", "51603"), "venue error [51603]"),
        (aiohttp.ClientConnectionError("refused"), "upstream connection error"),
        (RuntimeError("adapter bug"), "internal error: RuntimeError"),
    ],
)
async def test_upstream_failures_become_errors(
    fake_bridge: Bridge, http: aiohttp.ClientSession, exc: BaseException, fragment: str
) -> None:
    bridge, venue = fake_bridge
    venue.fail = exc
    r = await call(http, bridge.url + "/FAKE", "ticker", {"symbol": "BTC_USDT"})
    assert set(r) == {"error"} and fragment in r["error"], r
    r = await call(http, bridge.url + "/FAKE", "ticker", {"symbol": "BTC_USDT"})
    assert "data" in r


async def test_io_scheme(fake_bridge: Bridge, http: aiohttp.ClientSession) -> None:
    bridge, venue = fake_bridge
    url = bridge.url + "/FAKE"
    body = {"access_key": "a", "secret_key": "s,p", "method": "io", "code": 0, "args": [10],
            "params": {"symbol": "BTC_USDT.swap"}}  # fmt: skip
    _, r = await post_raw(http, url, json.dumps(body).encode())
    assert "data" in r and venue.calls[-1][0] == "setmarginlevel" and venue.calls[-1][1][1] == 10
    r = await call(http, url, "io", {"code": "1", "args": ["buy"]})
    assert r == {"data": True}
    r = await call(http, url, "io", {"code": 3, "symbol": "USDT.swap"})
    assert venue.calls[-1][0] == "positions" and venue.calls[-1][1][0].quote == "USDT"


async def test_token_required(http: aiohttp.ClientSession) -> None:
    bridge = FmzBridge(fake_config(token="s3cret-token"))
    await bridge.start("127.0.0.1", 0)
    try:
        url = bridge.url + "/FAKE"
        r = await call(http, url, "ticker", {"symbol": "BTC_USDT"})
        assert "unauthorized" in r["error"]
        r = await call(http, url + "?token=wrong", "ticker", {"symbol": "BTC_USDT"})
        assert "unauthorized" in r["error"]
        r = await call(http, url + "?token=s3cret-token", "ticker", {"symbol": "BTC_USDT"})
        assert "data" in r
        r = await call(http, url, "ticker", {"symbol": "BTC_USDT"},
                       headers={"X-Fmz-Token": "s3cret-token"})  # fmt: skip
        assert "data" in r
    finally:
        await bridge.stop()


async def test_capture_redacts_keys(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    cap = tmp_path / "cap.jsonl"
    bridge = FmzBridge(fake_config(capture=cap))
    await bridge.start("127.0.0.1", 0)
    try:
        url = bridge.url + "/FAKE"
        await call(http, url, "accounts", access_key="AK-visible-1234",
                   secret_key="SK-hidden-5678,PASS-9999,simulate")  # fmt: skip
        await post_raw(http, url, b'{"broken": "secret_key":"SK-raw-0000"')
        await call(http, url, "nosuch", {"symbol": "BTC_USDT"})
    finally:
        await bridge.stop()
    text = cap.read_text()
    for secret in ("AK-visible-1234", "SK-hidden-5678", "PASS-9999", "SK-raw-0000"):
        assert secret not in text
    lines = [json.loads(x) for x in text.splitlines()]
    assert len(lines) == 3
    assert lines[0]["request"]["method"] == "accounts"
    assert lines[0]["request"]["access_key"] == "***"
    assert lines[0]["response"]["data"]["method"] == "accounts"
    assert "unsupported method" in lines[2]["response"]["error"]


def test_loopback_detection_and_warning(caplog: pytest.LogCaptureFixture) -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    bridge = FmzBridge(fake_config())
    with caplog.at_level(logging.WARNING):
        bridge._warn_exposure("0.0.0.0")
    assert "NOT loopback" in caplog.text and "NO TOKEN" in caplog.text


async def test_slow_body_is_cut_off() -> None:
    import asyncio

    bridge = FmzBridge(fake_config(body_timeout=0.3))
    url = await bridge.start("127.0.0.1", 0)
    try:
        port = int(url.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b'POST /FAKE HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"meth')
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        reply = json.loads(await reader.readexactly(length))
        assert "not received in time" in reply["error"]
        writer.close()
    finally:
        await bridge.stop()


async def test_unsupported_method_logged_without_secrets(
    fake_bridge: Bridge, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    bridge, _ = fake_bridge
    with caplog.at_level(logging.INFO, logger="tradeloop.fmz"):
        await call(http, bridge.url + "/FAKE", "GetFundingHistory",
                   {"symbol": "BTC_USDT.swap", "passphrase": "PP-hidden-77"},
                   access_key="AK-hidden-1234", secret_key="SK-hidden-5678,PP")  # fmt: skip
    assert "GetFundingHistory" in caplog.text and "BTC_USDT.swap" in caplog.text
    for secret in ("AK-hidden-1234", "SK-hidden-5678", "PP-hidden-77"):
        assert secret not in caplog.text
