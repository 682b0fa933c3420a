"""``tradeloop emulator binance --ed25519-public-key FILE``: the flag reaches the front-end (the
key verifies Ed25519 signatures), a missing or unreadable file is a configuration error."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from tradeloop.core.errors import ConfigError
from tradeloop.emulator.binance.server import BinanceEmulator
from tradeloop.emulator.cli import VENUES, add_arguments

from .helpers import ED_PUBLIC_PEM


def _args(*extra: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(["binance", "--api-key", "K", "--api-secret", "S", *extra])


def test_ed25519_public_key_flag(tmp_path: Path) -> None:
    pem = tmp_path / "ed25519.pub.pem"
    pem.write_text(ED_PUBLIC_PEM)
    emu = VENUES["binance"](_args("--ed25519-public-key", str(pem), "--symbols", "BTCUSDT"))
    assert isinstance(emu, BinanceEmulator) and emu.ed25519_key is not None
    assert list(emu.instruments) == ["BTCUSDT"]
    plain = VENUES["binance"](_args())
    assert isinstance(plain, BinanceEmulator) and plain.ed25519_key is None


def test_ed25519_public_key_file_missing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="Ed25519 public key"):
        VENUES["binance"](_args("--ed25519-public-key", str(tmp_path / "absent.pem")))


def test_futures_symbols_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    emu = VENUES["binance"](_args())
    assert isinstance(emu, BinanceEmulator) and emu.futures is not None
    assert list(emu.futures.instruments) == ["BTCUSDT"]  # the default perpetual
    monkeypatch.setenv("TRADELOOP_EMULATOR_BINANCE_FUTURES", "ethusdt, BTCUSDT")
    emu = VENUES["binance"](_args())
    assert emu.futures is not None and list(emu.futures.instruments) == ["ETHUSDT", "BTCUSDT"]
    monkeypatch.setenv("TRADELOOP_EMULATOR_BINANCE_FUTURES", "")
    assert VENUES["binance"](_args()).futures is None
    monkeypatch.setenv("TRADELOOP_EMULATOR_BINANCE_FUTURES", "BTCEUR")
    with pytest.raises(ConfigError, match="USD-M perpetual"):
        VENUES["binance"](_args())
