"""What every emulator front-end shares on the command line: the secrets (from the
environment first), the common config fields, and :class:`FrontEnd` — how a venue's server is
built from flags and which defaults it has.

Each front-end module (the ``emulator`` path of its ``venues.registry`` entry) exposes a
``FRONT_END``; ``tradeloop emulator <venue>`` finds it through the registry, so adding a venue
touches no CLI code.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tradeloop.core.errors import ConfigError
from tradeloop.emulator.admin import ADMIN_TOKEN_ENV
from tradeloop.emulator.faults import PeriodicFaults

#: argparse dest -> (environment variable, default when neither flag nor variable is set).
#: The defaults are the emulator's well-known test credentials; the admin token has none
#: (generated at start).
SECRET_ENV: dict[str, tuple[str, str | None]] = {
    "api_key": ("TRADELOOP_EMULATOR_API_KEY", "emulator-key"),
    "api_secret": ("TRADELOOP_EMULATOR_API_SECRET", "emulator-secret"),
    "passphrase": ("TRADELOOP_EMULATOR_PASSPHRASE", "emulator-passphrase"),
    "admin_token": (ADMIN_TOKEN_ENV, None),
}


def resolve_secrets(args: argparse.Namespace) -> None:
    """Fill each secret from its flag, else its environment variable, else the default."""
    for dest, (env, default) in SECRET_ENV.items():
        if getattr(args, dest, None) in (None, ""):
            setattr(args, dest, os.environ.get(env) or default)


def common_config(args: argparse.Namespace) -> dict[str, Any]:
    """The :class:`~tradeloop.emulator.venue.VenueConfig` fields every front-end takes."""
    resolve_secrets(args)
    return {
        "api_key": args.api_key,
        "api_secret": args.api_secret,
        "admin_token": args.admin_token,
        "balances": parse_pairs(args.balance, "--balance"),
        "symbols": _symbols(args.symbols),
        "seed": args.seed,
        "latency_ms": args.latency_ms,
        "tick_interval_ms": args.tick_ms,
        "book_levels": args.levels,
        "start_prices": parse_pairs(args.start_price, "--start-price", positive=True),
        "leverage": args.leverage,
        "ws_idle_timeout_s": args.ws_idle_timeout,
        "periodic_faults": PeriodicFaults(
            drop_ws_every_s=args.drop_ws_every,
            skip_seq_every_s=args.skip_seq_every,
            corrupt_checksum_every_s=args.corrupt_checksum_every,
        ),
    }


def _symbols(text: str) -> list[str]:
    symbols = [s.strip() for s in text.split(",") if s.strip()]
    if not symbols:
        raise ConfigError(f"--symbols {text!r}: name at least one symbol")
    return symbols


@dataclass(frozen=True)
class FrontEnd:
    """One venue front-end: how to build it from flags, and its defaults."""

    build: Callable[[argparse.Namespace], Any]
    symbols: str
    balances: tuple[str, ...]
    ws_hint: str  # where its WebSockets live, for the start-up line

    def __call__(self, args: argparse.Namespace) -> Any:
        """The (not yet started) server; flags left unset take this venue's defaults."""
        if not getattr(args, "symbols", None):
            args.symbols = self.symbols
        if not getattr(args, "balance", None):
            args.balance = list(self.balances)
        try:
            return self.build(args)
        except ValueError as exc:  # a bad symbol, an admin token too short to guard anything
            raise ConfigError(str(exc)) from None


def parse_pairs(items: list[str] | None, flag: str, positive: bool = False) -> dict[str, float]:
    """``["USDT=100000", "BTC=2"]`` -> ``{"USDT": 100000.0, "BTC": 2.0}``; no number below 0
    (a negative balance is a typo), or none at 0 either with ``positive`` (a price)."""
    out: dict[str, float] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        try:
            if not sep or not key.strip():
                raise ValueError
            number = float(value)
        except ValueError:
            raise ConfigError(f"{flag} {item!r}: expected NAME=NUMBER") from None
        if not (number > 0 if positive else number >= 0):
            raise ConfigError(
                f"{flag} {item!r}: the number must be {'above' if positive else 'at least'} 0"
            )
        out[key.strip().upper()] = number
    return out
