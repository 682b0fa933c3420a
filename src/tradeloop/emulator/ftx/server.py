"""The FTX emulator: FTX's REST (``/api``) and WebSocket (``/ws/``) on one port, built only
from the emulator core (:mod:`tradeloop.emulator.venue`, ``rest``, ``ws``, ``hub``) and the
shared simulator.

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


class FtxEmulator(VenueEmulator):
    venue = "ftx"
    config: FtxConfig
    hub: FtxHub
    trading: FtxTrading

    def __init__(self, config: FtxConfig | None = None) -> None:
        config = config or FtxConfig()
        instruments = {i.symbol: i for i in map(instrument, config.symbols)}
        super().__init__(config, instruments)
        self.hub = FtxHub(self)
        self.driver.listeners.append(self.hub.on_step)
        self.trading = FtxTrading(self)

    def setup_routes(self, app: web.Application) -> None:
        for method, path, handler, private in rest.PUBLIC + PRIVATE:
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
