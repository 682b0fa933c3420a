"""Hourly perpetual funding on the FTX emulator over a real socket: a settlement moves the USD
wallet by exactly the payment ``GET /api/funding_payments`` lists (``future``, ``id``,
``payment`` > 0 when paid, ``rate``, ``time``), a long receives at a negative rate, the
``future`` / ``start_time`` / ``end_time`` filters hold, and flat or spot markets pay
nothing."""

from __future__ import annotations

from tradeloop.emulator.ftx.funding import next_hour_ms
from tradeloop.emulator.ftx.server import FtxEmulator

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
    assert next_hour_ms(1_700_000_000_001, 3_600_000) == 1_700_002_800_000
