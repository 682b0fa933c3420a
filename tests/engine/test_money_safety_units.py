"""Money-safety rules at unit level: the state machine resolves every cancel/amend race, the
risk engine refuses non-finite numbers outright, fees are booked in their currency, the sim
charges spot buy fees in the base currency when asked, and the OMS retries transient refusals
with a deterministic backoff."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeloop.core.clock import SimClock
from tradeloop.engine.kernel import Kernel
from tradeloop.engine.oms import ExecConfig, TargetRetryPolicy
from tradeloop.engine.portfolio import Portfolio
from tradeloop.engine.risk import RiskConfig, RiskEngine
from tradeloop.model import (
    TRANSITIONS,
    Bar,
    Fill,
    Instrument,
    Liquidity,
    Order,
    OrderReport,
    OrderStatus,
    OrderType,
    RejectReason,
    Side,
)
from tradeloop.model.checks import order_problem
from tradeloop.sim.config import SimConfig
from tradeloop.sim.exchange import SimExchange

S = OrderStatus
BTC = Instrument(
    "BTC-USDT", "BTC", "USDT", tick_size=0.1, lot_size=1e-6, maker_fee=0.0, taker_fee=0.001
)
LIVE = (S.SUBMITTED, S.ACCEPTED, S.PARTIALLY_FILLED, S.PENDING_CANCEL, S.PENDING_AMEND)
TERMINAL = (S.FILLED, S.CANCELED, S.REJECTED, S.EXPIRED)


@pytest.mark.parametrize("live", LIVE)
@pytest.mark.parametrize("end", TERMINAL)
def test_every_terminal_report_applies_from_every_live_state(
    live: OrderStatus, end: OrderStatus
) -> None:
    assert end in TRANSITIONS[live]


def test_pending_cancel_then_rejected_is_applied() -> None:
    o = Order("c", "BTC-USDT", Side.BUY, 1.0)
    for s in (S.SUBMITTED, S.PENDING_CANCEL, S.REJECTED):
        o.transition(s)
    assert o.is_terminal


# -- numbers -------------------------------------------------------------------------------
BAD = [
    (float("nan"), 0.0, OrderType.MARKET),
    (float("inf"), 0.0, OrderType.MARKET),
    (-1.0, 0.0, OrderType.MARKET),
    (0.0, 0.0, OrderType.MARKET),
    (None, 0.0, OrderType.MARKET),
    ("1", 0.0, OrderType.MARKET),
    (True, 0.0, OrderType.MARKET),
    (1.0, float("nan"), OrderType.LIMIT),
    (1.0, 0.0, OrderType.LIMIT),
    (1.0, -5.0, OrderType.LIMIT),
    (1.0, "abc", OrderType.LIMIT),
]


@pytest.mark.parametrize(("qty", "price", "typ"), BAD)
def test_risk_refuses_non_finite_and_non_numeric_orders(qty: object, price: object,
                                                        typ: OrderType) -> None:  # fmt: skip
    risk = RiskEngine(
        RiskConfig(max_order_qty=5, max_order_notional=1e6, max_position_qty=10, price_band=0.1),
        {"BTC-USDT": BTC},
        lambda: 1e6,
        lambda s: 0.0,
        lambda s: 100.0,
    )
    order = Order("x", "BTC-USDT", Side.BUY, qty, typ, price)  # type: ignore[arg-type]
    refusal = risk.refusal(order, 0)
    assert refusal is not None
    assert refusal[0] in (RejectReason.INVALID_SIZE, RejectReason.INVALID_PRICE)


@settings(deadline=None)  # hypothesis' 200 ms per example fails on a stalled, loaded machine
@given(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(allow_nan=True, allow_infinity=True),
)
def test_order_problem_accepts_exactly_finite_positive_numbers(qty: float, price: float) -> None:
    problem = order_problem(Order("x", "BTC-USDT", Side.BUY, qty, OrderType.LIMIT, price))
    ok = math.isfinite(qty) and qty > 0 and math.isfinite(price) and price > 0
    assert (problem is None) == ok


def test_instrument_never_formats_garbage() -> None:
    for bad in (float("nan"), float("inf"), "abc", None):
        with pytest.raises(ValueError):
            BTC.format_price(bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            BTC.format_qty(bad)  # type: ignore[arg-type]


# -- fees in their currency ----------------------------------------------------------------
def fill(side: Side, qty: float, price: float, fee: float, ccy: str) -> Fill:
    return Fill(1, "c", "v", "t", "BTC-USDT", side, price, qty, fee, ccy, Liquidity.TAKER, "")


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.booleans(),
            st.floats(0.001, 5.0),
            st.floats(10.0, 1000.0),
            st.floats(0.0, 0.003),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_portfolio_matches_balances_when_fees_come_in_either_currency(
    trades: list[tuple[bool, float, float, float]],
) -> None:
    """Reference: a two-currency wallet. A buy pays quote and receives base minus a base fee;
    a sell gives base and receives quote minus a quote fee (OKX's spot rule)."""
    p = Portfolio({"BTC-USDT": BTC}, 1e9)
    p.add_strategy("A")
    wallet = {"BTC": 0.0, "USDT": 1e9}
    for buy, qty, price, rate in trades:
        if buy:
            fee = qty * rate
            wallet["USDT"] -= qty * price
            wallet["BTC"] += qty - fee
            p.apply_fill(fill(Side.BUY, qty, price, fee, "BTC"))
        else:
            fee = qty * price * rate
            wallet["BTC"] -= qty
            wallet["USDT"] += qty * price - fee
            p.apply_fill(fill(Side.SELL, qty, price, fee, "USDT"))
        p.mark("BTC-USDT", price)
        assert p.position_qty("BTC-USDT") == pytest.approx(wallet["BTC"], abs=1e-9)
        assert p.cash == pytest.approx(wallet["USDT"], rel=1e-12, abs=1e-6)
        assert p.equity() == pytest.approx(wallet["USDT"] + wallet["BTC"] * price, rel=1e-12)
        assert p.strategy_equity("A") - p.books["A"].capital == pytest.approx(
            p.account_pnl(), abs=1e-5
        )


def test_fee_in_a_third_currency_is_counted_apart() -> None:
    p = Portfolio({"BTC-USDT": BTC}, 1000.0)
    p.apply_fill(fill(Side.BUY, 1.0, 100.0, 0.05, "OKB"))
    assert p.cash == 900.0 and p.position_qty("BTC-USDT") == 1.0
    assert p.other_fees == {"OKB": 0.05}


class _Sink:
    def __init__(self) -> None:
        self.fills: list[Fill] = []

    def on_fill(self, f: Fill) -> None:
        self.fills.append(f)

    def on_order_report(self, r: OrderReport) -> None:
        pass


@pytest.mark.parametrize("in_base", [False, True])
def test_sim_charges_spot_buy_fees_in_the_received_currency(in_base: bool) -> None:
    sink = _Sink()
    ex = SimExchange([BTC], {"USDT": 10_000.0}, sink, SimConfig(fee_in_received_ccy=in_base))
    ex.on_bar(Bar(60, "BTC-USDT", 0, 100.0, 100.0, 100.0, 100.0, 1e9))
    ex.submit(Order("b1", "BTC-USDT", Side.BUY, 2.0), 60)
    ex.on_bar(Bar(120, "BTC-USDT", 60, 100.0, 100.0, 100.0, 100.0, 1e9))
    (f,) = sink.fills
    bal = ex.balances()
    if in_base:
        assert f.fee_ccy == "BTC" and f.fee == pytest.approx(2.0 * 0.001)
        assert bal["BTC"].total == pytest.approx(2.0 - 0.002)
        assert bal["USDT"].total == pytest.approx(10_000.0 - 200.0)
    else:
        assert f.fee_ccy == "USDT" and f.fee == pytest.approx(0.2)
        assert bal["BTC"].total == pytest.approx(2.0)
        assert bal["USDT"].total == pytest.approx(10_000.0 - 200.2)


# -- retry policy ------------------------------------------------------------------------------
def test_retry_delays_grow_with_equal_jitter_up_to_the_cap() -> None:
    policy = TargetRetryPolicy(base_s=0.5, cap_s=4.0)
    rng = random.Random(1)
    for attempt in range(12):
        d = min(4.0, 0.5 * 2**attempt)
        delay = policy.delay_ns(attempt, rng) / 1e9
        assert d / 2 <= delay <= d


class _RateLimitedVenue:
    """An execution client that refuses every placement as rate-limited, then accepts and
    fills after ``refusals`` tries: enough to drive the OMS retry path on a SimClock."""

    venue = "TEST"

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.sent: list[Order] = []

    def bind(self, sink: object) -> None:
        self.oms = sink

    def instruments(self) -> dict[str, Instrument]:
        return {"BTC-USDT": BTC}

    def submit_order(self, order: Order) -> None:
        self.sent.append(order)
        cid = order.client_order_id
        if len(self.sent) <= self.refusals:
            self.oms.on_order_report(  # type: ignore[attr-defined]
                OrderReport(
                    0,
                    cid,
                    "",
                    order.symbol,
                    S.REJECTED,
                    reason="429",
                    code=RejectReason.RATE_LIMITED,
                )
            )
            return
        self.oms.on_fill(  # type: ignore[attr-defined]
            Fill(
                0,
                cid,
                "v",
                f"t{cid}",
                order.symbol,
                order.side,
                100.0,
                order.qty,
                0.0,
                "USDT",
                Liquidity.TAKER,
                "",
            )
        )
        self.oms.on_order_report(  # type: ignore[attr-defined]
            OrderReport(0, cid, "v", order.symbol, S.FILLED, order.qty, 100.0)
        )

    def cancel_order(self, order: Order) -> None:
        pass


def test_oms_pursues_a_target_through_transient_refusals_on_the_sim_clock() -> None:
    clock = SimClock(0)
    venue = _RateLimitedVenue(refusals=3)
    k = Kernel([BTC], 10_000.0, venue, clock,  # type: ignore[arg-type]
               execution=ExecConfig(retry=TargetRetryPolicy(base_s=1.0, cap_s=8.0)))  # fmt: skip
    k.portfolio.marks["BTC-USDT"] = 100.0
    k.oms.set_target("BTC-USDT", 1.0)
    assert len(venue.sent) == 1 and k.portfolio.position_qty("BTC-USDT") == 0.0
    clock.advance_to(60 * 10**9)  # the backoffs (<= 1 + 2 + 4 s) all fall due
    assert len(venue.sent) == 4
    assert k.portfolio.position_qty("BTC-USDT") == 1.0
    assert not k.oms.open_orders
