"""BitMEX orderBookL2 ingest throughput: tradeloop vs a plain-Python baseline on the same
recorded messages.

Replays every ``orderBookL2`` message of the cryptofeed capture
``../shared/data/captures/BITMEX.ws.1.0`` (10 symbols, partial/insert/update/delete, July
2021) in arrival order; one pass builds every book from nothing through

* tradeloop: ``BitmexStream._on_text`` -- msgspec struct decode (``_Frame`` + ``list[L2Row]``)
  -> per-symbol split -> id-keyed ``L2Book`` -> sorted book (C side when compiled) ->
  ``BookLevels`` event to a null handler;
* baseline: what a careful hand-written client does in plain Python -- ``json.loads`` -> id ->
  (side, price) map -> per side a price -> size dict plus a ``bisect``-sorted price list ->
  the changed levels as floats (what the tradeloop event carries).

The issue names ccxt.pro's bitmex handler as the baseline, but the ccxt installed here
(4.5.90) no longer ships bitmex and 4.5.82 is not installed: the plain-Python baseline stands
in, and is said to. Same process, alternating rounds, best of N, process CPU time; after the
timing both final books are compared level by level.

    .venv/bin/python bench/bitmex_ingest.py [--seconds 5] [--rounds 10]
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CAPTURE = REPO.parent / "shared" / "data" / "captures" / "BITMEX.ws.1.0"

Book = tuple[list[tuple[float, float]], list[tuple[float, float]]]


def load(path: Path) -> list[str]:
    """The received orderBookL2 texts of a capture, in order."""
    out = []
    with path.open() as fh:
        for line in fh:
            if line.startswith("wss://"):
                continue
            _, sep, text = line.partition(": ")
            if sep and text.startswith('{"table":"orderBookL2"'):
                out.append(text.rstrip("\n"))
    return out


class NullHandler:
    def __init__(self) -> None:
        self.events = 0
        self.status: list[str] = []

    def on_market_data(self, event: Any) -> None:
        self.events += 1

    def on_private(self, table: str, action: str, rows: list[dict[str, Any]]) -> None:
        pass

    def on_status(self, status: str, detail: str) -> None:
        self.status.append(f"{status}: {detail}")


def tradeloop_pass(msgs: list[str], syms: list[str]) -> tuple[Callable[[], int], Any]:
    from tradeloop.venues.bitmex.ws import BitmexStream, L2Book

    handler = NullHandler()
    stream = BitmexStream("ws://unused.invalid/realtime", handler)
    on_text = stream._on_text

    def one_pass() -> int:
        for sym in syms:
            stream.books[sym] = L2Book(sym)
        for text in msgs:
            on_text(text)
        return len(msgs)

    one_pass.handler = handler  # type: ignore[attr-defined]
    return one_pass, stream


class PlainSide:
    """Price -> size with a sorted price list (ascending; bids read from the end)."""

    __slots__ = ("sizes", "prices")

    def __init__(self) -> None:
        self.sizes: dict[float, float] = {}
        self.prices: list[float] = []

    def set(self, price: float, size: float) -> None:
        if size == 0.0:
            if self.sizes.pop(price, None) is not None:
                del self.prices[bisect.bisect_left(self.prices, price)]
        else:
            if price not in self.sizes:
                bisect.insort(self.prices, price)
            self.sizes[price] = size


class PlainBook:
    __slots__ = ("ids", "bids", "asks")

    def __init__(self) -> None:
        self.ids: dict[int, tuple[bool, float]] = {}
        self.bids, self.asks = PlainSide(), PlainSide()

    def levels(self) -> Book:
        b, a = self.bids, self.asks
        return ([(p, b.sizes[p]) for p in reversed(b.prices)], [(p, a.sizes[p]) for p in a.prices])


def baseline_pass(msgs: list[str]) -> tuple[Callable[[], int], dict[str, PlainBook]]:
    books: dict[str, PlainBook] = {}
    loads = json.loads

    def one_pass() -> int:
        books.clear()
        for text in msgs:
            msg = loads(text)
            action, rows = msg["action"], msg["data"]
            if action == "partial":
                for sym in {r["symbol"] for r in rows}:
                    books[sym] = PlainBook()
            changed: list[tuple[bool, float, float]] = []
            for r in rows:
                book = books[r["symbol"]]
                if action == "partial" or action == "insert":
                    is_bid, price, size = r["side"] == "Buy", float(r["price"]), float(r["size"])
                    book.ids[r["id"]] = (is_bid, price)
                elif action == "update":
                    is_bid, price = book.ids[r["id"]]
                    size = float(r["size"])
                else:
                    is_bid, price = book.ids.pop(r["id"])
                    size = 0.0
                (book.bids if is_bid else book.asks).set(price, size)
                changed.append((is_bid, price, size))
        return len(msgs)

    return one_pass, books


def cpu_rate(fn: Callable[[], int], seconds: float) -> tuple[float, int]:
    """Messages per CPU second over repeated passes lasting about ``seconds``."""
    n = 0
    start = time.process_time()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        n += fn()
    return n / (time.process_time() - start), n


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=5.0, help="per round and side")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--capture", type=Path, default=CAPTURE)
    args = ap.parse_args(argv)

    from tradeloop.book.orderbook import OrderBook

    msgs = load(args.capture)
    kinds: dict[str, int] = {}
    symbols: set[str] = set()
    for m in msgs:
        doc = json.loads(m)
        kinds[doc["action"]] = kinds.get(doc["action"], 0) + 1
        symbols.update(r["symbol"] for r in doc["data"])
    syms = sorted(symbols)
    ours, stream = tradeloop_pass(msgs, syms)
    base, plain = baseline_pass(msgs)
    best_ours = best_base = 0.0
    per = args.seconds / 2
    for _ in range(args.rounds):
        best_ours = max(best_ours, cpu_rate(ours, per)[0])
        best_base = max(best_base, cpu_rate(base, per)[0])
    ours()
    base()
    same = 0
    for sym in syms:
        bids, asks = stream.books[sym].book.top(10**6)
        if (list(bids), list(asks)) == plain[sym].levels():
            same += 1
    handler = ours.handler  # type: ignore[attr-defined]
    assert same == len(syms) == 10 and not handler.status, "the two sides disagree"
    print(f"capture: {len(msgs):,} orderBookL2 messages on {len(syms)} books {kinds}")
    print(f"  compiled book side: {OrderBook().compiled}; resyncs {len(handler.status)}")
    print(f"  final books equal level by level: {same}/{len(syms)}")
    print(f"  tradeloop (msgspec+L2Book+book+events)  {best_ours:>10,.0f} msg/s "
          f"({1e6 / best_ours:5.1f} us/msg CPU)")  # fmt: skip
    print(f"  plain Python (json.loads+dict+bisect)   {best_base:>10,.0f} msg/s "
          f"({1e6 / best_base:5.1f} us/msg CPU)")  # fmt: skip
    print(f"  ratio tradeloop/baseline: {best_ours / best_base:.2f}x (target >= 3x vs ccxt)")
    print(f"  load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
