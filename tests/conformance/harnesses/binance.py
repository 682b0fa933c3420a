"""BINANCE: the Binance spot gateway (``venues/binance``) against the in-process Binance emulator
over loopback REST + WebSockets, with short retry/backoff policies so fault checks finish in
about a second.

Two choices, both about what the emulator core's fault switches can reach:

* **orders over REST.** The gateway places and cancels over the WS API session by default;
  the core's request faults (429 storm, lost replies, the wire tap) act on REST requests. The
  harness builds the gateway with ``use_ws_api=False`` -- the connector's documented REST
  fallback, the same hooks and lifecycle -- so every fault and wire check exercises it. The WS
  API session still carries the account events (``executionReport``,
  ``outboundAccountPosition``), so the private-drop checks cut and recover the real one.
* **book faults.** Binance's diff-depth stream has no checksum: the only damage a client can
  notice is a break of the ``U``/``u`` chain. Both of the suite's book faults are therefore a
  lost diff (the core's ``skip_seq``), and each must still end in a resync that equals the
  venue's REST book.

Derivatives: the emulator serves the USD-M perpetual ``BTCUSDT`` under ``/fapi`` (its own
market and wallet), the gateway trades it as ``BTCUSDT-PERP.BINANCE``. The venue truth the
shared base reads from one account comes from both here (:class:`_Accounts`): order ids of the
two never collide (futures ids start at 8e9).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from tradeloop.emulator.account import OrderInfo, SimAccount
from tradeloop.emulator.binance.server import BinanceConfig, BinanceEmulator
from tradeloop.model import BookLevels
from tradeloop.venues.binance.auth import Credentials
from tradeloop.venues.binance.orders import binance_client_id
from tradeloop.venues.binance.rest import BinanceRestClient
from tradeloop.venues.binance.ws import WS_CONFIG

from ..harness import BookFault, Can, WireOrder
from .emulated import FAST_REST, EmulatedHarness, Handler, get_json, levels

SPOT = "BTCUSDT"


class BinanceHarness(EmulatedHarness):
    name = "binance"
    lacks = {
        Can.AMEND: "Binance spot cannot amend price or size in place (order/cancelReplace "
        "is a new order); the gateway refuses spot amends (perpetuals amend in place)",
    }
    place_route = "POST /api/v3/order"
    symbol = SPOT + ".BINANCE"
    derivative = SPOT + "-PERP.BINANCE"
    key, secret = "conf-binance-key", "conf-binance-secret"
    emulator_cls, config_cls, ws_config = BinanceEmulator, BinanceConfig, WS_CONFIG
    config = {
        "balances": {"USDT": 100_000.0, "BTC": 2.0},
        "symbols": [SPOT],
        "futures_symbols": [SPOT],
    }
    _which: SimAccount | None = None

    def gateway_options(self, url: str) -> dict[str, Any]:
        # the factory's own client, only with short REST retries; orders over REST, where the
        # core's faults act (module docstring)
        rest = BinanceRestClient(url, Credentials(self.key, self.secret), retry=FAST_REST)
        return {"rest": rest, "use_ws_api": False}

    @property
    def order_qty(self) -> float:
        return 0.01

    def venue_client_id(self, client_order_id: str) -> str:
        return binance_client_id(client_order_id)

    # -- the two wallets (module docstring) ---------------------------------------------------
    def _emu(self) -> BinanceEmulator:
        emu = self.running
        assert isinstance(emu, BinanceEmulator)
        return emu

    def _both(self) -> tuple[SimAccount, ...]:
        emu = self._emu()
        spot = emu.trading.account
        return (spot, emu.futures.trading.account) if emu.futures is not None else (spot,)

    def account(self) -> SimAccount:
        if self._which is not None:
            return self._which
        return _Accounts(self._both())  # type: ignore[return-value]

    def trade_through(self, client_order_id: str, qty: float) -> None:
        vcid = self.venue_client_id(client_order_id)
        held = [a for a in self._both() if any(i.client_id == vcid for i in a.infos.values())]
        self._which = held[-1] if held else None
        try:
            super().trade_through(client_order_id, qty)
        finally:
            self._which = None

    def top(self, symbol: str | None = None) -> tuple[float, float]:
        emu = self._emu()
        if symbol != self.derivative or emu.futures is None:
            return super().top(symbol)
        m = emu.futures.driver.markets[self.native(symbol).removesuffix("-PERP")]
        return float(m.px(m.best_bid())), float(m.px(m.best_ask()))

    def corrupt_book(self, kind: BookFault) -> None:
        # no checksum on Binance: both faults are a lost diff (module docstring)
        self.running.faults.skip_seqs(1)

    async def venue_book(self, symbol: str, depth: int) -> BookLevels:
        params = {"symbol": self.native(symbol), "limit": str(max(depth, 5))}
        book = await get_json(f"{self.url}/api/v3/depth", params)
        return BookLevels(0, symbol, levels(book["bids"], depth), levels(book["asks"], depth), True)

    def _tap(self) -> Any:
        # Binance takes a signed request's parameters in the query string as well as the form
        # body (the connector sends them all in the query): keep both, as received.
        wire = self.wire

        @web.middleware
        async def tap(request: web.Request, handler: Handler) -> web.StreamResponse:
            try:
                return await handler(request)
            finally:
                raw = (await request.read()).decode("utf-8", "replace")
                text = "&".join(p for p in (request.rel_url.raw_query_string, raw) if p)
                if text:
                    wire.append((request.method, request.path, text))

        return tap

    def parse_wire(self, method: str, path: str, body: str) -> list[WireOrder]:
        # ``body``: query string and form body joined (see ``_tap``), numbers as sent
        if method != "POST" or path not in ("/api/v3/order", "/fapi/v1/order"):
            return []
        d = dict(parse_qsl(body, keep_blank_values=True))
        return [WireOrder("place", d.get("newClientOrderId", ""), d.get("price"),
                          d.get("quantity"))]  # fmt: skip


class _Accounts:
    """The spot and futures accounts read as one (orders, records, instruments)."""

    def __init__(self, accounts: tuple[SimAccount, ...]) -> None:
        self.accounts = accounts
        self.infos: dict[str, OrderInfo] = {}
        self.instruments: dict[str, Any] = {}
        for a in accounts:
            self.infos.update(a.infos)
            self.instruments.update(a.instruments)

    def record(self, info: OrderInfo) -> Any:
        for a in self.accounts:
            if a.infos.get(info.order_id) is info:
                return a.record(info)
        return None


HARNESS = BinanceHarness
