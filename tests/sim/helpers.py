"""Shared fixtures for the sim tests: instruments, a checking sink and event builders."""

from __future__ import annotations

from dataclasses import dataclass, field

from tradeloop.model import (
    TRANSITIONS,
    Bar,
    BookLevels,
    Fill,
    Instrument,
    InstrumentKind,
    Order,
    OrderReport,
    OrderStatus,
    OrderType,
    Side,
    TimeInForce,
    TradeTick,
)
from tradeloop.sim import SimConfig, SimExchange

MIN = 60_000_000_000  # one minute in ns
T0 = 1_700_000_000_000_000_000

SPOT = Instrument(
    "BTC-USDT",
    "BTC",
    "USDT",
    tick_size=0.1,
    lot_size=0.001,
    min_size=0.001,
    maker_fee=0.001,
    taker_fee=0.002,
)
SWAP = Instrument(
    "BTC-USDT-SWAP",
    "BTC",
    "USDT",
    tick_size=0.1,
    lot_size=1.0,
    min_size=1.0,
    contract_value=0.01,
    maker_fee=0.0002,
    taker_fee=0.0005,
    kind=InstrumentKind.SWAP,
)


@dataclass
class Recorder:
    """An ExecutionSink that records everything and checks the venue rules as events arrive:
    legal transitions from SUBMITTED, a Fill before the report that counts it, cumulative
    filled_qty/avg_price consistent with the fills."""

    events: list[OrderReport | Fill] = field(default_factory=list)
    status: dict[str, OrderStatus] = field(default_factory=dict)
    filled: dict[str, float] = field(default_factory=dict)
    notional: dict[str, float] = field(default_factory=dict)

    def on_order_report(self, report: OrderReport) -> None:
        cid = report.client_order_id
        if report.status is OrderStatus.REJECTED and not report.venue_order_id:
            # A refusal (e.g. a duplicate id) is not a transition of an existing order.
            self.events.append(report)
            return
        prev = self.status.get(cid, OrderStatus.SUBMITTED)
        assert report.status in TRANSITIONS[prev], f"{cid}: {prev} -> {report.status}"
        self.status[cid] = report.status
        got = self.filled.get(cid, 0.0)
        assert abs(report.filled_qty - got) <= 1e-9 * max(1.0, got), (cid, report, got)
        if got:
            avg = self.notional[cid] / got
            assert abs(report.avg_price - avg) <= 1e-9 * avg, (cid, report, avg)
        self.events.append(report)

    def on_fill(self, fill: Fill) -> None:
        cid = fill.client_order_id
        assert not self.status.get(cid, OrderStatus.SUBMITTED).is_terminal, fill
        assert fill.qty > 0, fill
        self.filled[cid] = self.filled.get(cid, 0.0) + fill.qty
        self.notional[cid] = self.notional.get(cid, 0.0) + fill.qty * fill.price
        self.events.append(fill)

    # -- views --------------------------------------------------------------------------
    def reports(self, cid: str | None = None) -> list[OrderReport]:
        return [
            e
            for e in self.events
            if isinstance(e, OrderReport) and (cid is None or e.client_order_id == cid)
        ]

    def fills(self, cid: str | None = None) -> list[Fill]:
        return [
            e
            for e in self.events
            if isinstance(e, Fill) and (cid is None or e.client_order_id == cid)
        ]

    def statuses(self, cid: str) -> list[OrderStatus]:
        return [r.status for r in self.reports(cid)]

    def last(self, cid: str) -> OrderReport:
        return self.reports(cid)[-1]


def make(
    balances: dict[str, float] | None = None,
    instruments: tuple[Instrument, ...] = (SPOT, SWAP),
    **config: object,
) -> tuple[SimExchange, Recorder]:
    rec = Recorder()
    ex = SimExchange(
        instruments,
        balances if balances is not None else {"USDT": 10_000.0, "BTC": 1.0},
        rec,
        SimConfig(**config),  # type: ignore[arg-type]
    )
    return ex, rec


def market(cid: str, side: Side, qty: float, symbol: str = SPOT.symbol, **kw: object) -> Order:
    return Order(cid, symbol, side, qty, OrderType.MARKET, **kw)  # type: ignore[arg-type]


def limit(
    cid: str,
    side: Side,
    qty: float,
    price: float,
    tif: TimeInForce = TimeInForce.GTC,
    symbol: str = SPOT.symbol,
    **kw: object,
) -> Order:
    return Order(cid, symbol, side, qty, OrderType.LIMIT, price=price, tif=tif, **kw)  # type: ignore[arg-type]


def bar(
    i: int,
    o: float,
    h: float,
    low: float,
    c: float,
    volume: float = 1_000.0,
    symbol: str = SPOT.symbol,
) -> Bar:
    """The i-th one-minute bar after T0: [T0 + i*MIN, T0 + (i+1)*MIN)."""
    start = T0 + i * MIN
    return Bar(
        ts=start + MIN, symbol=symbol, start=start, open=o, high=h, low=low, close=c, volume=volume
    )


def book(
    ts: int,
    bids: list[tuple[float, float]],
    asks: list[tuple[float, float]],
    snapshot: bool = True,
    symbol: str = SPOT.symbol,
) -> BookLevels:
    return BookLevels(ts=ts, symbol=symbol, bids=bids, asks=asks, snapshot=snapshot)


def trade(ts: int, price: float, qty: float, side: Side, symbol: str = SPOT.symbol) -> TradeTick:
    return TradeTick(ts=ts, symbol=symbol, price=price, qty=qty, side=side)
