"""FTX: the FTX gateway (``venues/ftx``) against the in-process FTX emulator over loopback
REST + WebSocket, with short retry/backoff policies so fault checks finish in about a second.
FTX cannot amend in place (its modify re-places the order under a new id), so the amend check
wants the clean refusal."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from tradeloop.emulator.ftx.server import FtxConfig, FtxEmulator
from tradeloop.model import BookLevels
from tradeloop.venues.ftx.orders import ftx_client_id
from tradeloop.venues.ftx.rest import FtxRestClient
from tradeloop.venues.ftx.ws import FTX_WS_CONFIG

from ..harness import Can, WireOrder
from .emulated import FAST_REST, EmulatedHarness, get_json, levels

SPOT, PERP = "BTC/USD", "BTC-PERP"


class FtxHarness(EmulatedHarness):
    name = "ftx"
    lacks = {
        Can.AMEND: "FTX's modify cancels and re-places the order under a new order id; the "
        "gateway refuses amends (cancel + place instead)",
    }
    place_route = "POST /api/orders"
    symbol = SPOT + ".FTX"
    derivative = PERP + ".FTX"
    key, secret = "conf-ftx-key", "conf-ftx-secret"
    emulator_cls, config_cls, ws_config = FtxEmulator, FtxConfig, FTX_WS_CONFIG
    config = {"balances": {"USD": 100_000.0, "BTC": 2.0}, "symbols": [SPOT, PERP]}

    def gateway_options(self, url: str) -> dict[str, Any]:
        # the factory's own client, only with short REST retries
        return {"rest": FtxRestClient(url, self.key, self.secret, retry=FAST_REST)}

    @property
    def order_qty(self) -> float:
        return 0.01

    def venue_client_id(self, client_order_id: str) -> str:
        return ftx_client_id(client_order_id)

    async def venue_book(self, symbol: str, depth: int) -> BookLevels:
        market = quote(self.native(symbol), safe="")
        url = f"{self.url}/api/markets/{market}/orderbook?depth={depth}"
        book = (await get_json(url))["result"]
        return BookLevels(0, symbol, levels(book["bids"], depth), levels(book["asks"], depth), True)

    def parse_wire(self, method: str, path: str, body: str) -> list[WireOrder]:
        if method != "POST" or path != "/api/orders":
            return []
        # numbers kept as their literal text, whether sent as JSON strings or numbers
        d = json.loads(body, parse_float=str, parse_int=str)
        price = d.get("price")
        return [WireOrder("place", str(d.get("clientId")), price, d.get("size"))]


HARNESS = FtxHarness
