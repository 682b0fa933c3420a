"""Typed events that travel on the bus.

Every event carries ``ts``: the engine-clock time (int nanoseconds since the Unix epoch) at which
it became known. Market data and execution reports are frozen ``msgspec.Struct``s — immutable,
slotted, untracked by the GC and several times cheaper to create than a dataclass, which matters
when a backtest makes a million of them.
"""

from __future__ import annotations

import msgspec

from tradeloop.model.enums import Liquidity, OrderStatus, RejectReason, Side

NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000


class Event(msgspec.Struct, frozen=True, gc=False):
    """Base of everything published on the bus."""

    ts: int


class Bar(Event, frozen=True, gc=False):
    """OHLCV over [start, ts). ``ts`` is the close time, when the bar is delivered."""

    symbol: str
    start: int
    open: float
    high: float
    low: float
    close: float
    volume: float


class TradeTick(Event, frozen=True, gc=False):
    """A public trade. ``side`` is the taker's side."""

    symbol: str
    price: float
    qty: float
    side: Side
    trade_id: str = ""


class QuoteTick(Event, frozen=True, gc=False):
    symbol: str
    bid: float
    bid_qty: float
    ask: float
    ask_qty: float


class BookLevels(Event, frozen=True, gc=False):
    """An L2 book update. ``snapshot`` replaces the book; otherwise levels are deltas where a
    size of 0 deletes the price. Bids and asks are lists of (price, size)."""

    symbol: str
    bids: list[tuple[float, float]]
    asks: list[tuple[float, float]]
    snapshot: bool = False
    sequence: int = 0


class OrderReport(Event, frozen=True, gc=False):
    """A venue's word about one of our orders: its new status and cumulative fill so far.

    Venues (simulated, emulated or real) only ever speak through these and ``Fill``s; the OMS
    applies them to its own ``Order`` through the state machine. ``code`` types a refusal
    (REJECTED) or a failed cancel so the engine can tell a busy venue from a bad order.
    """

    client_order_id: str
    venue_order_id: str
    symbol: str
    status: OrderStatus
    filled_qty: float = 0.0
    avg_price: float = 0.0
    reason: str = ""
    code: RejectReason = RejectReason.NONE


class Fill(Event, frozen=True, gc=False):
    """One execution of one of our orders. ``fee`` is in ``fee_ccy`` and positive when paid.

    ``ts`` is the gateway's clock, like every event's; ``exec_ts`` is the venue's own time of
    the execution (ns; 0: not said). They differ by the latency and the clocks' skew, which
    matters when a fill is set against another venue-stamped event: a funding payment is
    settled on the position held at the venue's boundary, so a fill the venue executed just
    before it counts even if it reached us just after.
    """

    client_order_id: str
    venue_order_id: str
    trade_id: str
    symbol: str
    side: Side
    price: float
    qty: float
    fee: float
    fee_ccy: str
    liquidity: Liquidity
    strategy_id: str = ""
    exec_ts: int = 0

    @property
    def venue_ts(self) -> int:
        """When the venue executed it: ``exec_ts``, or ``ts`` where the venue did not say."""
        return self.exec_ts or self.ts


class FundingPaid(Event, frozen=True, gc=False):
    """A funding payment the venue settled on one of our perpetual positions.

    ``amount`` is what the account paid, in ``ccy`` (the instrument's settle currency):
    positive when paid, negative when received -- the sign of ``Portfolio.apply_funding``.
    ``payment_id`` is the venue's own id for the payment (BitMEX ``execID``, Binance
    ``tranId``, OKX ``billId``): the key that books it exactly once, however many times the
    push, a REST catch-up or a restart deliver it. ``position`` is the size of the venue's
    position the payment was on (0: not said; its sign is not relied on): when the account
    also holds contracts that are not the strategies', only the engine's share is theirs;
    where the venue does not say, ``outside`` tells the rest of the account's position.
    Funding moves money without a trade, so without this event a live account's PnL drifts
    from the venue's wallet by every payment.
    """

    symbol: str
    amount: float
    ccy: str
    payment_id: str
    rate: float = 0.0
    position: float = 0.0
    venue: str = ""
    #: the account's contracts in ``symbol`` that are not the strategies' (signed), as the
    #: live runtime knows them (the first start's baseline plus foreign and corrective fills):
    #: it sizes the engine's share where the venue does not say ``position`` (Binance, FTX)
    outside: float = 0.0

    @property
    def venue_ts(self) -> int:
        """The venue's time of the settlement: ``ts`` (connectors stamp a payment with it), so
        payments and fills (:attr:`Fill.venue_ts`) sort into the order the venue saw them."""
        return self.ts


class BalanceUpdate(Event, frozen=True, gc=False):
    """A venue's word on one currency of our account. ``venue`` says whose (accounts are per
    venue); empty only from producers that predate multi-venue runs.

    ``wallet`` names which of the venue's wallets holds it: ``""`` is the venue's main (spot)
    wallet, anything else a separate one -- ``"usdm"`` is Binance's USD-M futures wallet.
    Binance keeps the two apart and both hold USDT, so a view keyed by asset alone would merge
    (or overwrite) two different balances; consumers key by (wallet, asset), spelled
    :attr:`key`."""

    asset: str
    total: float
    free: float
    venue: str = ""
    wallet: str = ""

    @property
    def key(self) -> str:
        """``USDT`` for the main wallet, ``usdm:USDT`` for another: the (wallet, asset) key
        as readable text (status JSON, journal snapshots)."""
        return f"{self.wallet}:{self.asset}" if self.wallet else self.asset


class PositionUpdate(Event, frozen=True, gc=False):
    """A venue's (or the portfolio's) view of a position. ``qty`` is signed."""

    symbol: str
    qty: float
    avg_price: float
    unrealized_pnl: float = 0.0


class TimerEvent(Event, frozen=True, gc=False):
    name: str


class RiskEvent(Event, frozen=True, gc=False):
    """The risk engine changed trading state or refused something; ``message`` says why."""

    state: str
    message: str


class VenueStatus(Event, frozen=True, gc=False):
    """Connectivity news from a gateway (connected, disconnected, resynced ...)."""

    venue: str
    status: str
    detail: str = ""
