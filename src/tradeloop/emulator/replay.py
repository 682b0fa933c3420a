"""Replay of recorded book/trade data through the same interface as the synthetic market.

A :class:`ReplayMarket` is a :class:`SymbolMarket` whose ``step`` applies the next recorded
book message (and the trades recorded before it) instead of a random walk, so every front-end
feature — pushes, checksums, matching in the simulator — works unchanged on real data. At the
end of the recording it starts over, emitting the difference back to the first snapshot as an
ordinary update so the seqId chain and checksums stay valid.

Parsing a venue's capture format lives with the venue (``okx/replay.py``); records here are
venue-neutral strings exactly as recorded.
"""

from __future__ import annotations

from dataclasses import dataclass

from tradeloop.emulator.market import BookChange, MarketParams, PublicTrade, SymbolMarket
from tradeloop.model.instrument import Instrument


@dataclass(frozen=True, slots=True)
class BookRecord:
    snapshot: bool
    bids: list[tuple[str, str]]
    asks: list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class TradeRecord:
    price: str
    size: str
    side: str


Record = BookRecord | TradeRecord


class ReplayMarket(SymbolMarket):
    """Plays ``records`` (which must start with a snapshot) one book message per step."""

    def __init__(
        self,
        instrument: Instrument,
        records: list[Record],
        seed: int,
        params: MarketParams,
        now_ms: int,
        trade_id_base: int = 100_000_000,
    ) -> None:
        first = records[0] if records else None
        if not isinstance(first, BookRecord) or not first.snapshot:
            raise ValueError(f"{instrument.symbol}: a replay must start with a book snapshot")
        best_bid = max(float(p) for p, _ in first.bids)
        best_ask = min(float(p) for p, _ in first.asks)
        super().__init__(instrument, (best_bid + best_ask) / 2, seed, params, now_ms, trade_id_base)
        self.records = records
        self.pos = 0
        self.loops = 0
        self.bids, self.asks = {}, {}
        self._apply(first, BookChange())
        self.pos = 1
        self.last_trade = PublicTrade("", self.px(self.best_bid()), "0", "buy", now_ms)

    def _ticks(self, price: str) -> int:
        return round(float(price) / self.instrument.tick_size)

    def _apply(self, rec: BookRecord, change: BookChange) -> None:
        for side, levels, out in (
            (self.bids, rec.bids, change.bids),
            (self.asks, rec.asks, change.asks),
        ):
            if rec.snapshot:
                fresh = {self._ticks(p): s for p, s in levels if float(s) > 0}
                for p in side.keys() - fresh.keys():
                    out[p] = "0"
                for p, s in fresh.items():
                    if side.get(p) != s:
                        out[p] = s
                side.clear()
                side.update(fresh)
                continue
            for p_s, s in levels:
                p = self._ticks(p_s)
                if float(s) > 0:
                    side[p] = out[p] = s
                elif side.pop(p, None) is not None:
                    out[p] = "0"

    def step(self, now_ms: int) -> BookChange:
        change = BookChange(ts=now_ms)
        while True:
            if self.pos >= len(self.records):
                self.pos = 0
                self.loops += 1
            rec = self.records[self.pos]
            self.pos += 1
            if isinstance(rec, TradeRecord):
                change.trades.append(
                    self.record_trade(self.px(self._ticks(rec.price)), rec.size, rec.side, now_ms)
                )
                continue
            self._apply(rec, change)
            break
        if self.bids and self.asks and self.best_bid() >= self.best_ask():
            # A crossed recording (rare) would break clients' sanity checks: uncross it.
            for p in [p for p in self.asks if p <= self.best_bid()]:
                del self.asks[p]
                change.asks[p] = "0"
        self._roll_candle(now_ms)
        return change
