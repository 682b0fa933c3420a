"""BitMEX: the BitMEX gateway (``venues/bitmex``) against the in-process BitMEX emulator over
loopback REST + WebSocket, with short retry/backoff policies. BitMEX lists no spot market
here: ``symbol`` is the linear XBTUSDT perpetual and ``derivative`` the inverse XBTUSD.
BitMEX's book stream has no checksum or sequence numbers, so its book faults are the two
things a BitMEX client can notice: an update naming a level id it never saw (the emulator's
``skip_seq`` loses one L2 message and makes the loss show that way) and the socket dropped
under the book (a reconnect and a fresh ``partial``)."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from tradeloop.emulator.bitmex.server import BitmexConfig, BitmexEmulator
from tradeloop.model import BookLevels
from tradeloop.venues.bitmex.orders import bitmex_client_id
from tradeloop.venues.bitmex.rest import BitmexRestClient
from tradeloop.venues.bitmex.ws import BITMEX_WS_CONFIG

from ..harness import BookFault, WireOrder
from .emulated import FAST_REST, EmulatedHarness, get_json

LINEAR, INVERSE = "XBTUSDT", "XBTUSD"


class BitmexHarness(EmulatedHarness):
    name = "bitmex"
    book_faults: ClassVar[tuple[BookFault, ...]] = ("unknown_id", "drop")
    place_route = "POST /api/v1/order"
    symbol = LINEAR + ".BITMEX"
    derivative = INVERSE + ".BITMEX"
    key, secret = "conf-bitmex-key", "conf-bitmex-secret"
    emulator_cls, config_cls, ws_config = BitmexEmulator, BitmexConfig, BITMEX_WS_CONFIG
    config = {
        "balances": {"XBt": 100_000_000.0, "USDt": 100_000_000_000.0},
        "symbols": [LINEAR, INVERSE],
        "rate_limit": 100_000,
    }

    def gateway_options(self, url: str) -> dict[str, Any]:
        return {"rest": BitmexRestClient(url, self.key, self.secret, retry=FAST_REST)}

    @property
    def order_qty(self) -> float:
        return 3000.0  # three lots of XBTUSDT (0.003 BTC)

    def venue_client_id(self, client_order_id: str) -> str:
        return bitmex_client_id(client_order_id)

    async def venue_book(self, symbol: str, depth: int) -> BookLevels:
        url = f"{self.url}/api/v1/orderBook/L2?symbol={self.native(symbol)}&depth={depth}"
        rows = await get_json(url)
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
