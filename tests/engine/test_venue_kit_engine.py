"""The engine side of the venue kit: ids, several venues in one kernel, per-venue cash, inverse
contracts, venue halts, the bus's error rule and bounded order memory — all through the real
simulated venue (two of them where a second venue is needed)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradeloop.core.bus import EventBus
from tradeloop.core.clock import SimClock
from tradeloop.core.errors import ConfigError
from tradeloop.engine.kernel import Kernel, OnStrategyError
from tradeloop.engine.oms import ExecConfig
from tradeloop.engine.portfolio import Portfolio
from tradeloop.engine.strategy import Strategy
from tradeloop.model import (
    Bar,
    Fill,
    Instrument,
    InstrumentId,
    InstrumentKind,
    Liquidity,
    OrderStatus,
    Position,
    Side,
    TimerEvent,
    VenueStatus,
)
from tradeloop.venues.sim.client import SimExecutionClient

MIN = 60_000_000_000
OKX_BTC = Instrument.of("BTC-USDT", "OKX", "BTC", "USDT", tick_size=0.1, lot_size=1e-6)
BIN_BTC = Instrument.of("BTCUSDT", "BINANCE", "BTC", "USDT", tick_size=0.1, lot_size=1e-6)
OKX_BTC2 = Instrument.of("BTC-USDT", "OKX2", "BTC", "USDT", tick_size=0.1, lot_size=1e-6)
XBTUSD = Instrument.of(
    "XBTUSD", "BITMEX", "BTC", "USD", tick_size=0.5, lot_size=1.0, contract_value=1.0,
    kind=InstrumentKind.SWAP, inverse=True, maker_fee=0.0, taker_fee=0.0,
)  # fmt: skip


# -- identity ---------------------------------------------------------------------------------
def test_instrument_ids_have_one_canonical_text_form() -> None:
    i = InstrumentId.parse("XBTUSD.BITMEX")
    assert (i.native, i.venue) == ("XBTUSD", "BITMEX")
    assert InstrumentId.of("BTC/USD", "FTX") == "BTC/USD.FTX"
    assert InstrumentId.parse("tBTCF0:USTF0.BITFINEX").native == "tBTCF0:USTF0"
    assert OKX_BTC.symbol == "BTC-USDT.OKX" and OKX_BTC.native == "BTC-USDT"
    assert XBTUSD.settle == "BTC" and XBTUSD.notional(100, 50_000.0) == 100.0
    for bad in ("BTC-USDT", "BTC-USDT.okx", ".OKX", "BTC USDT.OKX"):
        with pytest.raises(ValueError):
            InstrumentId.parse(bad)


# -- two venues, one kernel ------------------------------------------------------------------
def bar(sym: str, i: int, price: float) -> Bar:
    return Bar((i + 1) * MIN, sym, i * MIN, price, price, price, price, 1e6)


def two_venue_kernel(
    a: Instrument = OKX_BTC, b: Instrument = BIN_BTC, **kw: object
) -> tuple[Kernel, dict[str, SimExecutionClient], SimClock]:
    clock = SimClock(0)
    clients = {
        a.venue: SimExecutionClient([a], {"USDT": 10_000.0}, clock),
        b.venue: SimExecutionClient([b], {"USDT": 20_000.0}, clock),
    }
    capital = {(a.venue, "USDT"): 10_000.0, (b.venue, "USDT"): 20_000.0}
    k = Kernel([a, b], capital, clients, clock, **kw)  # type: ignore[arg-type]
    return k, clients, clock


def feed(k: Kernel, clients: dict[str, SimExecutionClient], clock: SimClock, i: int,
         prices: dict[str, float]) -> None:  # fmt: skip
    clock.advance_to((i + 1) * MIN)
    for inst in k.instruments.values():
        b = bar(inst.symbol, i, prices[inst.symbol])
        clients[inst.venue].exchange.on_bar(b)
        k.on_market_data(b)


class PerVenue(Strategy):
    """Holds 0.1 BTC on the venue given by its params."""

    params = {"where": "", "size": 0.1}

    def on_bar(self, bar: Bar) -> None:
        if bar.symbol == self.p.where:
            self.target(bar.symbol, self.p.size)


def test_one_kernel_routes_each_order_to_its_venue_and_books_cash_per_venue() -> None:
    k, clients, clock = two_venue_kernel()
    k.add_strategy(PerVenue("a", {"where": OKX_BTC.symbol}, capital=10_000.0))
    k.add_strategy(PerVenue("b", {"where": BIN_BTC.symbol, "size": 0.2}, capital=20_000.0))
    k.start()
    prices = {OKX_BTC.symbol: 100.0, BIN_BTC.symbol: 101.0}
    for i in range(3):
        feed(k, clients, clock, i, prices)
    p = k.portfolio
    assert p.position_qty(OKX_BTC.symbol) == pytest.approx(0.1)
    assert p.position_qty(BIN_BTC.symbol) == pytest.approx(0.2)
    # each venue's sim saw only its own orders, and the engine's cash cells match each venue
    for inst, qty in ((OKX_BTC, 0.1), (BIN_BTC, 0.2)):
        venue = clients[inst.venue].exchange
        assert venue.balances()["BTC"].total == pytest.approx(qty)
        assert p.accounts.balances()[inst.venue]["USDT"] == pytest.approx(
            venue.balances()["USDT"].total
        )
    assert p.equity() == pytest.approx(
        sum(c.amount for c in p.accounts.cells.values()) + 0.1 * 100.0 + 0.2 * 101.0
    )


def test_same_pair_on_two_venues_needs_its_id() -> None:
    k, _, _ = two_venue_kernel(OKX_BTC, OKX_BTC2)
    assert k.symbol_of("BTC-USDT.OKX2") == "BTC-USDT.OKX2"
    with pytest.raises(ConfigError, match="several venues"):
        k.symbol_of("BTC-USDT")
    with pytest.raises(ConfigError, match="unknown instrument"):
        k.symbol_of("ETH-USDT")
    k2, _, _ = two_venue_kernel()
    assert k2.symbol_of("BTCUSDT") == BIN_BTC.symbol  # a bare name that only one venue has


def test_reconcile_failed_halts_only_that_venue_until_resumed() -> None:
    k, clients, clock = two_venue_kernel()
    k.add_strategy(PerVenue("a", {"where": ""}))
    k.start()
    prices = {OKX_BTC.symbol: 100.0, BIN_BTC.symbol: 100.0}
    feed(k, clients, clock, 0, prices)
    k.on_market_data(VenueStatus(MIN, "OKX", "reconcile_failed", "o1: lookups failed"))
    strat = k.strategies[0]
    refused = strat.buy(OKX_BTC.symbol, 0.01)
    assert refused.status is OrderStatus.REJECTED and "venue halted" in refused.reason
    assert strat.buy(BIN_BTC.symbol, 0.01).status is not OrderStatus.REJECTED
    k.resume_venue("OKX")
    assert strat.buy(OKX_BTC.symbol, 0.01).status is not OrderStatus.REJECTED


# -- bus -----------------------------------------------------------------------------------------
def test_a_raising_handler_neither_reorders_nor_loses_events() -> None:
    """The reproduced case: the handler of Bar(ts=1) publishes Timer(ts=2) then raises; the
    next Bar(ts=3) used to be delivered before the Timer (order 1, 3, 2)."""
    bus = EventBus()
    seen: list[int] = []
    other: list[int] = []

    def first(ev: Bar) -> None:
        seen.append(ev.ts)
        if ev.ts == 1:
            bus.publish(TimerEvent(2, "t"))
            raise RuntimeError("strategy bug")

    bus.subscribe(Bar, first)
    bus.subscribe(Bar, lambda ev: other.append(ev.ts))  # subscribed after the faulty one
    bus.subscribe(TimerEvent, lambda ev: seen.append(ev.ts))
    with pytest.raises(RuntimeError, match="strategy bug"):
        bus.publish(Bar(1, "X.SIM", 0, 1, 1, 1, 1, 1))
    bus.publish(Bar(3, "X.SIM", 0, 1, 1, 1, 1, 1))
    assert seen == [1, 2, 3]
    assert other == [1, 3]  # the raising handler did not cost the next one its event


class Faulty(Strategy):
    def on_start(self) -> None:
        self.calls = 0

    def on_bar(self, bar: Bar) -> None:
        self.calls += 1
        raise ZeroDivisionError("oops")


class Counter(Strategy):
    def on_start(self) -> None:
        self.n = 0

    def on_bar(self, bar: Bar) -> None:
        self.n += 1


@pytest.mark.parametrize("policy", [OnStrategyError.LOG, OnStrategyError.STOP])
def test_live_policies_keep_other_strategies_fed(policy: OnStrategyError) -> None:
    k, clients, clock = two_venue_kernel(on_strategy_error=policy)
    bad, good = Faulty("bad"), Counter("good")
    k.add_strategy(bad)
    k.add_strategy(good)
    k.start()
    for i in range(3):
        feed(k, clients, clock, i, {OKX_BTC.symbol: 100.0, BIN_BTC.symbol: 100.0})
    assert good.n == 6  # two instruments x three bars, whatever the other strategy does
    # LOG keeps calling the faulty strategy; STOP stops it after its first exception
    assert bad.calls == (6 if policy is OnStrategyError.LOG else 1)


def test_a_strategy_failing_on_every_bar_does_not_bury_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The traceback once, then one line each up to 10 failures, then at 100: a strategy that
    raises on every event used to log a traceback for each."""
    k, clients, clock = two_venue_kernel(on_strategy_error=OnStrategyError.LOG)
    bad = Faulty("bad")
    k.add_strategy(bad)
    k.start()
    with caplog.at_level("ERROR", logger="tradeloop.engine.kernel"):
        for i in range(60):  # two instruments: 120 failures
            feed(k, clients, clock, i, {OKX_BTC.symbol: 100.0, BIN_BTC.symbol: 100.0})
    said = [r for r in caplog.records if "strategy bad failed on Bar" in r.getMessage()]
    assert bad.calls == 120
    # the traceback rides on the record (as exc_text once the redacting filter has run)
    assert [bool(r.exc_info or r.exc_text) for r in said] == [True] + [False] * 10
    assert "(100 times;" in said[-1].getMessage()


def test_backtest_policy_stops_the_run_on_a_strategy_bug() -> None:
    k, clients, clock = two_venue_kernel()
    k.add_strategy(Faulty("bad"))
    k.start()
    with pytest.raises(ZeroDivisionError):
        feed(k, clients, clock, 0, {OKX_BTC.symbol: 100.0, BIN_BTC.symbol: 100.0})


# -- inverse contracts --------------------------------------------------------------------------
fills_st = st.lists(
    st.tuples(st.integers(-50, 50).filter(bool), st.floats(1_000.0, 100_000.0)),
    min_size=1,
    max_size=25,
)


@settings(max_examples=300, deadline=None)
@given(fills_st, st.floats(1_000.0, 100_000.0), st.sampled_from([1.0, 100.0]))
def test_inverse_position_pnl_matches_the_base_currency_reference(
    fills: list[tuple[int, float]], mark: float, cv: float
) -> None:
    """Reference, written out: each contract is worth ``cv`` USD, so buying n contracts at p
    pays n·cv/p BTC of value and selling receives it; marking the rest to market at ``mark``,
    total PnL in BTC = Σ sᵢ·cv/pᵢ − q·cv/mark."""
    pos = Position("XBTUSD.BITMEX", multiplier=cv, inverse=True)
    for signed, price in fills:
        pos.apply_fill(float(signed), price)
    q = sum(s for s, _ in fills)
    reference = sum(s * cv / p for s, p in fills) - q * cv / mark
    got = pos.realized_pnl + pos.unrealized(mark)
    assert pos.qty == pytest.approx(q)
    assert got == pytest.approx(reference, rel=1e-9, abs=1e-12)


@settings(max_examples=300, deadline=None)
@given(fills_st, st.floats(1_000.0, 100_000.0))
def test_linear_position_pnl_matches_the_quote_currency_reference(
    fills: list[tuple[int, float]], mark: float
) -> None:
    pos = Position("BTC-USDT-SWAP.OKX", multiplier=0.01)
    for signed, price in fills:
        pos.apply_fill(float(signed), price)
    q = sum(s for s, _ in fills)
    reference = -sum(s * 0.01 * p for s, p in fills) + q * 0.01 * mark
    assert pos.realized_pnl + pos.unrealized(mark) == pytest.approx(reference, rel=1e-9, abs=1e-6)


def test_portfolio_values_inverse_margin_and_two_currencies_in_usd() -> None:
    p = Portfolio(
        {XBTUSD.symbol: XBTUSD, OKX_BTC.symbol: OKX_BTC},
        {("BITMEX", "BTC"): 1.0, ("OKX", "USDT"): 10_000.0},
        currency="USD",
    )
    p.add_strategy("s")
    p.mark(XBTUSD.symbol, 50_000.0)
    assert p.equity() == pytest.approx(50_000.0 + 10_000.0)  # BTC valued at the XBTUSD mark
    # long 10,000 USD of contracts at 50,000, fee 0.0001 BTC: cash in BTC pays only the fee
    p.apply_fill(Fill(1, "c", "v", "t", XBTUSD.symbol, Side.BUY, 50_000.0, 10_000.0, 0.0001,
                      "BTC", Liquidity.TAKER, ""))  # fmt: skip
    assert p.accounts.balances()["BITMEX"]["BTC"] == pytest.approx(1.0 - 0.0001)
    p.mark(XBTUSD.symbol, 55_000.0)
    upl_btc = 10_000.0 * (1 / 50_000.0 - 1 / 55_000.0)
    expected = (1.0 - 0.0001 + upl_btc) * 55_000.0 + 10_000.0
    assert p.equity() == pytest.approx(expected, rel=1e-12)
    # a percent target on an inverse contract is sized in contracts worth 1 USD each
    p.set_target_percent("s", XBTUSD.symbol, 0.5)
    assert p.books["s"].targets[XBTUSD.symbol] == pytest.approx(0.5 * p.equity(), rel=1e-9)


def test_btc_with_no_price_yet_is_valued_at_zero_not_nan() -> None:
    p = Portfolio({XBTUSD.symbol: XBTUSD}, {("BITMEX", "BTC"): 2.0}, currency="USD")
    assert p.equity() == 0.0 and not math.isnan(p.equity())


# -- bounded memory -------------------------------------------------------------------------------
def test_finished_orders_are_pruned_when_bounded() -> None:
    clock = SimClock(0)
    client = SimExecutionClient([OKX_BTC], {"USDT": 1e6}, clock)
    k = Kernel([OKX_BTC], 1e6, client, clock, execution=ExecConfig(max_finished_orders=5))
    s = Counter("c")
    k.add_strategy(s)
    k.start()
    for i in range(40):
        clock.advance_to((i + 1) * MIN)
        b = bar(OKX_BTC.symbol, i, 100.0)
        client.exchange.on_bar(b)
        k.on_market_data(b)
        s.buy(OKX_BTC.symbol, 0.01)
    assert len(k.oms.orders) <= 5 + 1  # the bound plus the one still working
    assert len(k.oms._seen_trades) <= 5
    assert k.portfolio.position_qty(OKX_BTC.symbol) == pytest.approx(0.39)


# -- amend --------------------------------------------------------------------------------------
def test_amend_moves_a_resting_order_and_a_refused_amend_keeps_its_values() -> None:
    clock = SimClock(0)
    client = SimExecutionClient([OKX_BTC], {"USDT": 1e6}, clock)
    k = Kernel([OKX_BTC], 1e6, client, clock)
    s = Counter("c")
    k.add_strategy(s)
    k.start()
    clock.advance_to(MIN)
    b = bar(OKX_BTC.symbol, 0, 100.0)
    client.exchange.on_bar(b)
    k.on_market_data(b)
    order = s.buy(OKX_BTC.symbol, 0.5, price=90.0)
    assert order.status is OrderStatus.ACCEPTED
    assert s.amend(order, qty=0.7, price=91.0)
    assert order.status is OrderStatus.ACCEPTED
    assert (order.qty, order.price) == (0.7, 91.0)
    (venue_side,) = [
        o for o in client.exchange.open_orders() if o.client_order_id == order.client_order_id
    ]
    assert (venue_side.qty, venue_side.price) == (0.7, 91.0)
    # a refused amend (a price that is not positive) leaves the order as it was
    assert s.amend(order, price=-5.0)
    assert order.status is OrderStatus.ACCEPTED
    assert (order.qty, order.price) == (0.7, 91.0)
    # a filled or unacknowledged order cannot be amended
    s.cancel(order)
    assert not s.amend(order, price=92.0)


def test_a_fill_of_an_order_that_is_not_ours_moves_no_strategy() -> None:
    """Another client on the same account (or the venue's web UI) trades: the venue's money
    moved, but no strategy asked for it, so none is charged with it."""
    clock = SimClock(0)
    client = SimExecutionClient([OKX_BTC], {"USDT": 1e6}, clock)
    k = Kernel([OKX_BTC], 1e6, client, clock)
    k.add_strategy(Counter("c"))
    k.start()
    foreign = Fill(MIN, "web-ui-123", "v9", "t9", OKX_BTC.symbol, Side.BUY, 100.0, 0.15, 0.01,
                   "USDT", Liquidity.TAKER, "")  # fmt: skip
    k.oms.on_fill(foreign)
    assert k.portfolio.position_qty(OKX_BTC.symbol) == 0.0
    assert k.portfolio.books["c"].positions.get(OKX_BTC.symbol) is None
    assert k.oms.foreign_fills == 1
