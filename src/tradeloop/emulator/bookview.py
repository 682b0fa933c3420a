"""The top-N book a client holds, so a front-end can send deltas that keep it exact.

Venues that stream "the top N levels" (FTX 100, Bitfinex 25, BitMEX 25) promise that a client
applying the updates holds exactly that view: a level entering the top N is sent, a level
leaving it is sent as deleted -- even when the level itself did not change, only its rank. The
synthetic ladder is deeper than N when ``--levels`` says so, so "what changed in the market"
is not the same as "what the client must be told". :class:`BookViews` remembers, per symbol,
the view last published and turns each market step into exactly the deltas between views.
Prices are the market's integer ticks and sizes its wire strings (``"0"`` = deleted); the
venue renders them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from tradeloop.book.checksum import crc32_interleaved
from tradeloop.emulator.faults import Faults, wrong_checksum
from tradeloop.emulator.market import SymbolMarket

log = logging.getLogger(__name__)

Levels = list[tuple[int, str]]
_View = tuple[dict[int, str], dict[int, str]]
#: ``[price, size]`` floats, best first (venues that send JSON numbers)
FloatLevels = list[list[float]]


class BookViews:
    """Per-symbol top-``depth`` views as last published (bids best first, asks best first)."""

    def __init__(self, depth: int) -> None:
        self.depth = depth
        self._views: dict[str, _View] = {}

    def _top(self, m: SymbolMarket) -> _View:
        return dict(m.sorted_bids()[: self.depth]), dict(m.sorted_asks()[: self.depth])

    def snapshot(self, m: SymbolMarket) -> tuple[Levels, Levels]:
        """The view a new subscriber starts from (the one the next deltas apply to)."""
        bids, asks = self._views.setdefault(m.instrument.symbol, self._top(m))
        return sorted(bids.items(), reverse=True), sorted(asks.items())

    def advance(self, m: SymbolMarket) -> tuple[Levels, Levels] | None:
        """Move the view to the market's current top and return (bid, ask) deltas, best
        first; None when nothing a client holds changed."""
        sym = m.instrument.symbol
        new = self._top(m)
        old = self._views.get(sym, new)
        self._views[sym] = new
        deltas = []
        for is_bid, was, now in ((True, old[0], new[0]), (False, old[1], new[1])):
            changed = [(p, s) for p, s in now.items() if was.get(p) != s]
            changed += [(p, "0") for p in was.keys() - now.keys()]
            deltas.append(sorted(changed, reverse=is_bid))
        return (deltas[0], deltas[1]) if deltas[0] or deltas[1] else None

    def advance_under(
        self, m: SymbolMarket, faults: Faults
    ) -> tuple[tuple[Levels, Levels], bool] | None:
        """:meth:`advance` under the book faults: None also when ``skip_seq`` drops this
        update (the view moves on, so every client's copy now lacks it, as after a lost
        message); else the deltas and whether ``corrupt_checksum`` wants this checksum
        wrong (:func:`checksum_under`)."""
        deltas = self.advance(m)
        if deltas is None:
            return None
        if faults.take_skip_seq():
            log.info("fault: dropped book update %s", m.instrument.symbol)
            return None
        return deltas, faults.take_corrupt_checksum()

    def current(self, symbol: str) -> tuple[Levels, Levels]:
        bids, asks = self._views.get(symbol, ({}, {}))
        return sorted(bids.items(), reverse=True), sorted(asks.items())

    def drop(self, symbol: str) -> None:
        """Forget a symbol nobody listens to (the next subscriber starts afresh)."""
        self._views.pop(symbol, None)


def float_view(m: SymbolMarket, levels: Levels) -> FloatLevels:
    return [[float(m.px(p)), float(s)] for p, s in levels]


class CheckedViews(BookViews):
    """Top-N views as float levels plus the venue's ``checksum`` of the whole view after each
    message: the snapshot-then-checksummed-deltas feed of FTX (and of any venue whose client
    verifies its copy of the top N). A client applying :meth:`update` to :meth:`partial` holds
    the view the checksum was computed over, unless a book fault says otherwise."""

    def __init__(self, depth: int, checksum: Callable[[FloatLevels, FloatLevels], int]) -> None:
        super().__init__(depth)
        self.checksum = checksum

    def partial(self, m: SymbolMarket) -> tuple[FloatLevels, FloatLevels, int]:
        bids, asks = (float_view(m, side) for side in self.snapshot(m))
        return bids, asks, self.checksum(bids, asks)

    def update(
        self, m: SymbolMarket, faults: Faults
    ) -> tuple[FloatLevels, FloatLevels, int] | None:
        """This step's deltas and the (possibly corrupted) checksum, or None: nothing to send
        (see :meth:`BookViews.advance_under`)."""
        step = self.advance_under(m, faults)
        if step is None:
            return None
        value = self.checksum(*(float_view(m, s) for s in self.current(m.instrument.symbol)))
        bids, asks = (float_view(m, side) for side in step[0])
        return bids, asks, checksum_under(value, step[1])

    def step(
        self, m: SymbolMarket, listening: bool, faults: Faults
    ) -> tuple[FloatLevels, FloatLevels, int] | None:
        """A market step for a channel: its :meth:`update` while someone ``listening``, else
        None and the view dropped (the next subscriber starts from a fresh partial)."""
        if listening:
            return self.update(m, faults)
        self.drop(m.instrument.symbol)
        return None


def float_text_crc(depth: int, signed: bool = False) -> Callable[[FloatLevels, FloatLevels], int]:
    """The checksum of venues that CRC32 the interleaved ``bid1_px:bid1_sz:ask1_px:...`` of
    their top ``depth`` levels with numbers as Python writes floats (``60012.0``, ``1e-05``;
    FTX, unsigned), a side that runs out simply left out."""

    def checksum(bids: FloatLevels, asks: FloatLevels) -> int:
        text = [
            [(repr(float(p)), repr(float(s))) for p, s in side[:depth]] for side in (bids, asks)
        ]
        return crc32_interleaved(text[0], text[1], depth, signed=signed)

    return checksum


def checksum_under(value: int, corrupt: bool) -> int:
    """``value``, or a wrong one when the ``corrupt_checksum`` fault fired."""
    if corrupt:
        log.info("fault: corrupted book checksum")
        return wrong_checksum(value)
    return value
