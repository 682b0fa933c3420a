"""Hourly perpetual funding through the FTX connector over real sockets (rule 9 of
``venues/base.py``). FTX pushes nothing for a payment, so the gateway asks
``GET /funding_payments`` a minute after each hour and after a private reconnect; each
payment reaches the engine once, with the amount the emulator's wallet moved and FTX's id,
never as a fill or a report."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from tests.support import funding_checks as fc
from tests.support.gateway_fixtures import Sink, bound

from tradeloop.emulator.ftx.funding import Payment
from tradeloop.model import (
    FundingPaid,
    Order,
    OrderReport,
    OrderType,
    Side,
)
from tradeloop.venues.ftx.gateway import HOUR_NS, FtxGateway, funding_poll_wait_s

from .conftest import PERP, make_gateway, until

GW = tuple[FtxGateway, Sink]


@pytest.fixture
async def quiet(emu: Any) -> AsyncIterator[GW]:
    """A gateway that never polls on its own: only the reconnect's catch-up and explicit
    calls fetch payments."""
    async with bound(make_gateway(emu.base_url, funding_poll_s=None), Sink()) as pair:
        yield pair


async def _position(g: FtxGateway, sink: Sink, cid: str, side: Side, qty: float) -> None:
    order = Order(cid, PERP, side, qty, OrderType.MARKET)
    await fc.open_position(g, order, lambda: sink.of(OrderReport))


def _usd(emu: Any) -> float:
    return float(emu.trading.account.sim.balances()["USD"].total)


async def test_catch_up_delivers_each_payment_once(quiet: GW, emu: Any) -> None:
    g, sink = quiet
    await _position(g, sink, "perp-f1", Side.BUY, 0.5)
    money, before = fc.money_events(sink.log), _usd(emu)
    emu.config.funding_rate = 0.0002  # a long pays a positive rate
    (p,) = emu.settle_funding()
    await g.catch_up_funding()  # what the hourly poll runs
    paid = fc.one_payment(sink.of(FundingPaid), payment_id=p.payment_id, amount=p.payment,
                          symbol=PERP, ccy="USD", venue="FTX")  # fmt: skip
    assert paid.ccy == g.instruments()[PERP].settle
    assert paid.amount > 0 and abs(before - _usd(emu) - paid.amount) < 1e-9
    assert paid.rate == 0.0002 and paid.ts == p.at_ms * 1_000_000
    await fc.never_twice(g, lambda: sink.of(FundingPaid))  # FTX pushes nothing to repeat
    assert fc.money_events(sink.log) == money  # no fill, no report


async def test_settled_while_down_arrives_once_after_reconnect(quiet: GW, emu: Any) -> None:
    g, sink = quiet
    await _position(g, sink, "perp-f2", Side.BUY, 0.2)
    emu.config.funding_rate = -0.0001  # a long receives a negative rate
    (p,) = emu.settle_funding()  # FTX pushes nothing: the reconnect's catch-up brings it
    paid = await fc.arrives_after_reconnect(emu, g, lambda: sink.of(FundingPaid), lambda: sink.log)
    assert paid.payment_id == str(p.payment_id) and paid.amount == p.payment < 0


async def test_hourly_poll_fetches_without_being_asked(emu: Any) -> None:
    """The gateway's clock stands 50 ms before a poll time (a minute past an hour that is
    already over), so its own timer asks for the payments settled before."""
    t0 = time.time_ns()
    poll_at = (t0 // HOUR_NS - 1) * HOUR_NS + 60 * 10**9

    def clock() -> int:
        return poll_at - 50_000_000 + (time.time_ns() - t0)

    gateway = make_gateway(emu.base_url, now_ns=clock)
    async with bound(gateway, Sink()) as (g, sink):
        await _position(g, sink, "perp-f3", Side.SELL, 0.1)
        (p,) = emu.settle_funding()
        await until(lambda: sink.of(FundingPaid), "the poll to bring the payment")
        (paid,) = sink.of(FundingPaid)
        assert paid.payment_id == str(p.payment_id) and paid.amount == p.payment


def test_poll_wait_is_a_minute_past_the_next_hour() -> None:
    hour = 1_700_002_800 * 10**9  # on an hour
    assert funding_poll_wait_s(hour, 60.0) == 60.0
    assert funding_poll_wait_s(hour + 59 * 10**9, 60.0) == 1.0
    assert funding_poll_wait_s(hour + 60 * 10**9, 60.0) == 3600.0
    assert funding_poll_wait_s(hour + 61 * 10**9, 60.0) == 3599.0


class _Garbled(Payment):
    def row(self) -> dict[str, Any]:
        return {**super().row(), "time": "yesterday"}


async def test_malformed_payment_is_one_line_and_skipped(
    quiet: GW, emu: Any, caplog: pytest.LogCaptureFixture
) -> None:
    g, _ = quiet
    emu.funding.payments += [_Garbled(1, "BTC-PERP", 1.0, 0.0001, 1_700_000_000_000),
                             Payment(2, "BTC-PERP", 2.0, 0.0001, 1_700_000_000_001)]  # fmt: skip
    (ok,) = await g.fetch_funding()
    assert ok.payment_id == "2" and ok.amount == 2.0
    (line,) = [r for r in caplog.records if "malformed funding payment" in r.getMessage()]
    assert "yesterday" in line.getMessage() and line.exc_info is None
