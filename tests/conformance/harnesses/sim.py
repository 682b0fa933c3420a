"""SIM: the in-process simulated venue (``venues/sim/client.py`` over ``sim.SimExchange``), built
through the registry on a wall clock, with a seeded L2 book. It has no sockets, no feed and
no second connection, so the checks needing those are skipped with the reasons below."""

from __future__ import annotations

import itertools

from tradeloop.core.clock import LiveClock
from tradeloop.model import BookLevels, Instrument, InstrumentKind, OrderStatus, Side, TradeTick
from tradeloop.venues import registry
from tradeloop.venues.sim.client import SimExecutionClient

from ..harness import Can, Recorder, VenueFill, VenueHarness, VenueOrder

_IN_PROCESS = "SIM is in-process: no socket"
SPOT = Instrument.of(
    "BTC-USDT", "SIM", "BTC", "USDT", tick_size=0.1, lot_size=0.00001, min_size=0.0001,
    maker_fee=0.0008, taker_fee=0.001,
)  # fmt: skip
PERP = Instrument.of(
    "BTC-PERP", "SIM", "BTC", "USDT", tick_size=0.1, lot_size=0.001, min_size=0.001,
    kind=InstrumentKind.SWAP, maker_fee=0.0002, taker_fee=0.0005,
)  # fmt: skip
_prints = itertools.count(1)


class SimHarness(VenueHarness):
    name = "sim"
    lacks = {
        Can.WIRE: _IN_PROCESS + " (orders reach SimExchange as Order objects, not wire text)",
        Can.RATE_LIMIT_FAULT: _IN_PROCESS + " or rate limiter to answer 429",
        Can.LOST_REPLY: _IN_PROCESS + ": every answer is a synchronous call, none can be lost",
        Can.PRIVATE_DROP: _IN_PROCESS + ": no private stream to drop",
        Can.MARKET_DATA: "SIM has no market-data feed of its own (a backtest replays into it)",
        Can.BOOK_FAULTS: "SIM has no book stream (no sequence numbers or checksums to break)",
        Can.SECOND_SESSION: "SIM's account lives inside its one client: no second connection",
    }
    symbol = SPOT.symbol
    derivative = PERP.symbol

    async def start(self) -> None:
        self.clock = LiveClock()
        gateway = registry.get(self.name).build(
            instruments=[SPOT, PERP],
            balances={"USDT": 100_000.0, "BTC": 2.0},
            clock=self.clock,
        )
        assert isinstance(gateway, SimExecutionClient)
        self.sim = gateway
        self.gateway = gateway
        self.rec = Recorder(gateway.venue)
        self.rec.attach(gateway)
        await gateway.start()
        for inst, mid in ((SPOT, 30_000.0), (PERP, 30_010.0)):
            bids = [(mid - 0.5 - i, 0.5 + 0.1 * i) for i in range(20)]
            asks = [(mid + 0.5 + i, 0.5 + 0.1 * i) for i in range(20)]
            gateway.exchange.on_book(BookLevels(self.clock.now(), inst.symbol, bids, asks, True))

    async def stop(self) -> None:
        await self.gateway.stop()

    @property
    def order_qty(self) -> float:
        return 0.01

    def top(self, symbol: str | None = None) -> tuple[float, float]:
        bids, asks = self.sim.exchange.book_levels(symbol or self.symbol, 1)
        return bids[0][0], asks[0][0]

    def venue_orders(self, client_order_id: str) -> list[VenueOrder]:
        rec = self.sim.exchange.order(client_order_id)
        if rec is None or rec.status is OrderStatus.REJECTED:  # a refused submit: no order
            return []
        return [VenueOrder(client_order_id, rec.status, rec.qty, rec.price, rec.filled_qty)]

    def venue_fills(self, client_order_id: str) -> list[VenueFill]:
        return [
            VenueFill(f.side, f.qty, f.price, f.ts)
            for f in self.sim.exchange.fills()
            if f.client_order_id == client_order_id
        ]

    def trade_through(self, client_order_id: str, qty: float) -> None:
        rec = self.sim.exchange.order(client_order_id)
        assert rec is not None and not rec.status.is_terminal, f"{client_order_id} not working"
        inst = self.instrument(rec.symbol)
        through = -inst.tick_size if rec.side is Side.BUY else inst.tick_size
        self.sim.exchange.on_trade(
            TradeTick(
                self.clock.now(),
                rec.symbol,
                inst.round_price(rec.price + through),
                qty,
                rec.side.opposite,
                f"cfprint{next(_prints)}",
            )
        )


HARNESS = SimHarness
