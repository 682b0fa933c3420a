"""OKX: the OKX gateway (``venues/okx``) against the in-process OKX v5 emulator over loopback
REST + WebSocket, with short retry/backoff policies so fault checks finish in about a second."""

from __future__ import annotations

import dataclasses
import json

import aiohttp

from tradeloop.emulator.okx.server import EmulatorConfig, OkxEmulator
from tradeloop.emulator.venue import VenueEmulator
from tradeloop.model import BookLevels
from tradeloop.venues import registry
from tradeloop.venues.base import Gateway
from tradeloop.venues.execution import RecoveryPolicy
from tradeloop.venues.okx.orders import okx_client_id
from tradeloop.venues.okx.rest import OkxRestClient
from tradeloop.venues.okx.ws import OKX_WS_CONFIG
from tradeloop.venues.retry import RetryConfig

from ..harness import WireOrder
from .emulated import EmulatedHarness

KEY, SECRET, PASSPHRASE = "conf-okx-key", "conf-okx-secret", "conf-okx-pass"
NATIVE_SPOT, NATIVE_SWAP = "BTC-USDT", "BTC-USDT-SWAP"

#: The production shape (4 tries per request), with waits of 10-50 ms.
FAST_REST = RetryConfig(max_attempts=4, base=0.01, cap=0.05)
#: Reconnect within ~0.2 s; heartbeats too slow to fire during a check on a loaded machine.
FAST_WS = dataclasses.replace(
    OKX_WS_CONFIG,
    heartbeat_interval=5.0,
    heartbeat_timeout=5.0,
    reconnect=RetryConfig(max_attempts=0, base=0.05, cap=0.2),
)


#: Cancel/amend rounds and lookups every 20-100 ms; deadlines far beyond any check.
FAST_RECOVERY = RecoveryPolicy(
    cancel_backoff=RetryConfig(max_attempts=0, base=0.02, cap=0.1),
    cancel_deadline_s=20.0,
    lookup_backoff=RetryConfig(max_attempts=6, base=0.02, cap=0.1),
    reconcile_backoff=RetryConfig(max_attempts=0, base=0.05, cap=0.2),
    reconcile_deadline_s=20.0,
)


class OkxHarness(EmulatedHarness):
    name = "okx"
    lacks = {}  # every capability: sockets, faults, amend, swaps, a second session
    rest_attempts = FAST_REST.max_attempts
    place_route = "POST /api/v5/trade/order"
    symbol = NATIVE_SPOT + ".OKX"
    derivative = NATIVE_SWAP + ".OKX"

    def make_emulator(self) -> VenueEmulator:
        return OkxEmulator(
            EmulatorConfig(
                api_key=KEY,
                api_secret=SECRET,
                passphrase=PASSPHRASE,
                balances={"USDT": 100_000.0, "BTC": 2.0},
                symbols=[NATIVE_SPOT, NATIVE_SWAP],
                seed=5,
                tick_interval_ms=0,  # frozen: the market moves only on step_market()
            )
        )

    def build_gateway(self, url: str) -> Gateway:
        spec = registry.get(self.name)
        credentials = {"api_key": KEY, "secret": SECRET, "passphrase": PASSPHRASE}
        return spec.build(
            url=url,
            credentials=credentials,
            # the factory's own client, only with short REST retries
            rest=OkxRestClient(url, KEY, SECRET, PASSPHRASE, retry=FAST_REST),
            inst_types=("SPOT", "SWAP"),
            ws_config=FAST_WS,
            recovery=FAST_RECOVERY,
        )

    @property
    def order_qty(self) -> float:
        return 0.01

    def venue_client_id(self, client_order_id: str) -> str:
        return okx_client_id(client_order_id)

    async def venue_book(self, symbol: str, depth: int) -> BookLevels:
        native = self.native(symbol)
        async with (
            aiohttp.ClientSession() as http,
            http.get(
                f"{self.url}/api/v5/market/books", params={"instId": native, "sz": str(depth)}
            ) as resp,
        ):
            body = await resp.json()
        (book,) = body["data"]

        def side(rows: list[list[str]]) -> list[tuple[float, float]]:
            return [(float(r[0]), float(r[1])) for r in rows[:depth]]

        return BookLevels(0, symbol, side(book["bids"]), side(book["asks"]), True)

    def parse_wire(self, method: str, path: str, body: str) -> list[WireOrder]:
        kind = {"/api/v5/trade/order": "place", "/api/v5/trade/amend-order": "amend"}.get(path)
        if method != "POST" or kind is None:
            return []
        # numbers kept as their literal text, whether sent as JSON strings or numbers
        data = json.loads(body, parse_float=str, parse_int=str)
        items = data if isinstance(data, list) else [data]
        out = []
        for d in items:
            if kind == "place":
                out.append(WireOrder("place", str(d.get("clOrdId")), d.get("px"), d.get("sz")))
            else:
                out.append(
                    WireOrder("amend", str(d.get("clOrdId")), d.get("newPx"), d.get("newSz"))
                )
        return out


HARNESS = OkxHarness
