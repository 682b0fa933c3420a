"""Bitfinex connector tests against the in-process Bitfinex emulator over real loopback
sockets (frozen market: it moves only on ``emu.step()``), with fast retry settings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from tests.support.gateway_fixtures import FAST_RECOVERY, FAST_REST, Sink, bound, fast_ws, serving
from tests.support.gateway_fixtures import until as _until

from tradeloop.venues.bitfinex.gateway import BitfinexGateway
from tradeloop.venues.bitfinex.rest import BitfinexRestClient

server = pytest.importorskip("tradeloop.emulator.bitfinex.server")

KEY, SECRET = "bfx-conn-key-1", "bfx-conn-secret-1"
SPOT, PERP = "tBTCUSD.BITFINEX", "tBTCF0:USTF0.BITFINEX"
FAST_WS = fast_ws(ping_text='{"event":"ping","cid":0}', pong_text=None)


async def until(
    cond: Callable[[], Any], what: str = "the condition", timeout: float = 10.0
) -> None:
    """The shared bounded poll with this suite's default bound."""
    await _until(cond, what, timeout)


@pytest.fixture
async def emu() -> AsyncIterator[Any]:
    balances = {"USD": 100_000.0, "BTC": 2.0, "USTF0": 50_000.0}
    cfg = server.BitfinexConfig(api_key=KEY, api_secret=SECRET, tick_interval_ms=0,
                                balances=balances)  # fmt: skip
    async with serving(server.BitfinexEmulator(cfg)) as e:
        yield e


def make_gateway(emu: Any, keyed: bool = True) -> BitfinexGateway:
    rest = BitfinexRestClient(emu.base_url, KEY if keyed else "", SECRET if keyed else "",
                              retry=FAST_REST)  # fmt: skip
    return BitfinexGateway(emu.base_url, rest=rest, ws_config=FAST_WS, recovery=FAST_RECOVERY)


@pytest.fixture
async def gw(emu: Any) -> AsyncIterator[tuple[BitfinexGateway, Sink]]:
    async with bound(make_gateway(emu), Sink()) as pair:
        yield pair
