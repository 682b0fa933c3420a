"""OkxRestClient against a small fake OKX server on loopback that checks real signatures."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aiohttp import web

from tradeloop.core.errors import AuthError, RateLimited, VenueError
from tradeloop.venues.http import UnknownOutcome
from tradeloop.venues.okx.auth import rest_signature
from tradeloop.venues.okx.rest import OkxRestClient, is_valid_client_order_id
from tradeloop.venues.retry import RetryConfig

from ..conftest import FakeTime, Starter

KEY, SECRET, PASS = "test-key-1", "test-secret-1", "test-pass-1"


class FakeOkx:
    """Just enough OKX: signed order placement keyed by clOrdId, a scripted failure queue."""

    def __init__(self) -> None:
        self.orders: dict[str, dict[str, Any]] = {}
        self.placements = 0
        self.fail_next: list[tuple[int, dict[str, Any]]] = []  # (status, body) responses
        self.drop_after_accept = 0  # accept the order but answer 503 this many times
        self.storm_after_drop = 0  # then answer this many requests with 429
        self.requests: list[str] = []
        self.skew_once = False  # refuse the next signed request with 50102

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    async def handle(self, req: web.Request) -> web.Response:
        body = await req.text()
        self.requests.append(f"{req.method} {req.path_qs}")
        if req.path.startswith("/api/v5/public"):
            return web.json_response({"code": "0", "msg": "", "data": [{"ts": "1700000000000"}]})
        want = rest_signature(
            SECRET, req.headers.get("OK-ACCESS-TIMESTAMP", ""), req.method, req.path_qs, body
        )
        if req.headers.get("OK-ACCESS-SIGN") != want or req.headers.get("OK-ACCESS-KEY") != KEY:
            return web.json_response(
                {"code": "50113", "msg": "Invalid Sign", "data": []}, status=401
            )
        if self.skew_once:
            self.skew_once = False
            return web.json_response(
                {"code": "50102", "msg": "Timestamp request expired", "data": []}, status=401
            )
        if self.fail_next:
            status, payload = self.fail_next.pop(0)
            return web.json_response(payload, status=status)
        if req.path == "/api/v5/trade/order" and req.method == "POST":
            o = json.loads(body)
            cid = o["clOrdId"]
            if cid in self.orders:
                return web.json_response(
                    {
                        "code": "1",
                        "msg": "",
                        "data": [
                            {
                                "clOrdId": cid,
                                "ordId": "",
                                "sCode": "51016",
                                "sMsg": "Duplicated clOrdId",
                            }
                        ],
                    }
                )
            self.placements += 1
            oid = str(1000 + self.placements)
            self.orders[cid] = {**o, "ordId": oid, "state": "live"}
            if self.drop_after_accept:
                self.drop_after_accept -= 1
                storm = {"code": "50011", "msg": "Rate limit reached", "data": []}
                self.fail_next += [(429, storm)] * self.storm_after_drop
                return web.Response(status=503, text="gateway")
            return web.json_response(
                {
                    "code": "0",
                    "msg": "",
                    "data": [{"clOrdId": cid, "ordId": oid, "sCode": "0", "sMsg": ""}],
                }
            )
        if req.path == "/api/v5/trade/order" and req.method == "GET":
            cid = req.query.get("clOrdId", "")
            if cid not in self.orders:
                return web.json_response(
                    {"code": "51603", "msg": "Order does not exist", "data": []}
                )
            return web.json_response({"code": "0", "msg": "", "data": [self.orders[cid]]})
        if req.path == "/api/v5/account/balance":
            return web.json_response({"code": "0", "msg": "", "data": [{"details": []}]})
        return web.json_response({"code": "51000", "msg": "Parameter error", "data": []})


FAST = RetryConfig(max_attempts=4, base=0.001, cap=0.002)


@pytest.fixture
async def okx(serve: Starter, fake_time: FakeTime) -> Any:
    fake = FakeOkx()
    url = await serve(fake.app())
    client = OkxRestClient(url, KEY, SECRET, PASS, retry=FAST, sleep=fake_time.sleep)
    yield fake, client
    await client.close()


async def test_signed_get_and_time_sync(okx: Any) -> None:
    _fake, client = okx
    assert await client.balance() == [{"details": []}]
    assert await client.server_time() == 1_700_000_000_000
    await client.sync_time()
    assert client.clock_offset != 0.0


async def test_place_order_generates_valid_clordid(okx: Any) -> None:
    fake, client = okx
    res = await client.place_order("BTC-USDT", "buy", "limit", "0.01", "100.5")
    assert res["sCode"] == "0" and res["ordId"] == "1001"
    assert is_valid_client_order_id(res["clOrdId"])
    (placed,) = fake.orders.values()
    assert placed["px"] == "100.5" and placed["sz"] == "0.01" and placed["tdMode"] == "cash"


async def test_retry_after_lost_response_never_doubles_the_order(okx: Any) -> None:
    fake, client = okx
    fake.drop_after_accept = 1  # OKX accepted, but we saw a 503: retry -> 51016 -> lookup
    res = await client.place_order("BTC-USDT", "buy", "limit", "1", "10", cl_ord_id="abc123")
    assert fake.placements == 1
    assert res["ordId"] == "1001" and res["clOrdId"] == "abc123" and res["sCode"] == "0"


async def test_lost_response_then_429s_is_resolved_by_lookup(okx: Any) -> None:
    fake, client = okx
    fake.drop_after_accept = 1  # placed, answer lost ...
    fake.storm_after_drop = FAST.max_attempts - 1  # ... and every retry rate limited
    res = await client.place_order("BTC-USDT", "buy", "limit", "1", "10", cl_ord_id="doubt1")
    assert fake.placements == 1
    assert res["ordId"] == "1001" and res["existing"]["clOrdId"] == "doubt1"


async def test_order_in_doubt_whose_lookup_fails_is_unknown_not_refused(okx: Any) -> None:
    fake, client = okx
    fake.drop_after_accept = 1
    fake.storm_after_drop = FAST.max_attempts - 1 + FAST.max_attempts  # the lookup too
    with pytest.raises(UnknownOutcome) as ei:
        await client.place_order("BTC-USDT", "buy", "limit", "1", "10", cl_ord_id="doubt2")
    assert not isinstance(ei.value, RateLimited)
    assert fake.placements == 1


async def test_429_storm_retries_without_duplicates(okx: Any) -> None:
    fake, client = okx
    storm = {"code": "50011", "msg": "Rate limit reached", "data": []}
    fake.fail_next = [(429, storm), (200, storm), (429, storm)]
    res = await client.place_order("BTC-USDT", "sell", "market", "2", cl_ord_id="storm1")
    assert res["ordId"] == "1001"
    assert fake.placements == 1


async def test_rate_limit_exhaustion_raises(okx: Any) -> None:
    fake, client = okx
    storm = {"code": "50011", "msg": "Rate limit reached", "data": []}
    fake.fail_next = [(429, storm)] * 10
    with pytest.raises(RateLimited):
        await client.balance()


async def test_envelope_errors_map_to_typed_errors(okx: Any) -> None:
    fake, client = okx
    fake.fail_next = [
        (
            200,
            {
                "code": "1",
                "msg": "",
                "data": [
                    {"sCode": "51008", "sMsg": "Insufficient balance", "clOrdId": "x", "ordId": ""}
                ],
            },
        )
    ]
    with pytest.raises(VenueError) as ei:
        await client.place_order("BTC-USDT", "buy", "market", "1", cl_ord_id="x")
    assert ei.value.code == "51008" and not isinstance(ei.value, RateLimited)
    assert "Insufficient balance" in str(ei.value)
    fake.fail_next = [(401, {"code": "50105", "msg": "Passphrase incorrect", "data": []})]
    with pytest.raises(AuthError) as ai:
        await client.balance()
    assert ai.value.code == "50105"


async def test_bad_credentials_raise_auth_error(serve: Starter) -> None:
    fake = FakeOkx()
    client = OkxRestClient(await serve(fake.app()), KEY, "wrong-secret", PASS)
    try:
        with pytest.raises(AuthError) as ei:
            await client.balance()
    finally:
        await client.close()
    assert ei.value.code == "50113"


async def test_generic_request_passthrough(okx: Any) -> None:
    fake, client = okx
    data = await client.request("GET", "/api/v5/public/time")
    assert data == [{"ts": "1700000000000"}]
    assert fake.requests[-1] == "GET /api/v5/public/time"


async def test_timestamp_expired_resyncs_clock_and_retries_once(okx: Any) -> None:
    fake, client = okx
    fake.skew_once = True
    assert await client.balance() == [{"details": []}]
    assert [r.split("?")[0] for r in fake.requests] == [
        "GET /api/v5/account/balance",
        "GET /api/v5/public/time",
        "GET /api/v5/account/balance",
    ]
