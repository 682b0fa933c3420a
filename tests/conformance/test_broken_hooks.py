"""The suite can fail: deliberately broken venue code plugged into a real venue makes specific
conformance checks raise AssertionError, for the right reason.

The OKX gateway's lifecycle hooks are wrapped (``gateway.orders.hooks``) by a delegating
``VenueHooks`` that breaks one thing — ``classify`` calling every error PERMANENT, a lookup
that never finds the order, or ``fetch_fills`` finding nothing — and the unchanged checks run
against the emulator over real sockets. An unbroken wrapper passes the same checks (so the
wrapper itself breaks nothing), and a gateway whose ``fetch_fills`` query returns [] fails
the queries check on every venue.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tradeloop.core.errors import VenueError
from tradeloop.model import Fill, Instrument, Order, OrderReport
from tradeloop.venues.base import Gateway
from tradeloop.venues.execution import ErrorKind, OrderTrack, PlaceAck, VenueHooks, Verdict
from tradeloop.venues.okx.constants import ORDER_NOT_FOUND as OKX_NOT_FOUND
from tradeloop.venues.okx.gateway import OkxGateway

from . import checks
from .checks import Check
from .harness import VenueHarness
from .harnesses.okx import OkxHarness


class Delegating(VenueHooks):
    """Forwards every hook to the venue's real one (subclasses break one thing)."""

    def __init__(self, inner: VenueHooks) -> None:
        self.inner = inner
        self.venue = inner.venue

    def instrument(self, symbol: str) -> Instrument | None:
        return self.inner.instrument(symbol)

    def venue_client_id(self, client_order_id: str) -> str:
        return self.inner.venue_client_id(client_order_id)

    def native_symbol(self, symbol: str) -> str:
        return self.inner.native_symbol(symbol)

    def symbol_id(self, native: str) -> str:
        return self.inner.symbol_id(native)

    def streaming(self) -> bool:
        return self.inner.streaming()

    async def place(self, order: Order, track: OrderTrack) -> PlaceAck:
        return await self.inner.place(order, track)

    async def cancel(self, track: OrderTrack) -> None:
        await self.inner.cancel(track)

    async def amend(self, track: OrderTrack, qty: float | None, price: float | None) -> None:
        await self.inner.amend(track, qty, price)

    async def fetch_order(self, track: OrderTrack) -> OrderReport:
        return await self.inner.fetch_order(track)

    async def fetch_fills(self, track: OrderTrack) -> list[Fill]:
        return await self.inner.fetch_fills(track)

    def classify(self, exc: VenueError) -> Verdict:
        return self.inner.classify(exc)


class AllPermanent(Delegating):
    """Broken: every error is "refused for good" (rate limits, lost answers, duplicates)."""

    def classify(self, exc: VenueError) -> Verdict:
        return Verdict(ErrorKind.PERMANENT)


class LookupSaysAbsent(Delegating):
    """Broken: looking an order up always answers "no such order" (e.g. it asks by the wrong
    id), so an order in doubt that does exist is called absent."""

    async def fetch_order(self, track: OrderTrack) -> OrderReport:
        await self.inner.fetch_order(track)
        raise VenueError(f"order {track.venue_client_id} not found", OKX_NOT_FOUND)


class NoFills(Delegating):
    """Broken: the per-order fill lookup finds nothing (e.g. it queries the wrong order id)."""

    async def fetch_fills(self, track: OrderTrack) -> list[Fill]:
        await self.inner.fetch_fills(track)
        return []


def okx_with(hooks: type[Delegating]) -> type[OkxHarness]:
    """The OKX harness, its gateways' lifecycle running on ``hooks`` around OKX's own."""

    class Wrapped(OkxHarness):
        def build_gateway(self, url: str) -> Gateway:
            gateway = super().build_gateway(url)
            assert isinstance(gateway, OkxGateway)
            gateway.orders.hooks = hooks(gateway.orders.hooks)
            return gateway

    Wrapped.__name__ = f"Okx{hooks.__name__}"
    return Wrapped


async def run(harness: type[VenueHarness], check: Check) -> None:
    """One check as the suite runs it: start, check, the emission rules, stop."""
    venue = harness()
    try:
        await venue.start()
        await check(venue)
        await venue.gateway.drain()
        venue.rec.assert_clean()
    finally:
        await venue.stop()


#: (broken hooks, the check it must fail, what the failure must say)
BROKEN: list[tuple[type[Delegating], Check, str]] = [
    (AllPermanent, checks.rate_limit_storm_on_cancel, "the cancel gave up during the storm"),
    (LookupSaysAbsent, checks.in_doubt_resolved_by_lookup, "in-doubt order: .*REJECTED"),
    (NoFills, checks.private_drop_fill_caught_up, r"gateway fills \[\] != venue fills"),
    (NoFills, checks.private_drop_partial_no_duplicate, r"gateway fills .* != venue fills"),
]


@pytest.mark.parametrize(
    ("broken", "check", "says"),
    [pytest.param(*case, id=f"{case[0].__name__}-{case[1].__name__}") for case in BROKEN],
)
async def test_a_broken_hook_fails_the_check(
    broken: type[Delegating], check: Check, says: str
) -> None:
    with pytest.raises(AssertionError, match=says):
        await run(okx_with(broken), check)


@pytest.mark.parametrize(
    "check", [pytest.param(c, id=c.__name__) for c in dict.fromkeys(c for _, c, _ in BROKEN)]
)
async def test_the_unbroken_wrapper_passes(check: Check) -> None:
    await run(okx_with(Delegating), check)


async def test_a_gateway_whose_fill_query_finds_nothing_fails_queries(
    harness_cls: type[VenueHarness],
) -> None:
    class NoFillQuery(harness_cls):  # type: ignore[valid-type,misc]
        async def start(self) -> None:
            await super().start()

            async def nothing(since_ns: int = 0) -> list[Fill]:
                return []

            setattr(self.gateway, "fetch_fills", nothing)  # noqa: B010 (a method, on purpose)

    with pytest.raises(AssertionError, match=r"fetch_fills .* != delivered"):
        await run(NoFillQuery, checks.queries)


def test_every_broken_case_names_a_listed_check() -> None:
    listed: set[Callable[..., object]] = {c.fn for c in checks.CHECKS}
    assert all(check in listed for _, check, _ in BROKEN)
