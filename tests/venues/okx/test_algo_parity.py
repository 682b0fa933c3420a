"""The same strategy with stops gives the same orders and the same fills in a backtest (the
``sim/`` matching engine behind ``SimExecutionClient``) and in paper trading against the OKX
emulator (the OKX connector, algo orders over real 127.0.0.1 sockets).

One deterministic market for both: the emulator's frozen order book (read once over REST and
given to the backtest's simulator as its snapshot) and one tape of trade prints that the test
sends to the venue and to the engine alike. The strategy buys a bracket (an entry with an
attached stop-loss / take-profit OCO) and a plain lot it protects with a trailing stop; the
tape lifts the price (the trailing stop follows), dips (it fires), then falls through the
bracket's stop-loss. Compared: every order's kind, side, size and status path, and every fill's
side, size and price (the children fill against the same book in both worlds).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tradeloop.core.clock import LiveClock, SimClock
from tradeloop.emulator.feed import now_ms
from tradeloop.engine.kernel import Kernel
from tradeloop.engine.strategy import Strategy
from tradeloop.model import (
    NS_PER_MS,
    BookLevels,
    Fill,
    FundingPaid,
    Instrument,
    Order,
    OrderReport,
    OrderStatus,
    Side,
    TradeTick,
)
from tradeloop.sim.config import SimConfig
from tradeloop.venues.okx import parse as P
from tradeloop.venues.sim.client import SimExecutionClient

from .e2e import until
from .test_algo_orders import SWAP, make_gateway, running_emulator

venue = pytest.fixture(running_emulator, name="emu")

S = OrderStatus
#: the tape, as multiples of the first print's price
TAPE = (1.0, 1.06, 1.02, 0.90)


class StopsStrategy(Strategy):
    """On the first print: a bracket (buy 2, stop-loss 5 % below, take-profit 10 % above)
    and a plain buy of 1; once that one has filled, a 3 % trailing stop on it."""

    symbols = (SWAP,)

    def on_start(self) -> None:
        self.first: float | None = None
        self.trailing = False

    def on_trade(self, trade: TradeTick) -> None:
        if self.first is not None:
            return
        self.first = p = trade.price
        inst = self.kernel.instruments[SWAP]
        self.bracket(SWAP, Side.BUY, 2.0, sl=inst.round_price(p * 0.95),
                     tp=inst.round_price(p * 1.10))  # fmt: skip
        self.buy(SWAP, 1.0)

    def on_order(self, order: Order) -> None:
        # the plain lot filled (in a backtest, before ``buy`` even returns)
        plain = order.trigger is None and order.attached is None
        if plain and order.status is S.FILLED and not self.trailing:
            self.trailing = True
            self.trailing_stop(SWAP, Side.SELL, 1.0, rate=0.03, reduce_only=True)


class Recorder:
    """The engine's order reports and fills, in arrival order (in front of the OMS)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.reports: list[OrderReport] = []
        self.fills: list[Fill] = []

    def on_order_report(self, report: OrderReport) -> None:
        self.reports.append(report)
        self.engine.on_order_report(report)

    def on_funding(self, payment: FundingPaid) -> None:
        self.engine.on_funding(payment)

    def on_fill(self, fill: Fill) -> None:
        self.fills.append(fill)
        self.engine.on_fill(fill)


def summary(kernel: Kernel, rec: Recorder) -> tuple[list[Any], list[Any]]:
    """Orders in creation order: (kind, side, qty, status path); fills sorted by order:
    (order index, side, qty, price), then the indexes of the orders that sold, in the order
    their fills arrived (which stop fired first). Ids differ between runs (clock-based in
    live)."""
    orders = list(kernel.oms.orders.values())  # creation order (a bracket's entry first)
    index = {o.client_order_id: i for i, o in enumerate(orders)}
    out = []
    for o in orders:
        path = [r.status for r in rec.reports if r.client_order_id == o.client_order_id]
        kind = o.trigger.kind.value if o.trigger is not None else o.order_type.value
        out.append((kind, o.side, o.qty, [s for i, s in enumerate(path) if s not in path[:i]]))
    fills: list[Any] = sorted(
        (index[f.client_order_id], f.side, f.qty, f.price) for f in rec.fills
    )  # fmt: skip
    sold = [index[f.client_order_id] for f in rec.fills if f.side is Side.SELL]
    return out, [*fills, tuple(dict.fromkeys(sold))]


def tape_ticks(first: float, inst: Instrument, symbol: str) -> list[TradeTick]:
    t = now_ms() * NS_PER_MS
    return [
        TradeTick(t + i * 1_000_000, symbol, inst.round_price(first * k), 1.0, Side.SELL)
        for i, k in enumerate(TAPE)
    ]


def backtest(inst: Instrument, book: BookLevels, first: float) -> tuple[list[Any], list[Any]]:
    clock = SimClock()
    client = SimExecutionClient([inst], {"USDT": 100_000.0}, clock, SimConfig(leverage=3.0))
    kernel = Kernel([inst], 50_000.0, client, clock)
    rec = Recorder(kernel.oms)
    client.bind(rec)
    kernel.add_strategy(StopsStrategy())
    kernel.start()
    clock.advance_to(book.ts)
    client.exchange.on_book(book)
    for tick in tape_ticks(first, inst, inst.symbol):
        clock.advance_to(tick.ts)
        client.exchange.on_trade(tick)  # the venue sees the print first, then the engine
        kernel.on_market_data(tick)
    return summary(kernel, rec)


async def paper(
    emu: Any, first: float, settle: Callable[[Kernel], Awaitable[None]]
) -> tuple[list[Any], list[Any]]:
    gateway = make_gateway(emu)
    await gateway.start()
    try:
        kernel = Kernel(gateway.instruments().values(), 50_000.0, gateway, LiveClock())
        rec = Recorder(kernel.oms)
        gateway.bind(rec)
        kernel.add_strategy(StopsStrategy())
        kernel.start()
        inst = gateway.instruments()[SWAP]
        for tick in tape_ticks(first, inst, SWAP):
            emu.trading.account.sim.on_trade(
                TradeTick(tick.ts, P.native(SWAP), tick.price, tick.qty, tick.side)
            )
            kernel.on_market_data(tick)
            await settle(kernel)
        return summary(kernel, rec)
    finally:
        await gateway.stop()


def venue_settled(emu: Any, kernel: Kernel) -> bool:
    """Every order of the engine is in the state the venue's simulator has it in (placed,
    fired, filled, ended): nothing is still on its way."""
    account, algo = emu.trading.account, emu.trading.algo
    for o in kernel.oms.orders.values():
        cid = o.client_order_id  # alphanumeric: the OKX id is the same
        oid = algo.by_client.get(cid) or account.by_client.get(cid)
        info = account.infos.get(oid) if oid else None
        rec = account.record(info) if info is not None else None
        if rec is None or o.status is not rec.status:
            return False
    return True


async def test_stops_give_the_same_orders_and_fills_in_backtest_and_paper(emu: Any) -> None:
    probe = make_gateway(emu)
    await probe.start()
    try:
        inst = probe.instruments()[SWAP]
        raw = await probe.rest.books(P.native(SWAP), sz=400)
    finally:
        await probe.stop()
    book = P.parse_book_levels(SWAP, raw, True, now_ms() * NS_PER_MS)
    first = inst.round_price((book.bids[0][0] + book.asks[0][0]) / 2)

    async def settle(kernel: Kernel) -> None:
        await until(lambda: venue_settled(emu, kernel), "the engine to agree with the venue")

    live_orders, live_fills = await paper(emu, first, settle)
    sim_orders, sim_fills = backtest(inst, book, first)

    f, e = S.FILLED, [S.ACCEPTED, S.FILLED]
    assert [(k, s, q) for k, s, q, _ in sim_orders] == [
        ("market", Side.BUY, 2.0),  # the bracket's entry
        ("oco", Side.SELL, 2.0),  # its protection
        ("market", Side.BUY, 1.0),  # the plain lot
        ("trailing", Side.SELL, 1.0),  # its trailing stop
    ]
    assert [p for *_, p in sim_orders][1:] in ([e, [f], e], [e, e, e])
    assert live_orders == sim_orders
    assert live_fills == sim_fills
    *fills, fired = live_fills
    assert fired == (3, 1)  # the trailing stop fired on the dip, the stop-loss on the fall
    assert sum(q if s is Side.BUY else -q for _, s, q, _ in fills) == 0.0  # flat at the end
    assert {i for i, *_ in fills} == {0, 1, 2, 3}
