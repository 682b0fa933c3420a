"""Perpetual orders over the USD-M futures WS API (``/ws-fapi/v1``) against the emulator over
real sockets, with REST as the fallback -- as spot's orders go over ``/ws-api/v3``:

- place, amend (``order.modify``) and cancel go over the WS API: the emulator served the WS
  methods and no ``/fapi/v1/order`` REST request; the answers' ``rateLimits`` feed the futures
  weight gate; an Ed25519 key logs the session on and then sends no signatures;
- the session down -> the same orders over REST;
- a reply lost after the venue executed the order -> the order is looked up by its client id
  (one order at the venue, never a second one);
- a refused signature -> the order is REJECTED with one line, nothing sent over REST, no
  secret in the logs;
- the weight the answers report fills the futures weight gate, and a 429 is RateLimited with
  the venue's retry-after and shuts the gate that long."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from tests.support.gateway_fixtures import serving, until

from tradeloop.core.errors import RateLimited
from tradeloop.emulator.binance.limits import LimitConfig
from tradeloop.emulator.binance.server import BinanceEmulator
from tradeloop.model import Order, OrderStatus, OrderType, Side
from tradeloop.venues import registry
from tradeloop.venues.binance.auth import Credentials
from tradeloop.venues.binance.gateway import BinanceGateway
from tradeloop.venues.binance.rest import WeightGate
from tradeloop.venues.binance.ws import ApiSession

from .conftest import KEY, PERP, SECRET, Sink, make_emulator, make_gateway

WS = "/ws-fapi/v1 "
ED = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
ED_PEM = ED.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption()).decode()  # fmt: skip
ED_PUBLIC = (
    ED.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)


@pytest.fixture
async def emu() -> AsyncIterator[BinanceEmulator]:
    async with serving(make_emulator(seed=8, ed25519_public_key=ED_PUBLIC)) as server:
        yield server


async def _started(emu: BinanceEmulator, sink: Sink, ed25519: bool = False) -> BinanceGateway:
    if ed25519:  # the registry's factory with an Ed25519 private key instead of the secret
        built = registry.get("binance").build(
            url=emu.base_url, credentials={"api_key": KEY, "ed25519_key": ED_PEM}
        )
        assert isinstance(built, BinanceGateway)
        gw = built
    else:
        gw = make_gateway(emu.base_url)
    gw.bind(sink)
    await gw.start()
    assert gw.fapi is not None and gw.fapi.connected
    return gw


def _rest_orders(emu: BinanceEmulator) -> int:
    return sum(n for k, n in emu.served.items() if k.endswith(" /fapi/v1/order")
               and not k.startswith("GET"))  # fmt: skip


def _status(sink: Sink, cid: str, status: OrderStatus) -> Any:
    return lambda: (r := sink.last(cid)) is not None and r.status is status


def _far_bid(emu: BinanceEmulator) -> float:
    assert emu.futures is not None
    m = emu.futures.driver.markets["BTCUSDT"]
    return round(float(m.px(m.best_bid())) * 0.9, 1)


async def test_place_amend_cancel_over_ws_fapi(emu: BinanceEmulator) -> None:
    sink = Sink()
    gw = await _started(emu, sink)
    try:
        px = _far_bid(emu)
        limit = Order("wf-1", PERP, Side.BUY, 0.01, OrderType.LIMIT, price=px)
        gw.submit_order(limit)
        await until(_status(sink, "wf-1", OrderStatus.ACCEPTED), "the WS placement")
        gw.amend_order(limit, price=px - 10)
        assert emu.futures is not None
        acct = emu.futures.trading.account
        info = next(i for i in acct.infos.values() if i.client_id == "wf-1")
        await until(lambda: (r := acct.record(info)) is not None and r.price == px - 10)
        gw.cancel_order(limit)
        await until(_status(sink, "wf-1", OrderStatus.CANCELED), "the WS cancel")
        mkt = Order("wf-2", PERP, Side.BUY, 0.01, OrderType.MARKET)
        gw.submit_order(mkt)
        await until(_status(sink, "wf-2", OrderStatus.FILLED), "the market order's fill")
        await gw.drain(5)
        served = emu.served
        assert served[WS + "order.place"] == 2 and served[WS + "order.cancel"] == 1
        assert served[WS + "order.modify"] == 1 and _rest_orders(emu) == 0
        assert gw.frest is not None and gw.frest.gate.used > 0  # the answers' rateLimits
        assert sum(f.qty for f in sink.fills if f.client_order_id == "wf-2") == 0.01
    finally:
        await gw.stop()


async def test_ed25519_session_logs_on_once(emu: BinanceEmulator) -> None:
    sink = Sink()
    gw = await _started(emu, sink, ed25519=True)
    try:
        assert gw.fapi is not None and gw.fapi.logged_on
        gw.submit_order(Order("wf-ed", PERP, Side.BUY, 0.01, OrderType.MARKET))
        await until(_status(sink, "wf-ed", OrderStatus.FILLED), "the logged-on order")
        assert emu.served[WS + "session.logon"] == 1 and emu.served[WS + "order.place"] == 1
        assert _rest_orders(emu) == 0
    finally:
        await gw.stop()


async def test_session_down_falls_back_to_rest(emu: BinanceEmulator) -> None:
    sink = Sink()
    gw = await _started(emu, sink)
    try:
        assert gw.fapi is not None
        await gw.fapi.stop()  # the futures WS API is down
        limit = Order("wf-rest", PERP, Side.BUY, 0.01, OrderType.LIMIT, price=_far_bid(emu))
        gw.submit_order(limit)
        await until(_status(sink, "wf-rest", OrderStatus.ACCEPTED), "the REST placement")
        gw.cancel_order(limit)
        await until(_status(sink, "wf-rest", OrderStatus.CANCELED), "the REST cancel")
        assert emu.served["POST /fapi/v1/order"] == 1
        assert emu.served["DELETE /fapi/v1/order"] == 1
        assert emu.served[WS + "order.place"] == 0
    finally:
        await gw.stop()


async def test_lost_reply_is_resolved_by_client_id(emu: BinanceEmulator) -> None:
    sink = Sink()
    gw = await _started(emu, sink)
    assert emu.futures is not None and emu.futures.ws_api is not None
    api = emu.futures.ws_api
    real_ok = api._ok

    def lose_once(conn: Any, rid: Any, result: Any, used: int) -> None:
        api._ok = real_ok  # type: ignore[method-assign]
        conn.close_soon(1011, b"lost")  # executed, the answer never leaves

    api._ok = lose_once  # type: ignore[method-assign]
    try:
        limit = Order("wf-lost", PERP, Side.BUY, 0.01, OrderType.LIMIT, price=_far_bid(emu))
        gw.submit_order(limit)
        await until(_status(sink, "wf-lost", OrderStatus.ACCEPTED), "the order, looked up")
        acct = emu.futures.trading.account
        assert [i.client_id for i in acct.infos.values()].count("wf-lost") == 1
        assert emu.served[WS + "order.place"] == 1 and _rest_orders(emu) == 0
        assert emu.served["GET /fapi/v1/order"] >= 1  # the lookup by origClientOrderId
    finally:
        await gw.stop()


async def test_refused_signature_is_one_line(
    emu: BinanceEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    sink = Sink()
    gw = await _started(emu, sink)
    try:
        assert gw.fapi is not None
        gw.fapi.credentials = Credentials(KEY, "not-the-secret")
        with caplog.at_level(logging.DEBUG):
            gw.submit_order(Order("wf-bad", PERP, Side.BUY, 0.01, OrderType.MARKET))
            await until(_status(sink, "wf-bad", OrderStatus.REJECTED), "the refusal")
        rep = sink.last("wf-bad")
        assert "-1022" in rep.reason and "\n" not in rep.reason, rep.reason
        assert _rest_orders(emu) == 0 and emu.served[WS + "order.place"] == 1
        assert "not-the-secret" not in caplog.text and SECRET not in caplog.text
        assert "Traceback" not in caplog.text
    finally:
        await gw.stop()


async def test_answers_rate_limits_feed_the_weight_gate() -> None:
    async with serving(make_emulator(seed=9, limits=LimitConfig(weight_per_minute=40))) as emu:
        gate = WeightGate(limit=40)
        session = ApiSession(emu.base_url.replace("http", "ws", 1) + "/ws-fapi/v1",
                             Credentials(KEY, SECRET), lambda: int(time.time() * 1000),
                             lambda ev: None, lambda status, detail: None, user_data=False,
                             name="fapi-test", gate=gate)  # fmt: skip
        await session.start(wait=10.0)
        try:
            with pytest.raises(RateLimited) as refused:
                for _ in range(20):  # weight 5 each against 40 a minute (a new minute: more)
                    await session.call("v2/account.balance", {})
                    assert gate.used > 0  # the answer's rateLimits count
            assert refused.value.retry_after > 0 and "\n" not in str(refused.value)
            assert gate.blocked_until > time.time()
        finally:
            await session.stop()
