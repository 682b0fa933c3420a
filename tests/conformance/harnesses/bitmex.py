"""BitMEX: the BitMEX gateway (``venues/bitmex``) against the in-process BitMEX emulator over
loopback REST + WebSocket, with short retry/backoff policies. BitMEX lists no spot market
here: ``symbol`` is the linear XBTUSDT perpetual and ``derivative`` the inverse XBTUSD.
BitMEX's book stream has no checksum or sequence numbers, so the book-fault check (bad
checksum, skipped sequence) has nothing to inject; an unknown level id is what triggers a
resync, which ``tests/venues/bitmex`` covers."""

from __future__ import annotations

import dataclasses
import json

import aiohttp

from tradeloop.emulator.bitmex.server import BitmexConfig, BitmexEmulator
from tradeloop.emulator.venue import VenueEmulator
from tradeloop.model import BookLevels
from tradeloop.venues import registry
from tradeloop.venues.base import Gateway
from tradeloop.venues.bitmex.orders import bitmex_client_id
from tradeloop.venues.bitmex.rest import BitmexRestClient
from tradeloop.venues.bitmex.ws import BITMEX_WS_CONFIG
from tradeloop.venues.execution import RecoveryPolicy
from tradeloop.venues.retry import RetryConfig

from ..harness import Can, WireOrder
from .emulated import EmulatedHarness

KEY, SECRET = "conf-bitmex-key", "conf-bitmex-secret"
LINEAR, INVERSE = "XBTUSDT", "XBTUSD"

FAST_REST = RetryConfig(max_attempts=4, base=0.01, cap=0.05)
FAST_WS = dataclasses.replace(
    BITMEX_WS_CONFIG,
    heartbeat_interval=5.0,
    heartbeat_timeout=5.0,
    reconnect=RetryConfig(max_attempts=0, base=0.05, cap=0.2),
)
FAST_RECOVERY = RecoveryPolicy(
    cancel_backoff=RetryConfig(max_attempts=0, base=0.02, cap=0.1),
    cancel_deadline_s=20.0,
    lookup_backoff=RetryConfig(max_attempts=6, base=0.02, cap=0.1),
    reconcile_backoff=RetryConfig(max_attempts=0, base=0.05, cap=0.2),
    reconcile_deadline_s=20.0,
)


class BitmexHarness(EmulatedHarness):
    name = "bitmex"
    lacks = {
        Can.BOOK_FAULTS: "BitMEX's L2 stream carries no checksum and no sequence numbers: "
        "there is no corrupt checksum or skipped sequence to inject (an unknown level id "
        "triggers the resync, tested in tests/venues/bitmex)",
    }
    rest_attempts = FAST_REST.max_attempts
    place_route = "POST /api/v1/order"
    symbol = LINEAR + ".BITMEX"
    derivative = INVERSE + ".BITMEX"

    def make_emulator(self) -> VenueEmulator:
        return BitmexEmulator(
            BitmexConfig(
                api_key=KEY,
                api_secret=SECRET,
                balances={"XBt": 100_000_000.0, "USDt": 100_000_000_000.0},
                symbols=[LINEAR, INVERSE],
                seed=5,
                tick_interval_ms=0,
                rate_limit=100_000,
            )
        )

    def build_gateway(self, url: str) -> Gateway:
        return registry.get(self.name).build(
            url=url,
            credentials={"api_key": KEY, "secret": SECRET},
            rest=BitmexRestClient(url, KEY, SECRET, retry=FAST_REST),
            ws_config=FAST_WS,
            recovery=FAST_RECOVERY,
        )

    @property
    def order_qty(self) -> float:
        return 3000.0  # three lots of XBTUSDT (0.003 BTC)

    def venue_client_id(self, client_order_id: str) -> str:
        return bitmex_client_id(client_order_id)

    async def venue_book(self, symbol: str, depth: int) -> BookLevels:
        url = f"{self.url}/api/v1/orderBook/L2?symbol={self.native(symbol)}&depth={depth}"
        async with aiohttp.ClientSession() as http, http.get(url) as resp:
            rows = await resp.json()
        bids = [(float(r["price"]), float(r["size"])) for r in rows if r["side"] == "Buy"]
        asks = sorted((float(r["price"]), float(r["size"])) for r in rows if r["side"] == "Sell")
        return BookLevels(0, symbol, bids[:depth], asks[:depth], True)

    def parse_wire(self, method: str, path: str, body: str) -> list[WireOrder]:
        if path != "/api/v1/order" or method not in ("POST", "PUT") or not body:
            return []
        d = json.loads(body, parse_float=str, parse_int=str)
        if method == "POST":
            return [WireOrder("place", str(d.get("clOrdID")), d.get("price"), d.get("orderQty"))]
        cid = str(d.get("origClOrdID"))
        return [WireOrder("amend", cid, d.get("price"), d.get("orderQty"))]


HARNESS = BitmexHarness
