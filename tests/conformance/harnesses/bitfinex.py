"""Bitfinex: the Bitfinex gateway (``venues/bitfinex``) against the in-process Bitfinex emulator
over loopback REST + WebSocket, with short retry/backoff policies.

Orders go over the authenticated WebSocket (channel 0), so the core's REST-only wire tap,
lost-reply and 429 faults do not see them: those checks are declared lacking with the reason. The
gateway is built with the dead-man switch off here: with ``dms: 4`` Bitfinex cancels our orders
the moment the private socket drops, so "an order fills while the socket is down" cannot happen
(the switch itself is tested in ``tests/venues/bitfinex``)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

import aiohttp

from tradeloop.emulator.bitfinex.server import BitfinexConfig, BitfinexEmulator
from tradeloop.emulator.venue import VenueEmulator
from tradeloop.model import BookLevels
from tradeloop.venues import registry
from tradeloop.venues.base import Gateway
from tradeloop.venues.bitfinex.orders import bitfinex_cid
from tradeloop.venues.bitfinex.rest import BitfinexRestClient
from tradeloop.venues.bitfinex.ws import BFX_WS_CONFIG
from tradeloop.venues.execution import RecoveryPolicy
from tradeloop.venues.retry import RetryConfig

from ..harness import Can, WireOrder
from .emulated import EmulatedHarness

KEY, SECRET = "conf-bfx-key", "conf-bfx-secret"
SPOT, PERP = "tBTCUSD", "tBTCF0:USTF0"

FAST_REST = RetryConfig(max_attempts=4, base=0.01, cap=0.05)
FAST_WS = dataclasses.replace(
    BFX_WS_CONFIG,
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


class BitfinexHarness(EmulatedHarness):
    name = "bitfinex"
    lacks = {
        Can.WIRE: "orders go over the authenticated WebSocket (channel 0); the core's wire tap "
        "reads REST bodies only",
        Can.LOST_REPLY: "orders go over the authenticated WebSocket; the core's lost-reply fault "
        "targets REST routes only",
        Can.RATE_LIMIT_FAULT: "orders and cancels go over the authenticated WebSocket; the "
        "core's fail_next (429) fault refuses REST requests only",
    }
    rest_attempts = FAST_REST.max_attempts
    place_route = "POST /v2/auth/w/order/submit"
    symbol = SPOT + ".BITFINEX"
    derivative = PERP + ".BITFINEX"

    def make_emulator(self) -> VenueEmulator:
        return BitfinexEmulator(
            BitfinexConfig(
                api_key=KEY,
                api_secret=SECRET,
                balances={"USD": 100_000.0, "BTC": 2.0, "USTF0": 100_000.0},
                symbols=[SPOT, PERP],
                seed=5,
                tick_interval_ms=0,
            )
        )

    def build_gateway(self, url: str) -> Gateway:
        spec = registry.get(self.name)
        return spec.build(
            url=url,
            credentials={"api_key": KEY, "secret": SECRET},
            rest=BitfinexRestClient(url, KEY, SECRET, retry=FAST_REST),
            ws_config=FAST_WS,
            recovery=FAST_RECOVERY,
            dms=None,
        )

    @property
    def order_qty(self) -> float:
        return 0.01

    def venue_client_id(self, client_order_id: str) -> str:
        """The emulator keys orders by ``cid:cid_date`` (Bitfinex's client key)."""
        return f"{bitfinex_cid(client_order_id)}:{datetime.now(UTC):%Y-%m-%d}"

    async def venue_book(self, symbol: str, depth: int) -> BookLevels:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{self.url}/v2/book/{self.native(symbol)}/P0?len=25") as resp,
        ):
            rows = await resp.json()
        bids = [(float(r[0]), float(r[2])) for r in rows if r[2] > 0][:depth]
        asks = [(float(r[0]), -float(r[2])) for r in rows if r[2] < 0][:depth]
        return BookLevels(0, symbol, bids, asks, True)

    def parse_wire(self, method: str, path: str, body: str) -> list[WireOrder]:
        if method != "POST" or path != self.place_route.split(" ")[1]:
            return []
        d = json.loads(body, parse_float=str, parse_int=str)
        amount = d.get("amount")
        size = amount.lstrip("-") if isinstance(amount, str) else None
        return [WireOrder("place", str(d.get("cid")), d.get("price"), size)]


HARNESS = BitfinexHarness
