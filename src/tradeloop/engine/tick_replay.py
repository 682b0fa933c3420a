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
    ``tradeloop.live.tickfilter.TickFilter(...).accept``; the engine does not import ``live``):
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
    tops: dict[str, ExternalBook] = {}
    last_top: dict[str, tuple[float, float, float, float]] = {}
    aggs: dict[str, TimeBarAggregator] = {}
    res = TickResult(kernel, fills, 0)

    def bar_out(b: Bar) -> None:
        res.bars += 1
        publish(b)

    started = False
    for ev in events:
        if accept is not None and not accept(ev):
            res.filtered += 1
            continue
        ts = ev.ts
        if not started:
            clock._now = ts
            kernel.start()
            started = True
        clock.advance_to(ts)
        for agg in aggs.values():
            agg.on_time(ts)
        t = type(ev)
        if t is BookLevels:
            b: BookLevels = ev  # type: ignore[assignment]
            ex.on_book(b)
            publish(b)
            # the venue's own book (the simulator's copy is consumed by our fills): sorted
            # price lists make the top O(1), where max()/min() over a dict of levels was
            # O(depth) per message (the bench's largest cost)
            top = tops.get(b.symbol)
            if top is None:
                top = tops[b.symbol] = ExternalBook()
            top.apply(b)
            if top.bid_px and top.ask_px:
                bp, ap = top.bid_px[-1], top.ask_px[0]
                q = (bp, top.bids[bp], ap, top.asks[ap])
                if last_top.get(b.symbol) != q:
                    last_top[b.symbol] = q
                    res.quotes += 1
                    publish(QuoteTick(ts, b.symbol, *q))
        elif t is TradeTick:
            tr: TradeTick = ev  # type: ignore[assignment]
            ex.on_trade(tr)
            publish(tr)
            if bar_interval:
                ag = aggs.get(tr.symbol)
                if ag is None:
                    ag = aggs[tr.symbol] = TimeBarAggregator(
                        tr.symbol, bar_interval, bar_out, EmptyBarPolicy.SKIP
                    )
                ag.on_trade(tr)
        else:
            ex.advance(ts)
            publish(ev)
        res.events += 1
    for agg in aggs.values():
        agg.flush()
    if started:
        kernel.stop()
    res.tops = {s: (q[0], q[2]) for s, q in last_top.items()}
    return res
