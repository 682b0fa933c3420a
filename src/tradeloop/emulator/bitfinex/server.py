"""The Bitfinex emulator: REST ``/v2`` and WebSocket ``/ws/2`` on one port, built only from the
emulator core (:mod:`tradeloop.emulator.venue`, ``rest``, ``ws``, ``hub``) and the shared
simulator.

Besides the market timer it runs two loops: heartbeats (``[chanId, "hb"]`` on channels silent
for ``heartbeat_s``) and perpetual funding every ``funding_interval_s`` (:mod:`.funding`;
:meth:`settle_funding` settles now). Bitfinex's own ``info`` codes are switches here:
:meth:`restart_notice` (20051: the server goes away, clients reconnect),
:meth:`maintenance_start` (20060: platform status 0, order writes refused) and
:meth:`maintenance_end` (20061).

In process::

    emu = BitfinexEmulator(BitfinexConfig(api_key="K", api_secret="S",
                                          balances={"USD": 100000.0, "BTC": 2.0}))
    base_url = await emu.start("127.0.0.1", 0)   # REST base_url + "/v2", WS .../ws/2
    await emu.stop()
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tradeloop.emulator import ws
from tradeloop.emulator.bitfinex import markets as mk
from tradeloop.emulator.bitfinex import rest
from tradeloop.emulator.bitfinex.funding import BitfinexFunding, LedgerEntry
from tradeloop.emulator.bitfinex.orders import BitfinexTrading
from tradeloop.emulator.bitfinex.ws import BitfinexHub, BitfinexWs
from tradeloop.emulator.feed import now_ms
from tradeloop.emulator.frontend import FrontEnd, common_config
from tradeloop.emulator.funding_clock import next_funding_ms
from tradeloop.emulator.market import SymbolMarket
from tradeloop.emulator.venue import VenueConfig, VenueEmulator

log = logging.getLogger(__name__)

INFO_TEXT = {
    20051: "Stop/Restart Websocket Server (please reconnect)",
    20060: "Entering in Maintenance mode. Please pause any activity and resume after receiving "
    "the info message 20061 (it should take 120 seconds at most).",
    20061: "Maintenance ended. You can resume normal activity. It is advised to "
    "unsubscribe/subscribe again all channels.",
}


@dataclass
class BitfinexConfig(VenueConfig):
    """The shared settings with Bitfinex's defaults (spot balances sit in the ``exchange``
    wallet; ``USTF0`` -- the perpetuals' collateral -- in the ``margin`` wallet)."""

    balances: dict[str, float] = field(
        default_factory=lambda: {"USD": 100_000.0, "BTC": 2.0, "USTF0": 100_000.0}
    )
    symbols: list[str] = field(default_factory=lambda: list(mk.DEFAULT_SYMBOLS))
    heartbeat_s: float = 15.0
    #: the perpetuals' funding rate per period (``CURRENT_FUNDING``; > 0: longs pay shorts)
    funding_rate: float = 0.0001
    #: Bitfinex settles every 8 h (00, 08, 16 UTC); 0 = only when ``settle_funding`` is called
    funding_interval_s: float = 8 * 3600.0


class NonceGate:
    """Per-key strictly increasing nonces, shared by REST and WS auth (one key here)."""

    def __init__(self) -> None:
        self.last = 0

    def take(self, nonce: int) -> bool:
        if nonce <= self.last or nonce > 2**63:
            return False
        self.last = nonce
        return True


class BitfinexEmulator(VenueEmulator):
    venue = "bitfinex"
    config: BitfinexConfig
    hub: BitfinexHub

    def __init__(self, config: BitfinexConfig | None = None) -> None:
        config = config or BitfinexConfig()
        instruments = {i.symbol: i for i in map(mk.instrument, config.symbols)}
        super().__init__(config, instruments)
        self.server_id = secrets.token_hex(4) + "-emulator"
        self.maintenance = False
        self.nonces = NonceGate()
        self.clock = time.monotonic
        self.hub = BitfinexHub(self)
        self.driver.listeners.append(self.hub.on_step)
        self.trading = BitfinexTrading(self)
        self.funding = BitfinexFunding(self)
        if self.funding.interval_ms:
            for m in self.driver.markets.values():
                m.funding_interval_ms = self.funding.interval_ms  # what status/deriv announces
        self.ws_protocol = BitfinexWs(self)  # the /ws/2 protocol (tests may tap its on_text)
        self._raw_bases = {s: 7_000_000_000 * (i + 1) for i, s in enumerate(instruments)}

    def raw_base(self, sym: str) -> int:
        """Synthetic R0 order ids of ``sym``: base + price ticks (one resting order a level)."""
        return self._raw_bases.get(sym, 0)

    def setup_routes(self, app: web.Application) -> None:
        for method, path, handler in rest.PUBLIC:
            app.router.add_route(method, path, rest.route(self, handler, False))
        for method, path, handler in rest.PRIVATE:
            app.router.add_route(method, path, rest.route(self, handler, True))
        ws_handler = ws.handler(self, self.hub, self.ws_protocol)
        app.router.add_get("/ws/2", ws_handler)
        app.router.add_route("*", "/v2/{tail:.*}", rest.not_found)

    async def on_start(self) -> None:
        await super().on_start()
        self.spawn(self._heartbeats(), "bitfinex-hb")
        if self.funding.interval_ms:
            self.spawn(self.funding.run(), "bitfinex-funding")

    def settle_funding(self) -> list[LedgerEntry]:
        """Settle funding on every open perpetual position now (what the 8-hourly timer
        does); returns the ledger entries written."""
        return self.funding.settle()

    async def _heartbeats(self) -> None:
        hb = self.config.heartbeat_s
        while True:
            await asyncio.sleep(min(1.0, hb / 3))
            self.hub.heartbeat(hb)

    # -- Bitfinex info events ----------------------------------------------------------------
    def info(self, code: int) -> None:
        self.hub.info_all({"event": "info", "code": code, "msg": INFO_TEXT[code]})

    def restart_notice(self) -> None:
        """20051, then every WebSocket is closed (clients must reconnect)."""
        self.info(20051)
        for conn in list(self.hub.conns):
            self.spawn(conn.finish(1012, b"restart"), "bitfinex-restart")

    def maintenance_start(self) -> None:
        self.maintenance = True
        self.info(20060)

    def maintenance_end(self) -> None:
        self.maintenance = False
        self.info(20061)

    # -- shapes needing the whole venue ------------------------------------------------------
    def deriv_status(self, m: SymbolMarket) -> list[Any]:
        """A ``status/deriv`` row: ``[KEY, MTS, _, DERIV_PRICE, SPOT_PRICE, _, INSURANCE,
        _, NEXT_FUNDING_EVT_MTS, NEXT_FUNDING_ACCRUED, NEXT_FUNDING_STEP, _, CURRENT_FUNDING,
        _, _, MARK_PRICE, _, _, OPEN_INTEREST, _, _, _, CLAMP_MIN, CLAMP_MAX]``."""
        t = now_ms()
        period = m.funding_interval_ms
        mid = mk.fnum(m.mid(), 2)
        rate = mk.fnum(self.funding.rate(m.instrument.symbol))
        return [m.instrument.symbol, t, None, mid, mid, None, 1_000_000, None,
                next_funding_ms(t, period), 0, 0, None, rate, None, None, mid, None, None,
                0, None, None, None, 0.001, 0.0075]  # fmt: skip

    def conf_value(self, key: str) -> Any:
        """One ``/v2/conf`` answer (unknown keys: an empty list, as Bitfinex answers)."""
        spot = [s for s, i in self.instruments.items() if not i.is_derivative]
        perps = [s for s, i in self.instruments.items() if i.is_derivative]

        def info(sym: str) -> list[Any]:
            inst = self.instruments[sym]
            return [sym[1:], [None, None, None, f"{inst.min_size:.8f}".rstrip("0"), "2000.0",
                              None, None, None, 0.2, 0.1]]  # fmt: skip

        ccys = sorted(self.currencies())
        table: dict[str, Any] = {
            "pub:list:pair:exchange": [s[1:] for s in spot],
            "pub:list:pair:margin": [],
            "pub:list:pair:futures": [s[1:] for s in perps],
            "pub:list:pair:securities": [],
            "pub:info:pair": [info(s) for s in spot],
            "pub:info:pair:futures": [info(s) for s in perps],
            "pub:list:currency": ccys,
            "pub:list:currency:margin": [],
            "pub:map:currency:sym": [],
            "pub:map:currency:label": [[c, c] for c in ccys],
            "pub:map:currency:unit": [],
            "pub:map:currency:undl": [],
            "pub:map:currency:pool": [],
            "pub:map:currency:explorer": [],
            "pub:map:currency:tx:fee": [],
            "pub:map:tx:method": [],
            "pub:info:tx:status": [],
        }
        return table.get(key, [])


def build(common: dict[str, Any]) -> BitfinexEmulator:
    """The CLI's constructor (``tradeloop emulator bitfinex``)."""
    return BitfinexEmulator(BitfinexConfig(**common))


#: ``tradeloop emulator bitfinex`` (found through the venue registry)
FRONT_END = FrontEnd(
    lambda args: build(common_config(args)),
    "tBTCUSD,tETHUSD,tBTCF0:USTF0",
    ("USD=100000", "BTC=2", "USTF0=100000"),
    "/ws/2",
)
