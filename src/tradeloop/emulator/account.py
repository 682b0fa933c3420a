"""The simulated account behind every emulator front-end (venue-neutral).

Wraps :class:`tradeloop.sim.exchange.SimExchange` in L2 mode: the synthetic ladder is fed to it
as ``BookLevels`` (one snapshot, then each step's deltas, so liquidity our taker orders consumed
stays consumed until the level changes) and public trades as ``TradeTick``s, which is how
resting orders fill. The front-end keeps its own per-order extras (venue ids, tags, modes) in
:class:`OrderInfo`; the simulator stays the single source of truth for state, fills and money.

Listeners hear about every report (with the fill that preceded it, if any), about funding and
about the user's taker fills -- already printed on the market's public tape, as a real venue
prints them -- synchronously, in the order the simulator produced them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tradeloop.emulator.feed import MarketDriver, now_ms
from tradeloop.emulator.market import BookChange, PublicTrade, SymbolMarket
from tradeloop.model import (
    NS_PER_MS,
    BookLevels,
    Fill,
    FundingPaid,
    Liquidity,
    Order,
    OrderReport,
    OrderStatus,
    OrderType,
    RejectReason,
    Side,
    TimeInForce,
    TradeTick,
)
from tradeloop.model.instrument import Instrument
from tradeloop.model.order import Trigger
from tradeloop.sim.config import SimConfig
from tradeloop.sim.exchange import SimExchange
from tradeloop.sim.records import SimOrder

log = logging.getLogger(__name__)


@dataclass
class OrderInfo:
    """What the venue front-end remembers about one order beyond the simulator's record."""

    order_id: str  # the venue order id; also the simulator's client_order_id
    client_id: str  # the user's client order id ("" if none)
    symbol: str
    c_time: int  # ms
    u_time: int  # ms
    extra: dict[str, Any] = field(default_factory=dict)
    fills: list[Fill] = field(default_factory=list)


#: (info, current simulator record, report, the fills this report counts — often none,
#: several when one taker order swept several levels)
OrderListener = Callable[[OrderInfo, SimOrder, OrderReport, list[Fill]], None]
#: (symbol, amount paid by the account)
FundingListener = Callable[[str, float], None]
#: a user's taker fill, already recorded as a public trade on its market (for the venue's
#: ``trades`` channel)
TradeListener = Callable[[SymbolMarket, PublicTrade], None]


class SimAccount:
    """One account on the simulator, fed by the synthetic market."""

    def __init__(
        self,
        instruments: dict[str, Instrument],
        balances: dict[str, float],
        driver: MarketDriver,
        leverage: float,
        id_base: int,
        fee_in_received_ccy: bool = True,
        fee_decimals: int | None = None,
    ) -> None:
        self.instruments = instruments
        self.sim = SimExchange(
            instruments.values(),
            balances,
            sink=self,
            # True: a spot buy pays its fee in the base received, as OKX and FTX charge it
            config=SimConfig(
                leverage=leverage,
                fee_in_received_ccy=fee_in_received_ccy,
                fee_decimals=fee_decimals,
            ),
            on_public_trade=self._on_sim_trade,
        )
        self.infos: dict[str, OrderInfo] = {}
        self.by_client: dict[str, str] = {}
        self.order_listeners: list[OrderListener] = []
        self.funding_listeners: list[FundingListener] = []
        self.trade_listeners: list[TradeListener] = []
        self._last_fill: Fill | None = None
        self._pending_fills: dict[str, list[Fill]] = {}
        self._next_id = id_base
        self._px: dict[str, dict[int, float]] = {}
        self.driver = driver
        t = now_ms()
        for sym, m in driver.markets.items():
            self.sim.on_book(
                BookLevels(
                    ts=t * NS_PER_MS,
                    symbol=sym,
                    bids=[(self._price(m, p), float(s)) for p, s in m.sorted_bids()],
                    asks=[(self._price(m, p), float(s)) for p, s in m.sorted_asks()],
                    snapshot=True,
                )
            )
        driver.listeners.append(self.on_step)

    def _price(self, m: SymbolMarket, ticks: int) -> float:
        """Float of the exact price *text*, so it equals a user's ``float(px)``."""
        cache = self._px.setdefault(m.instrument.symbol, {})
        v = cache.get(ticks)
        if v is None:
            if len(cache) > 20_000:
                cache.clear()
            v = cache[ticks] = float(m.px(ticks))
        return v

    # -- market feed ---------------------------------------------------------------------
    def on_step(self, m: SymbolMarket, change: BookChange) -> None:
        sym = m.instrument.symbol
        ts = change.ts * NS_PER_MS
        if not change.empty:
            self.sim.on_book(
                BookLevels(
                    ts=ts,
                    symbol=sym,
                    bids=[(self._price(m, p), float(s)) for p, s in change.bids.items()],
                    asks=[(self._price(m, p), float(s)) for p, s in change.asks.items()],
                )
            )
        for t in change.trades:
            self.sim.on_trade(
                TradeTick(
                    ts=ts,
                    symbol=sym,
                    price=float(t.price),
                    qty=float(t.size),
                    side=Side(t.side),
                    trade_id=t.trade_id,
                )
            )

    # -- ids and lookups -----------------------------------------------------------------
    def new_order_id(self) -> str:
        self._next_id += 1
        return str(self._next_id)

    def find(self, order_id: str = "", client_id: str = "") -> OrderInfo | None:
        if order_id:
            return self.infos.get(order_id)
        if client_id:
            oid = self.by_client.get(client_id)
            return self.infos.get(oid) if oid else None
        return None

    def record(self, info: OrderInfo) -> SimOrder | None:
        return self.sim.order(info.order_id)

    def orders(self, symbol: str = "", open_only: bool = False) -> list[tuple[OrderInfo, SimOrder]]:
        """Every order placed here (newest first), with its current simulator record."""
        out = []
        for oid in sorted(self.infos, key=int, reverse=True):
            info = self.infos[oid]
            rec = self.sim.order(oid)
            if rec is None or (symbol and info.symbol != symbol):
                continue
            if not (open_only and rec.status.is_terminal):
                out.append((info, rec))
        return out

    def fills(self, symbol: str = "", order_id: str = "") -> list[tuple[OrderInfo, Fill]]:
        """The account's fills (newest first) with the order each belongs to."""
        found = [
            (info, f)
            for info in self.infos.values()
            if (not symbol or info.symbol == symbol) and (not order_id or info.order_id == order_id)
            for f in info.fills
        ]
        found.sort(key=lambda x: x[1].ts)  # stable: same-time fills keep their order
        found.reverse()
        return found

    def cancel_all(self, symbol: str = "") -> int:
        """Cancel every working order (of ``symbol``); returns how many were canceled."""
        return sum(self.cancel(info) for info, _ in self.orders(symbol, open_only=True))

    # -- order entry ---------------------------------------------------------------------
    def submit(self, info: OrderInfo, order: Order) -> SimOrder | None:
        """Hand ``order`` (``client_order_id`` = ``info.order_id``) to the simulator; returns
        its record right after (REJECTED with ``reason`` if refused)."""
        self.infos[info.order_id] = info
        if info.client_id:
            self.by_client[info.client_id] = info.order_id
        self.sim.submit(order, now_ms() * NS_PER_MS)
        return self.sim.order(info.order_id)

    def place(
        self,
        symbol: str,
        side: Side,
        qty: float,
        price: float | None,
        tif: TimeInForce = TimeInForce.GTC,
        reduce_only: bool = False,
        client_id: str = "",
        extra: dict[str, Any] | None = None,
        quote_qty: float = 0.0,
        keep: Callable[[RejectReason], bool] = lambda code: False,
        attached: Order | None = None,
        trigger: Trigger | None = None,
    ) -> tuple[OrderInfo, SimOrder]:
        """Enter an order the front-end has validated (``price`` None = market): a new venue
        id, the front-end's record and the simulator's answer. A refused order (status
        REJECTED, typed ``code``) is forgotten -- venues keep no record of it and its ids stay
        free -- unless ``keep(code)`` (a venue that accepts a crossing post-only order and
        closes it at once). ``attached`` is a bracket's protective order (``Order.attached``).
        ``trigger`` makes it a trigger order (stop, stop-limit, trailing): armed until the last
        price reaches it, then its child -- market when ``price`` is None, else a limit at
        ``price`` (``model.order.Trigger``); the simulator calls ``sim.on_triggered`` then."""
        t = now_ms()
        info = OrderInfo(self.new_order_id(), client_id, symbol, t, t, dict(extra or {}))
        order = Order(
            client_order_id=info.order_id,
            symbol=symbol,
            side=side,
            qty=qty,
            order_type=OrderType.MARKET if price is None else OrderType.LIMIT,
            price=price or 0.0,
            tif=tif,
            reduce_only=reduce_only,
            quote_qty=quote_qty,
            ts_created=t,
            attached=attached,
            trigger=trigger,
        )
        rec = self.submit(info, order)
        assert rec is not None  # the simulator keeps every submit it answered
        if rec.status is OrderStatus.REJECTED and not keep(rec.code):
            self.forget(info)
        return info, rec

    def working_qty(self, symbol: str) -> tuple[float, float]:
        """Size still working on (buy, sell) orders of ``symbol``."""
        out = {Side.BUY: 0.0, Side.SELL: 0.0}
        for o in self.sim.open_orders(symbol):
            out[o.side] += o.qty - o.filled_qty
        return out[Side.BUY], out[Side.SELL]

    def forget(self, info: OrderInfo) -> None:
        """Drop a rejected order so its ids may be reused (OKX keeps no record of them)."""
        self.infos.pop(info.order_id, None)
        if info.client_id and self.by_client.get(info.client_id) == info.order_id:
            del self.by_client[info.client_id]

    def cancel(self, info: OrderInfo) -> bool:
        return self.sim.cancel(info.order_id, now_ms() * NS_PER_MS)

    def amend(self, info: OrderInfo, new_qty: float | None, new_price: float | None) -> bool:
        return self.sim.amend(info.order_id, new_qty, new_price, now_ms() * NS_PER_MS)

    # -- funding -------------------------------------------------------------------------
    def settle_funding(self, symbol: str, rate: float, mark: float) -> float:
        paid = self.sim.apply_funding(symbol, rate, mark, now_ms() * NS_PER_MS)
        for listener in self.funding_listeners:
            listener(symbol, paid)
        return paid

    # -- ExecutionSink -------------------------------------------------------------------
    def _on_sim_trade(self, tick: TradeTick) -> None:
        """Only taker fills become public trades: a maker fill was caused by a public trade
        (already on the tape) or by the book moving through the order."""
        last = self._last_fill
        if last is None or last.trade_id != tick.trade_id or last.liquidity is not Liquidity.TAKER:
            return
        m = self.driver.markets.get(tick.symbol)
        if m is None:
            return
        inst = m.instrument
        trade = m.record_trade(
            inst.format_price(tick.price),
            inst.format_qty(tick.qty),
            tick.side.value,
            tick.ts // NS_PER_MS,
        )
        for listener in self.trade_listeners:
            listener(m, trade)

    def on_fill(self, fill: Fill) -> None:
        self._last_fill = fill
        info = self.infos.get(fill.client_order_id)
        if info is None:
            return  # no order row (a liquidation): nothing for a report to carry, keep none
        info.fills.append(fill)
        self._pending_fills.setdefault(fill.client_order_id, []).append(fill)

    def on_funding(self, payment: FundingPaid) -> None:
        return None  # the emulator settles funding itself (``settle_funding``)

    def on_order_report(self, report: OrderReport) -> None:
        fills = self._pending_fills.pop(report.client_order_id, [])
        info = self.infos.get(report.client_order_id)
        if info is None:
            return
        info.u_time = report.ts // NS_PER_MS
        rec = self.sim.order(info.order_id)
        if rec is None:
            return
        for listener in self.order_listeners:
            try:
                listener(info, rec, report, fills)
            except Exception:
                log.exception("order listener failed for %s", info.order_id)
