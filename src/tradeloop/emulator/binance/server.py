"""The Binance emulator: spot REST (``/api/v3``), market streams (``/ws/...``,
``/stream?streams=``) and the WS API (``/ws-api/v3``) on one port, built only from the emulator
core (:mod:`tradeloop.emulator.venue`, ``rest``, ``ws``, ``hub``) and the shared simulator.
``served`` counts the requests each REST path and WS API method answered.

In process::

    emu = BinanceEmulator(BinanceConfig(api_key="K", api_secret="S",
                                        balances={"USDT": 100000.0, "BTC": 2.0}))
    base_url = await emu.start("127.0.0.1", 0)  # REST base_url + "/api/v3", WS .../ws, .../stream
    await emu.stop()

USD-M perpetuals (``futures_symbols``, default BTCUSDT) are served by the same process under
``/fapi`` (REST), the routed ``/fapi/public|market/ws|stream`` (book streams | the others) and
``/fapi/private/ws?listenKey=`` (user data), the legacy ``/fapi/ws``, ``/fapi/stream`` (every
stream, listenKey paths) and ``/ws-fapi/v1`` (the futures WS API): see :mod:`.futures`.
``POST /sapi/v1/asset/transfer`` moves funds between the two wallets (:mod:`.transfer`).

``ed25519_public_key`` (PEM text) lets the same API key sign with Ed25519 as well as HMAC
(``session.logon`` needs Ed25519). ``limits`` sets the weight/order limits (tests lower them
to reach 429 and the 418 ban quickly).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tradeloop.emulator import rest as core_rest
from tradeloop.emulator.binance import auth, rest, transfer
from tradeloop.emulator.binance.futures import FuturesSide
from tradeloop.emulator.binance.futures_markets import DEFAULT_FUTURES
from tradeloop.emulator.binance.lifetime import FUTURES_LIFETIME, SPOT_LIFETIME, WsLifetime
from tradeloop.emulator.binance.limits import LimitConfig, Limits
from tradeloop.emulator.binance.markets import DEFAULT_SYMBOLS, filters_for, instrument
from tradeloop.emulator.binance.streams import BinanceHub, ws_routes
from tradeloop.emulator.binance.trading import BinanceTrading
from tradeloop.emulator.binance.wsapi import ApiWs
from tradeloop.emulator.frontend import FrontEnd, common_config
from tradeloop.emulator.venue import VenueConfig, VenueEmulator


@dataclass
class BinanceConfig(VenueConfig):
    """The shared settings with Binance's defaults (see the module docstring)."""

    balances: dict[str, float] = field(default_factory=lambda: {"USDT": 100_000.0})
    symbols: list[str] = field(default_factory=lambda: list(DEFAULT_SYMBOLS))
    ed25519_public_key: str = ""
    limits: LimitConfig = field(default_factory=LimitConfig)
    #: USD-M perpetuals served under ``/fapi`` (empty: none)
    futures_symbols: list[str] = field(default_factory=lambda: list(DEFAULT_FUTURES))
    #: the futures wallet; None = the spot balances' USDT (Binance keeps the wallets apart)
    futures_balances: dict[str, float] | None = None
    #: server pings and the 24 h disconnect of spot streams / WS API, and of futures streams
    #: USD-M funding settles on the epoch-aligned boundaries of this interval (tests: short)
    funding_interval_s: float = 8 * 3600.0
    #: the rate every USD-M perpetual settles at (premiumIndex, fundingRate, markPrice show
    #: it); longs pay a positive rate
    funding_rate: float = 0.0001
    ws_lifetime: WsLifetime = SPOT_LIFETIME
    futures_ws_lifetime: WsLifetime = FUTURES_LIFETIME


class BinanceEmulator(VenueEmulator):
    venue = "binance"
    config: BinanceConfig
    hub: BinanceHub

    def __init__(self, config: BinanceConfig | None = None) -> None:
        config = config or BinanceConfig()
        instruments = {i.symbol: i for i in map(instrument, config.symbols)}
        super().__init__(config, instruments)
        self.filters = {s: filters_for(s) for s in instruments}
        self.ed25519_key: Any = (
            auth.load_ed25519(config.ed25519_public_key) if config.ed25519_public_key else None
        )
        self.limits = Limits(config.limits)
        #: requests served, by ``"METHOD /path"`` (REST) or ``"/ws-api/v3 order.place"``
        #: (WS API): which way a client's orders came (tests, the admin view)
        self.served: Counter[str] = Counter()
        self.hub = BinanceHub(self)
        self.driver.listeners.append(self.hub.on_step)
        self.trading = BinanceTrading(self)
        self.trading.user_listeners.append(self.hub.push_user)
        fb = config.futures_balances
        if fb is None:
            fb = {"USDT": config.balances.get("USDT", 0.0)}
        self.futures = (
            FuturesSide(self, config.futures_symbols, fb) if (config.futures_symbols) else None
        )

    def step(self, ts_ms: int | None = None) -> None:
        super().step(ts_ms)
        if self.futures is not None:
            self.futures.driver.step_all(ts_ms)

    async def on_start(self) -> None:
        await super().on_start()
        if self.futures is not None:
            self.futures.driver.start()

    async def on_stop(self) -> None:
        if self.futures is not None:
            await self.futures.driver.stop()
            await self.futures.hub.close_all()
        await super().on_stop()

    def setup_routes(self, app: web.Application) -> None:
        for method, path, handler, signed, weight, order in rest.ROUTES:
            app.router.add_route(method, path, rest.route(self, handler, signed, weight, order))
        if self.futures is not None:
            self.futures.setup_routes(app)
            app.router.add_route(
                "POST", transfer.PATH, rest.route(self, transfer.transfer, True, transfer.WEIGHT)
            )
        ws_routes(app, self, self.hub, ("",), ApiWs(self), "/ws-api/v3")
        for prefix in ("/api/", "/fapi/"):
            app.router.add_route(
                "*", prefix + "{tail:.*}", core_rest.guard(self.faults, rest.DIALECT, _not_found)
            )


async def _not_found(request: web.Request, body: str) -> web.StreamResponse:
    return await rest.not_found(request)


#: where the CLI looks for the Ed25519 public key file when ``--ed25519-public-key`` is absent
ED25519_ENV = "TRADELOOP_EMULATOR_ED25519_PUBLIC_KEY"
#: the USD-M perpetuals the CLI serves under /fapi (comma-separated; empty = none; unset =
#: BTCUSDT)
FUTURES_ENV = "TRADELOOP_EMULATOR_BINANCE_FUTURES"


def from_cli(args: Any, common: dict[str, Any]) -> BinanceEmulator:
    """The emulator ``tradeloop emulator binance`` runs: the shared flags plus the Ed25519
    public key read from the file ``--ed25519-public-key`` (or ``$TRADELOOP_EMULATOR_ED25519_
    PUBLIC_KEY``) names, the perpetuals of ``$TRADELOOP_EMULATOR_BINANCE_FUTURES`` and their
    funding (``--funding-rate``, ``--funding-interval-s``)."""
    import os

    path = getattr(args, "ed25519_public_key", None) or os.environ.get(ED25519_ENV, "")
    pem = ""
    if path:
        try:
            with open(path, encoding="ascii") as fh:
                pem = fh.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"cannot read the Ed25519 public key {path!r}: {exc}") from None
    futures = list(DEFAULT_FUTURES)
    if FUTURES_ENV in os.environ:
        futures = [x.strip().upper() for x in os.environ[FUTURES_ENV].split(",") if x.strip()]
    funding = {"funding_rate": args.funding_rate, "funding_interval_s": args.funding_interval_s}
    if funding["funding_interval_s"] <= 0:
        raise ValueError("--funding-interval-s: Binance settles funding; give seconds > 0")
    return BinanceEmulator(BinanceConfig(**common, ed25519_public_key=pem,
                                         futures_symbols=futures, **funding))  # fmt: skip


#: ``tradeloop emulator binance`` (found through the venue registry)
FRONT_END = FrontEnd(
    lambda args: from_cli(args, common_config(args)),
    "BTCUSDT,ETHUSDT",
    ("USDT=100000",),
    "/ws/<stream>, /stream?streams=..., /ws-api/v3; USD-M /fapi/public|market/ws, "
    "/fapi/private/ws?listenKey=, legacy /fapi/ws, /ws-fapi/v1",
)
