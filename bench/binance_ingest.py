"""Binance diff-depth ingest throughput: tradeloop vs ccxt.pro on the same recorded messages.

Replays the recorded depth traffic of Binance spot and USD-M futures (cryptofeed captures,
default ``../shared/data/captures/BINANCE{,_FUTURES}.{ws.1.0,http.0.0}``): every ``depthUpdate``
in arrival order, each REST snapshot at the moment the recorder received it. One pass builds
every book from nothing (both sides start empty each pass) through

* tradeloop: ``MarketStream._on_message`` -- msgspec struct decode -> ``BinanceBookSync``
  (buffer until the snapshot, drop by ``lastUpdateId``, straddle check, ``U == u+1`` /
  futures ``pu`` chain) -> book update -> ``BookLevels`` event (the gateway's ``_on_book``) to
  a null sink; snapshots through ``on_snapshot`` + the snapshot event, as the stream does;
* ccxt.pro: ``json.loads`` (what ccxt's client does) -> ``binance.handle_message(client, msg)``
  with a minimal stand-in client; snapshots through ccxt's own ``fetch_order_book_snapshot``
  with its REST fetch answered from the capture (no network);

in the same process, and prints messages/s for each and the ratio. The messages are the
``data`` of each combined-stream frame: the raw ``/ws`` form the connector subscribes to
(ccxt accepts both). Every message counts as one, snapshots included (both sides do the same
work on them). Both final books are compared level by level.

    .venv/bin/python bench/binance_ingest.py [--seconds 5] [--rounds 10] [--market both]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CAPTURES = REPO.parent / "shared" / "data" / "captures"

log = logging.getLogger("bench.binance_ingest")

#: ("diff", raw text) or ("snap", (symbol, snapshot body))
Step = tuple[str, Any]


def load(name: str) -> tuple[list[Step], dict[str, Any]]:
    """The replay script of one capture, and the exchangeInfo rows of its symbols."""
    from tradeloop.venues.binance.capture import snapshots, ws_messages

    snaps = snapshots(CAPTURES / f"{name}.http.0.0")
    steps: list[Step] = []
    for ts, raw in ws_messages(CAPTURES / f"{name}.ws.1.0"):
        while snaps and snaps[0][0] <= ts:
            _, sym, body = snaps.pop(0)
            steps.append(("snap", (sym, body)))
        if '"depthUpdate"' in raw:
            data = json.loads(raw)["data"]
            steps.append(("diff", json.dumps(data, separators=(",", ":"))))
    syms = {s[1][0] for s in steps if s[0] == "snap"}
    info: dict[str, Any] = {}
    for line in (CAPTURES / f"{name}.0").read_text().splitlines():
        if "exchangeInfo -> " in line:
            body = json.loads(line.split(": ", 1)[1])
            info = {r["symbol"]: r for r in body["symbols"] if r["symbol"] in syms}
    return steps, info


class NullSink:
    def __init__(self) -> None:
        self.events = 0

    def on_market_data(self, event: Any) -> None:
        self.events += 1


def tradeloop_pass(steps: list[Step], futures: bool) -> tuple[Callable[[], int], Any, NullSink]:
    from tradeloop.venues.binance.booksync import BinanceBookSync, SyncResult
    from tradeloop.venues.binance.gateway import BinanceGateway
    from tradeloop.venues.binance.ws import MarketStream

    sink = NullSink()
    gw = BinanceGateway("http://127.0.0.1:9")  # never started: no socket, no request
    gw.bind_data(sink)
    statuses: list[str] = []

    async def no_snapshot(sym: str) -> dict[str, Any]:
        raise AssertionError("the replay supplies the snapshots")

    stream = MarketStream("ws://unused", no_snapshot, gw._on_event, gw._on_book,
                          lambda s, d: statuses.append(f"{s}: {d}"))  # fmt: skip
    syms = sorted({s[1][0] for s in steps if s[0] == "snap"})
    on_message, on_book = stream._on_message, gw._on_book

    def one_pass() -> int:
        for sym in syms:
            stream.books[sym] = BinanceBookSync(sym, futures=futures)
        books = stream.books
        for kind, item in steps:
            if kind == "diff":
                on_message(item)
            else:
                sym, body = item
                book = books[sym]
                r = book.on_snapshot(body["lastUpdateId"], body["bids"], body["asks"])
                if r is SyncResult.APPLIED:
                    on_book(sym, book, True)
                else:
                    statuses.append(f"{sym}: snapshot {r.value}")
        return len(steps)

    one_pass.statuses = statuses  # type: ignore[attr-defined]
    return one_pass, stream, sink


class StandInClient:
    """What ccxt's binance depth handlers touch on a ws Client."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.subscriptions: dict[str, Any] = {}
        self.resolved = 0

    def resolve(self, result: Any, message_hash: str | None = None) -> Any:
        self.resolved += 1
        return result

    def reject(self, error: Any, message_hash: str | None = None) -> None:
        raise RuntimeError(f"ccxt rejected {message_hash}: {error}")


def ccxt_pass(
    steps: list[Step], info: dict[str, Any], futures: bool
) -> tuple[Callable[[], int], Any]:
    import ccxt.pro

    ex = ccxt.pro.binance({"options": {"defaultType": "future" if futures else "spot"}})
    # fetch_markets' margin look-ups, not fetched here
    ex.options["crossMarginPairsData"] = ex.options["isolatedMarginPairsData"] = []
    markets = [ex.parse_market(r) for r in info.values()]
    ex.set_markets(markets)
    by_id = {m["id"]: m["symbol"] for m in markets}
    url = "wss://fstream.binance.com/ws" if futures else "wss://stream.binance.com:9443/ws"
    client = StandInClient(url)
    current: dict[str, Any] = {}

    async def rest_book(symbol: str, limit: int | None = None, params: Any = None) -> Any:
        # what binance.fetch_order_book returns, from the recorded body
        body = current["body"]
        book = ex.parse_order_book(body, symbol)
        book["nonce"] = body["lastUpdateId"]
        return book

    ex.fetch_rest_order_book_safe = rest_book
    loads, handle = json.loads, ex.handle_message
    kind_name = "linear" if futures else "spot"

    def snapshot(sym: str, body: dict[str, Any]) -> None:
        symbol = by_id[sym]
        current["body"] = body
        sub = {"symbol": symbol, "type": kind_name, "limit": 1000, "params": {}}
        coro = ex.fetch_order_book_snapshot(client, None, sub)
        try:
            coro.send(None)  # the fake fetch never suspends: runs to completion here
        except StopIteration:
            pass
        else:
            raise RuntimeError("ccxt's snapshot coroutine suspended")

    def one_pass() -> int:
        for symbol in by_id.values():
            ob = ex.order_book({}, 1000)
            ob["nonce"] = None
            ob.cache = []
            ex.orderbooks[symbol] = ob
        for kind, item in steps:
            if kind == "diff":
                handle(client, loads(item))
            else:
                snapshot(*item)
        return len(steps)

    return one_pass, ex


def timed(one_pass: Callable[[], int], seconds: float) -> float:
    """Whole passes for ``seconds`` of process CPU time (on a shared machine wall time
    mostly measures the neighbours); messages per CPU-second."""
    n, start = 0, time.process_time()
    while True:
        n += one_pass()
        elapsed = time.process_time() - start
        if elapsed >= seconds:
            return n / elapsed


def compare(runs: dict[str, Callable[[], int]], seconds: float, rounds: int) -> dict[str, float]:
    """Alternating short rounds, best rate of each (cancels most of the machine's noise)."""
    for one_pass in runs.values():
        one_pass()
    best = dict.fromkeys(runs, 0.0)
    for _ in range(rounds):
        for label, one_pass in runs.items():
            best[label] = max(best[label], timed(one_pass, seconds / rounds))
    for label, rate in best.items():
        print(f"{label:<48} {rate:>10,.0f} msg/s ({1e6 / rate:6.1f} us/msg CPU, best of {rounds})")
    return best


def same_books(stream: Any, ex: Any, by_symbol: dict[str, str]) -> bool:
    ok = True
    for native, symbol in sorted(by_symbol.items()):
        ours = stream.books[native]
        theirs = ex.orderbooks[symbol]
        mine = ours.top(10_000)
        other = ([tuple(x[:2]) for x in theirs["bids"]], [tuple(x[:2]) for x in theirs["asks"]])
        equal = [tuple(x) for x in mine[0]] == other[0] and [tuple(x) for x in mine[1]] == other[1]
        print(f"  {native:<12} levels {len(mine[0])}/{len(mine[1])}, last id {ours.last_id}, "
              f"same as ccxt's book: {equal}")  # fmt: skip
        ok = ok and equal and ours.synced and ours.last_id == theirs["nonce"]
    return ok


def run(name: str, futures: bool, seconds: float, rounds: int) -> float | None:
    if not (CAPTURES / f"{name}.ws.1.0").is_file():
        print(f"{name}: capture not found under {CAPTURES}", file=sys.stderr)
        return None
    steps, info = load(name)
    n_snap = sum(k == "snap" for k, _ in steps)
    print(f"\n{name}: {len(steps) - n_snap} depthUpdate + {n_snap} snapshots "
          f"({len(info)} symbols)")  # fmt: skip
    tl, stream, _ = tradeloop_pass(steps, futures)
    cc, ex = ccxt_pass(steps, info, futures)
    tl_label = "tradeloop (msgspec+sync+book+events)"
    cc_label = "ccxt.pro binance.handle_message (json.loads)"
    rates = compare({tl_label: tl, cc_label: cc}, seconds, rounds)
    tl(), cc()  # one more clean pass each, then compare the books they leave
    by_symbol = {m["id"]: m["symbol"] for m in ex.markets.values()}
    statuses = tl.statuses  # type: ignore[attr-defined]
    if statuses:
        print(f"ERROR: tradeloop resynced/refetched: {statuses[:3]}", file=sys.stderr)
        return None
    if not same_books(stream, ex, by_symbol):
        print("ERROR: the final books differ", file=sys.stderr)
        return None
    ratio = rates[tl_label] / rates[cc_label]
    print(f"  ratio tradeloop/ccxt: {ratio:.2f}x (target >= 3x)")
    return ratio


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=5.0, help="timed seconds per market")
    p.add_argument("--rounds", type=int, default=10, help="alternating rounds (best-of)")
    p.add_argument("--market", choices=("spot", "futures", "both"), default="both")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    from tradeloop.book.orderbook import IMPLEMENTATION

    print(f"order book side: {IMPLEMENTATION}")
    todo = [("BINANCE", False), ("BINANCE_FUTURES", True)]
    if args.market != "both":
        todo = [todo[args.market == "futures"]]
    ratios = [run(n, fut, args.seconds, args.rounds) for n, fut in todo]
    return 0 if all(r is not None for r in ratios) else 1


if __name__ == "__main__":
    raise SystemExit(main())
