"""Fixtures for the BitMEX connector suites: a BitMEX emulator on an ephemeral port and a
gateway built through the registry, keyed for it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from tests.support.gateway_fixtures import bound, serving
from tests.support.gateway_fixtures import until as _until

from tradeloop.emulator.bitmex.server import BitmexConfig, BitmexEmulator
from tradeloop.model import Event, Fill, FundingPaid, OrderReport
from tradeloop.venues import registry
from tradeloop.venues.bitmex.gateway import BitmexGateway
from tradeloop.venues.execution import RecoveryPolicy

XBTUSD = "XBTUSD.BITMEX"


async def until(
    cond: Callable[[], Any], what: str = "the condition", timeout: float = 20.0
) -> None:
    """The shared bounded poll with this suite's default bound."""
    await _until(cond, what, timeout)


class Sink:
    """Collects what a gateway hands the engine, by kind (the shared
    ``tests.support.gateway_fixtures.Sink`` keeps one log in arrival order instead)."""

    def __init__(self) -> None:
        self.reports: list[OrderReport] = []
        self.fills: list[Fill] = []
        self.funding: list[FundingPaid] = []
        self.data: list[Event] = []

    def on_order_report(self, r: OrderReport) -> None:
        self.reports.append(r)

    def on_fill(self, f: Fill) -> None:
        self.fills.append(f)

    def on_funding(self, p: FundingPaid) -> None:
        self.funding.append(p)

    def on_market_data(self, e: Event) -> None:
        self.data.append(e)


def make_gateway(url: str, **kw: Any) -> BitmexGateway:
    kw.setdefault("recovery", RecoveryPolicy(cancel_deadline_s=5.0, reconcile_deadline_s=10.0))
    gw = registry.get("bitmex").build(url=url, credentials={"api_key": "K", "secret": "S"}, **kw)
    assert isinstance(gw, BitmexGateway)
    return gw


@pytest.fixture
async def emu() -> AsyncIterator[BitmexEmulator]:
    cfg = BitmexConfig(
        api_key="K",
        api_secret="S",
        tick_interval_ms=40,
        seed=5,
        balances={"XBt": 100_000_000.0, "USDt": 10_000_000_000.0},
        admin_token="t" * 32,
    )
    async with serving(BitmexEmulator(cfg)) as server:
        yield server


@pytest.fixture
async def gw(emu: BitmexEmulator) -> AsyncIterator[tuple[BitmexGateway, Sink]]:
    async with bound(make_gateway(emu.base_url), Sink()) as pair:
        yield pair
