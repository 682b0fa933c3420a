"""The kit's fault switches on Bitfinex's channel-0 order requests, over a real socket:
``fail_next`` refuses before running (ERROR notification, nothing placed), ``lose_replies``
runs the request and loses its notification (``5xx``: never sent; ``drop``: the socket cut);
a lost-reply target names the REST twin of the op."""

from __future__ import annotations

from datetime import UTC, datetime

import aiohttp
import pytest

from tradeloop.emulator.bitfinex.server import BitfinexEmulator

from .helpers import Ws, auth_msg


async def _authed(wsc: Ws) -> None:
    await wsc.recv()  # info
    await wsc.send(auth_msg(None))
    assert (await wsc.recv())["status"] == "OK"
    for _ in range(3):  # ps, ws, os
        await wsc.recv()


def _on(cid: int) -> list[object]:
    return [0, "on", None, {"cid": cid, "type": "EXCHANGE LIMIT", "symbol": "tBTCUSD",
                            "amount": "0.01", "price": "1000"}]  # fmt: skip


def _working(bfx: BitfinexEmulator) -> list[int]:
    return [r[2] for r in bfx.trading.open_orders()]


async def test_rate_limited_request_refused(bfx: BitfinexEmulator, wsc: Ws) -> None:
    await _authed(wsc)
    bfx.faults.fail_next_429(1)
    await wsc.send(_on(11))
    n = await wsc.until(lambda m: m[1] == "n")
    assert n[2][1] == "on-req" and n[2][6] == "ERROR" and n[2][7] == "ratelimit: error"
    assert _working(bfx) == [] and bfx.faults.fail_remaining == 0
    await wsc.send(_on(12))
    n = await wsc.until(lambda m: m[1] == "n")
    assert n[2][6] == "SUCCESS" and _working(bfx) == [12]


async def test_lost_notification(bfx: BitfinexEmulator, wsc: Ws) -> None:
    await _authed(wsc)
    bfx.faults.lose_replies(1, "5xx", "POST /v2/auth/w/order/submit")
    await wsc.send(_on(21))
    on = await wsc.until(lambda m: m[1] in ("on", "n"))
    assert on[1] == "on" and on[2][2] == 21  # the account stream still tells
    assert _working(bfx) == [21] and bfx.faults.lose_remaining == 0
    with pytest.raises(TimeoutError):
        await wsc.until(lambda m: m[1] == "n", timeout=0.3)


async def test_lost_by_drop(bfx: BitfinexEmulator, session: aiohttp.ClientSession) -> None:
    ws = await session.ws_connect(bfx.base_url + "/ws/2")
    wsc = Ws(ws)
    await _authed(wsc)
    bfx.faults.lose_replies(1, "drop", "POST /v2/auth/w/order/cancel")
    await wsc.send(_on(31))  # not the target: answered
    assert (await wsc.until(lambda m: m[1] == "n"))[2][6] == "SUCCESS"
    await wsc.send([0, "oc", None, {"cid": 31, "cid_date": _today()}])
    while True:
        msg = await ws.receive(timeout=3)
        if msg.type != aiohttp.WSMsgType.TEXT:
            break
        assert '"oc-req"' not in msg.data
    assert ws.closed or msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert _working(bfx) == [] and bfx.faults.lose_remaining == 0  # the cancel ran


def _today() -> str:
    return f"{datetime.now(UTC):%Y-%m-%d}"
