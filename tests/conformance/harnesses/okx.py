"""OKX: the OKX gateway (``venues/okx``) against the in-process OKX v5 emulator over loopback
REST + WebSocket, with short retry/backoff policies so fault checks finish in about a second."""

from __future__ import annotations

import json
from typing import Any

from tradeloop.emulator.okx.server import EmulatorConfig, OkxEmulator
from tradeloop.model import BookLevels
from tradeloop.venues.okx.orders import okx_client_id
from tradeloop.venues.okx.rest import OkxRestClient
from tradeloop.venues.okx.ws import OKX_WS_CONFIG

from ..harness import WireOrder
from .emulated import FAST_REST, EmulatedHarness, get_json, levels

PASSPHRASE = "conf-okx-pass"
NATIVE_SPOT, NATIVE_SWAP = "BTC-USDT", "BTC-USDT-SWAP"


class OkxHarness(EmulatedHarness):
    name = "okx"
    lacks = {}  # every capability: sockets, faults, amend, swaps, a second session
    place_route = "POST /api/v5/trade/order"
    symbol = NATIVE_SPOT + ".OKX"
    derivative = NATIVE_SWAP + ".OKX"
    key, secret = "conf-okx-key", "conf-okx-secret"
    emulator_cls, config_cls, ws_config = OkxEmulator, EmulatorConfig, OKX_WS_CONFIG
    config = {
        "passphrase": PASSPHRASE,
        "balances": {"USDT": 100_000.0, "BTC": 2.0},
        "symbols": [NATIVE_SPOT, NATIVE_SWAP],
    }

    def credentials(self) -> dict[str, str]:
        return {**super().credentials(), "passphrase": PASSPHRASE}

    def gateway_options(self, url: str) -> dict[str, Any]:
        # the factory's own client, only with short REST retries
        rest = OkxRestClient(url, self.key, self.secret, PASSPHRASE, retry=FAST_REST)
        return {"rest": rest, "inst_types": ("SPOT", "SWAP")}

    @property
    def order_qty(self) -> float:
        return 0.01

    def venue_client_id(self, client_order_id: str) -> str:
        return okx_client_id(client_order_id)

    async def venue_book(self, symbol: str, depth: int) -> BookLevels:
        params = {"instId": self.native(symbol), "sz": str(depth)}
        (book,) = (await get_json(f"{self.url}/api/v5/market/books", params))["data"]
        return BookLevels(0, symbol, levels(book["bids"], depth), levels(book["asks"], depth), True)

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
