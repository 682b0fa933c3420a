"""How the OMS books a venue's funding payment (``FundingPaid``, rule 9 of ``venues/base.py``):
into the account's cash and the holding strategies' PnL in proportion to their positions,
once per payment id, and only the engine's share of it -- a payment on contracts beyond the
strategies' position, on an instrument the engine does not trade, or in a currency that is
not the instrument's settle currency is not a strategy's money. An account pool books each
member account's payment by that account's part of the holding."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tradeloop.core.clock import SimClock
from tradeloop.engine.kernel import Kernel
from tradeloop.live.journal import Journal
from tradeloop.live.pool import AccountPool
from tradeloop.live.reconcile import Reconciler
from tradeloop.live.recorder import AccountClient
from tradeloop.model import (
    Fill,
    FundingPaid,
    Instrument,
    InstrumentKind,
    Liquidity,
    Order,
    OrderReport,
    Side,
)
from tradeloop.venues.base import ExecutionClient, ExecutionSink

SWAP = Instrument.of("BTC-USDT-SWAP", "OKX", "BTC", "USDT", tick_size=0.1, lot_size=1.0,
                     contract_value=0.01, kind=InstrumentKind.SWAP)  # fmt: skip
SYM = SWAP.symbol


class _Venue(ExecutionClient):
    """Takes orders and fills nothing by itself: the tests hand the OMS its fills (or, as a
    pool's member ``account``, the pool through :attr:`sink`)."""

    venue = "OKX"

    def __init__(self, account: str = "") -> None:
        self.account = account
        self.sink: ExecutionSink | None = None

    def bind(self, sink: ExecutionSink) -> None:
        self.sink = sink

    def instruments(self) -> dict[str, Instrument]:
        return {SYM: SWAP}

    def submit_order(self, order: Order) -> None:
        pass

    def cancel_order(self, order: Order) -> None:
        pass


def _kernel() -> Kernel:
    k = Kernel([SWAP], 10_000.0, _Venue(), SimClock(0))
    for sid in ("a", "b"):
        k.portfolio.add_strategy(sid, 5_000.0)
    k.portfolio.marks[SYM] = 50_000.0
    # a holds 2 contracts, b 1: fills of their own orders
    for sid, qty in (("a", 2.0), ("b", 1.0)):
        order = Order(f"o-{sid}", SYM, Side.BUY, qty, strategy_id=sid)
        k.oms.orders[order.client_order_id] = order
        k.oms.on_fill(Fill(0, order.client_order_id, "v", f"t-{sid}", SYM, Side.BUY, 50_000.0,
                           qty, 0.0, "USDT", Liquidity.TAKER))  # fmt: skip
    return k


def _pay(amount: float, pid: str = "p1", position: float = 0.0, **kw: str) -> FundingPaid:
    return FundingPaid(1, kw.get("symbol", SYM), amount, kw.get("ccy", "USDT"), pid, 0.0001,
                       position, "OKX")  # fmt: skip


def test_payment_shared_by_position_and_booked_once() -> None:
    k = _kernel()
    p = k.portfolio
    cash, ra, rb = p.cash_of(SYM), p.strategy_pnl("a")[0], p.strategy_pnl("b")[0]
    k.oms.on_funding(_pay(3.0, position=3.0))
    k.oms.on_funding(_pay(3.0, position=3.0))  # the same payment again
    assert p.funding[SYM] == pytest.approx(3.0)
    assert p.cash_of(SYM) == pytest.approx(cash - 3.0)
    assert p.strategy_pnl("a")[0] == pytest.approx(ra - 2.0)
    assert p.strategy_pnl("b")[0] == pytest.approx(rb - 1.0)
    k.oms.on_funding(_pay(-1.5, "p2"))  # received; no position said: all the engine's
    assert p.funding[SYM] == pytest.approx(1.5)
    assert p.strategy_pnl("a")[0] == pytest.approx(ra - 1.0)


def _trade(k: Kernel, sid: str, side: Side, qty: float, ts: int) -> None:
    order = Order(f"o-{sid}-{ts}", SYM, side, qty, strategy_id=sid)
    k.oms.orders[order.client_order_id] = order
    k.oms.on_fill(Fill(ts, order.client_order_id, "v", f"t-{sid}-{ts}", SYM, side, 50_000.0,
                       qty, 0.0, "USDT", Liquidity.TAKER))  # fmt: skip


@pytest.mark.parametrize("after", [[("b", 1.0)], [("a", 2.0), ("b", 1.0)]])
def test_payment_told_late_is_booked_on_the_holdings_when_it_was_settled(
    after: list[tuple[str, float]],
) -> None:
    """Settled at t=5 on a's 2 and b's 1; the strategies sell after it (t=10) and the payment
    is only told after that (a REST read after the push): it is still booked whole, a paying
    2/3 and b 1/3 -- not capped to, nor split by, what they hold when it arrives."""
    k = _kernel()
    p = k.portfolio
    ra, rb = p.strategy_pnl("a")[0], p.strategy_pnl("b")[0]
    for sid, qty in after:
        _trade(k, sid, Side.SELL, qty, ts=10)
    ra2, rb2 = p.strategy_pnl("a")[0], p.strategy_pnl("b")[0]  # closing at the entry price
    assert (ra2, rb2) == (ra, rb)
    k.oms.on_funding(FundingPaid(5, SYM, 3.0, "USDT", "late", 0.0001, 3.0, "OKX"))
    assert p.funding[SYM] == pytest.approx(3.0)
    assert p.strategy_pnl("a")[0] == pytest.approx(ra - 2.0)
    assert p.strategy_pnl("b")[0] == pytest.approx(rb - 1.0)


def test_payment_settled_after_a_close_is_not_the_strategies() -> None:
    """Flat before the settlement (closed at t=3, settled at t=5): not booked."""
    k = _kernel()
    for sid, qty in (("a", 2.0), ("b", 1.0)):
        _trade(k, sid, Side.SELL, qty, ts=3)
    k.oms.on_funding(FundingPaid(5, SYM, 3.0, "USDT", "after", 0.0001, 3.0, "OKX"))
    assert not k.portfolio.funding


@pytest.mark.parametrize(("exec_ts", "booked"), [(4, 0.0), (6, 3.0)])
def test_a_fill_is_placed_by_the_venues_time_not_its_arrival(exec_ts: int, booked: float) -> None:
    """The strategies close at the venue at ``exec_ts``; the fill reaches us at t=9, after the
    payment settled at t=5. Closed at 4: the payment was not on their position; closed at 6:
    it was, wherever the latency put the fill's arrival (the gateway's ``ts``)."""
    k = _kernel()
    for sid, qty in (("a", 2.0), ("b", 1.0)):
        order = Order(f"c-{sid}", SYM, Side.SELL, qty, strategy_id=sid)
        k.oms.orders[order.client_order_id] = order
        k.oms.on_fill(Fill(9, order.client_order_id, "v", f"c-{sid}", SYM, Side.SELL, 50_000.0,
                           qty, 0.0, "USDT", Liquidity.TAKER, exec_ts=exec_ts))  # fmt: skip
    k.oms.on_funding(FundingPaid(5, SYM, 3.0, "USDT", "edge", 0.0001, 3.0, "OKX"))
    assert k.portfolio.funding.get(SYM, 0.0) == pytest.approx(booked)


@pytest.mark.parametrize(
    ("outside", "amount", "engine"),
    [
        (1.0, 4.0, 3.0),  # long 4 on the account, 1 of it not the strategies': 3 of 4 paid
        (-5.0, -2.0, 3.0),  # the account is net short 2 and receives; the strategies' 3 pay
        (0.0, 4.0, 4.0),  # nothing outside: all of it
    ],
)
def test_a_payment_without_a_size_is_shared_with_the_outside_holding(
    outside: float, amount: float, engine: float
) -> None:
    """The venue does not say the position's size (Binance, FTX); the live runtime tells the
    account's contracts that are not the strategies' (``outside``): each side books what its
    own contracts paid, here 1 per contract."""
    k = _kernel()
    p = k.portfolio
    ra, rb = p.strategy_pnl("a")[0], p.strategy_pnl("b")[0]
    k.oms.on_funding(FundingPaid(1, SYM, amount, "USDT", "o", 0.0001, 0.0, "OKX", outside))
    assert p.funding[SYM] == pytest.approx(engine)
    assert p.strategy_pnl("a")[0] == pytest.approx(ra - engine * 2 / 3)
    assert p.strategy_pnl("b")[0] == pytest.approx(rb - engine / 3)


def test_only_the_engines_share_is_booked() -> None:
    k = _kernel()
    p = k.portfolio
    k.oms.on_funding(_pay(6.0, position=-6.0))  # 3 more contracts are not the strategies'
    assert p.funding[SYM] == pytest.approx(3.0)  # sizes only: the venue's sign ignored


@pytest.mark.parametrize(
    ("payment", "why"),
    [
        (_pay(1.0, symbol="ETH-USDT-SWAP.OKX"), "an instrument the engine does not trade"),
        (_pay(1.0, ccy="BTC"), "not the settle currency"),
    ],
)
def test_payments_that_are_not_the_engines_are_not_booked(payment: FundingPaid, why: str) -> None:
    k = _kernel()
    cash = k.portfolio.cash_of(SYM)
    k.oms.on_funding(payment)
    assert not k.portfolio.funding and k.portfolio.cash_of(SYM) == cash, why


def test_no_position_no_booking() -> None:
    k = Kernel([SWAP], 10_000.0, _Venue(), SimClock(0))
    k.portfolio.add_strategy("a", 10_000.0)
    k.oms.on_funding(_pay(1.0))
    assert not k.portfolio.funding and k.portfolio.cash_of(SYM) == 10_000.0


class _Heard:
    def __init__(self) -> None:
        self.funding: list[FundingPaid] = []

    def on_order_report(self, r: OrderReport) -> None:
        pass

    def on_fill(self, f: Fill) -> None:
        pass

    def on_funding(self, p: FundingPaid) -> None:
        self.funding.append(p)


def test_pool_books_each_accounts_payment_by_its_part_and_keeps_ids_apart() -> None:
    a, b = _Venue("a"), _Venue("b")
    pool = AccountPool([a, b], [10.0, 10.0])  # type: ignore[list-item]
    heard = _Heard()
    pool.bind(heard)
    assert a.sink is not None and b.sink is not None
    for sink, qty in ((a.sink, 2.0), (b.sink, 1.0)):
        sink.on_fill(Fill(0, "x1", "v", f"t{qty}", SYM, Side.BUY, 100.0, qty, 0.0, "USDT",
                          Liquidity.TAKER))  # fmt: skip
    a.sink.on_funding(_pay(4.0, "same-id", position=4.0))  # a holds 2 of the venue's 4
    b.sink.on_funding(_pay(1.0, "same-id"))  # b's own payment, same venue id, no size said
    assert [(p.payment_id, p.amount, p.position) for p in heard.funding] == [
        ("a:same-id", 2.0, 0.0),
        ("b:same-id", 1.0, 0.0),
    ]


def test_pool_books_nothing_of_an_account_the_engine_holds_nothing_on() -> None:
    """A member account's payment when the engine's holding is all on another account: the
    account's position (another program's) is not the strategies', size said or not."""
    a, b = _Venue("a"), _Venue("b")
    pool = AccountPool([a, b], [10.0, 10.0])  # type: ignore[list-item]
    heard = _Heard()
    pool.bind(heard)
    assert a.sink is not None and b.sink is not None
    a.sink.on_fill(Fill(0, "x1", "v", "t1", SYM, Side.BUY, 100.0, 2.0, 0.0, "USDT",
                        Liquidity.TAKER))  # fmt: skip
    b.sink.on_funding(_pay(1.0, "p-b"))
    b.sink.on_funding(_pay(1.0, "p-b2", position=3.0))
    assert heard.funding == []


def test_pool_shares_a_payment_by_the_members_holding_when_it_settled() -> None:
    """Member a closes at the venue at t=1500, after the settlement at t=1000, and the close
    reaches us before the payment: the payment is still a's whole 2, as it held them then."""
    a, b = _Venue("a"), _Venue("b")
    pool = AccountPool([a, b], [10.0, 10.0])  # type: ignore[list-item]
    heard = _Heard()
    pool.bind(heard)
    assert a.sink is not None
    a.sink.on_fill(Fill(0, "x1", "v", "t1", SYM, Side.BUY, 100.0, 2.0, 0.0, "USDT",
                        Liquidity.TAKER))  # fmt: skip
    a.sink.on_fill(Fill(1600, "x2", "v", "t2", SYM, Side.SELL, 100.0, 2.0, 0.0, "USDT",
                        Liquidity.TAKER, exec_ts=1500))  # fmt: skip
    a.sink.on_funding(FundingPaid(1000, SYM, 2.0, "USDT", "p", 0.0, 2.0, "OKX"))
    assert [(p.payment_id, p.amount) for p in heard.funding] == [("a:p", 2.0)]


@pytest.mark.parametrize(
    ("position", "engine"),
    [
        (2.0, 3.0),  # the venue's size agrees with 3 + (-5): the strategies' own 3 pay
        (4.0, 0.75 * -2.0),  # it contradicts the outside count: the venue's size decides
    ],
)
def test_a_said_size_and_the_outside_holding(position: float, engine: float) -> None:
    """The account is net short 2 (the strategies' long 3, 5 short outside) and receives 2."""
    k = _kernel()
    k.oms.on_funding(FundingPaid(1, SYM, -2.0, "USDT", "s", 0.0001, position, "OKX", -5.0))
    assert k.portfolio.funding[SYM] == pytest.approx(engine)


def test_outside_holding_is_taken_as_it_was_when_the_payment_settled(tmp_path: Path) -> None:
    """Someone else is short 2 (the first start's baseline), the strategies long 3: the
    account pays 1 on its net 1 at t=1000. Another trader sells 2 more at t=1500, journaled
    before the payment is read (FTX polls after the hour): the strategies still pay their 3,
    not a share worked out from the later outside holding."""
    k = _kernel()
    j = Journal(str(tmp_path / "j.sqlite"))
    try:
        acct = AccountClient(_Venue("acct"), "acct", "g", j, "tl", lambda: 2_000)  # type: ignore[arg-type]
        Reconciler(k, acct, None, j)  # type: ignore[arg-type]  # wires the outside count
        j.set_meta("baseline:acct", json.dumps({SYM: -2.0}))
        acct.sink = k.oms
        acct.on_fill(Fill(1500, "manual-1", "v9", "t9", SYM, Side.SELL, 50_000.0, 2.0, 0.0,
                          "USDT", Liquidity.TAKER, exec_ts=1500))  # fmt: skip
        acct.on_funding(FundingPaid(1000, SYM, 1.0, "USDT", "pay-1", 0.0, 0.0, "OKX"))
        assert k.portfolio.funding[SYM] == pytest.approx(3.0)
    finally:
        j.close()
