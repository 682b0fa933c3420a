"""The venue-harness protocol: what the conformance checks need from a venue, and nothing more.

A harness puts one venue in front of the checks: it starts the venue side (an in-process
emulator on ``127.0.0.1:0`` with known keys, or the in-process simulator), builds the venue's
:class:`~tradeloop.venues.base.Gateway` through ``tradeloop.venues.registry``, and answers
questions about the venue's *own* truth (which orders it holds under a client id, its fills,
its book) without going through the gateway under test. It also drives the venue: makes a
resting order trade, moves the market, and flips the emulator core's fault switches.

What a venue cannot do is declared in :attr:`VenueHarness.lacks` (a :class:`Can` -> the
reason); a check that needs it is then *skipped with that reason*, never passed silently.
A check known to fail because of a gap in ``src/`` is listed in
:attr:`VenueHarness.known_gaps` and runs as a strict xfail, so closing the gap turns it red
until the entry is removed.

See ``tests/conformance/README.md`` for how a venue plugs in.
"""

from __future__ import annotations

import asyncio
import itertools
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import ClassVar, Literal

from tradeloop.model import (
    BalanceUpdate,
    BookLevels,
    Event,
    Fill,
    Instrument,
    OrderReport,
    OrderStatus,
    PositionUpdate,
    QuoteTick,
    RejectReason,
    Side,
    TradeTick,
    VenueStatus,
)
from tradeloop.venues.base import Gateway

S = OrderStatus
#: ways to break a verified book: a wrong checksum, a lost update (sequence gap), an update
#: naming a level id the client never saw (BitMEX: its only sign of a lost message), or the
#: public socket cut under the book (the client must reconnect and start from a snapshot)
BookFault = Literal["checksum", "gap", "unknown_id", "drop"]
LostReplyKind = Literal["5xx", "drop"]


class Can(str, Enum):
    """Things a venue (or its harness) may be unable to do; see :attr:`VenueHarness.lacks`."""

    #: order requests cross a real socket the harness can read (``wire_orders``)
    WIRE = "wire"
    #: the venue can refuse the next N requests with a rate limit (``fail_next``)
    RATE_LIMIT_FAULT = "rate_limit_fault"
    #: the venue can run a placement and lose its answer (``lose_place_replies``)
    LOST_REPLY = "lost_reply"
    #: the private (order) stream can be cut (``drop_private``)
    PRIVATE_DROP = "private_drop"
    #: live market data over subscribe/unsubscribe, moved by ``step_market``
    MARKET_DATA = "market_data"
    #: a verified local book whose stream can be corrupted (``corrupt_book``)
    BOOK_FAULTS = "book_faults"
    #: a second, independent gateway on the same account (``new_session``)
    SECOND_SESSION = "second_session"
    #: the venue amends working orders (without it the check wants a clean refusal)
    AMEND = "amend"
    #: a derivative instrument to open a position on (``derivative``)
    DERIVATIVES = "derivatives"


@dataclass(frozen=True, slots=True)
class VenueOrder:
    """One order as the venue itself holds it (not as the gateway reported it)."""

    client_id: str  # the venue's client id (see ``VenueHarness.venue_client_id``)
    status: OrderStatus
    qty: float
    price: float
    filled: float


@dataclass(frozen=True, slots=True)
class VenueFill:
    side: Side
    qty: float
    price: float
    ts: int  # when the venue executed it (ns)


@dataclass(frozen=True, slots=True)
class WireOrder:
    """The number fields of one order request as they crossed the socket (literal text)."""

    kind: Literal["place", "amend"]
    client_id: str
    price: str | None
    size: str | None


class Recorder:
    """Everything the gateway hands out, in arrival order: it is bound as the execution sink,
    the data sink and ``on_account_event``. :meth:`violations` lists every break of the
    Gateway contract's emission rules (``venues/base.py`` rules 1, 2, 4 and 8) seen so far."""

    def __init__(self, venue: str) -> None:
        self.venue = venue
        self.log: list[Event] = []

    # -- sinks ------------------------------------------------------------------------------
    def on_order_report(self, report: OrderReport) -> None:
        self.log.append(report)

    def on_fill(self, fill: Fill) -> None:
        self.log.append(fill)

    def on_funding(self, payment: Event) -> None:
        self.log.append(payment)

    def on_market_data(self, event: Event) -> None:
        self.log.append(event)

    def on_account_event(self, event: Event) -> None:
        self.log.append(event)

    def attach(self, gateway: Gateway) -> None:
        gateway.bind(self)
        gateway.bind_data(self)
        gateway.on_account_event = self.on_account_event

    # -- views ------------------------------------------------------------------------------
    def reports(self, cid: str) -> list[OrderReport]:
        return [e for e in self.log if type(e) is OrderReport and e.client_order_id == cid]

    def statuses(self, cid: str) -> list[OrderStatus]:
        return [r.status for r in self.reports(cid)]

    def last(self, cid: str) -> OrderReport | None:
        reports = self.reports(cid)
        return reports[-1] if reports else None

    def fills(self, cid: str) -> list[Fill]:
        return [e for e in self.log if type(e) is Fill and e.client_order_id == cid]

    def filled(self, cid: str) -> float:
        return sum(f.qty for f in self.fills(cid))

    def has(self, cid: str, status: OrderStatus) -> bool:
        return status in self.statuses(cid)

    def status_events(self, status: str) -> list[VenueStatus]:
        return [e for e in self.log if type(e) is VenueStatus and e.status == status]

    def market(self, symbol: str) -> list[Event]:
        kinds = (BookLevels, TradeTick, QuoteTick)
        return [e for e in self.log if type(e) in kinds and getattr(e, "symbol", "") == symbol]

    # -- the emission rules -----------------------------------------------------------------
    def violations(self) -> list[str]:
        out: list[str] = []
        suffix = "." + self.venue
        rank_of = {S.SUBMITTED: 0, S.ACCEPTED: 1, S.PENDING_CANCEL: 1, S.PENDING_AMEND: 1,
                   S.PARTIALLY_FILLED: 2}  # fmt: skip
        rank: dict[str, int] = {}
        filled: dict[str, float] = {}
        fill_sum: dict[str, float] = {}
        done: dict[str, OrderReport] = {}
        trades: set[tuple[str, str]] = set()
        for i, e in enumerate(self.log):
            if type(e) is Fill:
                cid = e.client_order_id
                if not e.symbol.endswith(suffix):
                    out.append(f"#{i} fill symbol {e.symbol!r} is not a {self.venue} id (rule 4)")
                if (cid, e.trade_id) in trades:
                    out.append(f"#{i} trade {e.trade_id} of {cid} delivered twice (rule 2)")
                trades.add((cid, e.trade_id))
                if cid in done:
                    out.append(f"#{i} fill {e.trade_id} of {cid} after its final report (rule 2)")
                if not (e.qty > 0 and e.price > 0):
                    out.append(f"#{i} fill {e.trade_id} of {cid} has qty/price <= 0")
                fill_sum[cid] = fill_sum.get(cid, 0.0) + e.qty
            elif type(e) is OrderReport:
                cid = e.client_order_id
                if not e.symbol.endswith(suffix):
                    out.append(f"#{i} report symbol {e.symbol!r} is not a {self.venue} id "
                               "(rule 4)")  # fmt: skip
                if cid in done:
                    out.append(f"#{i} {cid}: {e.status.value} after final "
                               f"{done[cid].status.value} (rule 2)")  # fmt: skip
                    continue
                r = 3 if e.status.is_terminal else rank_of[e.status]
                if r < rank.get(cid, -1):
                    out.append(f"#{i} {cid}: {e.status.value} moves the order backwards (rule 2)")
                rank[cid] = max(rank.get(cid, -1), r)
                if e.filled_qty + 1e-12 < filled.get(cid, 0.0):
                    out.append(f"#{i} {cid}: filled_qty {e.filled_qty} < {filled[cid]} before "
                               "(not cumulative, rule 2)")  # fmt: skip
                filled[cid] = max(filled.get(cid, 0.0), e.filled_qty)
                if e.filled_qty > fill_sum.get(cid, 0.0) + 1e-9 * max(1.0, e.filled_qty):
                    out.append(f"#{i} {cid}: report counts {e.filled_qty} filled but only "
                               f"{fill_sum.get(cid, 0.0)} was delivered in fills before it "
                               "(rule 2: a Fill comes before the report counting it)")  # fmt: skip
                if e.status is S.REJECTED and e.code is RejectReason.NONE:
                    out.append(f"#{i} {cid}: REJECTED without a typed RejectReason (rule 1)")
                if e.status.is_terminal:
                    done[cid] = e
            elif type(e) is BalanceUpdate and e.venue != self.venue:
                out.append(f"#{i} BalanceUpdate venue {e.venue!r} != {self.venue!r} (rule 8)")
            elif type(e) is VenueStatus and e.venue != self.venue:
                out.append(f"#{i} VenueStatus venue {e.venue!r} != {self.venue!r} (rule 8)")
            elif type(e) is PositionUpdate and not e.symbol.endswith(suffix):
                out.append(f"#{i} position symbol {e.symbol!r} is not a {self.venue} id (rule 4)")
            elif isinstance(e, BookLevels | TradeTick | QuoteTick) and not e.symbol.endswith(
                suffix
            ):
                out.append(f"#{i} market data symbol {e.symbol!r} is not a {self.venue} id "
                           "(rule 4)")  # fmt: skip
        for cid, final in done.items():
            got = fill_sum.get(cid, 0.0)
            if abs(got - final.filled_qty) > 1e-9 * max(1.0, got):
                out.append(f"{cid}: final report says {final.filled_qty} filled, fills sum to "
                           f"{got} (rule 2)")  # fmt: skip
        return out

    def assert_clean(self) -> None:
        bad = self.violations()
        assert not bad, "Gateway contract broken:\n  " + "\n  ".join(bad)


async def until(
    cond: Callable[[], bool], what: str, timeout: float = 10.0, poll: float = 0.01
) -> None:
    """Poll ``cond`` until it holds; AssertionError naming ``what`` if it never does."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not cond():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        await asyncio.sleep(poll)


async def until_async(
    cond: Callable[[], Awaitable[bool]], what: str, timeout: float = 10.0, poll: float = 0.02
) -> None:
    """:func:`until` for a condition that must await (e.g. a REST look at the venue)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await cond():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        await asyncio.sleep(poll)


_ids = itertools.count(1)


def new_id(tag: str) -> str:
    """A fresh client order id: short alphanumerics, valid at every venue we speak."""
    return f"cf{tag}{next(_ids)}"


class VenueHarness(ABC):
    """One venue, as the conformance checks drive it (see the module docstring).

    Subclasses live in ``tests/conformance/harnesses/<name>.py`` as ``HARNESS`` and are listed
    in ``conftest.HARNESSES``. ``start()`` must leave :attr:`gateway` started and bound to
    :attr:`rec`; everything else is called only after ``start()``.
    """

    #: the registry's name for the venue, lower case (``tradeloop.venues.registry``)
    name: ClassVar[str]
    #: what this venue cannot do -> why (the skip reason of every check needing it)
    lacks: ClassVar[Mapping[Can, str]] = {}
    #: check name -> the gap in ``src/`` that makes it fail today (strict xfail)
    known_gaps: ClassVar[Mapping[str, str]] = {}
    #: the book faults :meth:`corrupt_book` can inject, in the order ``book_resync`` tries
    #: them (a venue with neither checksums nor sequence numbers declares what it has)
    book_faults: ClassVar[tuple[BookFault, ...]] = ("checksum", "gap")
    #: request attempts the gateway's REST transport makes per call (0: none / no REST)
    rest_attempts: int = 0

    gateway: Gateway
    rec: Recorder
    #: a spot instrument id to trade (``NATIVE.VENUE``)
    symbol: str
    #: a derivative instrument id, when :attr:`Can.DERIVATIVES` is not lacking
    derivative: str = ""

    @property
    def venue(self) -> str:
        return self.gateway.venue

    def instrument(self, symbol: str | None = None) -> Instrument:
        return self.gateway.instruments()[symbol or self.symbol]

    def why_not(self, need: Can) -> str | None:
        return self.lacks.get(need)

    # -- lifecycle --------------------------------------------------------------------------
    @abstractmethod
    async def start(self) -> None:
        """Start the venue side, build the gateway through the registry, bind ``rec``, start
        the gateway."""

    @abstractmethod
    async def stop(self) -> None:
        """Stop the gateway(s) and the venue side (also after a failed start)."""

    async def new_session(self, rec: Recorder) -> Gateway:
        """Another started gateway on the same account, bound to ``rec`` (a restarted
        process). Stopped by :meth:`stop`."""
        raise NotImplementedError(self.why_not(Can.SECOND_SESSION))

    # -- market -------------------------------------------------------------------------------
    @property
    @abstractmethod
    def order_qty(self) -> float:
        """A small ordinary order size for :attr:`symbol` (several lots, cheap to fill)."""

    @abstractmethod
    def top(self, symbol: str | None = None) -> tuple[float, float]:
        """The venue's best bid and ask now (its own book, not the gateway's)."""

    def resting_price(self, side: Side, symbol: str | None = None) -> float:
        """A price that will not trade: 20% through the touch, on the tick."""
        bid, ask = self.top(symbol)
        inst = self.instrument(symbol)
        return inst.round_price(bid * 0.8 if side is Side.BUY else ask * 1.2)

    def marketable_price(self, side: Side, symbol: str | None = None) -> float:
        """A limit price that crosses the book by 2%, on the tick."""
        bid, ask = self.top(symbol)
        inst = self.instrument(symbol)
        return inst.round_price(ask * 1.02 if side is Side.BUY else bid * 0.98)

    def step_market(self, n: int = 1) -> None:
        """Move the venue's market ``n`` steps (book changes, maybe trades)."""
        raise NotImplementedError(self.why_not(Can.MARKET_DATA))

    async def venue_book(self, symbol: str, depth: int) -> BookLevels:
        """The venue's own (REST) book, top ``depth`` levels."""
        raise NotImplementedError(self.why_not(Can.BOOK_FAULTS))

    # -- venue truth ----------------------------------------------------------------------
    def venue_client_id(self, client_order_id: str) -> str:
        """The client id the venue files an order under (identity unless the venue's alphabet
        forces a mapping)."""
        return client_order_id

    @abstractmethod
    def venue_orders(self, client_order_id: str) -> list[VenueOrder]:
        """Every order (working or finished) the venue holds under this client id."""

    @abstractmethod
    def venue_fills(self, client_order_id: str) -> list[VenueFill]:
        """The venue's fills of the order(s) under this client id."""

    @abstractmethod
    def trade_through(self, client_order_id: str, qty: float) -> None:
        """Print a public trade of ``qty`` one tick through the price of this resting order,
        so it fills by up to ``qty`` as maker (orders priced better on its side fill first).
        Synchronous: nothing is awaited, so pushes it causes are only queued."""

    # -- faults -------------------------------------------------------------------------------
    def fail_next(self, n: int) -> None:
        """Refuse the next ``n`` requests with a rate limit (nothing runs)."""
        raise NotImplementedError(self.why_not(Can.RATE_LIMIT_FAULT))

    def faults_pending(self) -> int:
        """One-shot request faults armed but not served yet."""
        return 0

    def lose_place_replies(self, n: int, kind: LostReplyKind) -> None:
        """Run the next ``n`` placement requests, then lose their answers."""
        raise NotImplementedError(self.why_not(Can.LOST_REPLY))

    def make_placement_in_doubt(self) -> None:
        """Arm faults so the next placement runs at the venue but its outcome cannot be
        learned by the transport alone: its answers *and* the look-ups the transport makes on
        its own are lost, so the outcome reaches the gateway's order lifecycle as unknown.
        Look-ups after that are answered."""
        raise NotImplementedError(self.why_not(Can.LOST_REPLY))

    def drop_private(self) -> int:
        """Cut the private stream now (the venue's side); returns how many sockets went."""
        raise NotImplementedError(self.why_not(Can.PRIVATE_DROP))

    def corrupt_book(self, kind: BookFault) -> None:
        """Inject one of :attr:`book_faults`: the next book update carries a wrong checksum,
        is lost (a gap), or names an unknown level id; or the public socket is cut now."""
        raise NotImplementedError(self.why_not(Can.BOOK_FAULTS))

    def wire_orders(self) -> list[WireOrder]:
        """Every place/amend request seen on the socket so far, in order."""
        raise NotImplementedError(self.why_not(Can.WIRE))
