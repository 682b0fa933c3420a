"""Hourly perpetual funding on the FTX emulator over a real socket: a settlement moves the USD
wallet by exactly the payment ``GET /api/funding_payments`` lists (``future``, ``id``,
``payment`` > 0 when paid, ``rate``, ``time``), a long receives at a negative rate, the
``future`` / ``start_time`` / ``end_time`` filters hold, and flat or spot markets pay
nothing."""

from __future__ import annotations

import asyncio

from tests.support.gateway_fixtures import until

from tradeloop.emulator.feed import now_ms
from tradeloop.emulator.ftx.server import FtxEmulator
from tradeloop.emulator.funding_clock import next_funding_ms, settle_on_boundaries

from .helpers import Rest
from .test_rest import order


def _usd(ftx: FtxEmulator) -> float:
    return float(ftx.trading.account.sim.balances()["USD"].total)


async def _position(rest: Rest, market: str, side: str, size: float) -> None:
    placed = await rest.ok("POST", "/api/orders", order(market, side, type="market",
                                                         price=None, size=size))  # fmt: skip
    assert placed["status"] == "new"


async def test_payment_listed_with_the_wallet_move(ftx: FtxEmulator, rest: Rest) -> None:
    await _position(rest, "BTC-PERP", "buy", 0.5)
    before = _usd(ftx)
    ftx.config.funding_rate = 0.0002
    mid = ftx.driver.markets["BTC-PERP"].mid()
    (p,) = ftx.settle_funding()
    want = round(0.5 * mid * 0.0002, 8)
    assert p.payment == want and abs(before - _usd(ftx) - want) < 1e-9
    (row,) = await rest.ok("GET", "/api/funding_payments")
    assert row == {"future": "BTC-PERP", "id": p.payment_id, "payment": want, "rate": 0.0002,
                   "time": row["time"]}  # fmt: skip
    assert row["time"].endswith("+00:00")
    t = p.at_ms / 1000
    assert await rest.ok("GET", f"/api/funding_payments?start_time={t + 1}") == []
    assert await rest.ok("GET", f"/api/funding_payments?end_time={t - 1}") == []
    assert await rest.ok("GET", "/api/funding_payments?future=ETH-PERP") == []
    assert await rest.ok("GET", f"/api/funding_payments?future=BTC-PERP&start_time={t}") == [row]
    status, doc = await rest.call("GET", "/api/funding_payments?future=NOPE-PERP")
    assert status == 404 and doc["success"] is False
    status, _ = await rest.call("GET", "/api/funding_payments", auth=False)
    assert status == 401


async def test_long_receives_negative_rate_newest_first(ftx: FtxEmulator, rest: Rest) -> None:
    await _position(rest, "ETH-PERP", "buy", 1.0)
    ftx.config.funding_rate = -0.0001
    before = _usd(ftx)
    (first,) = ftx.settle_funding(1_700_000_000_000)
    (second,) = ftx.settle_funding(1_700_003_600_000)
    assert first.payment < 0 and abs(_usd(ftx) - before + first.payment + second.payment) < 1e-9
    rows = await rest.ok("GET", "/api/funding_payments")
    assert [r["id"] for r in rows] == [second.payment_id, first.payment_id]


async def test_flat_pays_nothing_and_hours_align(ftx: FtxEmulator) -> None:
    before = dict(ftx.trading.account.sim.balances())
    assert ftx.settle_funding() == [] and ftx.funding.payments == []
    assert ftx.trading.account.sim.balances() == before
    assert next_funding_ms(1_700_000_000_001, 3_600_000) == 1_700_002_800_000


def test_boundary_grid_with_an_offset() -> None:
    """The grid the shared clock settles on: strictly after, shifted by the offset (BitMEX's
    04:00/12:00/20:00 is 8 h offset 4 h)."""
    hour = 3_600_000
    assert next_funding_ms(10 * hour, 8 * hour, 4 * hour) == 12 * hour
    assert next_funding_ms(12 * hour, 8 * hour, 4 * hour) == 20 * hour
    assert next_funding_ms(0, 8 * hour, 12 * hour) == 4 * hour  # an offset past the interval
    assert next_funding_ms(16 * hour - 1, 8 * hour) == 16 * hour


async def test_the_clock_settles_each_boundary_once_and_survives_a_failing_round() -> None:
    """``settle_on_boundaries`` calls ``settle`` with each boundary it settles, increasing and
    on the grid; a round that raises is logged and the next boundary still settles."""
    seen: list[int] = []

    def settle(due: int) -> None:
        seen.append(due)
        if len(seen) == 1:
            raise RuntimeError("a bad round")

    task = asyncio.get_running_loop().create_task(settle_on_boundaries(20, settle, "test"))
    try:
        await until(lambda: len(seen) >= 3, "three settlements", timeout=10.0)
    finally:
        task.cancel()
    assert all(d % 20 == 0 for d in seen) and seen == sorted(set(seen))
    assert seen[-1] <= now_ms()
