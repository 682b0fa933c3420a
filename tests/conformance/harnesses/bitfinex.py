"""Bitfinex: the Bitfinex gateway (``venues/bitfinex``) against the in-process Bitfinex emulator
over loopback REST + WebSocket, with short retry/backoff policies.

Orders go over the authenticated WebSocket (channel 0). The emulator applies the core's fault
switches there too: ``fail_next`` refuses a channel-0 request with an ERROR notification
(``ratelimit: error``), ``lose_replies`` runs it and loses its ``n`` notification (never sent,
or the socket cut first) -- a target names the REST twin (``POST /v2/auth/w/order/submit``
for ``on``) -- and the wire is tapped on the emulator's WebSocket input as well as REST. The
gateway is built with the dead-man switch off here: with ``dms: 4`` Bitfinex cancels our
orders the moment the private socket drops, so "an order fills while the socket is down"
cannot happen (the switch itself is tested in ``tests/venues/bitfinex``)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from tradeloop.emulator.bitfinex.server import BitfinexConfig, BitfinexEmulator
from tradeloop.emulator.venue import VenueEmulator
from tradeloop.model import BookLevels
from tradeloop.venues.bitfinex.orders import bitfinex_cid
from tradeloop.venues.bitfinex.rest import BitfinexRestClient
from tradeloop.venues.bitfinex.ws import BFX_WS_CONFIG

from ..harness import WireOrder
from .emulated import FAST_REST, EmulatedHarness, get_json

SPOT, PERP = "tBTCUSD", "tBTCF0:USTF0"


class BitfinexHarness(EmulatedHarness):
    name = "bitfinex"
    lacks = {}  # every capability: the core's faults reach channel-0 order requests too
    place_route = "POST /v2/auth/w/order/submit"
    symbol = SPOT + ".BITFINEX"
    derivative = PERP + ".BITFINEX"
    key, secret = "conf-bfx-key", "conf-bfx-secret"
    emulator_cls, config_cls, ws_config = BitfinexEmulator, BitfinexConfig, BFX_WS_CONFIG
    config = {
        "balances": {"USD": 100_000.0, "BTC": 2.0, "USTF0": 100_000.0},
        "symbols": [SPOT, PERP],
    }

    def make_emulator(self) -> VenueEmulator:
        emu = super().make_emulator()
        assert isinstance(emu, BitfinexEmulator)
        proto, wire = emu.ws_protocol, self.wire
        inner = proto.on_text

        def tap(conn: Any, text: str) -> None:  # channel-0 requests, as received
            if text.startswith("[0,"):
                wire.append(("WS", "0", text))
            inner(conn, text)

        proto.on_text = tap  # type: ignore[method-assign]
        return emu

    def gateway_options(self, url: str) -> dict[str, Any]:
        return {
            "rest": BitfinexRestClient(url, self.key, self.secret, retry=FAST_REST),
            "dms": None,
            "op_timeout": 1.0,  # a lost channel-0 answer becomes "unknown outcome" within a check
        }

    @property
    def order_qty(self) -> float:
        return 0.01

    def venue_client_id(self, client_order_id: str) -> str:
        """The emulator keys orders by ``cid:cid_date`` (Bitfinex's client key)."""
        return f"{bitfinex_cid(client_order_id)}:{datetime.now(UTC):%Y-%m-%d}"

    async def venue_book(self, symbol: str, depth: int) -> BookLevels:
        rows = await get_json(f"{self.url}/v2/book/{self.native(symbol)}/P0?len=25")
        bids = [(float(r[0]), float(r[2])) for r in rows if r[2] > 0][:depth]
        asks = [(float(r[0]), -float(r[2])) for r in rows if r[2] < 0][:depth]
        return BookLevels(0, symbol, bids, asks, True)

    def parse_wire(self, method: str, path: str, body: str) -> list[WireOrder]:
        """REST ``w/order/submit`` and channel-0 ``on`` / ``ou`` (numbers as their text)."""
        if method == "WS":
            req = json.loads(body, parse_float=str, parse_int=str)
            if len(req) < 4 or req[1] not in ("on", "ou") or not isinstance(req[3], dict):
                return []
            d = req[3]
            price, size = d.get("price"), _size(d.get("amount"))
            if req[1] == "on":
                vcid = f"{d.get('cid')}:{datetime.now(UTC):%Y-%m-%d}"
                return [WireOrder("place", vcid, price, size)]
            info = self.account().find(order_id=str(d.get("id")))
            return [WireOrder("amend", info.client_id if info else "", price, size)]
        if method != "POST" or path != self.place_route.split(" ")[1]:
            return []
        d = json.loads(body, parse_float=str, parse_int=str)
        return [WireOrder("place", str(d.get("cid")), d.get("price"), _size(d.get("amount")))]

    def make_placement_in_doubt(self) -> None:
        # the ``on``'s notification, then every answer of the lifecycle's first look-up (the
        # transport's attempts at r/orders by cid)
        self.running.faults.lose_replies(1 + self.rest_attempts, "5xx")


def _size(amount: object) -> str | None:
    return amount.lstrip("-") if isinstance(amount, str) else None


HARNESS = BitfinexHarness
