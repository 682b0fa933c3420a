"""FTX connector tests against the in-process FTX emulator over real loopback sockets: the
emulator fixture (frozen market: it moves only on ``emu.step()``, so pushes are
deterministic), a started gateway bound to a recording sink, and fast retry settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.support.gateway_fixtures import FAST_RECOVERY, FAST_REST, Sink, bound, fast_ws, serving
from tests.support.gateway_fixtures import until as until  # the suite's bounded poll

from tradeloop.venues.ftx.gateway import FtxGateway
from tradeloop.venues.ftx.rest import FtxRestClient

server = pytest.importorskip("tradeloop.emulator.ftx.server")

KEY, SECRET = "ftx-conn-key-1", "ftx-conn-secret-1"
PERP, SPOT = "BTC-PERP.FTX", "BTC/USD.FTX"
FAST_WS = fast_ws(ping_text='{"op":"ping"}', pong_text='{"type":"pong"}')


def make_emulator(**over: Any) -> Any:
    cfg: dict[str, Any] = dict(
        api_key=KEY,
        api_secret=SECRET,
        balances={"USD": 100_000.0, "BTC": 2.0},
        symbols=["BTC-PERP", "BTC/USD"],
        seed=3,
        tick_interval_ms=0,
    )
    cfg.update(over)
    return server.FtxEmulator(server.FtxConfig(**cfg))


@pytest.fixture
async def emu() -> AsyncIterator[Any]:
    async with serving(make_emulator()) as e:
        yield e


def make_gateway(url: str, **over: Any) -> FtxGateway:
    rest = FtxRestClient(url, KEY, SECRET, retry=FAST_REST)
    opts: dict[str, Any] = {"rest": rest, "ws_config": FAST_WS, "recovery": FAST_RECOVERY}
    opts.update(over)
    return FtxGateway(**opts)


@pytest.fixture
async def gw(emu: Any) -> AsyncIterator[tuple[FtxGateway, Sink]]:
    async with bound(make_gateway(emu.base_url), Sink()) as pair:
        yield pair
