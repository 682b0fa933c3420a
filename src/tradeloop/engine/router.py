"""Routes each order to the execution client of its instrument's venue.

The OMS talks to one ``ExecutionClient``; with several venues in one run that client is an
:class:`ExecutionRouter`, which forwards by the venue of the order's instrument id. Reports and
fills come back from every client to the same sink (the OMS), since they already carry the
instrument id.
"""

from __future__ import annotations

from collections.abc import Mapping

from tradeloop.core.errors import ConfigError
from tradeloop.model import Instrument, Order
from tradeloop.venues.base import ExecutionClient, ExecutionSink


class ExecutionRouter(ExecutionClient):
    """One execution client per venue, behind the single face the OMS expects."""

    venue = "ROUTER"

    def __init__(
        self, clients: Mapping[str, ExecutionClient], instruments: Mapping[str, Instrument]
    ) -> None:
        if not clients:
            raise ConfigError("no execution client given")
        self.clients = dict(clients)
        self._by_symbol: dict[str, ExecutionClient] = {}
        for sym, inst in instruments.items():
            client = self.clients.get(inst.venue)
            if client is None:
                raise ConfigError(f"no execution client for venue {inst.venue} ({sym})")
            self._by_symbol[sym] = client

    def bind(self, sink: ExecutionSink) -> None:
        for c in self.clients.values():
            c.bind(sink)

    def instruments(self) -> dict[str, Instrument]:
        out: dict[str, Instrument] = {}
        for c in self.clients.values():
            out.update(c.instruments())
        return out

    def client_for(self, symbol: str) -> ExecutionClient:
        return self._by_symbol[symbol]

    def submit_order(self, order: Order) -> None:
        self._by_symbol[order.symbol].submit_order(order)

    def cancel_order(self, order: Order) -> None:
        self._by_symbol[order.symbol].cancel_order(order)

    def amend_order(
        self, order: Order, qty: float | None = None, price: float | None = None
    ) -> None:
        self._by_symbol[order.symbol].amend_order(order, qty, price)
