"""Property tests over random order / bar / book / trade sequences.

Whatever happens: free balances never go negative (spot), assets are conserved up to fees, every
lock is released once nothing is open, and each order's reports form legal transitions from
SUBMITTED with fills consistent with them (the ``Recorder`` sink checks the last two live).
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tradeloop.model import Order, OrderType, Side, TimeInForce
from tradeloop.sim import SimConfig, SimExchange

from .helpers import MIN, SPOT, SWAP, T0, Recorder, bar, book, trade

INIT = {"USDT": 2_000.0, "BTC": 5.0}
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@dataclass(frozen=True)
class Submit:
    side: Side
    order_type: OrderType
    tif: TimeInForce
    lots: int  # size in 0.01 units
    offset: int  # limit price offset from the reference, in ticks of 0.5
    quote: float  # > 0: a quote-sized market buy


@dataclass(frozen=True)
class Cancel:
    pick: int


@dataclass(frozen=True)
class Amend:
    pick: int
    lots: int
    offset: int


@dataclass(frozen=True)
class Market:
    move: int  # reference moves by this many ticks
    spread: int
    size: int
    trade_side: Side


submits = st.builds(
    Submit,
    side=st.sampled_from(Side),
    order_type=st.sampled_from(OrderType),
    tif=st.sampled_from(TimeInForce),
    lots=st.integers(1, 150),
    offset=st.integers(-6, 6),
    quote=st.sampled_from([0.0, 0.0, 0.0, 25.0, 333.3, 5_000.0]),
)
markets = st.builds(
    Market, st.integers(-4, 4), st.integers(1, 4), st.integers(1, 200), st.sampled_from(Side)
)
actions = st.lists(
    st.one_of(
        submits,
        submits,
        st.builds(Cancel, st.integers(0, 50)),
        st.builds(Amend, st.integers(0, 50), st.integers(1, 150), st.integers(-6, 6)),
        markets,
        markets,
    ),
    min_size=10,
    max_size=40,
)
configs = st.builds(
    SimConfig,
    latency_ns=st.sampled_from([0, 0, 3]),
    slippage_bps=st.sampled_from([0.0, 5.0]),
    max_volume_fraction=st.sampled_from([None, 0.3]),
    queue_position=st.booleans(),
)


class Driver:
    """Plays actions against a SimExchange in bar or L2 mode on one symbol."""

    def __init__(self, config: SimConfig, l2: bool, symbol: str = SPOT.symbol) -> None:
        self.rec = Recorder()
        balances = dict(INIT) if symbol == SPOT.symbol else {"USDT": 100_000.0}
        self.ex = SimExchange([SPOT, SWAP], balances, self.rec, config)
        self.l2 = l2
        self.symbol = symbol
        self.ref = 100.0
        self.ts = T0
        self.bar_i = 0
        self.n = 0
        self.size_unit = 0.01 if symbol == SPOT.symbol else 1.0

    def tick(self) -> None:
        self.ts += 1_000 if self.l2 else MIN

    def run(self, act: Submit | Cancel | Amend | Market) -> None:
        ex = self.ex
        if isinstance(act, Submit):
            self.n += 1
            price = self.ref + 0.5 * act.offset if act.order_type is OrderType.LIMIT else 0.0
            quote = act.quote if self.symbol == SPOT.symbol else 0.0
            quote_sized = act.order_type is OrderType.MARKET and act.side is Side.BUY and quote
            ex.submit(
                Order(
                    f"o{self.n}",
                    self.symbol,
                    act.side,
                    0.0 if quote_sized else act.lots * self.size_unit,
                    act.order_type,
                    price=price,
                    tif=act.tif,
                    quote_qty=quote if quote_sized else 0.0,
                ),
                ts=self.ts,
            )
        elif isinstance(act, Cancel):
            ex.cancel(f"o{act.pick}", ts=self.ts)
        elif isinstance(act, Amend):
            ex.amend(
                f"o{act.pick}", act.lots * self.size_unit, self.ref + 0.5 * act.offset, ts=self.ts
            )
        else:
            self.ref = max(10.0, self.ref + 0.5 * act.move)
            self.tick()
            sz = act.size * self.size_unit
            if self.l2:
                half = 0.5 * act.spread / 2
                bids = [(self.ref - half - 0.5 * k, sz * (k + 1)) for k in range(3)]
                asks = [(self.ref + half + 0.5 * k, sz * (k + 1)) for k in range(3)]
                ex.on_book(book(self.ts, bids, asks, symbol=self.symbol))
                self.tick()
                px = self.ref + (half if act.trade_side is Side.BUY else -half)
                ex.on_trade(trade(self.ts, px, sz, act.trade_side, symbol=self.symbol))
            else:
                b = bar(
                    self.bar_i,
                    self.ref,
                    self.ref + 0.5 * act.spread,
                    self.ref - 0.5 * act.spread,
                    self.ref,
                    volume=sz,
                    symbol=self.symbol,
                )
                self.bar_i += 1
                self.ts = b.ts
                ex.on_bar(b)
        self.ex.advance(self.ts)

    def close_out(self) -> None:
        """Cancel everything still working (after in-flight requests land)."""
        self.ts += 10
        self.ex.advance(self.ts)
        for o in self.ex.open_orders():
            assert self.ex.cancel(o.client_order_id, ts=self.ts)
        self.ts += 10
        self.ex.advance(self.ts)


def check_free(ex: SimExchange) -> None:
    for b in ex.balances().values():
        assert b.free >= -1e-9 * max(1.0, b.total), b
        assert b.locked >= -1e-9, b


def check_conservation(d: Driver) -> None:
    fills = d.ex.fills()
    assert fills == d.rec.fills()
    quote = INIT["USDT"]
    base = INIT["BTC"]
    for f in fills:
        assert f.fee_ccy == "USDT"
        notional = f.qty * f.price
        if f.side is Side.BUY:
            quote -= notional + f.fee
            base += f.qty
        else:
            quote += notional - f.fee
            base -= f.qty
    bal = d.ex.balances()
    assert abs(bal["USDT"].total - quote) <= 1e-6
    assert abs(bal["BTC"].total - base) <= 1e-9


@SETTINGS
@given(config=configs, acts=actions, l2=st.booleans())
def test_spot_invariants(
    config: SimConfig, acts: list[Submit | Cancel | Amend | Market], l2: bool
) -> None:
    d = Driver(config, l2)
    for act in acts:
        d.run(act)
        check_free(d.ex)
    check_conservation(d)
    d.close_out()
    assert d.ex.open_orders() == []
    for b in d.ex.balances().values():
        assert b.locked == 0.0, b
    # every order the venue accepted ended in a terminal state, told through legal reports
    for cid, status in d.rec.status.items():
        assert status.is_terminal, (cid, status)
    check_conservation(d)


@SETTINGS
@given(config=configs, acts=actions, l2=st.booleans())
def test_derivative_position_matches_fills_and_wallet_matches_pnl(
    config: SimConfig, acts: list[Submit | Cancel | Amend | Market], l2: bool
) -> None:
    d = Driver(config, l2, symbol=SWAP.symbol)
    for act in acts:
        d.run(act)
    d.close_out()
    fills = d.ex.fills()
    net = sum(f.qty if f.side is Side.BUY else -f.qty for f in fills)
    pos = d.ex.positions().get(SWAP.symbol)
    assert abs((pos.qty if pos else 0.0) - net) <= 1e-9
    fees = sum(f.fee for f in fills)
    realized = pos.realized_pnl if pos else 0.0
    usdt = d.ex.balances()["USDT"]
    assert abs(usdt.total - (100_000.0 + realized - fees)) <= 1e-6
    expected_margin = abs(pos.qty) * pos.avg_price * SWAP.contract_value if pos else 0.0
    assert abs(usdt.locked - expected_margin) <= 1e-6  # leverage 1, no open orders
    for cid, status in d.rec.status.items():
        assert status.is_terminal, (cid, status)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=configs, acts=actions, l2=st.booleans())
def test_same_inputs_give_the_same_reports_and_fills(
    config: SimConfig, acts: list[Submit | Cancel | Amend | Market], l2: bool
) -> None:
    runs = []
    for _ in range(2):
        d = Driver(config, l2)
        for act in acts:
            d.run(act)
        d.close_out()
        runs.append(d.rec.events)
    assert runs[0] == runs[1]
