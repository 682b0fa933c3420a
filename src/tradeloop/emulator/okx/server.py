"""The OKX v5 emulator: one aiohttp server speaking OKX's REST and WebSocket protocol over a
seeded synthetic market, with user orders matched by the shared simulator.

In-process use (what other test suites rely on)::

    emu = OkxEmulator(EmulatorConfig(api_key="K", api_secret="S", passphrase="P",
                                     balances={"USDT": 100000.0}, symbols=["BTC-USDT"]))
    base_url = await emu.start("127.0.0.1", 0)   # "http://127.0.0.1:PORT"
    emu.faults.fail_next_429(2)                     # see tradeloop.emulator.faults
    await emu.stop()

WebSockets live on the same port at ``/ws/v5/public``, ``/ws/v5/private`` and
``/ws/v5/business``; faults are also reachable at ``POST /__admin/faults`` with
``emu.admin_headers()`` (``Authorization: Bearer <emu.admin_token>``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tradeloop.emulator.frontend import FrontEnd, common_config
from tradeloop.emulator.okx import rest_public, rest_trade, ws
from tradeloop.emulator.okx.auth import Credentials
from tradeloop.emulator.okx.hub import Hub
from tradeloop.emulator.okx.instruments import inst_id_code, okx_rows, to_instrument
from tradeloop.emulator.okx.rest import Handler, not_found, route
from tradeloop.emulator.replay import Record
from tradeloop.emulator.venue import VenueConfig, VenueEmulator

log = logging.getLogger(__name__)

DEFAULT_SYMBOLS = ("BTC-USDT", "ETH-USDT", "BTC-USDT-SWAP")


@dataclass
class EmulatorConfig(VenueConfig):
    """Everything the OKX emulator needs; the CLI builds one from flags. The shared settings
    (keys, balances, symbols, market pace, faults, admin token) are :class:`VenueConfig`'s.

    ``funding_interval_s`` is how often funding is settled on swap positions (OKX: 8 h).
    ``instruments_file`` points at a cryptofeed ``OKX.0`` capture for real tick/lot sizes
    (default: looked up beside the repo, else built-in defaults).
    ``replay_file``: an OKX WS capture (cryptofeed format); symbols found in it replay their
    recorded books and trades (looping) instead of the synthetic walk.
    ``ws_idle_timeout_s``: OKX closes silent connections at 30 s (code 4004).
    ``inst_id_code`` adds OKX's numeric ``instIdCode`` to instruments (ccxt then sends it
    instead of ``instId`` in WS order entry); off by default to keep clients on ``instId``.
    ``algo_sockets``: where the ``orders-algo`` channel may be subscribed. OKX serves it on
    ``/business``; ``/private`` is kept for older clients. ``("private",)`` makes a
    ``/business`` subscribe fail with 60018, as a venue without the move would.
    """

    balances: dict[str, float] = field(default_factory=lambda: {"USDT": 100_000.0})
    symbols: list[str] = field(default_factory=lambda: list(DEFAULT_SYMBOLS))
    passphrase: str = field(default="emulator-passphrase", repr=False)
    instruments_file: str | None = None
    funding_rate: float = 0.0001
    funding_interval_s: float = 8 * 3600.0
    inst_id_code: bool = False
    private_push_interval_s: float = 5.0
    replay_file: str | None = None
    algo_sockets: tuple[str, ...] = ("business", "private")

    def secrets(self) -> list[str]:
        return [*super().secrets(), self.passphrase]


class OkxEmulator(VenueEmulator):
    """OKX v5 over REST + WS, backed by the shared market driver and simulated account."""

    venue = "okx"
    config: EmulatorConfig
    hub: Hub

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        config = config or EmulatorConfig()
        self.creds = Credentials(config.api_key, config.api_secret, config.passphrase)
        self.rows = okx_rows(config.symbols, config.instruments_file, config.inst_id_code)
        #: instIdCode -> instId, accepted in order args whether or not instruments show codes
        self.codes: dict[str, str] = {
            str(r.get("instIdCode") or inst_id_code(i)): i for i, r in self.rows.items()
        }
        instruments = {k: to_instrument(r) for k, r in self.rows.items()}
        replays: dict[str, list[Record]] | None = None
        if config.replay_file:
            from tradeloop.emulator.okx.replay import load_capture

            replays = load_capture(config.replay_file, set(instruments))
            log.info("replaying %s from %s", sorted(replays), config.replay_file)
        super().__init__(config, instruments, replays)
        self.hub = Hub(self.faults, config.seed, self.funding_rate)
        self.driver.listeners.append(self.hub.on_step)
        self.trading: Any = None
        self._init_trading()

    def _init_trading(self) -> None:
        """Wire the simulated account (needs tradeloop.sim.exchange)."""
        try:
            from tradeloop.emulator.okx.trading import OkxTrading
        except ImportError as exc:  # the simulator is not available in this build
            log.warning("OKX emulator: trading disabled (%s)", exc)
            return
        self.trading = OkxTrading(self)

    # -- helpers used by routes and the hub ------------------------------------------------
    def funding_rate(self, symbol: str) -> float:
        return self.config.funding_rate

    def position_rows(self, arg: dict[str, str]) -> list[Any]:
        return self.trading.position_rows(arg) if self.trading else []

    def account_rows(self, ccy: str) -> list[Any]:
        return self.trading.account_rows(ccy) if self.trading else []

    def settle_funding(self) -> None:
        """Settle funding on every swap position now, as the timer does on each funding
        boundary (tests call it instead of waiting for one)."""
        if self.trading is not None:
            self.trading.settle_funding()

    # -- server ----------------------------------------------------------------------------
    def setup_routes(self, app: web.Application) -> None:
        table: list[tuple[str, str, Handler, bool]] = list(rest_public.ROUTES)
        if self.trading is not None:
            table += rest_trade.ROUTES
        for method, path, handler, private in table:
            app.router.add_route(method, path, route(self, handler, private))
        for kind in ("public", "private", "business"):
            app.router.add_get(f"/ws/v5/{kind}", ws.handler(self, kind))
        app.router.add_route("*", "/api/v5/{tail:.*}", not_found)

    async def on_start(self) -> None:
        await super().on_start()
        if self.trading is not None:
            self.trading.start()

    async def on_stop(self) -> None:
        if self.trading is not None:
            await self.trading.stop()
        await super().on_stop()


def _from_cli(args: Any) -> OkxEmulator:
    return OkxEmulator(
        EmulatorConfig(
            **common_config(args),
            passphrase=args.passphrase or "",
            instruments_file=args.instruments_file,
            inst_id_code=args.inst_id_code,
            replay_file=args.replay,
            funding_rate=args.funding_rate,
            funding_interval_s=args.funding_interval_s,
        )
    )


#: ``tradeloop emulator okx`` (found through the venue registry)
FRONT_END = FrontEnd(
    _from_cli,
    "BTC-USDT,ETH-USDT,BTC-USDT-SWAP",
    ("USDT=100000",),
    "/ws/v5/{public,private,business}",
)
