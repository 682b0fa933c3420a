"""Linear derivatives: margin, net positions, realised PnL, reduce-only, funding, leverage."""

from __future__ import annotations

import pytest

from tradeloop.model import Bar, Order, OrderStatus, Side
from tradeloop.sim import SimExchange

from .helpers import SWAP, T0, Recorder, bar, limit, make
from .helpers import market as spot_market

S = OrderStatus
SYM = SWAP.symbol


def sbar(i: int, o: float, h: float | None = None, low: float | None = None) -> Bar:
    return bar(i, o, h if h is not None else o, low if low is not None else o, o, symbol=SYM)


def opened_long(leverage: float = 10.0) -> tuple[SimExchange, Recorder]:
    """100 contracts (1 BTC) long at 20000 with 10k USDT."""
    ex, rec = make(balances={"USDT": 10_000.0})
    assert ex.set_leverage(SYM, leverage)
    ex.submit(market("open", Side.BUY, 100), ts=T0)
    ex.on_bar(sbar(0, 20_000.0))
    return ex, rec


def market(cid: str, side: Side, qty: float, **kw: object) -> Order:
    return spot_market(cid, side, qty, symbol=SYM, **kw)


def test_open_position_locks_initial_margin_and_pays_fee_in_settle() -> None:
    ex, rec = opened_long()
    (f,) = rec.fills("open")
    assert (f.price, f.qty, f.fee_ccy) == (20_000.0, 100, "USDT")
    assert f.fee == pytest.approx(100 * 20_000 * 0.01 * 0.0005)  # 10 USDT
    pos = ex.positions()[SYM]
    assert (pos.qty, pos.avg_price) == (100, 20_000.0)
    usdt = ex.balances()["USDT"]
    assert usdt.total == pytest.approx(9_990.0)
    assert usdt.locked == pytest.approx(2_000.0)  # 20k notional / 10x
    assert ex.unrealized_pnl(SYM, 20_500.0) == pytest.approx(500.0)
    assert ex.equity("USDT") == pytest.approx(9_990.0)  # marked at the last close


def test_closing_realises_pnl_into_the_wallet() -> None:
    ex, _ = opened_long()
    ex.submit(market("close", Side.SELL, 100, reduce_only=True), ts=T0 + 60_000_000_000)
    ex.on_bar(sbar(1, 21_000.0))
    pos = ex.positions()[SYM]
    assert pos.qty == 0 and pos.realized_pnl == pytest.approx(1_000.0)
    usdt = ex.balances()["USDT"]
    assert usdt.total == pytest.approx(10_000 - 10 + 1_000 - 10.5)
    assert usdt.locked == 0.0


def test_order_margin_is_locked_only_for_the_opening_part() -> None:
    ex, _ = opened_long()
    before = ex.balances()["USDT"].locked
    ex.submit(limit("tp", Side.SELL, 100, 30_000.0, symbol=SYM), ts=T0 + 1)  # pure close
    assert ex.balances()["USDT"].locked == pytest.approx(before)
    ex.submit(limit("flip", Side.SELL, 150, 30_000.0, symbol=SYM), ts=T0 + 1)  # 50 opening
    assert ex.balances()["USDT"].locked == pytest.approx(
        before + 50 * 30_000 * 0.01 * (0.1 + 0.0005)
    )


def test_position_can_flip_through_zero() -> None:
    ex, _ = opened_long()
    ex.submit(market("flip", Side.SELL, 150), ts=T0 + 60_000_000_000)
    ex.on_bar(sbar(1, 19_000.0))
    pos = ex.positions()[SYM]
    assert (pos.qty, pos.avg_price) == (-50, 19_000.0)
    assert pos.realized_pnl == pytest.approx(-1_000.0)
    assert ex.balances()["USDT"].locked == pytest.approx(50 * 19_000 * 0.01 / 10)


def test_insufficient_margin_is_rejected() -> None:
    ex, rec = make(balances={"USDT": 1_000.0})
    ex.submit(limit("big", Side.BUY, 100, 20_000.0, symbol=SYM), ts=T0)  # 1x: needs ~20k
    assert rec.statuses("big") == [S.REJECTED]
    assert "insufficient margin" in rec.last("big").reason
    assert ex.set_leverage(SYM, 25.0)
    ex.submit(limit("ok", Side.BUY, 100, 20_000.0, symbol=SYM), ts=T0)
    assert rec.statuses("ok") == [S.ACCEPTED]


def test_reduce_only_rules() -> None:
    ex, rec = opened_long()
    ex.submit(market("up", Side.BUY, 10, reduce_only=True), ts=T0 + 1)
    assert rec.last("up").status is S.REJECTED and "increase" in rec.last("up").reason
    ex.submit(market("over", Side.SELL, 150, reduce_only=True), ts=T0 + 1)
    assert rec.last("over").status is S.REJECTED and "exceeds" in rec.last("over").reason
    # Two reduce-only sells that together exceed the position: the second is cut at fill.
    ex.submit(market("r1", Side.SELL, 80, reduce_only=True), ts=T0 + 1)
    ex.submit(market("r2", Side.SELL, 80, reduce_only=True), ts=T0 + 1)
    ex.on_bar(sbar(1, 20_000.0))
    assert [f.qty for f in rec.fills("r1")] == [80]
    assert [f.qty for f in rec.fills("r2")] == [20]
    assert rec.last("r2").status is S.CANCELED and "reduce-only" in rec.last("r2").reason
    assert ex.positions()[SYM].qty == 0


def test_funding_longs_pay_positive_rates_shorts_receive() -> None:
    ex, _ = opened_long()
    paid = ex.apply_funding(SYM, 0.0001, 20_000.0, ts=T0 + 1)
    assert paid == pytest.approx(100 * 0.01 * 20_000 * 0.0001)  # 2 USDT
    assert ex.balances()["USDT"].total == pytest.approx(9_990.0 - 2.0)
    ex.submit(market("flip", Side.SELL, 200), ts=T0 + 60_000_000_000)
    ex.on_bar(sbar(1, 20_000.0))
    total = ex.balances()["USDT"].total
    assert ex.apply_funding(SYM, 0.0001, 20_000.0, ts=T0 + 2) == pytest.approx(-2.0)
    assert ex.balances()["USDT"].total == pytest.approx(total + 2.0)
    assert [p.amount for p in ex.funding_payments()] == [pytest.approx(2.0), pytest.approx(-2.0)]


def test_leverage_changes_position_margin_but_not_beyond_the_wallet() -> None:
    ex, _ = opened_long(leverage=10.0)
    assert ex.set_leverage(SYM, 5.0)
    assert ex.balances()["USDT"].locked == pytest.approx(4_000.0)
    assert not ex.set_leverage(SYM, 1.0)  # 20k margin > 9,990 wallet
    assert ex.leverage(SYM) == 5.0 and ex.balances()["USDT"].locked == pytest.approx(4_000.0)
    assert not ex.set_leverage("BTC-USDT", 3.0)  # spot has no leverage


def test_resting_derivative_limit_fills_as_maker_with_maker_fee() -> None:
    ex, rec = make(balances={"USDT": 10_000.0})
    ex.set_leverage(SYM, 10.0)
    ex.submit(limit("l", Side.SELL, 10, 21_000.0, symbol=SYM), ts=T0)
    ex.on_bar(sbar(0, 20_000.0, h=21_500.0, low=19_900.0))
    (f,) = rec.fills("l")
    assert f.price == 21_000.0 and f.fee == pytest.approx(10 * 21_000 * 0.01 * 0.0002)
    assert ex.positions()[SYM].qty == -10


def test_unpriced_market_order_is_cut_to_the_margin_available_at_fill() -> None:
    ex, rec = make(balances={"USDT": 1_000.0})
    ex.submit(market("big", Side.BUY, 100), ts=T0)  # no price known: nothing locked yet
    assert rec.statuses("big") == [S.ACCEPTED]
    ex.on_bar(sbar(0, 20_000.0))  # 1x: each contract needs 200 * (1 + 0.0005)
    assert [f.qty for f in rec.fills("big")] == [4]
    assert rec.last("big").status is S.CANCELED and "margin" in rec.last("big").reason
    usdt = ex.balances()["USDT"]
    assert usdt.free >= 0 and usdt.locked == pytest.approx(800.0)
