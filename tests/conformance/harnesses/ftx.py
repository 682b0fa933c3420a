"""FTX: the FTX gateway (``venues/ftx``) against the in-process FTX emulator over loopback
REST + WebSocket, with short retry/backoff policies so fault checks finish in about a second.
FTX cannot amend in place (its modify re-places the order under a new id), so the amend check
wants the clean refusal."""

from __future__ import annotations

import dataclasses
import json
from urllib.parse import quote

import aiohttp

from tradeloop.emulator.ftx.server import FtxConfig, FtxEmulator
from tradeloop.emulator.venue import VenueEmulator
from tradeloop.model import BookLevels
from tradeloop.venues import registry
from tradeloop.venues.base import Gateway
from tradeloop.venues.execution import RecoveryPolicy
from tradeloop.venues.ftx.orders import ftx_client_id
from tradeloop.venues.ftx.rest import FtxRestClient
from tradeloop.venues.ftx.ws import FTX_WS_CONFIG
from tradeloop.venues.retry import RetryConfig

from ..harness import Can, WireOrder
from .emulated import EmulatedHarness

KEY, SECRET = "conf-ftx-key", "conf-ftx-secret"
SPOT, PERP = "BTC/USD", "BTC-PERP"

#: The production shape (4 tries per request), with waits of 10-50 ms.
FAST_REST = RetryConfig(max_attempts=4, base=0.01, cap=0.05)
#: Reconnect within ~0.2 s; heartbeats too slow to fire during a check on a loaded machine.
FAST_WS = dataclasses.replace(
    FTX_WS_CONFIG,
    heartbeat_interval=5.0,
    heartbeat_timeout=5.0,
    reconnect=RetryConfig(max_attempts=0, base=0.05, cap=0.2),
)
#: Cancel rounds and lookups every 20-100 ms; deadlines far beyond any check.
FAST_RECOVERY = RecoveryPolicy(
    cancel_backoff=RetryConfig(max_attempts=0, base=0.02, cap=0.1),
    cancel_deadline_s=20.0,
    lookup_backoff=RetryConfig(max_attempts=6, base=0.02, cap=0.1),
    reconcile_backoff=RetryConfig(max_attempts=0, base=0.05, cap=0.2),
    reconcile_deadline_s=20.0,
)


class FtxHarness(EmulatedHarness):
    name = "ftx"
    lacks = {
        Can.AMEND: "FTX's modify cancels and re-places the order under a new order id; the "
        "gateway refuses amends (cancel + place instead)",
    }
    rest_attempts = FAST_REST.max_attempts
    place_route = "POST /api/orders"
    symbol = SPOT + ".FTX"
    derivative = PERP + ".FTX"

    def make_emulator(self) -> VenueEmulator:
        return FtxEmulator(
            FtxConfig(
                api_key=KEY,
                api_secret=SECRET,
                balances={"USD": 100_000.0, "BTC": 2.0},
                symbols=[SPOT, PERP],
                seed=5,
                tick_interval_ms=0,  # frozen: the market moves only on step_market()
            )
        )

    def build_gateway(self, url: str) -> Gateway:
        spec = registry.get(self.name)
        return spec.build(
            url=url,
            credentials={"api_key": KEY, "secret": SECRET},
            # the factory's own client, only with short REST retries
            rest=FtxRestClient(url, KEY, SECRET, retry=FAST_REST),
            ws_config=FAST_WS,
            recovery=FAST_RECOVERY,
        )

    @property
    def order_qty(self) -> float:
        return 0.01

    def venue_client_id(self, client_order_id: str) -> str:
        return ftx_client_id(client_order_id)

    async def venue_book(self, symbol: str, depth: int) -> BookLevels:
        market = quote(self.native(symbol), safe="")
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{self.url}/api/markets/{market}/orderbook?depth={depth}") as resp,
        ):
            book = (await resp.json())["result"]

        def side(rows: list[list[float]]) -> list[tuple[float, float]]:
            return [(float(r[0]), float(r[1])) for r in rows[:depth]]

        return BookLevels(0, symbol, side(book["bids"]), side(book["asks"]), True)

    def parse_wire(self, method: str, path: str, body: str) -> list[WireOrder]:
        if method != "POST" or path != "/api/orders":
            return []
        # numbers kept as their literal text, whether sent as JSON strings or numbers
        d = json.loads(body, parse_float=str, parse_int=str)
        price = d.get("price")
        return [WireOrder("place", str(d.get("clientId")), price, d.get("size"))]


HARNESS = FtxHarness
