"""The conformance suite's one list of venues.

To add a venue: write ``tests/conformance/harnesses/<name>.py`` exposing ``HARNESS`` (a
:class:`~.harness.VenueHarness` subclass) and add ``<name>`` below. Nothing else changes: every
test taking ``harness_cls`` runs once per listed venue. A harness module that cannot be
imported (its emulator or connector not in this build) is skipped with the import error as
the reason, never dropped silently.
"""

from __future__ import annotations

import importlib

import pytest

from .harness import VenueHarness

#: Venues the suite runs against (module names under ``harnesses/``, the registry's names).
HARNESSES: tuple[str, ...] = ("sim", "okx", "ftx", "binance", "bitmex", "bitfinex")


def load_harness(name: str) -> type[VenueHarness]:
    module = importlib.import_module(f"{__package__}.harnesses.{name}")
    harness: type[VenueHarness] = module.HARNESS
    assert issubclass(harness, VenueHarness) and harness.name == name, (name, harness)
    return harness


def _param(name: str) -> object:
    try:
        return pytest.param(load_harness(name), id=name)
    except ImportError as exc:
        return pytest.param(
            None, id=name, marks=pytest.mark.skip(reason=f"{name} harness not importable: {exc}")
        )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "harness_cls" in metafunc.fixturenames:
        metafunc.parametrize("harness_cls", [_param(n) for n in HARNESSES])
