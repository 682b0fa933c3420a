"""BitMEX orderBookL2 ingest throughput: tradeloop vs ccxt.pro 4.5.82's bitmex handler (and,
for information, a plain-Python client) on the same recorded messages, in the same process.

Replays every ``orderBookL2`` message of the cryptofeed capture
``../shared/data/captures/BITMEX.ws.1.0`` (10 symbols, partial/insert/update/delete, July
2021) in arrival order; one pass builds every book from nothing through

* tradeloop: ``BitmexStream._on_text`` -- msgspec struct decode -> per-symbol split ->
  id-keyed ``L2Book`` -> sorted book (C side when compiled) -> ``BookLevels`` event to a null
  handler;
* ccxt.pro 4.5.82 ``bitmex.handle_message(client, json.loads(text))`` (what ccxt's client
  does with a received frame) with a minimal stand-in client, markets loaded from the
  capture's own ``instrument/active`` answer (``BITMEX.0``);
* plain Python (info): ``json.loads`` -> id -> (side, price) map -> per side a price -> size
  dict plus a ``bisect``-sorted price list -> the changed levels as floats.

ccxt 4.5.82 is the last release with BitMEX and the project's .venv has a newer one: run this
under the separate environment ``scripts/ccxt_bitmex_env.sh`` makes, with tradeloop's source on
the path (without it the ccxt side is left out and said to be)::

    bash scripts/ccxt_bitmex_env.sh
    PYTHONPATH=src .venv-ccxt4582/bin/python bench/bitmex_ingest.py [--seconds 5] [--rounds 10]

Alternating short rounds, best of N, process CPU time. After the timing the final books are
compared level by level (tradeloop vs plain) and price by price (tradeloop vs ccxt).
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
INSTRUMENTS = CAPTURE.with_name("BITMEX.0")

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


class StandInClient:
    """What ``bitmex.handle_order_book`` touches on a ccxt ws Client: ``resolve`` (and
    ``reject`` on an error frame, which this capture has none of)."""

    def __init__(self) -> None:
        self.futures: dict[str, Any] = {}
        self.subscriptions: dict[str, Any] = {}
        self.url = "ws://bench"
        self.resolved = 0

    def resolve(self, result: Any, message_hash: str | None = None) -> Any:
        self.resolved += 1
        return result

    def reject(self, error: Any, message_hash: str | None = None) -> None:
        raise RuntimeError(f"ccxt rejected {message_hash}: {error}")


def ccxt_pass(msgs: list[str], instruments: Path) -> tuple[Callable[[], int], Any] | str:
    """ccxt.pro's bitmex handler on the messages, or why it cannot run here."""
    try:
        import ccxt
        import ccxt.pro
    except ImportError as exc:
        return f"ccxt is not importable here ({exc})"
    if not hasattr(ccxt.pro, "bitmex"):
        return f"ccxt {ccxt.__version__} has no bitmex (4.5.82 has: see the docstring)"
    ex = ccxt.pro.bitmex()
    for line in instruments.read_text().splitlines():
        if "/instrument/active" in line and ": [" in line:
            ex.set_markets(ex.parse_markets(json.loads(line.split(": ", 1)[1])))
            break
    client = StandInClient()
    loads = json.loads
    handle = ex.handle_message

    def one_pass() -> int:
        ex.orderbooks = {}
        for text in msgs:
            handle(client, loads(text))
        return len(msgs)

    one_pass.version = ccxt.__version__  # type: ignore[attr-defined]
    return one_pass, ex


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
    ap.add_argument("--seconds", type=float, default=5.0, help="per round, split over the sides")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--capture", type=Path, default=CAPTURE)
    ap.add_argument("--instruments", type=Path, default=INSTRUMENTS, help="ccxt's markets")
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
    runs: dict[str, Callable[[], int]] = {"tradeloop": ours, "plain": base}
    made = ccxt_pass(msgs, args.instruments)
    ex = None
    if isinstance(made, str):
        why_no_ccxt = made
    else:
        runs["ccxt"], ex = made
        why_no_ccxt = ""
    for one_pass in runs.values():
        one_pass()  # warm-up
    best = dict.fromkeys(runs, 0.0)
    per = args.seconds / len(runs)
    for _ in range(args.rounds):
        for name, one_pass in runs.items():
            best[name] = max(best[name], cpu_rate(one_pass, per)[0])
    for one_pass in runs.values():
        one_pass()  # one last clean pass each: the final books compared below
    same = 0
    for sym in syms:
        bids, asks = stream.books[sym].book.top(10**6)
        if (list(bids), list(asks)) == plain[sym].levels():
            same += 1
    handler = ours.handler  # type: ignore[attr-defined]
    assert same == len(syms) == 10 and not handler.status, "tradeloop and plain disagree"
    same_ccxt = 0
    if ex is not None:
        by_id = {m["id"]: m["symbol"] for m in ex.markets.values()}
        for sym in syms:
            ob = ex.orderbooks[by_id[sym]]
            bids, asks = stream.books[sym].book.top(10**6)
            theirs = ([p for p, *_ in ob["bids"]], [p for p, *_ in ob["asks"]])
            if ([p for p, _ in bids], [p for p, _ in asks]) == theirs:
                same_ccxt += 1
        assert same_ccxt == len(syms), "tradeloop and ccxt disagree on the final books"
    print(f"capture: {len(msgs):,} orderBookL2 messages on {len(syms)} books {kinds}")
    print(f"  compiled book side: {OrderBook().compiled}; resyncs {len(handler.status)}")
    print(f"  final books equal level by level (tradeloop vs plain): {same}/{len(syms)}")
    rate = best["tradeloop"]
    print(f"  tradeloop (msgspec+L2Book+book+events)  {rate:>10,.0f} msg/s "
          f"({1e6 / rate:5.1f} us/msg CPU)")  # fmt: skip
    if ex is not None:
        version = runs["ccxt"].version  # type: ignore[attr-defined]
        print(f"  final books equal price by price (tradeloop vs ccxt): {same_ccxt}/{len(syms)}")
        print(f"  ccxt.pro {version} bitmex.handle_message   {best['ccxt']:>10,.0f} msg/s "
              f"({1e6 / best['ccxt']:5.1f} us/msg CPU)")  # fmt: skip
    print(f"  plain Python (json.loads+dict+bisect)   {best['plain']:>10,.0f} msg/s "
          f"({1e6 / best['plain']:5.1f} us/msg CPU)")  # fmt: skip
    if ex is not None:
        print(f"  ratio tradeloop/ccxt: {rate / best['ccxt']:.2f}x (target >= 3x)")
    else:
        print(f"  ratio tradeloop/ccxt: not measured: {why_no_ccxt}")
    print(f"  ratio tradeloop/plain (info): {rate / best['plain']:.2f}x")
    print(f"  load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
