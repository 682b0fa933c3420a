"""The FTX emulator: FTX's REST (``/api``) and WebSocket (``/ws/``) on one port, built only
from the emulator core (:mod:`tradeloop.emulator.venue`, ``rest``, ``ws``, ``hub``) and the
shared simulator. Perpetual funding settles hourly (:mod:`.funding`; :meth:`settle_funding`
settles now).

In process::

    emu = FtxEmulator(FtxConfig(api_key="K", api_secret="S", balances={"USD": 100000.0}))
    base_url = await emu.start("127.0.0.1", 0)   # REST base_url + "/api", WS .../ws/
    await emu.stop()
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from tradeloop.emulator import ws
from tradeloop.emulator.frontend import FrontEnd, common_config
from tradeloop.emulator.ftx import rest
from tradeloop.emulator.ftx.funding import ROUTES as FUNDING_ROUTES
from tradeloop.emulator.ftx.funding import FtxFunding, Payment
from tradeloop.emulator.ftx.markets import DEFAULT_SYMBOLS, instrument
from tradeloop.emulator.ftx.orders import PRIVATE, FtxTrading
from tradeloop.emulator.ftx.ws import FtxHub, FtxWs
from tradeloop.emulator.venue import VenueConfig, VenueEmulator


@dataclass
class FtxConfig(VenueConfig):
    """The shared settings with FTX's defaults; ``subaccounts`` are the names accepted in
    ``FTX-SUBACCOUNT`` and WS login (all of them trade the one simulated account)."""

    balances: dict[str, float] = field(default_factory=lambda: {"USD": 100_000.0})
    symbols: list[str] = field(default_factory=lambda: list(DEFAULT_SYMBOLS))
    subaccounts: list[str] = field(default_factory=list)
    #: the perpetuals' hourly funding rate (> 0: longs pay shorts)
    funding_rate: float = 0.00001
    #: FTX settled every hour, on the hour; 0 = only when ``settle_funding`` is called
    funding_interval_s: float = 3600.0


class FtxEmulator(VenueEmulator):
    venue = "ftx"
    config: FtxConfig
    hub: FtxHub
    trading: FtxTrading
    funding: FtxFunding

    def __init__(self, config: FtxConfig | None = None) -> None:
        config = config or FtxConfig()
        instruments = {i.symbol: i for i in map(instrument, config.symbols)}
        super().__init__(config, instruments)
        self.hub = FtxHub(self)
        self.driver.listeners.append(self.hub.on_step)
        self.trading = FtxTrading(self)
        self.funding = FtxFunding(self)

    async def on_start(self) -> None:
        await super().on_start()
        if self.funding.interval_ms:
            self.spawn(self.funding.run(), "ftx-funding")

    def settle_funding(self, at_ms: int | None = None) -> list[Payment]:
        """Settle funding on every open perpetual position now (what the hourly timer does);
        returns the payments recorded."""
        return self.funding.settle(at_ms)

    def setup_routes(self, app: web.Application) -> None:
        for method, path, handler, private in rest.PUBLIC + PRIVATE + FUNDING_ROUTES:
            app.router.add_route(method, path, rest.route(self, handler, private))
        ws_handler = ws.handler(self, self.hub, FtxWs(self))
        app.router.add_get("/ws/", ws_handler)
        app.router.add_get("/ws", ws_handler)
        app.router.add_route("*", "/api/{tail:.*}", rest.not_found)


#: ``tradeloop emulator ftx`` (found through the venue registry)
FRONT_END = FrontEnd(
    lambda args: FtxEmulator(FtxConfig(**common_config(args))),
    "BTC-PERP,ETH-PERP,BTC/USD",
    ("USD=100000",),
    "/ws/",
)
