"""Client-side throttling the way OKX counts (spec §2.3/§2.4): per endpoint, per instrument for
trading endpoints, per *order* for batch endpoints, a sub-account budget for new and amended
orders, and WebSocket order entry sharing the REST limits.

Most tests run the real REST client against a loopback server with the limiter on a fake clock
(``sleep`` advances time), so the waits are exact and nothing depends on machine speed; each
would fail if the throttling it checks were removed. One test uses the real clock and checks a
lower bound only (a loaded machine can only make it slower)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from tradeloop.core.errors import VenueError
from tradeloop.venues.okx import constants as C
from tradeloop.venues.okx.auth import OkxCredentials
from tradeloop.venues.okx.gateway import OkxGateway
from tradeloop.venues.okx.limits import okx_charges, rest_charges, ws_charges
from tradeloop.venues.okx.rest import OkxRestClient
from tradeloop.venues.okx.ws import OkxStream
from tradeloop.venues.ratelimit import Charge, Limit, RateLimiter, TokenBucket
from tradeloop.venues.retry import RetryConfig
from tradeloop.venues.wsclient import WsConfig

from ..conftest import FakeTime, Starter

ONCE = RetryConfig(max_attempts=1)
BTC, ETH = "BTC-USDT", "ETH-USDT"
#: Seconds one more request waits once a bucket of ``count`` per ``period`` is empty.
PLACE_GAP = 2.0 / 60  # place / cancel: 60 per 2 s per instrument
EPS = 1e-9


def order(inst: str = BTC, cid: str = "") -> dict[str, Any]:
    o = {"instId": inst, "tdMode": "cash", "side": "buy", "ordType": "limit"}
    return {**o, "sz": "1", "px": "1", **({"clOrdId": cid} if cid else {})}


# -- what a request costs ---------------------------------------------------------------------
def test_single_order_endpoints_cost_one_per_instrument() -> None:
    assert rest_charges("POST", C.ORDER, None, order(BTC)) == (
        Charge(C.ORDER, BTC, 1.0),
        Charge(C.SUB_ACCOUNT_ORDERS, "", 1.0),
    )
    cancel = {"instId": ETH, "clOrdId": "x"}
    assert rest_charges("POST", C.CANCEL_ORDER, None, cancel) == (Charge(C.CANCEL_ORDER, ETH, 1.0),)
    # order details share the path with placing, not the limit
    assert rest_charges("GET", C.ORDER, {"instId": BTC, "clOrdId": "x"}, None) == (
        Charge(C.ORDER_DETAILS, BTC, 1.0),
    )
    assert rest_charges("GET", C.BALANCE, None, None) == (Charge(C.BALANCE, "", 1.0),)


def test_batch_orders_cost_one_per_order_per_instrument() -> None:
    batch = [order(BTC)] * 3 + [order(ETH)] * 2
    assert rest_charges("POST", C.BATCH_ORDERS, None, batch) == (
        Charge(C.BATCH_ORDERS, BTC, 3.0),
        Charge(C.BATCH_ORDERS, ETH, 2.0),
        Charge(C.SUB_ACCOUNT_ORDERS, "", 5.0),
    )
    cancels = [{"instId": BTC, "ordId": str(i)} for i in range(4)]
    assert rest_charges("POST", C.CANCEL_BATCH_ORDERS, None, cancels) == (
        Charge(C.CANCEL_BATCH_ORDERS, BTC, 4.0),
    )


def test_ws_order_ops_cost_what_their_rest_twins_cost() -> None:
    assert ws_charges("order", [order(BTC)]) == rest_charges("POST", C.ORDER, None, order(BTC))
    batch = [order(BTC), order(ETH)]
    assert ws_charges("batch-orders", batch) == rest_charges("POST", C.BATCH_ORDERS, None, batch)
    amend = {"instId": BTC, "ordId": "1", "newSz": "2"}
    assert ws_charges("amend-order", [amend]) == okx_charges(C.AMEND_ORDER, [amend])
    assert ws_charges("subscribe", [{"channel": "tickers"}]) == ()
    # ccxt sends instIdCode instead of instId on WS: still a per-instrument bucket
    assert ws_charges("cancel-order", [{"instIdCode": 10001, "ordId": "1"}]) == (
        Charge(C.CANCEL_ORDER, "10001", 1.0),
    )


def test_a_cost_above_the_capacity_does_not_wait_forever() -> None:
    bucket = TokenBucket(capacity=5, rate=1.0, now=0.0)
    assert bucket.wait_time(0.0, cost=50) == 0.0
    assert bucket.try_take(0.0, cost=50)
    assert bucket.wait_time(0.0, cost=50) == pytest.approx(5.0)


async def test_acquire_all_pays_every_bucket(fake_time: FakeTime) -> None:
    lim = RateLimiter(
        {"a": Limit(2, 2.0), "b": Limit(10, 1.0)}, clock=fake_time, sleep=fake_time.sleep
    )
    assert await lim.acquire_all([Charge("a", "", 2), Charge("b", "", 10)]) == 0.0
    waited = await lim.acquire_all([Charge("a", "", 1), Charge("b", "", 5)])
    # "a" refills 1 token per second; by then "b" (10/s) has 10 again
    assert waited == pytest.approx(1.0)


# -- the REST client against a loopback server, limiter on a fake clock ------------------------
class Counting:
    """Answers every OKX request with success and counts what arrived."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        return app

    async def handle(self, req: web.Request) -> web.Response:
        self.paths.append(f"{req.method} {req.path}")
        body = await req.json() if req.can_read_body else {}
        items = body if isinstance(body, list) else [body or dict(req.query)]
        data = [
            {
                "instId": i.get("instId", ""),
                "clOrdId": i.get("clOrdId", ""),
                "ordId": "1",
                "state": "live",
                "sCode": "0",
                "sMsg": "",
            }
            for i in items
        ]
        return web.json_response({"code": "0", "msg": "", "data": data})


@pytest.fixture
async def limited(
    serve: Starter, fake_time: FakeTime
) -> AsyncIterator[tuple[OkxRestClient, FakeTime, Counting]]:
    server = Counting()
    url = await serve(server.app())
    limiter = RateLimiter(C.RATE_LIMITS, C.DEFAULT_LIMIT, clock=fake_time, sleep=fake_time.sleep)
    client = OkxRestClient(url, "k", "s", "p", retry=ONCE, limiter=limiter)
    try:
        yield client, fake_time, server
    finally:
        await client.close()


def slept(t: FakeTime) -> float:
    return sum(t.sleeps)


async def test_place_is_throttled_per_instrument(
    limited: tuple[OkxRestClient, FakeTime, Counting],
) -> None:
    client, t, server = limited
    for i in range(60):  # the whole 2-second allowance for BTC-USDT
        await client.place_order(BTC, "buy", "limit", "1", "1", cl_ord_id=f"b{i}")
    assert slept(t) == 0.0
    await client.place_order(ETH, "buy", "limit", "1", "1", cl_ord_id="e0")
    await client.cancel_order(BTC, cl_ord_id="b0")  # cancel has its own limit
    await client.get_order(BTC, cl_ord_id="b0")  # and so has order details
    assert slept(t) == 0.0  # other instruments and endpoints are not held up
    await client.place_order(BTC, "buy", "limit", "1", "1", cl_ord_id="b60")
    assert slept(t) >= PLACE_GAP - EPS  # the 61st BTC-USDT order waits for a token
    assert server.paths.count("POST " + C.ORDER) == 62


async def test_cancel_is_throttled_per_instrument(
    limited: tuple[OkxRestClient, FakeTime, Counting],
) -> None:
    client, t, _ = limited
    for i in range(60):
        await client.cancel_order(ETH, cl_ord_id=f"e{i}")
    await client.cancel_order(BTC, cl_ord_id="b0")
    assert slept(t) == 0.0
    await client.cancel_order(ETH, cl_ord_id="e60")
    assert slept(t) >= PLACE_GAP - EPS


async def test_batch_orders_are_counted_per_order(
    limited: tuple[OkxRestClient, FakeTime, Counting],
) -> None:
    client, t, server = limited
    for b in range(15):  # 15 x 20 = 300 orders: the whole allowance, in 15 requests
        await client.batch_orders([order(BTC, f"b{b}x{i}") for i in range(20)])
    assert slept(t) == 0.0
    await client.batch_orders([order(BTC, f"last{i}") for i in range(20)])
    # 20 more orders at 300 per 2 s: counted per request this would not wait at all
    assert slept(t) >= 20 * 2.0 / 300 - EPS
    assert server.paths.count("POST " + C.BATCH_ORDERS) == 16


async def test_new_orders_share_a_sub_account_budget(
    limited: tuple[OkxRestClient, FakeTime, Counting],
) -> None:
    client, t, _ = limited
    insts = [f"C{i}-USDT" for i in range(20)]
    for b in range(50):  # 1000 orders, 50 per instrument: no per-instrument limit is near
        await client.batch_orders([order(inst, f"s{b}x{i}") for i, inst in enumerate(insts)])
    assert slept(t) == 0.0
    await client.place_order("D0-USDT", "buy", "limit", "1", "1", cl_ord_id="over")
    assert slept(t) >= 2.0 / 1000 - EPS


async def test_default_client_throttles_in_real_time(serve: Starter) -> None:
    """The production wiring (monotonic clock, real sleep): 66 orders for one instrument
    cannot all go within the 2-second window — the last 6 wait about 1/30 s each."""
    server = Counting()
    client = OkxRestClient(await serve(server.app()), "k", "s", "p", retry=ONCE)
    try:
        start = time.monotonic()
        for i in range(66):
            await client.place_order(BTC, "buy", "limit", "1", "1", cl_ord_id=f"r{i}")
        elapsed = time.monotonic() - start
    finally:
        await client.close()
    assert elapsed >= 6 * PLACE_GAP * 0.95  # lower bound only


# -- WebSocket order entry shares the REST limits (against the emulator) -----------------------
emulator = pytest.importorskip("tradeloop.emulator.okx.server")
KEY, SECRET, PASS = "rl-key-1", "rl-secret-2", "rl-pass-3"


class Quiet:
    def on_market_data(self, event: Any) -> None: ...
    def on_orders(self, items: list[dict[str, Any]]) -> None: ...
    def on_account(self, channel: str, items: list[dict[str, Any]]) -> None: ...
    def on_status(self, status: str, detail: str) -> None: ...


@pytest.fixture
async def rest_and_ws(
    fake_time: FakeTime,
) -> AsyncIterator[tuple[OkxRestClient, OkxStream, FakeTime]]:
    e = emulator.OkxEmulator(
        emulator.EmulatorConfig(
            api_key=KEY,
            api_secret=SECRET,
            passphrase=PASS,
            balances={"USDT": 1000.0},
            symbols=[BTC, ETH],
            seed=2,
            tick_interval_ms=0,
        )
    )
    url = await e.start("127.0.0.1", 0)
    limiter = RateLimiter(C.RATE_LIMITS, C.DEFAULT_LIMIT, clock=fake_time, sleep=fake_time.sleep)
    rest = OkxRestClient(url, KEY, SECRET, PASS, retry=ONCE, limiter=limiter)
    ws = OkxStream(
        url.replace("http", "ws") + "/ws/v5/private",
        Quiet(),
        credentials=OkxCredentials(KEY, SECRET, PASS),
        config=WsConfig(heartbeat_interval=5.0, heartbeat_timeout=5.0),
        limiter=rest.limiter,
    )
    try:
        await ws.start()
        yield rest, ws, fake_time
    finally:
        await ws.stop()
        await rest.close()
        await e.stop()


async def _cancel_rest(rest: OkxRestClient, inst: str, cid: str) -> None:
    with pytest.raises(VenueError):  # nothing to cancel: 51400, which is all we need
        await rest.cancel_order(inst, cl_ord_id=cid)


async def _cancel_ws(ws: OkxStream, inst: str, cid: str) -> None:
    with pytest.raises(VenueError):
        await ws.send_op("cancel-order", [{"instId": inst, "clOrdId": cid}])


async def test_ws_order_entry_and_rest_share_one_limit(
    rest_and_ws: tuple[OkxRestClient, OkxStream, FakeTime],
) -> None:
    rest, ws, t = rest_and_ws
    for i in range(60):  # REST uses up BTC-USDT's cancel allowance ...
        await _cancel_rest(rest, BTC, f"r{i}")
    await _cancel_ws(ws, ETH, "w0")  # (another instrument is free)
    assert slept(t) == 0.0
    await _cancel_ws(ws, BTC, "w1")  # ... so a WS cancel for it must wait
    assert slept(t) >= PLACE_GAP - EPS
    before = slept(t)
    # And the other way round: WS uses up ETH-USDT's allowance (59 left after "w0", plus one
    # refilled while BTC-USDT waited) ...
    for i in range(60):
        await _cancel_ws(ws, ETH, f"w{i + 2}")
    assert slept(t) == before
    await _cancel_rest(rest, ETH, "r60")  # ... so a REST cancel for it waits
    assert slept(t) >= before + PLACE_GAP - EPS


def test_gateway_private_socket_pays_the_rest_limiter() -> None:
    gw = OkxGateway("http://127.0.0.1:1", "k", "s", "p")
    private = gw._stream(C.WS_PRIVATE, private=True)
    assert gw.rest.limiter is not None and private.limiter is gw.rest.limiter
    assert gw._stream(C.WS_PUBLIC).limiter is None  # market data has no order limits
