"""The shadow venue's memory is bounded: finished orders and fills beyond ``keep`` are
forgotten (the journal has them), working orders never are."""

from __future__ import annotations

from tradeloop.live.shadow import trim_sim
from tradeloop.model import Bar, Instrument, Order, OrderType, Side
from tradeloop.sim.exchange import SimExchange

SYM = "BTC-USDT"


class _Sink:
    def on_order_report(self, _r: object) -> None:
        pass

    def on_fill(self, _f: object) -> None:
        pass


def test_trim_keeps_working_orders_and_the_newest_finished() -> None:
    ex = SimExchange([Instrument(SYM, "BTC", "USDT")], {"USDT": 1e9, "BTC": 1.0}, _Sink())
    ex.submit(Order("rest", SYM, Side.BUY, 0.01, OrderType.LIMIT, price=1.0), 0)
    for i in range(30):
        ex.submit(Order(f"m{i}", SYM, Side.BUY if i % 2 else Side.SELL, 0.01), i)
        ex.on_bar(Bar(i + 1, SYM, i, 100.0, 101.0, 99.0, 100.0, 1e6))
    assert len(ex.fills()) == 30
    gone = trim_sim(ex, keep=10)
    assert gone == 20 and len(ex.fills()) == 10
    assert ex.order("rest") is not None and ex.order("rest").status.is_open  # type: ignore[union-attr]
    assert ex.order("m29") is not None and ex.order("m0") is None
    assert trim_sim(ex, keep=10) == 0  # below 2 x keep: nothing to do
