"""The shadow venue's memory is bounded: finished orders, fills and remembered client ids
beyond ``keep`` are forgotten (the journal has them), working orders never are."""

from __future__ import annotations

from tradeloop.core.clock import SimClock
from tradeloop.model import Bar, Instrument, Order, OrderType, Side
from tradeloop.venues.sim.client import SimExecutionClient

SYM = "BTC-USDT"


class _Sink:
    def on_order_report(self, _r: object) -> None:
        pass

    def on_fill(self, _f: object) -> None:
        pass


def test_trim_keeps_working_orders_and_the_newest_finished() -> None:
    client = SimExecutionClient([Instrument(SYM, "BTC", "USDT")], {"USDT": 1e9, "BTC": 1.0},
                                SimClock())  # fmt: skip
    client.bind(_Sink())
    ex = client.exchange
    client.submit_order(Order("rest", SYM, Side.BUY, 0.01, OrderType.LIMIT, price=1.0))
    for i in range(30):
        client.submit_order(Order(f"m{i}", SYM, Side.BUY if i % 2 else Side.SELL, 0.01))
        ex.on_bar(Bar(i + 1, SYM, i, 100.0, 101.0, 99.0, 100.0, 1e6))
    assert len(ex.fills()) == 30 and len(client._submitted) == 31
    assert client.forget_finished(keep=10) == 20
    assert len(ex.fills()) == 10 and len(client._submitted) == 11
    assert ex.order("rest") is not None and ex.order("rest").status.is_open  # type: ignore[union-attr]
    assert ex.order("m29") is not None and ex.order("m0") is None
    assert client.forget_finished(keep=10) == 0  # below 2 x keep: nothing to do
