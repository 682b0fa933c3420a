"""Tick-level backtests: recorded trades, quotes and L2 book messages drive the same Kernel.

Why a runner of its own: the bar paths (``backtest.py``, ``multi.py``) publish one ``Bar`` per
step; here each recorded message is an event, and the simulated venue matches against the
replayed book (``SimExchange.on_book``: L2 mode) instead of bar prices.

Per event, in time order (many instruments merged by ``store.reader.merged``): the sim clock
moves to ``ev.ts`` (timers first); the venue sees the event (book: external liquidity, then
fills of resting orders it now crosses; trade: queue consumption); then the Kernel publishes
it (``on_book`` / ``on_trade`` / ``on_quote``). A book message whose top changed is followed by
a ``QuoteTick`` of the new top (what a live gateway's verified book gives), and trades feed a
``TimeBarAggregator`` per instrument — the live one — whose bars reach ``on_bar``.

Queue position (the simulator's model, ``sim/exchange.py``): a limit order that rests at a
price joins behind the displayed size there (``queue_ahead``); a public trade at that price
first eats the queue ahead, only its overflow fills us; a trade through our price, or a book
that crosses it, fills us at our price as maker. Book size shrinking at our level does not move
us forward (cancels are assumed to come from behind us: the conservative choice).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from tradeloop.core.clock import SimClock
from tradeloop.core.ids import IdGenerator
from tradeloop.data.aggregate import EmptyBarPolicy, TimeBarAggregator
from tradeloop.engine.backtest import _quiet_gc
from tradeloop.engine.kernel import Kernel
from tradeloop.engine.strategy import Strategy
from tradeloop.model import Bar, BookLevels, Event, Fill, Instrument, QuoteTick, TradeTick
from tradeloop.sim.config import SimConfig
from tradeloop.sim.liquidity import ExternalBook
from tradeloop.venues.sim.client import SimExecutionClient


@dataclass
class TickResult:
    kernel: Kernel
    fills: list[Fill]
    events: int
    quotes: int = 0
    bars: int = 0
    filtered: int = 0
    tops: dict[str, tuple[float, float]] = field(default_factory=dict)


def run_tick_backtest(
    strategies: Sequence[Strategy],
    instruments: Sequence[Instrument],
    events: Iterable[Event],
    balances: dict[str, float],
    *,
    bar_interval: str | None = "1m",
    sim: SimConfig | None = None,
    accept: Callable[[Event], bool] | None = None,
) -> TickResult:
    """Replay ``events`` (time-ordered) through a Kernel over the simulated venue.

    ``accept`` is the abnormal-tick filter, as in the live runtime and the recorder (pass
    ``tradeloop.data.tickfilter.TickFilter(...).accept``):
    an event it refuses reaches neither the simulated venue nor the strategies, and is counted
    in ``TickResult.filtered``."""
    clock = SimClock(0)
    client = SimExecutionClient(instruments, balances, clock, sim)
    cash = sum(balances.values())
    kernel = Kernel(instruments, cash, client, clock, ids=IdGenerator("tk"))
    for s in strategies:
        kernel.add_strategy(s)
    fills: list[Fill] = []
    kernel.record(fills)
    ex = client.exchange
    publish = kernel.bus.publish
    on_book, on_trade = ex.on_book, ex.on_trade
    heap = clock._heap
    # the venue's book of each symbol: the simulator's own (its ``venue_top`` undoes our
    # fills' consumption), so a message is applied to one book, not to a second copy
    books: dict[str, ExternalBook] = {}
    last_top: dict[str, tuple[float, float, float, float]] = {}
    aggs: dict[str, TimeBarAggregator] = {}
    ticks: list[Callable[[int], None]] = []  # the aggregators' on_time, in creation order
    res = TickResult(kernel, fills, 0)

    def bar_out(b: Bar) -> None:
        res.bars += 1
        publish(b)

    with _quiet_gc():
        started = False
        last_ts: int | None = None
        n_events = 0
        for ev in events:
            if accept is not None and not accept(ev):
                res.filtered += 1
                continue
            ts = ev.ts
            if not started:
                clock._now = ts
                kernel.start()
                started = True
            if heap and heap[0].due <= ts:
                clock.advance_to(ts)
            elif ts > clock._now:
                clock._now = ts
            if ts != last_ts:  # a second event at the same ts would find every bar closed
                last_ts = ts
                for tick in ticks:
                    tick(ts)
            t = type(ev)
            if t is BookLevels:
                b: BookLevels = ev  # type: ignore[assignment]
                sym = b.symbol
                on_book(b)
                publish(b)
                book = books.get(sym)
                if book is None:
                    book = ex.external_book(sym)
                    assert book is not None
                    books[sym] = book
                q = book.venue_top()
                if q is not None and last_top.get(sym) != q:
                    last_top[sym] = q
                    res.quotes += 1
                    publish(QuoteTick(ts, sym, *q))
            elif t is TradeTick:
                tr: TradeTick = ev  # type: ignore[assignment]
                on_trade(tr)
                publish(tr)
                if bar_interval:
                    ag = aggs.get(tr.symbol)
                    if ag is None:
                        ag = aggs[tr.symbol] = TimeBarAggregator(
                            tr.symbol, bar_interval, bar_out, EmptyBarPolicy.SKIP
                        )
                        ticks.append(ag.on_time)
                    ag.on_trade(tr)
            else:
                ex.advance(ts)
                publish(ev)
            n_events += 1
    res.events = n_events
    for agg in aggs.values():
        agg.flush()
    if started:
        kernel.stop()
    res.tops = {s: (q[0], q[2]) for s, q in last_top.items()}
    return res
