from __future__ import annotations

import pytest

from tradeloop.engine.portfolio import Portfolio
from tradeloop.engine.risk import NS_PER_DAY, RiskConfig, RiskEngine
from tradeloop.model import Fill, Instrument, Liquidity, Order, OrderType, Side, TradingState

BTC = Instrument("BTC-USDT", "BTC", "USDT", tick_size=0.1, lot_size=1e-6, maker_fee=0, taker_fee=0)


def fill(side: Side, qty: float, price: float, fee: float = 0.0, sid: str = "") -> Fill:
    return Fill(1, "c", "v", "t", "BTC-USDT", side, price, qty, fee, "USDT", Liquidity.TAKER, sid)


def two_strategy_portfolio() -> tuple[Portfolio, list[tuple[str, float]]]:
    p = Portfolio({"BTC-USDT": BTC}, 100_000.0)
    p.add_strategy("A")
    p.add_strategy("B")
    p.split_capital_evenly()
    targets: list[tuple[str, float]] = []
    p.on_target_change(lambda s, q, _pq: targets.append((s, q)))
    p.mark("BTC-USDT", 100.0)
    return p, targets


def total_strategy_pnl(p: Portfolio) -> float:
    return sum(sum((r, u, -f)) for r, u, f in (p.strategy_pnl(s) for s in p.books))


def test_targets_net_and_opposite_needs_cross_internally() -> None:
    p, targets = two_strategy_portfolio()
    p.set_target("A", "BTC-USDT", 3.0)
    p.set_target("B", "BTC-USDT", -1.0)
    assert targets[-1] == ("BTC-USDT", 2.0)  # the account only ever trades the net
    # B's short was crossed against A's long at the mark; no venue trade needed for that part
    assert p.books["B"].positions["BTC-USDT"].qty == pytest.approx(-1.0)
    assert p.books["A"].positions["BTC-USDT"].qty == pytest.approx(1.0)
    assert p.positions["BTC-USDT"].qty == 0.0
    p.apply_fill(fill(Side.BUY, 2.0, 101.0, fee=0.2))
    assert p.books["A"].positions["BTC-USDT"].qty == pytest.approx(3.0)
    assert p.books["B"].positions["BTC-USDT"].qty == pytest.approx(-1.0)
    for mark in (90.0, 101.0, 130.0):
        p.mark("BTC-USDT", mark)
        assert total_strategy_pnl(p) == pytest.approx(p.account_pnl(), abs=1e-9)


def test_fills_are_split_pro_rata_between_strategies_that_need_them() -> None:
    p, _ = two_strategy_portfolio()
    p.set_target("A", "BTC-USDT", 3.0)
    p.set_target("B", "BTC-USDT", 1.0)
    alloc = p.apply_fill(fill(Side.BUY, 2.0, 100.0, fee=0.4))
    assert alloc == [("A", 1.5, pytest.approx(0.3)), ("B", 0.5, pytest.approx(0.1))]
    p.apply_fill(fill(Side.BUY, 2.0, 110.0, fee=0.4))
    p.mark("BTC-USDT", 120.0)
    assert total_strategy_pnl(p) == pytest.approx(p.account_pnl(), abs=1e-9)
    assert p.account_pnl() == pytest.approx(4 * 120 - 2 * 100 - 2 * 110 - 0.8)


def test_percent_target_sizes_from_strategy_equity() -> None:
    p, targets = two_strategy_portfolio()
    p.set_target_percent("A", "BTC-USDT", 0.5)  # half of A's 50k at 100
    assert targets[-1] == ("BTC-USDT", pytest.approx(250.0))


def make_risk(cfg: RiskConfig, equity: list[float], pos: list[float]) -> RiskEngine:
    return RiskEngine(cfg, {"BTC-USDT": BTC}, lambda: equity[0], lambda s: pos[0], lambda s: 100.0)


def order(side: Side, qty: float, price: float = 0.0, reduce_only: bool = False) -> Order:
    typ = OrderType.LIMIT if price else OrderType.MARKET
    return Order("x", "BTC-USDT", side, qty, typ, price, reduce_only=reduce_only)


def test_pre_trade_limits() -> None:
    r = make_risk(
        RiskConfig(max_order_qty=5, max_order_notional=300, max_position_qty=4, price_band=0.05),
        [1000.0],
        [0.0],
    )
    assert r.check(order(Side.BUY, 6), 0) is not None
    assert "notional" in (r.check(order(Side.BUY, 3.5), 0) or "")
    assert r.check(order(Side.BUY, 2), 0) is None
    assert "outside" in (r.check(order(Side.BUY, 1, price=110.0), 0) or "")
    assert r.check(order(Side.BUY, 1, price=104.0), 0) is None
    assert "reduce" in (r.check(order(Side.SELL, 1, reduce_only=True), 0) or "")


def test_position_limit_counts_the_existing_position() -> None:
    r = make_risk(RiskConfig(max_position_qty=4), [1000.0], [3.0])
    assert r.check(order(Side.BUY, 2), 0) is not None
    assert r.check(order(Side.SELL, 2), 0) is None  # reduces


def test_order_rate_limit_uses_a_sliding_window() -> None:
    r = make_risk(RiskConfig(max_orders=2, rate_window_s=1.0), [1000.0], [0.0])
    s = 1_000_000_000
    assert r.check(order(Side.BUY, 1), 0) is None
    assert r.check(order(Side.BUY, 1), s // 2) is None
    assert "rate" in (r.check(order(Side.BUY, 1), s // 2 + 1) or "")
    assert r.check(order(Side.BUY, 1), s + 1) is None  # the first one left the window


def test_states_halted_and_reducing() -> None:
    pos = [2.0]
    r = make_risk(RiskConfig(), [1000.0], pos)
    r.set_state(TradingState.REDUCING)
    assert r.check(order(Side.BUY, 1), 0) is not None
    assert r.check(order(Side.SELL, 3), 0) is not None  # would flip: not a reduction
    assert r.check(order(Side.SELL, 2), 0) is None
    r.set_state(TradingState.HALTED)
    assert r.check(order(Side.SELL, 1), 0) == "trading halted"


def test_daily_loss_limit_trips_until_next_utc_day() -> None:
    equity = [10_000.0]
    pos = [1.0]
    r = make_risk(RiskConfig(daily_loss_limit=500.0), equity, pos)
    breaches: list[str] = []
    r.on_breach = lambda ts, msg: breaches.append(msg)
    day0 = 10 * NS_PER_DAY
    r.on_time(day0 + 1)  # day start equity 10,000
    equity[0] = 9_600.0
    r.on_time(day0 + 2)
    assert r.state is TradingState.ACTIVE
    equity[0] = 9_499.0
    r.on_time(day0 + 3)
    assert r.state is TradingState.REDUCING and len(breaches) == 1
    assert r.check(order(Side.BUY, 1), day0 + 4) is not None
    assert r.check(order(Side.SELL, 1), day0 + 4) is None  # closing is allowed
    equity[0] = 12_000.0  # recovering the same day does not lift the block
    r.on_time(day0 + NS_PER_DAY - 1)
    assert r.state is TradingState.REDUCING
    r.on_time(day0 + NS_PER_DAY)
    assert r.state is TradingState.ACTIVE
    assert r.day_start_equity == 12_000.0
    assert r.check(order(Side.BUY, 1), day0 + NS_PER_DAY) is None
