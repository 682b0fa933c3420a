"""The matching engine and account simulator shared by the backtester and the emulator.

The package names its main types lazily: importing one submodule (``tradeloop.sim.rules``)
must not import the whole simulator, whose modules import each other's siblings -- an eager
``__init__`` made every such import a cycle through the package."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tradeloop.sim.config import BarFill, SimConfig
    from tradeloop.sim.exchange import FundingPayment, SimExchange
    from tradeloop.sim.records import SimOrder

_WHERE = {
    "BarFill": "tradeloop.sim.config",
    "SimConfig": "tradeloop.sim.config",
    "FundingPayment": "tradeloop.sim.exchange",
    "SimExchange": "tradeloop.sim.exchange",
    "SimOrder": "tradeloop.sim.records",
}

__all__ = ["BarFill", "FundingPayment", "SimConfig", "SimExchange", "SimOrder"]


def __getattr__(name: str) -> Any:
    where = _WHERE.get(name)
    if where is None:
        raise AttributeError(f"module 'tradeloop.sim' has no attribute {name!r}")
    return getattr(import_module(where), name)
