"""Bitfinex book ingest throughput: tradeloop vs ccxt.pro on the same messages, same process.

Two message sets, each a list of raw WebSocket texts (``subscribed`` acks first):

* **capture** -- every book frame of the real capture (default
  ``../shared/data/captures/BITFINEX.ws.11.0``: 14 P0 books, conf SEQ_ALL, *no* checksums).
  So that both sides verify, a ``[chan, "cs", CRC, seq]`` frame is inserted after every book
  frame, its CRC32 computed here by a deliberately plain reference (a dict of the number
  texts as received, sorted at every checksum -- Bitfinex's published rule, which the three
  vectors in ``../shared/data/bitfinex`` confirm). Sequence numbers are renumbered 1..N so
  the stream's gap check stays on and silent;
* **emulator** -- a stream the Bitfinex emulator generates with its own ``cs`` frames
  (conf SEQ_ALL | OB_CHECKSUM, books tBTCUSD / tETHUSD / tBTCF0:USTF0 P0 len 25), recorded
  in-process over a loopback socket for ``--record-s`` seconds.

Each set goes through

* tradeloop: ``BitfinexStream._on_text`` -- msgspec decode → sequence check → checksum-keeping
  P0 book (:mod:`tradeloop.venues.bitfinex.book`) → CRC32 check of every ``cs`` →
  ``BookLevels`` event to a null sink;
* ccxt.pro: ``json.loads`` (what ccxt's client does) → ``bitfinex.handle_message(client,
  msg)`` with a minimal stand-in client; ccxt checks ``cs`` frames too (mismatches counted).

and prints messages/s for each and the ratio (process CPU time, best of alternating rounds,
as ``bench/okx_ingest.py``). No network beyond loopback.

    .venv/bin/python bench/bitfinex_ingest.py [--capture PATH] [--seconds 6] [--rounds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CAPTURE = REPO.parent / "shared" / "data" / "captures" / "BITFINEX.ws.11.0"
EMU_SYMBOLS = ["tBTCUSD", "tETHUSD", "tBTCF0:USTF0"]


# -- message sets --------------------------------------------------------------------------------
def _reference_checksum(book: dict[str, dict[str, str]]) -> int:
    """CRC32 of ``bid:amt:ask:-amt:...`` over the top 25 levels, on the number texts."""
    bids = sorted(book["b"].items(), key=lambda kv: -float(kv[0]))[:25]
    asks = sorted(book["a"].items(), key=lambda kv: float(kv[0]))[:25]
    parts = []
    for i in range(max(len(bids), len(asks))):
        if i < len(bids):
            parts += [bids[i][0], bids[i][1]]
        if i < len(asks):
            parts += [asks[i][0], asks[i][1]]
    crc = zlib.crc32(":".join(parts).encode())
    return crc - (1 << 32) if crc & 0x80000000 else crc


def _texts(raw: str) -> list[list[str]]:
    """``[[1.5,2,-1e-8],...]`` -> rows of the number texts as written."""
    body = raw.strip()[1:-1].strip()
    if body.startswith("["):
        return [[x.strip() for x in row.split(",")] for row in body[1:-1].split("],[")]
    return [[x.strip() for x in body.split(",")]]


def load_capture(path: Path) -> list[str]:
    """The capture's book subscriptions and frames with a reference ``cs`` after each."""
    acks: list[str] = []
    chans: dict[int, str] = {}
    frames: list[tuple[int, str]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if " <- " in line or " <-> " in line or ": " not in line:
            continue
        text = line.split(": ", 1)[1]
        if text.startswith("{"):
            doc = json.loads(text)
            if doc.get("event") == "subscribed" and doc.get("channel") == "book":
                chans[doc["chanId"]] = doc["symbol"]
                acks.append(text)
            continue
        chan = int(text[1 : text.index(",")])
        if chan in chans and '"hb"' not in text:
            data = text[text.index(",") + 1 : text.rindex(",")]  # drop the sequence number
            frames.append((chan, data))
    books: dict[int, dict[str, dict[str, str]]] = {}
    out, seq = list(acks), 0
    for chan, data in frames:
        rows = _texts(data)
        if data.startswith("[["):
            books[chan] = {"b": {}, "a": {}}
        book = books.get(chan)
        if book is None:
            continue
        for px, count, amt in rows:
            side = "a" if amt.startswith("-") else "b"
            if count == "0":
                book[side].pop(px, None)
            else:
                book[side][px] = amt
        seq += 1
        out.append(f"[{chan},{data},{seq}]")
        seq += 1
        out.append(f'[{chan},"cs",{_reference_checksum(book)},{seq}]')
    return out


async def record_emulator(seconds: float) -> list[str]:
    """Book frames (with the emulator's own ``cs``) received over a loopback socket."""
    import aiohttp

    from tradeloop.emulator.bitfinex.server import BitfinexConfig, BitfinexEmulator

    emu = BitfinexEmulator(BitfinexConfig(api_key="k", api_secret="s", symbols=EMU_SYMBOLS,
                                          seed=7, tick_interval_ms=5))  # fmt: skip
    url = await emu.start("127.0.0.1", 0)
    out: list[str] = []
    try:
        async with aiohttp.ClientSession() as http, http.ws_connect(url + "/ws/2") as ws:
            await ws.send_str(json.dumps({"event": "conf", "flags": 65536 | 131072}))
            for sym in EMU_SYMBOLS:
                sub = {"event": "subscribe", "channel": "book", "symbol": sym, "prec": "P0",
                       "len": "25"}  # fmt: skip
                await ws.send_str(json.dumps(sub))
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                msg = await ws.receive(timeout=max(end - time.monotonic(), 0.01))
                text = msg.data if isinstance(msg.data, str) else ""
                if '"subscribed"' in text or (text.startswith("[") and '"hb"' not in text):
                    out.append(text)
    except TimeoutError:
        pass
    finally:
        await emu.stop()
    # renumber (heartbeats were dropped) so the stream's SEQ_ALL check stays silent
    seq, renumbered = 0, []
    for text in out:
        if text.startswith("["):
            seq += 1
            text = f"{text[: text.rindex(',')]},{seq}]"
        renumbered.append(text)
    return renumbered


# -- the two implementations ---------------------------------------------------------------------
class NullHandler:
    def __init__(self) -> None:
        self.events = 0
        self.statuses: list[str] = []

    def on_market_data(self, event: Any) -> None:
        self.events += 1

    def on_private(self, kind: str, data: Any) -> None:
        pass

    def on_status(self, stream: Any, status: str, detail: str) -> None:
        self.statuses.append(f"{status}: {detail}")


def tradeloop_pass(messages: list[str]) -> tuple[Callable[[], int], Any, NullHandler]:
    from tradeloop.venues.bitfinex.book import BitfinexBook
    from tradeloop.venues.bitfinex.ws import BitfinexStream

    handler = NullHandler()
    stream = BitfinexStream("ws://unused", handler)
    stream._later = lambda coro: coro.close()  # type: ignore[method-assign]  # no resubscribes
    acks = [m for m in messages if m.startswith("{")]
    frames = [m for m in messages if not m.startswith("{")]
    for ack in acks:
        stream._on_text(ack)
        sym = json.loads(ack)["symbol"]
        stream.books[sym] = BitfinexBook(sym)
    on_text = stream._on_text

    def one_pass() -> int:
        stream._seq = None
        for m in frames:
            on_text(m)
        return len(frames)

    return one_pass, stream, handler


class _Subs(dict[str, Any]):
    """A real client re-adds a hash on resubscribe; here deleting a gone one is a no-op."""

    def __delitem__(self, key: str) -> None:
        self.pop(key, None)


class StandInClient:
    """What ccxt's bitfinex handlers touch on a ws Client: ``subscriptions`` (by channel id,
    from the acks), ``resolve`` and ``reject`` (a checksum mismatch, counted)."""

    def __init__(self) -> None:
        self.subscriptions: dict[str, Any] = _Subs()
        self.futures: dict[str, Any] = {}
        self.url = "ws://bench"
        self.resolved = self.rejected = 0

    def resolve(self, result: Any, message_hash: str | None = None) -> Any:
        self.resolved += 1
        return result

    def reject(self, error: Any, message_hash: str | None = None) -> None:
        self.rejected += 1


def ccxt_pass(messages: list[str]) -> tuple[Callable[[], int], Any, StandInClient]:
    import ccxt.pro

    ex = ccxt.pro.bitfinex()
    client = StandInClient()
    acks = [json.loads(m) for m in messages if m.startswith("{")]
    frames = [m for m in messages if not m.startswith("{")]
    subs = {str(a["chanId"]): {"channel": "book", "symbol": a["symbol"], "prec": "P0",
                               "len": int(a.get("len", 25))} for a in acks}  # fmt: skip
    subs.update({f"book:{a['symbol']}": {} for a in acks})  # what a mismatch deletes
    loads, handle = json.loads, ex.handle_message

    def one_pass() -> int:
        ex.orderbooks = {}  # each pass starts from the snapshots again
        client.subscriptions = _Subs(subs)  # a mismatch deletes the book's hash
        for m in frames:
            handle(client, loads(m))
        return len(frames)

    return one_pass, ex, client


def timed(one_pass: Callable[[], int], seconds: float) -> float:
    n, start = 0, time.process_time()
    while True:
        n += one_pass()
        elapsed = time.process_time() - start
        if elapsed >= seconds:
            return n / elapsed


def compare(runs: dict[str, Callable[[], int]], seconds: float, rounds: int) -> dict[str, float]:
    for one_pass in runs.values():
        one_pass()
    best = dict.fromkeys(runs, 0.0)
    for _ in range(rounds):
        for label, one_pass in runs.items():
            best[label] = max(best[label], timed(one_pass, seconds / rounds))
    for label, rate in best.items():
        print(f"  {label:<44} {rate:>10,.0f} msg/s ({1e6 / rate:5.1f} us/msg CPU)")
    return best


def bench(name: str, messages: list[str], seconds: float, rounds: int) -> tuple[float, bool]:
    frames = [m for m in messages if not m.startswith("{")]
    cs = sum('"cs"' in m for m in frames)
    print(f"{name}: {len(frames):,d} book frames ({cs:,d} cs) on "
          f"{sum(m.startswith('{') for m in messages)} books")  # fmt: skip
    tl, stream, handler = tradeloop_pass(messages)
    cc, ex, client = ccxt_pass(messages)
    # one checked pass each, from fresh state, before timing
    tl()
    checks = sum(b.checksums_ok for b in stream.books.values())
    cc()
    ok = checks == cs and not handler.statuses and stream.gaps == 0
    print(f"  tradeloop: {checks:,d}/{cs:,d} checksums verified, resyncs "
          f"{sum(b.resyncs for b in stream.books.values())}, gaps {stream.gaps}; "
          f"ccxt: {client.rejected:,d} checksum mismatches")  # fmt: skip
    same = 0
    for sym, book in stream.books.items():
        ob = ex.orderbooks.get(ex.safe_symbol(sym))
        mine = (book.book.best_bid()[0], book.book.best_ask()[0])
        same += ob is not None and (ob["bids"][0][0], ob["asks"][0][0]) == mine
    print(f"  final best bid/ask equal to ccxt's on {same}/{len(stream.books)} books")
    tl_label = "tradeloop (msgspec+seq+book+checksum+events)"
    cc_label = "ccxt.pro bitfinex.handle_message (json.loads)"
    rates = compare({tl_label: tl, cc_label: cc}, seconds, rounds)
    ratio = rates[tl_label] / rates[cc_label]
    print(f"  ratio tradeloop/ccxt: {ratio:.2f}x (target >= 3x)")
    return ratio, ok


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--capture", type=Path, default=DEFAULT_CAPTURE)
    p.add_argument("--record-s", type=float, default=4.0, help="emulator stream to record")
    p.add_argument("--seconds", type=float, default=6.0, help="timed seconds per implementation")
    p.add_argument("--rounds", type=int, default=10, help="alternating rounds (best-of)")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    from tradeloop.book.orderbook import IMPLEMENTATION

    print(f"order book side: {IMPLEMENTATION}")
    ok = True
    for name, messages in (("capture", load_capture(args.capture)),
                           ("emulator", asyncio.run(record_emulator(args.record_s)))):  # fmt: skip
        _, good = bench(name, messages, args.seconds, args.rounds)
        ok &= good
    if not ok:
        print("ERROR: not every checksum was verified by tradeloop", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
