"""What every venue emulator is made of, so a front-end is only its wire format.

:class:`VenueEmulator` owns the parts no venue changes: the secrets (registered with the log
redactor before anything can log), the fault switches and admin endpoint (from
:class:`~tradeloop.emulator.base.EmulatorServer`), the seeded synthetic market and its timer,
the simulated account, the idle-connection sweeper and the orderly shutdown. A front-end
subclass (``okx/``, ``ftx/``) builds its instruments, creates its :class:`~.hub.Hub` as
``self.hub`` and registers its routes in ``setup_routes`` -- REST through
:func:`tradeloop.emulator.rest.guard`, WebSocket through :func:`tradeloop.emulator.ws.handler`
-- and maps the simulator's reports and typed refusals onto its venue's messages.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from tradeloop.core.log import register_secret
from tradeloop.emulator.account import SimAccount
from tradeloop.emulator.base import EmulatorServer
from tradeloop.emulator.faults import Faults, PeriodicFaults
from tradeloop.emulator.feed import MarketDriver
from tradeloop.emulator.hub import Hub
from tradeloop.emulator.market import MarketParams
from tradeloop.emulator.replay import Record
from tradeloop.model.instrument import Instrument

log = logging.getLogger(__name__)


@dataclass
class VenueConfig:
    """The settings every front-end shares (venue configs subclass it and add their own).

    ``tick_interval_ms`` paces the synthetic market (0 = frozen: only ``step()`` moves it).
    ``ws_idle_timeout_s`` closes WS connections silent both ways for that long (0 = never).
    ``admin_token`` guards ``/__admin/faults``; None = ``$TRADELOOP_EMULATOR_ADMIN_TOKEN`` or a
    generated one (read it back as ``emu.admin_token``).
    """

    api_key: str = "emulator-key"
    api_secret: str = field(default="emulator-secret", repr=False)
    balances: dict[str, float] = field(default_factory=dict)
    symbols: list[str] = field(default_factory=list)
    seed: int = 1
    latency_ms: float = 0.0
    tick_interval_ms: float = 150.0
    book_levels: int = 60
    trade_probability: float = 0.5
    start_prices: dict[str, float] = field(default_factory=dict)
    leverage: float = 3.0
    ws_idle_timeout_s: float = 0.0
    periodic_faults: PeriodicFaults = field(default_factory=PeriodicFaults)
    admin_token: str | None = field(default=None, repr=False)

    def secrets(self) -> list[str]:
        """Values the log redactor must mask (venues add passphrases and the like)."""
        return [self.api_key, self.api_secret]


class VenueEmulator(EmulatorServer):
    """Market, account and lifecycle for one venue front-end (see the module docstring)."""

    hub: Hub

    def __init__(
        self,
        config: VenueConfig,
        instruments: dict[str, Instrument],
        replays: dict[str, list[Record]] | None = None,
    ) -> None:
        for secret in config.secrets():
            register_secret(secret)
        super().__init__(
            Faults(latency_ms=config.latency_ms), config.periodic_faults, config.admin_token
        )
        self.config = config
        self.instruments = instruments
        params = MarketParams(
            tick_interval_ms=config.tick_interval_ms,
            levels=config.book_levels,
            trade_probability=config.trade_probability,
        )
        self.driver = MarketDriver(
            instruments.values(), config.seed, params, config.start_prices, replays
        )

    def new_account(
        self, id_base: int, fee_in_received_ccy: bool = True, fee_decimals: int | None = None
    ) -> SimAccount:
        """The simulated account over this emulator's market (one per front-end);
        ``fee_decimals`` is the venue's ledger precision for fees (see ``SimConfig``)."""
        cfg = self.config
        return SimAccount(
            self.instruments,
            dict(cfg.balances),
            self.driver,
            cfg.leverage,
            id_base=id_base,
            fee_in_received_ccy=fee_in_received_ccy,
            fee_decimals=fee_decimals,
        )

    def currencies(self) -> set[str]:
        out = set(self.config.balances)
        for inst in self.instruments.values():
            out.update((inst.base, inst.quote, inst.settle))
        return out

    def step(self, ts_ms: int | None = None) -> None:
        """Advance every synthetic market one step now (tests; also what the timer does);
        ``ts_ms`` also sets the market clock."""
        self.driver.step_all(ts_ms)

    async def on_start(self) -> None:
        self.driver.start()
        if self.config.ws_idle_timeout_s > 0:
            self.spawn(self._idle_sweeper(self.config.ws_idle_timeout_s), f"{self.venue}-ws-idle")

    async def _idle_sweeper(self, timeout_s: float) -> None:
        while True:
            await asyncio.sleep(min(1.0, timeout_s / 4))
            self.hub.close_idle(timeout_s)

    async def on_stop(self) -> None:
        await self.driver.stop()
        await self.hub.close_all()
