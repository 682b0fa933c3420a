"""In-process ExecutionClient over the ``sim/`` matching engine, for backtests.

It adds nothing to the venue's behaviour: it stamps requests with the engine clock and forwards
the venue's reports to the OMS, exactly as a real connector forwards its private stream.
"""

from __future__ import annotations

from collections.abc import Iterable

from tradeloop.core.clock import Clock
from tradeloop.model import Fill, Instrument, Order, OrderReport
from tradeloop.sim.config import SimConfig
from tradeloop.sim.exchange import SimExchange
from tradeloop.venues.base import ExecutionClient, ExecutionSink


class SimExecutionClient(ExecutionClient):
    venue = "SIM"

    def __init__(
        self,
        instruments: Iterable[Instrument],
        balances: dict[str, float],
        clock: Clock,
        config: SimConfig | None = None,
    ) -> None:
        self._instruments = {i.symbol: i for i in instruments}
        self._clock = clock
        self._sink: ExecutionSink | None = None
        self.exchange = SimExchange(
            self._instruments.values(), balances, self, config or SimConfig()
        )

    def bind(self, sink: ExecutionSink) -> None:
        self._sink = sink

    def instruments(self) -> dict[str, Instrument]:
        return self._instruments

    def submit_order(self, order: Order) -> None:
        self.exchange.submit(order, self._clock.now())

    def cancel_order(self, order: Order) -> None:
        self.exchange.cancel(order.client_order_id, self._clock.now())

    # venue -> engine
    def on_order_report(self, report: OrderReport) -> None:
        if self._sink is not None:
            self._sink.on_order_report(report)

    def on_fill(self, fill: Fill) -> None:
        if self._sink is not None:
            self._sink.on_fill(fill)
