"""The OKX emulator's ``balance_and_position`` channel over a real private socket: a
``snapshot`` on subscribe (non-zero cash, non-zero positions), ``filled`` with the trades after
a fill, ``funding_fee`` after a funding settlement -- cash and position only, never the amount,
which is in the bill (``/account/bills``, ``type`` 8)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from tests.emulator.helpers import WsClient, is_event, is_push, make_config
from tests.support.gateway_fixtures import serving

from tradeloop.emulator.okx.server import OkxEmulator

SWAP = "BTC-USDT-SWAP"
CHANNEL = "balance_and_position"


@pytest.fixture
async def emu() -> AsyncIterator[OkxEmulator]:
    config = make_config(tick_interval_ms=0, private_push_interval_s=0, symbols=[SWAP])
    async with serving(OkxEmulator(config)) as e:
        yield e


@pytest.fixture
async def ws(emu: OkxEmulator) -> AsyncIterator[WsClient]:
    async with aiohttp.ClientSession() as session:
        url = emu.base_url.replace("http", "ws") + "/ws/v5/private"
        async with session.ws_connect(url) as raw:
            client = WsClient(raw)
            assert (await client.login())["event"] == "login"
            await client.send({"op": "subscribe", "args": [{"channel": CHANNEL}]})
            await client.wait(is_event("subscribe"))
            yield client


async def test_snapshot_filled_and_funding_fee(emu: OkxEmulator, ws: WsClient) -> None:
    (snap,) = (await ws.wait(is_push(CHANNEL)))["data"]
    assert snap["eventType"] == "snapshot" and snap["posData"] == []
    assert {b["ccy"] for b in snap["balData"]} == {"USDT", "BTC"}
    placed = emu.trading.place(
        {"instId": SWAP, "side": "sell", "ordType": "market", "sz": "2", "tdMode": "cross"}
    )
    assert placed["sCode"] == "0"
    (filled,) = (await ws.wait(is_push(CHANNEL)))["data"]
    assert filled["eventType"] == "filled" and filled["trades"]
    assert {t["instId"] for t in filled["trades"]} == {SWAP}
    (pos,) = filled["posData"]
    assert (pos["instId"], pos["pos"], pos["posSide"], pos["ccy"]) == (SWAP, "-2", "net", "USDT")
    emu.config.funding_rate = 0.0002  # a short receives a positive rate
    emu.settle_funding()
    (fee,) = (await ws.wait(is_push(CHANNEL)))["data"]
    (bill,) = emu.trading.bills.rows
    assert fee["eventType"] == "funding_fee" and fee["trades"] == []
    assert bill["subType"] == "174" and float(bill["balChg"]) > 0
    (bal,) = fee["balData"]
    assert bal["ccy"] == "USDT" and float(bal["cashBal"]) == pytest.approx(float(bill["bal"]))
    assert [(p["instId"], p["pos"]) for p in fee["posData"]] == [(SWAP, "-2")]
    assert "balChg" not in fee and "pnl" not in fee  # the amount is only in the bill
