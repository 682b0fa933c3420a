"""What the Binance gateway suites share: the keys, the emulator they run against (one BTCUSDT
spot market and its USD-M perpetual, a funded wallet), the gateway built through the venue
registry with those keys, and a sink that keeps reports, fills, funding payments and market
events in lists.

Why here: ``test_gateway``, ``test_futures_gateway``, ``test_lifetime_gateway`` and
``test_stop_orders`` each had their own copy of all four; a suite now states only how its
emulator differs (seed, tick, lifetimes). Waiting and serving come from the venue-neutral
``tests/support/gateway_fixtures.py`` (``until``, ``serving``).
"""

from __future__ import annotations

from typing import Any

from tradeloop.emulator.binance.server import BinanceConfig, BinanceEmulator
from tradeloop.model import (
    FundingPaid,
    Order,
    OrderReport,
    OrderStatus,
    OrderType,
    Side,
    VenueStatus,
)
from tradeloop.venues import registry
from tradeloop.venues.binance.gateway import BinanceGateway

KEY, SECRET = "gw-key", "gw-secret"
PERP, SPOT = "BTCUSDT-PERP.BINANCE", "BTCUSDT.BINANCE"


def make_emulator(seed: int, **config: Any) -> BinanceEmulator:
    """The unstarted emulator with :data:`KEY`, a 100000 USDT / 1 BTC wallet and BTCUSDT
    (spot and perpetual), frozen unless ``tick_interval_ms`` says otherwise; ``config``
    overrides any of it."""
    kw: dict[str, Any] = {"api_key": KEY, "api_secret": SECRET,
                          "balances": {"USDT": 100_000.0, "BTC": 1.0}, "symbols": ["BTCUSDT"],
                          "tick_interval_ms": 0, "seed": seed, **config}  # fmt: skip
    return BinanceEmulator(BinanceConfig(**kw))


def make_gateway(url: str, **options: Any) -> BinanceGateway:
    """An unstarted, unbound gateway for ``url`` from the venue registry, with :data:`KEY`."""
    gw = registry.get("binance").build(url=url, credentials={"api_key": KEY, "secret": SECRET},
                                       **options)  # fmt: skip
    assert isinstance(gw, BinanceGateway)
    return gw


class Sink:
    """Everything a gateway hands the engine, kept in arrival order per kind."""

    def __init__(self) -> None:
        self.reports: list[OrderReport] = []
        self.fills: list[Any] = []
        self.funding: list[FundingPaid] = []
        self.events: list[Any] = []

    def on_order_report(self, r: OrderReport) -> None:
        self.reports.append(r)

    def on_fill(self, f: Any) -> None:
        self.fills.append(f)

    def on_funding(self, p: FundingPaid) -> None:
        self.funding.append(p)

    def on_market_data(self, e: Any) -> None:
        self.events.append(e)

    def statuses(self, name: str) -> list[VenueStatus]:
        """The venue status events named ``name`` (``disconnected``, ``reconnected``, ...)."""
        return [e for e in self.events if isinstance(e, VenueStatus) and e.status == name]

    def last(self, cid: str) -> Any:
        """The latest report for client order id ``cid``, or None."""
        return next((r for r in reversed(self.reports) if r.client_order_id == cid), None)


async def other_client_trades(url: str, orders: list[tuple[str, Side, float]],
                              symbol: str = PERP) -> None:  # fmt: skip
    """Another client of the same account sends market ``orders`` (client id, side, size) on
    ``symbol``, each filled before the next, and goes away."""
    from tests.support.gateway_fixtures import until

    sink = Sink()
    gw = make_gateway(url)
    gw.bind(sink)
    await gw.start()
    try:
        for cid, side, qty in orders:
            gw.submit_order(Order(cid, symbol, side, qty, OrderType.MARKET))
            await until(lambda c=cid: (r := sink.last(c)) is not None  # type: ignore[misc]
                        and r.status is OrderStatus.FILLED, f"{cid} filled")  # fmt: skip
        await gw.drain(5)
    finally:
        await gw.stop()
