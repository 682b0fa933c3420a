"""Which venues tradeloop speaks, and where each one's parts live.

One table, so that a CLI's ``--venue`` choices, the emulator's front-ends and the FMZ bridge's
labels all come from the same place and adding a venue touches no CLI: its engineer adds a
folder under ``venues/`` and one :func:`register` call here (built-ins are registered below).

Everything is named by dotted path and imported only when used (:meth:`VenueSpec.load_gateway`,
:meth:`VenueSpec.load_emulator`): the emulator is a higher layer than ``venues`` and must not be
imported by it, and a run that trades OKX need not import FTX.

Gateway factories take keywords only — ``url``, ``ws_url``, ``credentials`` (a mapping keyed by
the names in :attr:`VenueSpec.credentials`) and venue-specific options — and return a
:class:`~tradeloop.venues.base.Gateway`.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Protocol

from tradeloop.core.errors import ConfigError
from tradeloop.core.log import register_secret
from tradeloop.venues.base import Gateway
from tradeloop.venues.okx import constants as okx


class GatewayFactory(Protocol):
    def __call__(
        self,
        *,
        url: str = ...,
        ws_url: str | None = ...,
        credentials: Mapping[str, str] = ...,
        **options: Any,
    ) -> Gateway: ...


@dataclass(frozen=True, slots=True)
class VenueSpec:
    """One venue's entry (see the module docstring).

    ``name`` is the upper-case venue name used in instrument ids (``BTC-USDT.OKX``);
    ``gateway`` is ``"package.module:callable"``; ``credentials`` maps each credential the
    factory takes to the environment variable it is read from; ``emulator`` is the module of
    the emulator front-end (None: no emulator); ``fmz_label`` the bridge's exchange label
    (None: not bridged).
    """

    name: str
    gateway: str
    credentials: Mapping[str, str] = field(default_factory=dict)
    emulator: str | None = None
    fmz_label: str | None = None
    rest_url: str = ""
    ws_url: str = ""
    #: credentials that may be left empty (e.g. an FTX subaccount)
    optional: frozenset[str] = frozenset()

    @property
    def cli_name(self) -> str:
        """How CLIs spell it (``--venue okx``)."""
        return self.name.lower()

    def load_gateway(self) -> GatewayFactory:
        module, _, attr = self.gateway.partition(":")
        factory: GatewayFactory = getattr(importlib.import_module(module), attr)
        return factory

    def load_emulator(self) -> ModuleType:
        if self.emulator is None:
            raise ConfigError(f"{self.name} has no emulator")
        return importlib.import_module(self.emulator)

    def credentials_from(
        self, given: Mapping[str, str] | None = None, env: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """Each credential from ``given`` (flags), else its environment variable; every value
        found is registered with the log redactor before anything can log it."""
        env = os.environ if env is None else env
        out: dict[str, str] = {}
        for name, var in self.credentials.items():
            value = (given or {}).get(name) or env.get(var, "")
            register_secret(value)
            out[name] = value
        return out

    def missing_credentials(self, credentials: Mapping[str, str]) -> list[str]:
        """Environment variable names of the credentials still empty (for an error line)."""
        return [
            var
            for name, var in self.credentials.items()
            if not credentials.get(name) and name not in self.optional
        ]

    def build(
        self,
        *,
        url: str | None = None,
        ws_url: str | None = None,
        credentials: Mapping[str, str] | None = None,
        **options: Any,
    ) -> Gateway:
        """A gateway for this venue (not started). ``url`` defaults to the venue's REST URL."""
        factory = self.load_gateway()
        return factory(
            url=url or self.rest_url,
            ws_url=ws_url or None,
            credentials=dict(credentials or {}),
            **options,
        )


_VENUES: dict[str, VenueSpec] = {}


def register(spec: VenueSpec) -> VenueSpec:
    """Add (or replace) a venue."""
    if spec.name != spec.name.upper() or not spec.name.replace("_", "").isalnum():
        raise ValueError(f"venue name {spec.name!r}: upper-case letters, digits and _ only")
    _VENUES[spec.name] = spec
    return spec


def get(name: str) -> VenueSpec:
    """The venue ``name`` (any case); ConfigError naming the known ones otherwise."""
    spec = _VENUES.get(name.upper())
    if spec is None:
        raise ConfigError(f"unknown venue {name!r} (known: {', '.join(names())})")
    return spec


def names() -> list[str]:
    return sorted(_VENUES)


def venues() -> list[VenueSpec]:
    return [_VENUES[n] for n in names()]


def cli_choices(*, emulated: bool = False, tradable: bool = True) -> list[str]:
    """``--venue`` choices: every venue, or only those with an emulator front-end, or only
    those reachable over the wire (with a REST URL)."""
    return [
        s.cli_name
        for s in venues()
        if (not emulated or s.emulator) and (not tradable or s.rest_url)
    ]


def fmz_labels() -> dict[str, VenueSpec]:
    """FMZ bridge label -> venue."""
    return {s.fmz_label: s for s in venues() if s.fmz_label}


register(
    VenueSpec(
        name=okx.VENUE,
        gateway="tradeloop.venues.okx.gateway:create",
        credentials={
            "api_key": "TRADELOOP_OKX_API_KEY",
            "secret": "TRADELOOP_OKX_API_SECRET",
            "passphrase": "TRADELOOP_OKX_PASSPHRASE",
        },
        emulator="tradeloop.emulator.okx.server",
        fmz_label=okx.VENUE,
        rest_url=okx.REST_URL,
        ws_url=okx.WS_URL,
    )
)
register(
    VenueSpec(
        name="FTX",
        gateway="tradeloop.venues.ftx.gateway:create",
        credentials={
            "api_key": "TRADELOOP_FTX_API_KEY",
            "secret": "TRADELOOP_FTX_API_SECRET",
            "subaccount": "TRADELOOP_FTX_SUBACCOUNT",
        },
        optional=frozenset({"subaccount"}),
        emulator="tradeloop.emulator.ftx.server",
        fmz_label="FTX",
        rest_url="https://ftx.com",
        ws_url="wss://ftx.com/ws/",
    )
)
register(
    VenueSpec(
        name="BITMEX",
        gateway="tradeloop.venues.bitmex.gateway:create",
        credentials={
            "api_key": "TRADELOOP_BITMEX_API_KEY",
            "secret": "TRADELOOP_BITMEX_API_SECRET",
        },
        emulator="tradeloop.emulator.bitmex.server",
        fmz_label="BITMEX",
        rest_url="https://www.bitmex.com",
        ws_url="wss://ws.bitmex.com/realtime",
    )
)
register(
    VenueSpec(
        name="BINANCE",
        gateway="tradeloop.venues.binance.gateway:create",
        credentials={
            "api_key": "TRADELOOP_BINANCE_API_KEY",
            "secret": "TRADELOOP_BINANCE_API_SECRET",
        },
        emulator="tradeloop.emulator.binance.server",
        fmz_label="BINANCE",
        rest_url="https://api.binance.com",
        ws_url="wss://stream.binance.com:9443",
    )
)
register(
    VenueSpec(
        name="BITFINEX",
        gateway="tradeloop.venues.bitfinex.gateway:create",
        credentials={
            "api_key": "TRADELOOP_BITFINEX_API_KEY",
            "secret": "TRADELOOP_BITFINEX_API_SECRET",
        },
        emulator="tradeloop.emulator.bitfinex.server",
        fmz_label="BITFINEX",
        rest_url="https://api.bitfinex.com",
        ws_url="wss://api.bitfinex.com/ws/2",
    )
)
register(
    VenueSpec(
        name="SIM",
        gateway="tradeloop.venues.sim.client:create",
    )
)
